/// The best candidate instance under one key (lowest key; ties: the lowest index), in O(log n): a
/// tournament tree over the instances whose leaves are refreshed only for instances that changed
/// since the last question (under the built-in key, an instance whose tokens only grew, only when
/// it would win). A router asks on every arrival instead of scanning every instance
/// (the scan took 22% of the time at 256 instances in the profile that opened issue 16).
public final class InstanceRanking {
    /// What the ranking orders instances by.
    public enum Key {
        /// Outstanding tokens, among instances that take new requests (least-loaded routing), read
        /// in place: a closure's call per refreshed leaf was about a seventh of the ranking's
        /// instructions.
        case outstandingTokens
        /// Any key: nil when the instance is not a candidate (it takes no new requests, say).
        case custom((Instance) -> Double?)
    }

    private let key: Key
    /// The index that tells this ranking of changes (it owns the ranking, so it outlives it: lent,
    /// where an unowned reference took an atomic operation per question, and an unsafe one was
    /// retained for each call).
    private let index: Unmanaged<LoadIndex>
    /// Whether the key may read anything an instance holds (queues, blocks), not just its
    /// outstanding tokens and state: it is then refreshed after changes of either kind.
    let readsHoldings: Bool
    /// Per instance: its key, or +infinity while it is not a candidate (a candidate's infinite key
    /// is kept just below, so it still beats every non-candidate).
    private var keys = OwnedValues<Double>()
    /// Node n's winner (an instance index, or -1 for an empty leaf); leaves start at `width`.
    private var winners = OwnedValues<Int>()
    private var width = 1
    /// Instances changed since the last question, each listed once.
    private var marks = ChangeMarks()

    init(index: LoadIndex, readsHoldings: Bool, key: Key) {
        self.index = Unmanaged.passUnretained(index)
        self.readsHoldings = readsHoldings
        self.key = key
        winners.resize(to: 2, filling: -1)
    }

    /// An instance changed: its leaf is refreshed before the next question.
    @inline(__always) func markChanged(_ i: Int) { marks.mark(i) }

    /// A new instance, at the next index.
    func add() {
        let i = keys.count
        keys.resize(to: i + 1, filling: .infinity)
        marks.grow(to: keys.count)
        if keys.count > width {
            width *= 2
            winners.resize(to: 0, filling: -1)
            winners.resize(to: 2 * width, filling: -1)
            for i in 0..<keys.count { winners[width + i] = i }
            let keys = UnsafeBufferPointer(keys.buffer)
            for n in stride(from: width - 1, through: 1, by: -1) { winners[n] = Self.better(winners[2 * n], winners[2 * n + 1], keys: keys) }
        } else {
            winners[width + i] = i
        }
        markChanged(i)
    }

    /// The lower key, the lower index on a tie; an empty leaf loses. The comparison of two keys
    /// is flags combined, not branches: which of two replicas wins is a coin toss to the branch
    /// predictor (cachegrind's simulated mispredictions in the ranking halved, 1.11 M → 0.54 M, on a
    /// 7B cluster's 100 K-request cut).
    @inline(__always) private static func better(_ a: Int, _ b: Int, keys: UnsafeBufferPointer<Double>) -> Int {
        if b < 0 { return a }
        if a < 0 { return b }
        let ka = keys[a], kb = keys[b]
        let bWins = (kb < ka ? 1 : 0) | (kb == ka ? 1 : 0) & (b < a ? 1 : 0)
        return bWins != 0 ? b : a
    }

