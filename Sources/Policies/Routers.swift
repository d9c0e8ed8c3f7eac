import Serving

/// Sends requests to the accepting instances in turn.
public struct RoundRobinRouter: Router {
    private var next = 0

    public init() {}

    public mutating func route(_ request: ServingRequest, among instances: [Instance]) -> Int? {
        for step in 0..<instances.count {
            let i = (next + step) % instances.count
            if instances[i].acceptsNewRequests {
                next = i + 1
                return i
            }
        }
        return nil
    }
}

/// Sends each request to the accepting instance with the fewest outstanding
/// tokens (prompt plus generated tokens of the requests it holds); ties go to
/// the lowest index. It never looks at output lengths, which a real router
/// cannot know.
public struct LeastOutstandingTokensRouter: Router {
    public init() {}

    public mutating func route(_ request: ServingRequest, among instances: [Instance]) -> Int? {
        var best: Int?
        for (i, inst) in instances.enumerated() where inst.acceptsNewRequests {
            if best == nil || inst.outstandingTokens < instances[best!].outstandingTokens { best = i }
        }
        return best
    }

    /// The same instance as the scan above, from the cluster's tournament tree in O(log n).
    public mutating func route(_ request: ServingRequest, among instances: [Instance], loads: LoadIndex) -> Int? {
        loads.leastOutstanding(among: instances)
    }
}

/// DistServe's dispatch: the accepting instance with the shortest queue, counting the requests
/// waiting there and those it is running (on a prefill instance, the prefills in progress); ties
/// go to the lowest index.
public struct ShortestQueueRouter: Router {
    public init() {}

    public mutating func route(_ request: ServingRequest, among instances: [Instance]) -> Int? {
        var best: Int?, shortest = Int.max
        for (i, inst) in instances.enumerated() where inst.acceptsNewRequests {
            let queue = inst.waiting.count + inst.runningCount
            if queue < shortest { best = i; shortest = queue }
        }
        return best
    }

    /// The same instance as the scan above, from the cluster's tournament tree in O(log n).
    public mutating func route(_ request: ServingRequest, among instances: [Instance], loads: LoadIndex) -> Int? {
        loads.ranking("queue_length") { $0.acceptsNewRequests ? Double($0.waiting.count + $0.runningCount) : nil }
            .best(among: instances)
    }
}
