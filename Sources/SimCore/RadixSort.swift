/// Sorts doubles by their bits, least significant byte first: O(n) passes instead of
/// O(n log n) comparisons. A run's summary sorts ten million latencies several times over, and
/// a comparison sort of them took seconds.
///
/// The order is `<`'s for every value but NaN (which `<` cannot order) and signed zeros (−0
/// before +0, where `<` leaves them in either order).
public enum RadixSort {
    /// Below this many values a comparison sort is as fast.
    static let threshold = 4096

    public static func sort(_ values: inout [Double]) {
        guard values.count >= threshold else {
            values.sort()
            return
        }
        // Map each double to an unsigned key with the same order: flip every bit of a negative,
        // only the sign bit of a positive.
        var keys = values.map { v -> UInt64 in
            let b = v.bitPattern
            return b & (1 << 63) != 0 ? ~b : b | (1 << 63)
        }
        var spare = [UInt64](repeating: 0, count: keys.count)
        var counts = [Int](repeating: 0, count: 256)
        for shift in stride(from: 0, to: 64, by: 8) {
            for i in counts.indices { counts[i] = 0 }
            for k in keys { counts[Int(truncatingIfNeeded: k >> UInt64(shift)) & 255] += 1 }
            // A byte that every key shares leaves the order as it is.
            if counts.contains(keys.count) { continue }
            var offset = 0
            for i in counts.indices {
                let c = counts[i]
                counts[i] = offset
                offset += c
            }
            for k in keys {
                let d = Int(truncatingIfNeeded: k >> UInt64(shift)) & 255
                spare[counts[d]] = k
                counts[d] += 1
            }
            swap(&keys, &spare)
        }
        for i in keys.indices {
            let k = keys[i]
            values[i] = Double(bitPattern: k & (1 << 63) != 0 ? k & ~(1 << 63) : ~k)
        }
    }
}