    /// The candidate with the lowest key, nil when there is none.
    public func best(among instances: [Instance]) -> Int? {
        // The index's changes: handed over here unless another ranking took them first.
        let changed = index._withUnsafeGuaranteedRef { $0.deliver() }
        instances.withUnsafeBufferPointer { all in
            switch key {
            case .outstandingTokens:
                let value = { (inst: Instance) in inst.acceptsNewRequests ? Double(inst.outstandingTokens) : .infinity }
                let grown = index._withUnsafeGuaranteedRef { $0.grown.buffer }
                refresh(marks.takeAll(), of: all, value, clearing: grown)
                refresh(changed, of: all, value, clearing: grown)
                // Instances whose tokens only grew since their keys were read hold keys no higher than
                // their own: while the winner is one of them, its key is read again. A winner read
                // since has the lowest key (ties: the lowest index) of all, as every other's own is
                // at least the key it holds. So only instances that would win are read, where every
                // instance that stepped since the last question had been (most of the tree's work).
                var best = winners[1]
                while best >= 0, grown[best] {
                    withUnsafePointer(to: best) { refresh(UnsafeBufferPointer(start: $0, count: 1), of: all, value, clearing: grown) }
                    best = winners[1]
                }
            case .custom(let key):
                let value = { (inst: Instance) in key(inst).map { min($0, .greatestFiniteMagnitude) } ?? .infinity }
                refresh(marks.takeAll(), of: all, value)
                refresh(changed, of: all, value)
            }
        }
        let best = winners[1]
        return best >= 0 && keys[best] < .infinity ? best : nil
    }

    /// Gives each of the `changed` instances (repeats do no harm) its key by `value`, and its leaf's
    /// ancestors their winners; clears their flags in `grown`, if given (their keys are read).
    @inline(__always)
    private func refresh(_ changed: UnsafeBufferPointer<Int>, of all: UnsafeBufferPointer<Instance>, _ value: (Instance) -> Double,
                         clearing grown: UnsafeMutableBufferPointer<Bool>? = nil) {
        // The keys and nodes are read unchecked: a changed instance has a key, a node and its
        // children lie within the tree, and winners are instances' indices (checks took a third of
        // the walk).
        let keys = keys.buffer, winners = winners.buffer, read = UnsafeBufferPointer(keys)
        for i in changed {
            grown?[i] = false
            // Lent, not retained: `all` keeps it alive.
            keys[i] = Unmanaged.passUnretained(all[i])._withUnsafeGuaranteedRef(value)
            // Up the tree while `i` won the node before or wins it now: past a node it neither won
            // nor wins, that node's winner and key are unchanged, and so is everything above.
            var n = (width + i) / 2
            while n >= 1 {
                let before = winners[n], now = Self.better(winners[2 * n], winners[2 * n + 1], keys: read)
                winners[n] = now
                if before != i && now != i { break }
                n /= 2
            }
        }
    }
}

/// Which of `n` instances changed, each listed once in the order first marked. Marking is on the
/// simulation's hottest path (several times per step): a mark is two plain stores.
struct ChangeMarks: ~Copyable {
    private var isMarked = OwnedValues<Bool>()
    /// The instances marked, in order: `listed` of them (each at most once, so n places suffice).
    private var list = OwnedValues<Int>()
    private var listed = 0

    init() {}

    /// Room for instances 0..<n.
    mutating func grow(to n: Int) {
        guard n > isMarked.count else { return }
        isMarked.resize(to: n, filling: false)
        list.resize(to: n, filling: 0)
    }

    /// (Unchecked but in debug builds: `i` is an instance's index, below the `n` grown to, and each
    /// is listed at most once. The checks were 0.9% of a 7B cluster's instructions.)
    @inline(__always) mutating func mark(_ i: Int) {
        let isMarked = isMarked.buffer
        if !isMarked[i] {
            isMarked[i] = true
            list.buffer[listed] = i
            listed += 1
        }
    }

    /// The instances marked since the last call, in the order first marked; the marks are cleared.
    /// The buffer is valid until the next mark.
    mutating func takeAll() -> UnsafeBufferPointer<Int> {
        let taken = list.prefix(listed), isMarked = isMarked.buffer
        for i in taken { isMarked[i] = false }
        listed = 0
        return taken
    }
}
