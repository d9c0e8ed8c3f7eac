#if canImport(Glibc)
import Glibc
#endif

/// A multiset of integer values kept as value → count: exact quantiles (numpy's linear
/// interpolation between order statistics) in memory proportional to the distinct values.
/// Inter-token gaps in nanoseconds repeat (every decode of one iteration sees the same gap),
/// so a run's hundreds of millions of gaps take a few distinct values per iteration.
///
/// The table is open-addressed with linear probing and a multiplicative hash: one add is a
/// few nanoseconds, which matters at one add per generated token.
public struct CountedValues: Sendable {
    @usableFromInline struct Slot: Sendable, BitwiseCopyable {
        @usableFromInline var value: Int64
        @usableFromInline var count: Int
    }
    @usableFromInline static let empty = Int64.min
    /// Value and count side by side: a probe touches one cache line.
    @usableFromInline var slots = [Slot](repeating: Slot(value: CountedValues.empty, count: 0), count: 1024)
    private var distinct = 0
    public var total: Int { count }
    @usableFromInline var count = 0
    /// The exact sum, so that the mean does not depend on the order values came in.
    @usableFromInline var sum: Int128 = 0
    /// The slot of the last value added: runs of equal values (one iteration's gap for every
    /// request in it) skip the probe.
    @usableFromInline var lastValue = CountedValues.empty
    @usableFromInline var lastSlot = 0
    /// What `add(contentsOf:)` read ahead, kept so that the reads are not optimized away.
    private var warmed: Int64 = 0

    public init() {}

    @inline(__always) private func slot(_ value: Int64, mask: Int) -> Int {
        Int(truncatingIfNeeded: (UInt64(bitPattern: value) &* 0x9E37_79B9_7F4A_7C15) >> 20) & mask
    }

    /// Adds `count` copies of `value` (any value but Int64.min).
    @inlinable public mutating func add(_ value: Int64, count: Int = 1) {
        if value == lastValue, count > 0 {
            self.count += count
            sum += Int128(value) * Int128(count)
            slots[lastSlot].count += count
            return
        }
        insert(value, count: count)
    }

    /// Adds each pair in order, as `add` one by one would. The slots of every value are read
    /// first, so that their cache misses overlap: the table outgrows the cache, and a value new
    /// to it (about one per iteration of a run) was a miss to memory that nothing else hid.
    public mutating func add(contentsOf pairs: [(value: Int64, count: Int)]) {
        let mask = slots.count - 1
        var seen: Int64 = 0
        slots.withUnsafeBufferPointer { table in
            for p in pairs { seen ^= table[slot(p.value, mask: mask)].value }
        }
        warmed ^= seen
        for p in pairs { add(p.value, count: p.count) }
    }

    @usableFromInline mutating func insert(_ value: Int64, count: Int) {
        precondition(value != Self.empty)
        guard count > 0 else { return }
        self.count += count
        sum += Int128(value) * Int128(count)
        let mask = slots.count - 1
        var i = slot(value, mask: mask)
        while true {
            if slots[i].value == value { slots[i].count += count; lastValue = value; lastSlot = i; return }
            if slots[i].value == Self.empty { break }
            i = (i + 1) & mask
        }
        slots[i] = Slot(value: value, count: count)
        distinct += 1
        if distinct * 2 > slots.count { grow() } else { lastValue = value; lastSlot = i }
    }

    private mutating func grow() {
        let old = slots
        slots = Self.emptySlots(old.count * 2)
        let mask = slots.count - 1
        for s in old where s.value != Self.empty {
            var i = slot(s.value, mask: mask)
            while slots[i].value != Self.empty { i = (i + 1) & mask }
            slots[i] = s
        }
        lastValue = Self.empty
    }

    /// A table of `n` empty slots. A large one asks the kernel for huge pages before it is first
    /// touched: a run's table reaches hundreds of MiB, and each probe of a table in 4 KiB pages
    /// missed the TLB as well as the cache.
    private static func emptySlots(_ n: Int) -> [Slot] {
        [Slot](unsafeUninitializedCapacity: n) { buffer, initialized in
            #if canImport(Glibc)
            let bytes = UnsafeMutableRawBufferPointer(buffer)
            let huge = 2 << 20
            if let base = bytes.baseAddress, bytes.count >= 2 * huge {
                let start = (Int(bitPattern: base) + huge - 1) / huge * huge
                let end = (Int(bitPattern: base) + bytes.count) / huge * huge
                if let aligned = UnsafeMutableRawPointer(bitPattern: start) {
                    _ = madvise(aligned, end - start, MADV_HUGEPAGE)  // a hint: refused, nothing changes
                }
            }
            #endif
            buffer.initialize(repeating: Slot(value: Self.empty, count: 0))
            initialized = n
        }
    }

    public var mean: Double { total == 0 ? .nan : Double(sum) / Double(total) }

    /// The population standard deviation (numpy's std) over every value counted.
    public var standardDeviation: Double { summary(quantiles: []).std }

    /// The q-quantiles, each as SampleSummary.quantile computes it over the expanded values.
    public func quantiles(_ qs: [Double]) -> [Double] { summary(quantiles: qs).quantiles }

    /// The mean, the population standard deviation and the q-quantiles, from one sort of the distinct
    /// values (a long run has millions). The squares are summed in ascending order of value, so that,
    /// like the mean and the quantiles, the result does not depend on the order values came in (the
    /// slots' order does).
    public func summary(quantiles qs: [Double]) -> (mean: Double, std: Double, quantiles: [Double]) {
        guard total > 0 else { return (.nan, .nan, qs.map { _ in .nan }) }
        // Distinct values: any sort gives the one order. A radix sort by the value's key (negatives
        // first: see Int64.radixKey; a run's gaps take up to one value per step).
        var sorted = slots.filter { $0.value != Self.empty && $0.count > 0 }
        var spare = [Slot](repeating: Slot(value: 0, count: 0), count: sorted.count)
        sorted.withUnsafeMutableBufferPointer { items in
            spare.withUnsafeMutableBufferPointer { RadixSort.sort(items, spare: $0) { $0.value.radixKey } }
        }
        spare = []
        let m = mean
        var squares = 0.0
        for s in sorted { squares += Double(s.count) * (Double(s.value) - m) * (Double(s.value) - m) }
        // The values at the 0-based ranks the quantiles read, found in one walk up the ranks.
        let positions = qs.map { Double(total - 1) * min(max($0, 0), 1) }
        var ranks = positions.flatMap { h -> [Int] in
            let lower = Int(h.rounded(.down))
            return lower + 1 < total ? [lower, lower + 1] : [lower]
        }
        ranks.sort()
        var valueAt: [Int: Double] = [:]
        var seen = 0, next = 0
        for s in sorted {
            seen += s.count
            while next < ranks.count, ranks[next] < seen {
                valueAt[ranks[next]] = Double(s.value)
                next += 1
            }
        }
        let quantiles = positions.map { h in
            let lower = Int(h.rounded(.down))
            let a = valueAt[lower]!
            return lower + 1 < total ? a + (h - Double(lower)) * (valueAt[lower + 1]! - a) : a
        }
        return (m, (squares / Double(total)).squareRoot(), quantiles)
    }
}
