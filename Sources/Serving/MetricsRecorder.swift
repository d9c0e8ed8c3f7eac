import SimCore

/// Collects what a run measures: one record per ended request, every
/// inter-token gap of the requests that finished (exactly, in nanoseconds; a
/// gap counts once its request finishes, as `vllm bench serve` counts only
/// successful requests), and per-instance samples over time.
public final class MetricsRecorder {
    /// Every ended request's record, in the order they ended (none when `keepsRecords` is off).
    public private(set) var records: [RequestRecord] = []
    /// Whether `records` keeps the records: off for long runs that stream them out through `onRecords`.
    public var keepsRecords = true
    /// Handed the records as their requests end, in that order, `recordBatch` at a time (the rest
    /// when `handOverRecords()` is called): a call per record retained and released the closure's
    /// context each time.
    public var onRecords: (([RequestRecord]) -> Void)?
    /// Records per batch handed to `onRecords`, and on to requests.csv's writing thread (a worker
    /// thread's unit: see RecordStream).
    public static let recordBatch = 4096
    private var unsentRecords: [RequestRecord] = []
    public private(set) var outputTokens = 0
    private let gaps = GapSettler()
    public private(set) var samples: [InstanceSample] = []

    public init() {}

    /// Per instance (by index): the number and end of its last step that sampled. (The runs of
    /// gaps over those steps are kept on the settling thread: see StepEvent.)
    private var clocks = OwnedValues<StepClock>()

    @inline(__always) private func clock(_ instance: Int) -> UnsafeMutablePointer<StepClock> {
        precondition(instance >= 0, "instance \(instance)")
        while instance >= clocks.count { clocks.append(StepClock()) }
        return clocks.buffer.baseAddress.unsafelyUnwrapped + instance
    }

    /// The requests of `batch` marked `sampledNow` produced a token at `now` on `instance`, in
    /// batch order, and so did `continuing` more (a decode stretch's, see DecodeStretch), each
    /// continuing its run of sampled steps; returns the step's gap.
    @discardableResult
    func tokensSampled(in batch: Batch, alongWith continuing: Int = 0, on instance: Int, at now: SimTime) -> SimTime {
        outputTokens += continuing
        return tokensSampled(in: batch, on: instance, clock: clock(instance), at: now)
    }

    private func tokensSampled(in batch: Batch, on instance: Int, clock: UnsafeMutablePointer<StepClock>,
                               at now: SimTime) -> SimTime {
        let step = clock.pointee.step(at: now.nanoseconds)
        gaps.stepped(instance, at: now.nanoseconds)
        let number = UInt32(truncatingIfNeeded: step.number), previous = number &- 1
        let here = Int32(truncatingIfNeeded: instance), stepGap = SimTime(nanoseconds: step.gap)
        // Tokens outside runs go to the log a run of equal gaps at a time.
        withUnsafeTemporaryAllocation(of: Int.self, capacity: batch.count) { run in
            var sampled = 0, opened = 0, inRun = 0, runGap: Int64 = 0
            batch.forEach { r in
                guard r.sampledNow else { return }
                sampled += 1
                defer { r.lastToken = now }
                // Its last token came at this instance's previous step: the run goes on. (A run
                // wraps only after 2³² steps, and the instance holds every step of an open run.)
                if r.runInstance == here, r.runTo == previous {
                    r.runTo = number
                    if stepGap > r.maxInterTokenGap { r.maxInterTokenGap = stepGap }
                    return
                }
                if r.generatedTokens == 1 {
                    r.firstToken = now
                } else {
                    closeRun(of: r, finished: nil)
                    let gap = now - r.lastToken
                    if inRun > 0, gap.nanoseconds != runGap {
                        gaps.append(requests: UnsafeBufferPointer(rebasing: run[..<inRun]), gap: runGap)
                        inRun = 0
                    }
                    runGap = gap.nanoseconds
                    run[inRun] = r.id
                    inRun += 1
                    r.gapsLogged += 1
                    if gap > r.maxInterTokenGap { r.maxInterTokenGap = gap }
                }
                (r.runInstance, r.runFrom, r.runTo) = (here, number, number)
                opened += 1
            }
            gaps.append(requests: UnsafeBufferPointer(rebasing: run[..<inRun]), gap: runGap)
            if opened > 0 { gaps.opened(instance, at: step.number, runs: opened) }
            outputTokens += sampled
        }
        settleIfDue(instance, after: step.number)
        return SimTime(nanoseconds: step.gap)
    }

