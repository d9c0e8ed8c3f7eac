import SimCore

/// One inference request as the workload describes it.
///
/// `outputTokens` is how many tokens the request will generate: the simulator
/// uses it to know when generation ends, and schedulers must not read it.
public struct Request: Sendable, Equatable {
    public let id: Int
    public let arrival: SimTime
    public let promptTokens: Int
    public let outputTokens: Int
    /// What the prompt is made of, as runs of tokens that other prompts may share (a system
    /// prompt, a conversation so far); empty when the workload does not say. Prefix caching
    /// matches prompts on it.
    public var prefix: [PrefixSegment] = []
    /// The high of two priority classes (Llumnix's): queued ahead of normal requests, preempted last.
    public var highPriority = false

    public init(id: Int, arrival: SimTime, promptTokens: Int, outputTokens: Int, prefix: [PrefixSegment] = [],
                highPriority: Bool = false) {
        self.id = id
        self.arrival = arrival
        self.promptTokens = promptTokens
        self.outputTokens = outputTokens
        self.prefix = prefix
        self.highPriority = highPriority
    }
}

/// `tokens` tokens of content `id`: two prompts that start with the same segments start with the
/// same tokens.
public struct PrefixSegment: Sendable, Equatable {
    public let id: UInt64
    public let tokens: Int

    public init(id: UInt64, tokens: Int) {
        self.id = id
        self.tokens = tokens
    }
}

/// A stream of requests in arrival order, produced on demand so that a long
/// trace or a large generated workload is never held in memory whole.
public protocol RequestSource: AnyObject {
    /// The next request, or nil when none is available now.
    func next() throws -> Request?
    /// Whether no request will ever come again. Open-loop sources are
    /// exhausted once `next()` returns nil (the default); a closed-loop source
    /// may return nil while its clients wait for replies.
    var isExhausted: Bool { get }
    /// A request the source produced has ended (finished or dropped) at `time`.
    func requestEnded(id: Int, at time: SimTime)
    /// Whether its requests depend on nothing the run does (no request waits for another to
    /// end): then they may be drawn ahead (see PrefetchingSource). The default is yes.
    var isOpenLoop: Bool { get }
}

extension RequestSource {
    public var isExhausted: Bool { true }
    public func requestEnded(id: Int, at time: SimTime) {}
    public var isOpenLoop: Bool { true }
}

/// A request whose arrival time lies beyond the simulated clock's range (Int64
/// nanoseconds, about 292 years): the workload's rate or gaps are too extreme
/// to simulate, and dropping the request silently would falsify the results.
public struct ArrivalBeyondClock: Error, Sendable {
    /// 0-based index of the request in the workload.
    public let request: Int
    public init(request: Int) { self.request = request }
}
