import SimCore

/// Marks a share of another source's requests high priority, each independently, from a seeded
/// stream of its own (so the requests themselves are those the source would give anyway).
public final class PrioritySource: RequestSource {
    private let inner: RequestSource
    private let share: Double
    private let draw: RandomStream

    public init(_ inner: RequestSource, highShare share: Double, seed: UInt64) {
        precondition(share >= 0 && share <= 1)
        self.inner = inner
        self.share = share
        draw = RandomStream(name: "workload.high_priority", scenarioSeed: seed)
    }

    public func next() throws -> Request? {
        guard var r = try inner.next() else { return nil }
        r.highPriority = draw.uniform() < share
        return r
    }

    public var isExhausted: Bool { inner.isExhausted }
    public var isOpenLoop: Bool { inner.isOpenLoop }
    public func requestEnded(id: Int, at time: SimTime) { inner.requestEnded(id: id, at: time) }
}
