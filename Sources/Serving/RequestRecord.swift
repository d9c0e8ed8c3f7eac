import SimCore

/// How a request ended and when things happened to it. Times are absolute
/// simulated times; derived latencies follow `vllm bench serve` (see Metrics.md).
public struct RequestRecord: Sendable, Equatable {
    public let id: Int
    public let arrival: SimTime
    public let firstScheduled: SimTime?
    public let firstToken: SimTime?
    public let end: SimTime
    public let promptTokens: Int
    /// Tokens actually generated (equals the target when finished).
    public let outputTokens: Int
    public let instance: Int
    public let preemptions: Int
    public let migrations: Int
    public let maxInterTokenGap: SimTime
    /// Disaggregated serving: how long its prefilled KV waited to be taken by a decode instance,
    /// and how long its KV spent moving between instances (zero when it never moved).
    public let kvWait: SimTime
    public let kvTransfer: SimTime
    public let highPriority: Bool
    /// nil when the request finished.
    public let dropReason: DropReason?

    public var finished: Bool { dropReason == nil }
    /// Time to first token and end-to-end latency as spans of simulated time (whole nanoseconds).
    public var ttftSpan: SimTime? { firstToken.map { $0 - arrival } }
    public var e2elSpan: SimTime { end - arrival }
    /// Time to first token, seconds.
    public var ttft: Double? { ttftSpan?.seconds }
    /// End-to-end latency, seconds.
    public var e2el: Double { e2elSpan.seconds }
    /// Time per output token after the first: (E2EL − TTFT) / (output − 1).
    public var tpot: Double? {
        guard finished, outputTokens > 1, let ttft else { return nil }
        return (e2el - ttft) / Double(outputTokens - 1)
    }
}