    /// Every one of `count` requests sampled at `now` on `instance`, each continuing its run of
    /// sampled steps (a decode stretch's step, see DecodeStretch); returns the step's gap.
    @inline(__always)
    func allSampled(_ count: Int, on instance: Int, at now: SimTime) -> SimTime {
        let step = clock(instance).pointee.step(at: now.nanoseconds)
        gaps.stepped(instance, at: now.nanoseconds)
        outputTokens += count
        settleIfDue(instance, after: step.number)
        return SimTime(nanoseconds: step.gap)
    }

    /// Passes on the steps whose counts are final every 64 steps, so that few steps are held.
    @inline(__always) private func settleIfDue(_ instance: Int, after step: Int) {
        if step % 64 == 0 { gaps.settles(instance) }
    }

    /// Closes `r`'s open run, if it has one. While `r` goes on (`finished` nil), the run broke (it did
    /// not sample at its instance's next step): its gaps are logged one by one, to count if `r`
    /// finishes. Once `r` ended, they count at once if it finished, and never if it was dropped.
    private func closeRun(of r: ServingRequest, finished: Bool?) {
        guard r.runInstance >= 0 else { return }
        let instance = Int(r.runInstance), clock = clock(instance)
        let first = clock.pointee.number(r.runFrom), last = clock.pointee.number(r.runTo)
        if let finished {
            gaps.closed(instance, from: first, through: last, finished: finished)
        } else {
            gaps.broke(instance, from: first, through: last, request: r.id)
            if last > first { r.gapsLogged += last - first }
        }
        r.runInstance = -1
    }

    func ended(_ r: ServingRequest, at now: SimTime, reason: DropReason?) {
        r.phase = reason == nil ? .finished : .dropped
        closeRun(of: r, finished: reason == nil)
        gaps.ended(request: r.id, loggedGaps: r.gapsLogged, finished: reason == nil)
        let record = RequestRecord(
            id: r.id, arrival: r.arrival, firstScheduled: r.firstScheduled, firstToken: r.firstToken, end: now,
            promptTokens: r.promptTokens, outputTokens: r.generatedTokens, instance: r.instance,
            preemptions: r.preemptions, migrations: r.migrations, maxInterTokenGap: r.maxInterTokenGap,
            kvWait: r.kvWait, kvTransfer: r.kvTransfer, highPriority: r.highPriority, dropReason: reason)
        if keepsRecords { records.append(record) }
        guard onRecords != nil else { return }
        unsentRecords.append(record)
        if unsentRecords.count == Self.recordBatch { handOverRecords() }
    }

    /// Hands the records not yet handed over to `onRecords`.
    public func handOverRecords() {
        guard !unsentRecords.isEmpty, let onRecords else { return }
        let batch = unsentRecords
        unsentRecords = []
        unsentRecords.reserveCapacity(Self.recordBatch)
        onRecords(batch)
    }

    /// Every inter-token gap (ns) of the requests that finished so far (none of requests dropped
    /// or still in flight). The run is taken to be over: a run still open never counts.
    func finishedInterTokenGaps() -> CountedValues { gaps.settledGaps() }

    func sample(_ s: InstanceSample) { samples.append(s) }
}

/// One instance's state at one sampling time.
public struct InstanceSample: Sendable, Equatable {
    public let time: SimTime
    public let instance: Int
    public let waiting: Int
    public let running: Int
    public let swapped: Int
    public let gpuBlocksUsed: Int
    public let gpuBlocksTotal: Int
    public let hostBlocksUsed: Int
    public let nvmeBlocksUsed: Int
}
