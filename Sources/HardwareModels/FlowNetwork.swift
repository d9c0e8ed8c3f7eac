/// Concurrent transfers sharing links max-min fairly.
///
/// A flow moves bytes along a path of links. At any moment each flow has a
/// rate; rates are max-min fair: no flow can go faster without slowing one
/// that is no faster than it. They are recomputed (by progressive filling)
/// whenever a flow starts or ends, and bytes drain at those rates in between.
/// A flow's data is delivered when its bytes have drained; it completes one
/// path latency (the sum of its links' latencies) later.
///
/// The network holds no clock: the owner calls `advance(to:)` before each
/// change and asks `nextDelivery` when to look again. Flows are kept in start
/// order, so every decision is deterministic.
public struct FlowNetwork: Sendable {
    public typealias FlowID = Int

    public private(set) var links: [Link] = []

    struct Flow: Sendable {
        let id: FlowID
        let path: [Int]
        var remaining: Double
        var rate = 0.0
    }
    private var flows: [Flow] = []
    private var nextID = 0
    private var now = 0.0

    public init() {}

    /// Adds a link; returns its index for use in paths.
    @discardableResult
    public mutating func addLink(_ link: Link) -> Int {
        links.append(link)
        return links.count - 1
    }

    public var activeFlows: Int { flows.count }

    /// The current rate of a flow, bytes/s (0 when it is not active).
    public func rate(of id: FlowID) -> Double { flows.first { $0.id == id }?.rate ?? 0 }

    /// Seconds a path adds to every message: the sum of its links' latencies.
    public func latency(of path: [Int]) -> Double { path.reduce(0) { $0 + links[$1].latency } }

    /// Drains every flow at its current rate up to time `t` (seconds).
    public mutating func advance(to t: Double) {
        let dt = t - now
        guard dt > 0 else { return }
        for i in flows.indices { flows[i].remaining = max(0, flows[i].remaining - flows[i].rate * dt) }
        now = t
    }

    /// Starts a flow of `bytes` along `path` at the current time.
    public mutating func start(bytes: Double, path: [Int]) -> FlowID {
        precondition(bytes >= 0 && !path.isEmpty && path.allSatisfy { links.indices.contains($0) })
        let id = nextID
        nextID += 1
        flows.append(Flow(id: id, path: path, remaining: bytes))
        reallocate()
        return id
    }

    /// The flow whose data is delivered first and the time (seconds) it will be,
    /// at current rates; ties go to the flow started first.
    public var nextDelivery: (id: FlowID, time: Double)? {
        var best: (FlowID, Double)?
        for f in flows {
            let t = f.remaining <= 0 ? now : (f.rate > 0 ? now + f.remaining / f.rate : .infinity)
            if best == nil || t < best!.1 { best = (f.id, t) }
        }
        return best
    }

    /// Removes a delivered (or cancelled) flow and shares its bandwidth out.
    public mutating func remove(_ id: FlowID) {
        flows.removeAll { $0.id == id }
        reallocate()
    }

    /// Bytes a flow still has to move.
    public func remainingBytes(of id: FlowID) -> Double? { flows.first { $0.id == id }?.remaining }

    /// Progressive filling: raise every unfrozen flow's rate together; when a
    /// link saturates, freeze the flows through it at their share.
    private mutating func reallocate() {
        var capacity = links.map(\.bandwidth)
        var users = [Int](repeating: 0, count: links.count)
        for f in flows { for l in f.path { users[l] += 1 } }
        var frozen = [Bool](repeating: false, count: flows.count)
        var left = flows.count
        while left > 0 {
            // The bottleneck: the link offering the smallest equal share.
            var bottleneck = -1
            var share = Double.infinity
            for l in links.indices where users[l] > 0 {
                let s = capacity[l] / Double(users[l])
                if s < share { share = s; bottleneck = l }
            }
            guard bottleneck >= 0 else { break }
            for i in flows.indices where !frozen[i] && flows[i].path.contains(bottleneck) {
                flows[i].rate = share
                frozen[i] = true
                left -= 1
                for l in flows[i].path {
                    capacity[l] = max(0, capacity[l] - share)
                    users[l] -= 1
                }
            }
        }
    }
}
