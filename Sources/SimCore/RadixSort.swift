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
        // The keys take the values' own memory, and one spare array of the same size holds every
        // other pass: ten million latencies are 80 MB, and a separate array of keys was 80 MB more
        // at the run's peak.
        var spare = [UInt64](repeating: 0, count: values.count)
        values.withUnsafeMutableBufferPointer { doubles in
            doubles.withMemoryRebound(to: UInt64.self) { home in
                // Map each double to an unsigned key with the same order: flip every bit of a
                // negative, only the sign bit of a positive.
                for i in home.indices {
                    let b = home[i]
                    home[i] = b & (1 << 63) != 0 ? ~b : b | (1 << 63)
                }
                // The counts in memory of their own: as an array captured here, every count checked
                // its storage's uniqueness.
                spare.withUnsafeMutableBufferPointer { other in withUnsafeTemporaryAllocation(of: Int.self, capacity: 256) { counts in
                    var keys = home, next = other
                    for shift in stride(from: 0, to: 64, by: 8) {
                        counts.initialize(repeating: 0)
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
                            next[counts[d]] = k
                            counts[d] += 1
                        }
                        swap(&keys, &next)
                    }
                    if keys.baseAddress != home.baseAddress {
                        for i in home.indices { home[i] = keys[i] }
                    }
                } }
                for i in home.indices {
                    let k = home[i]
                    home[i] = k & (1 << 63) != 0 ? k & ~(1 << 63) : ~k
                }
            }
        }
    }
}
