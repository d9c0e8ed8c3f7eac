import Serving

/// What a scheduler checks before a waiting request joins the batch, beyond
/// the free blocks (above the watermark) that every admission needs.
public protocol AdmissionControl {
    /// A scheduling round begins on `instance` (its running batch is settled). It prepares the
    /// round's admissions and changes nothing they do not read: a round with nothing waiting may
    /// be skipped (a decode stretch's steps skip theirs, see FCFSScheduler.formedStretchSteps).
    mutating func beginRound(on instance: Instance)
    /// Whether `candidate` may join now.
    mutating func admits(_ candidate: ServingRequest, on instance: Instance) -> Bool
    /// `candidate` joined: later candidates of the round are tested with it.
    mutating func admitted(_ candidate: ServingRequest)
    /// A request finished after generating `outputTokens` tokens.
    mutating func finished(outputTokens: Int)
    /// Whether it reads how far running requests have come (their generated or computed tokens,
    /// their blocks) in `beginRound`, which every step calls (see BatchScheduler.coalescesDecodes).
    var readsRunningProgress: Bool { get }
}

extension AdmissionControl {
    public mutating func beginRound(on instance: Instance) {}
    public mutating func admitted(_ candidate: ServingRequest) {}
    public mutating func finished(outputTokens: Int) {}
    public var readsRunningProgress: Bool { true }
}

/// vLLM's rule: admit while the blocks are free. Memory that running requests
/// will need later is not held back, so growth ends in preemptions.
public struct AggressiveAdmission: AdmissionControl {
    public init() {}
    public func admits(_ candidate: ServingRequest, on instance: Instance) -> Bool { true }
    public var readsRunningProgress: Bool { false }
}

/// Reserve every request's prompt plus the system's maximum output length, so
/// nothing is ever preempted, at the price of a half-empty cache.
public struct ConservativeAdmission: AdmissionControl {
    public let maxOutputTokens: Int
    private var reserved = 0

    public init(maxOutputTokens: Int) { self.maxOutputTokens = maxOutputTokens }
    /// It reads running requests' prompt lengths only.
    public var readsRunningProgress: Bool { false }

    public mutating func beginRound(on instance: Instance) {
        reserved = instance.runningPromptTokens + instance.runningCount * maxOutputTokens
    }

    public func admits(_ candidate: ServingRequest, on instance: Instance) -> Bool {
        reserved + candidate.promptTokens + maxOutputTokens <= instance.gpuBlocks.capacity * instance.limits.blockTokens
    }

    public mutating func admitted(_ candidate: ServingRequest) { reserved += candidate.promptTokens + maxOutputTokens }
}
