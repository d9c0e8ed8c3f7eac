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

    public init(id: Int, arrival: SimTime, promptTokens: Int, outputTokens: Int) {
        self.id = id
        self.arrival = arrival
        self.promptTokens = promptTokens
        self.outputTokens = outputTokens
    }
}

/// A stream of requests in arrival order, produced on demand so that a long
/// trace or a large generated workload is never held in memory whole.
public protocol RequestSource: AnyObject {
    /// The next request, or nil when the workload is exhausted.
    func next() throws -> Request?
}
