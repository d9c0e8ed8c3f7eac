/// The Past-Future peak: the most KV tokens a batch will hold before it
/// drains, if each request i holds `occupancy[i]` tokens now and will generate
/// `remaining[i]` more.
///
/// Memory only grows until requests finish, so the peak is reached just before
/// some request finishes. Sorting by remaining output, longest first, the
/// moment before the k-th finishes has requests 1…k alive, each grown by
/// r_k tokens; the others are gone. Peak = max over k of (U_k + k·r_k), where
/// U_k is the summed occupancy of the first k.
public enum PeakMemory {
    public static func predict(occupancy: [Int], remaining: [Int]) -> Int {
        precondition(occupancy.count == remaining.count)
        let order = remaining.indices.sorted { remaining[$0] > remaining[$1] }
        var held = 0, peak = 0
        for (k, i) in order.enumerated() {
            held += occupancy[i]
            peak = max(peak, held + (k + 1) * remaining[i])
        }
        return peak
    }
}
