import SimCore

/// The inter-token gaps of requests that may still be dropped, so that a dropped request's gaps can
/// leave ITL (`vllm bench serve` counts successful requests only). One log in token order, not an
/// array per request: at cluster scale, touching a request's own array on every token cost more
/// than the rest of the step (cache misses over tens of thousands of live requests). Entries of
/// requests that ended are settled in bulk when half the log is theirs.
struct PendingGaps {
    private enum Fate: UInt8 { case live, finished, dropped }
    private var requests: [Int] = []
    private var gaps: [Int64] = []
    /// Per request id (ids run from 0 in arrival order).
    private var fates: [Fate] = []
    private var settleAt = 1 << 16

    /// Whether the log is due to be settled.
    var isDue: Bool { requests.count >= settleAt }

    mutating func append(request: Int, gap: Int64) {
        requests.append(request)
        gaps.append(gap)
    }

    mutating func ended(request: Int, finished: Bool) {
        guard request >= 0 else { return }
        if request >= fates.count { fates.append(contentsOf: repeatElement(.live, count: request + 1 - fates.count)) }
        fates[request] = finished ? .finished : .dropped
    }

    private func fate(_ request: Int) -> Fate { request < fates.count ? fates[request] : .live }

    /// Drops the entries of requests that ended, taking dropped requests' gaps out of `all`.
    mutating func settle(_ all: inout CountedValues) {
        var kept = 0
        for k in requests.indices {
            switch fate(requests[k]) {
            case .live:
                requests[kept] = requests[k]
                gaps[kept] = gaps[k]
                kept += 1
            case .finished: break
            case .dropped: all.remove(gaps[k])
            }
        }
        requests.removeLast(requests.count - kept)
        gaps.removeLast(gaps.count - kept)
        settleAt = max(1 << 16, 2 * kept)
    }

    /// Settled `all` less the gaps of requests that have not ended.
    func withoutLive(_ all: CountedValues) -> CountedValues {
        var result = all
        for g in gaps { result.remove(g) }
        return result
    }
}
