/// Decides which requests run in an instance's next iteration.
///
/// A scheduler only decides: it calls the instance's mechanism operations
/// (`scheduleRunning`, `admitNextWaiting`, `swapInNextSwapped`,
/// `preemptNewestRunning`, ...) and never advances time. Each instance owns its
/// scheduler, so instances of one cluster may run different ones.
public protocol BatchScheduler {
    mutating func formBatch(on instance: Instance)
    /// A request finished on this instance, having generated
    /// `request.generatedTokens` tokens: the output length a scheduler may
    /// learn from, once it is history.
    mutating func requestFinished(_ request: ServingRequest)
    /// Whether forming a batch reads nothing of the running requests but through the instance's
    /// operations and `runningCount`, so that steps where nothing changes the batch may run
    /// without touching them (see DecodeStretch). Reading `running` stays correct either way (it
    /// brings the requests up to date first); the default, false, only spares a scheduler that
    /// reads it every step from bringing them up to date every step.
    ///
    /// A scheduler that says yes also promises that, when nothing waits or is swapped out, its
    /// step begins with `scheduleRunning(from: 0, …)` (which runs a stretch's requests as the
    /// stretch's step), and that a step in which every running request is scheduled changes
    /// nothing more in the instance than the steps it counts. The instance then forms a decode
    /// stretch's steps itself when they run alone, and tells them with `formedStretchSteps(_:on:)`.
    var coalescesDecodes: Bool { get }

    /// The instance formed `count` decode stretch steps in place of `formBatch(on:)`: in each, every
    /// running request decoded one token and nothing waited or was swapped out. They are told at
    /// once, before the scheduler's next call (a call per step cost a tenth of the step). A
    /// scheduler that counts steps or rounds counts these (the default does nothing); it must not
    /// read `running` or `batch` here (the instance stops if it does: the steps ran the stretch's
    /// requests unread).
    mutating func formedStretchSteps(_ count: Int, on instance: Instance)
}

extension BatchScheduler {
    public mutating func requestFinished(_ request: ServingRequest) {}
    public var coalescesDecodes: Bool { false }
    public mutating func formedStretchSteps(_ count: Int, on instance: Instance) {}
}

/// Chooses an instance for each new request, and a decode instance for each
/// request whose prefill ran on a prefill-only instance.
public protocol Router {
    /// The index (in `instances`) of the instance to queue a new request on, or
    /// nil when none can take it. Candidates are instances whose
    /// `acceptsNewRequests` is true.
    mutating func route(_ request: ServingRequest, among instances: [Instance]) -> Int?

    /// The same choice, with the cluster's index of least-loaded instances at hand (the default
    /// ignores it). The cluster routes through this one.
    mutating func route(_ request: ServingRequest, among instances: [Instance], loads: LoadIndex) -> Int?

    /// Where a prefilled request continues decoding. The default picks the
    /// decode instance with the fewest outstanding tokens.
    mutating func placeDecode(_ request: ServingRequest, among instances: [Instance]) -> Int?
}

extension Router {
    public mutating func route(_ request: ServingRequest, among instances: [Instance], loads: LoadIndex) -> Int? {
        route(request, among: instances)
    }

    public mutating func placeDecode(_ request: ServingRequest, among instances: [Instance]) -> Int? {
        instances.indices
            .filter { instances[$0].acceptsDecodeHandoff && instances[$0].canReserve(blocks: request.kvBlocks) }
            .min { instances[$0].outstandingTokens < instances[$1].outstandingTokens }
    }
}
