/// A multiset of integer values kept as value → count: exact quantiles (numpy's linear
/// interpolation between order statistics) in memory proportional to the distinct values.
/// Inter-token gaps in nanoseconds repeat (every decode of one iteration sees the same gap),
/// so a run's hundreds of millions of gaps take a few distinct values per iteration.
///
/// The table is open-addressed with linear probing and a multiplicative hash: one add is a
/// few nanoseconds, which matters at one add per generated token.
public struct CountedValues: Sendable {
    @usableFromInline static let empty = Int64.min
    @usableFromInline var keys = [Int64](repeating: CountedValues.empty, count: 1024)
    @usableFromInline var counts = [Int](repeating: 0, count: 1024)
    private var distinct = 0
    public var total: Int { count }
    @usableFromInline var count = 0
    @usableFromInline var sum = 0.0
    /// The slot of the last value added: runs of equal values (one iteration's gap for every
    /// request in it) skip the probe.
    @usableFromInline var lastValue = CountedValues.empty
    @usableFromInline var lastSlot = 0

    public init() {}

    @inline(__always) private func slot(_ value: Int64, mask: Int) -> Int {
        Int(truncatingIfNeeded: (UInt64(bitPattern: value) &* 0x9E37_79B9_7F4A_7C15) >> 20) & mask
    }

    /// Adds `count` copies of `value` (any value but Int64.min).
    @inlinable public mutating func add(_ value: Int64, count: Int = 1) {
        if value == lastValue, count > 0 {
            self.count += count
            sum += Double(value) * Double(count)
            counts[lastSlot] += count
            return
        }
        insert(value, count: count)
    }

    @usableFromInline mutating func insert(_ value: Int64, count: Int) {
        precondition(value != Self.empty)
        guard count > 0 else { return }
        self.count += count
        sum += Double(value) * Double(count)
        let mask = keys.count - 1
        var i = slot(value, mask: mask)
        while true {
            if keys[i] == value { counts[i] += count; lastValue = value; lastSlot = i; return }
            if keys[i] == Self.empty { break }
            i = (i + 1) & mask
        }
        keys[i] = value
        counts[i] = count
        distinct += 1
        if distinct * 2 > keys.count { grow() } else { lastValue = value; lastSlot = i }
    }

    /// Takes back one copy of a value added earlier.
    public mutating func remove(_ value: Int64) {
        let mask = keys.count - 1
        var i = slot(value, mask: mask)
        while keys[i] != value {
            precondition(keys[i] != Self.empty, "removing a value never added")
            i = (i + 1) & mask
        }
        precondition(counts[i] > 0, "removing a value more often than it was added")
        counts[i] -= 1
        count -= 1
        sum -= Double(value)
    }

    private mutating func grow() {
        let oldKeys = keys, oldCounts = counts
        keys = [Int64](repeating: Self.empty, count: oldKeys.count * 2)
        counts = [Int](repeating: 0, count: oldKeys.count * 2)
        let mask = keys.count - 1
        for (k, n) in zip(oldKeys, oldCounts) where k != Self.empty {
            var i = slot(k, mask: mask)
            while keys[i] != Self.empty { i = (i + 1) & mask }
            keys[i] = k
            counts[i] = n
        }
        lastValue = Self.empty
    }

    public var mean: Double { total == 0 ? .nan : sum / Double(total) }

    /// The population standard deviation (numpy's std) over every value counted.
    public var standardDeviation: Double {
        guard total > 0 else { return .nan }
        let m = mean
        var squares = 0.0
        for (v, n) in zip(keys, counts) where v != Self.empty && n > 0 { squares += Double(n) * (Double(v) - m) * (Double(v) - m) }
        return (squares / Double(total)).squareRoot()
    }

    /// The q-quantiles, each as SampleSummary.quantile computes it over the expanded values.
    public func quantiles(_ qs: [Double]) -> [Double] {
        guard total > 0 else { return qs.map { _ in .nan } }
        let sorted = zip(keys, counts).filter { $0.0 != Self.empty && $0.1 > 0 }.sorted { $0.0 < $1.0 }
        /// The value at 0-based rank k.
        func value(at k: Int) -> Double {
            var seen = 0
            for (v, n) in sorted {
                seen += n
                if k < seen { return Double(v) }
            }
            return Double(sorted[sorted.count - 1].0)
        }
        return qs.map { q in
            let h = Double(total - 1) * min(max(q, 0), 1)
            let lower = Int(h.rounded(.down))
            let a = value(at: lower)
            return lower + 1 < total ? a + (h - Double(lower)) * (value(at: lower + 1) - a) : a
        }
    }
}
