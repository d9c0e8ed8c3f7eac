/// The cluster's rankings of its instances, each kept in a tournament tree (InstanceRanking) and
/// told by the instances what changed: the fewest outstanding tokens (least-loaded routing) is
/// built in; a router with another key (Llumnix's freeness, DistServe's queue length) registers
/// its own by name on first use.
public final class LoadIndex {
    private var names: [String] = []
    private var rankings: [InstanceRanking] = []
    /// The rankings whose key reads what instances hold (most runs have none).
    private var holdingReaders: [InstanceRanking] = []
    private var instances = 0

    public init() {
        names.append("outstanding_tokens")
        rankings.append(InstanceRanking(index: self, readsHoldings: false, key: .outstandingTokens))
    }

    /// What changed on an instance: its outstanding tokens or state (every ranking may move), its
    /// outstanding tokens alone and upwards (`grew`: nearly every change, one per step), or what it
    /// holds (queues, KV blocks; only rankings whose key reads them).
    enum Change { case load, grew, holdings }

    /// Instances changed since a ranking last asked, by kind. An instance tells of a change several
    /// times per step, so a change is one mark here; a ranking takes them when asked (`deliver`).
    private var loadMarks = ChangeMarks(), holdingMarks = ChangeMarks()
    /// Per instance: whether its outstanding tokens grew since the built-in ranking last read them.
    /// While that ranking is the only one, growth is flagged here rather than marked: the key the
    /// ranking holds for the instance is then a lower bound of its own, which the ranking reads
    /// again only if the instance would win on it (see `InstanceRanking.best(among:)`).
    private(set) var grown = OwnedValues<Bool>()
    /// Whether a ranking besides the built-in one was registered: growth is then marked for all.
    private var othersRank = false

    @inline(__always) func markChanged(_ i: Int, _ change: Change) {
        switch change {
        case .load: loadMarks.mark(i)
        case .grew: if othersRank { loadMarks.mark(i) } else { grown.buffer[i] = true }
        case .holdings: if !holdingReaders.isEmpty { holdingMarks.mark(i) }
        }
    }

    /// Hands the changes marked since the last delivery to every ranking they may move. While the
    /// built-in ranking is the only one (most runs), it is the one asking: its changes are returned
    /// instead, valid until the next mark (copying them into its own marks was a fifth of its time).
    func deliver() -> UnsafeBufferPointer<Int> {
        let loads = loadMarks.takeAll()
        for i in holdingMarks.takeAll() { for r in holdingReaders { r.markChanged(i) } }
        if rankings.count == 1 { return loads }
        for i in loads { for r in rankings { r.markChanged(i) } }
        return UnsafeBufferPointer(start: nil, count: 0)
    }

    /// A new instance, at the next index.
    func add() {
        instances += 1
        grown.resize(to: instances, filling: false)
        loadMarks.grow(to: instances)
        holdingMarks.grow(to: instances)
        for r in rankings { r.add() }
    }

    /// The accepting instance with the fewest outstanding tokens (ties: the lowest index), nil when none accepts.
    public func leastOutstanding(among instances: [Instance]) -> Int? {
        // The first ranking, lent: `rankings` keeps it (reading it took a retain and release per arrival).
        rankings.withUnsafeBufferPointer { Unmanaged.passUnretained($0[0]) }._withUnsafeGuaranteedRef { $0.best(among: instances) }
    }

    /// The ranking called `name`, made with `key` the first time it is asked for (a key may read
    /// anything an instance holds: queues, KV blocks, requests' priorities).
    public func ranking(_ name: String, key: @escaping (Instance) -> Double?) -> InstanceRanking {
        if let i = names.firstIndex(of: name) { return rankings[i] }
        let r = InstanceRanking(index: self, readsHoldings: true, key: .custom(key))
        for _ in 0..<instances { r.add() }
        names.append(name)
        othersRank = true
        rankings.append(r)
        holdingReaders.append(r)
        return r
    }
}
