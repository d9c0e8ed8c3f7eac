/// Sorts by 64-bit keys, least significant byte first: O(n) passes instead of O(n log n)
/// comparisons. A run's summary sorts ten million latencies several times over (a comparison
/// sort of them took seconds), and the distinct inter-token gaps, up to one per step.
///
/// The order of doubles is `<`'s for every value but NaN (which `<` cannot order) and signed
/// zeros (−0 before +0, where `<` leaves them in either order).
public enum RadixSort {
    /// Below this many values a comparison sort is as fast.
    @usableFromInline static let threshold = 4096

    /// Sorts `values`, ascending, by their keys; a comparison sort below `threshold`. One spare
    /// array as large holds every other pass: ten million latencies are 80 MB, and a separate
    /// array of keys was 80 MB more at the run's peak.
    public static func sort<Value: RadixSortable & Comparable>(_ values: inout [Value]) {
        guard values.count >= threshold else {
            values.sort()
            return
        }
        // (Never read before a pass writes it.)
        var spare = [Value](unsafeUninitializedCapacity: values.count) { _, count in count = values.count }
        values.withUnsafeMutableBufferPointer { v in
            spare.withUnsafeMutableBufferPointer { sort(v, spare: $0) { $0.radixKey } }
        }
    }

    /// Sorts `items` by `key`, ascending, equal keys keeping their order; `spare` (as many
    /// items, contents ignored) holds every other pass.
    @inlinable
    public static func sort<Item: BitwiseCopyable>(_ items: UnsafeMutableBufferPointer<Item>, spare: UnsafeMutableBufferPointer<Item>,
                                  key: (Item) -> UInt64) {
        let n = items.count
        precondition(spare.count == n)
        guard n > 1 else { return }
        // Every byte's counts from one read of the items (counts of a byte do not depend on the
        // order), in memory of their own: an array captured here checked its uniqueness per count.
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 8 * 256) { counts in
            counts.initialize(repeating: 0)
            for item in items {
                let k = key(item)
                for byte in 0..<8 { counts[byte << 8 | Int(truncatingIfNeeded: k >> UInt64(byte << 3)) & 255] += 1 }
            }
            var from = items, to = spare
            for byte in 0..<8 {
                let shift = UInt64(byte << 3), base = byte << 8
                // A byte that every key shares leaves the order as it is.
                if counts[base | Int(truncatingIfNeeded: key(from[0]) >> shift) & 255] == n { continue }
                var offset = 0
                for d in 0..<256 {
                    let c = counts[base | d]
                    counts[base | d] = offset
                    offset += c
                }
                for item in from {
                    let d = base | Int(truncatingIfNeeded: key(item) >> shift) & 255
                    to[counts[d]] = item
                    counts[d] += 1
                }
                swap(&from, &to)
            }
            if from.baseAddress != items.baseAddress {
                for i in 0..<n { items[i] = from[i] }
            }
        }
    }
}

/// A value with a 64-bit key whose unsigned order is the value's order, for RadixSort.
public protocol RadixSortable: BitwiseCopyable, Sendable {
    var radixKey: UInt64 { get }
}

extension Double: RadixSortable {
    /// Every bit of a negative flipped, only the sign bit of a positive.
    @inlinable public var radixKey: UInt64 {
        let b = bitPattern
        return b & (1 << 63) != 0 ? ~b : b | (1 << 63)
    }
}

extension Int64: RadixSortable {
    /// The sign bit flipped. Latencies in nanoseconds stay below 2⁴⁰ (18 minutes): the three bytes
    /// above, shared by every value, take no pass, where a double's eight bytes all vary.
    @inlinable public var radixKey: UInt64 { UInt64(bitPattern: self) ^ 1 << 63 }
}
