import SimCore

/// The inter-token gaps of requests that may still be dropped, so that a dropped request's gaps can
/// leave ITL (`vllm bench serve` counts successful requests only). One log in token order, not an
/// array per request: at cluster scale, touching a request's own array on every token cost more
/// than the rest of the step (cache misses over tens of thousands of live requests). Entries of
/// requests that ended are settled in bulk when most of the log is theirs.
struct PendingGaps {
    private var requests: [Int] = []
    private var gaps: [Int64] = []
    /// Bits per request id (ids run from 0 in arrival order): it ended; it ended dropped.
    /// Bits rather than bytes keep ten million requests' fates in the cache the settling reads.
    private var ended: [UInt64] = [], dropped: [UInt64] = []
    private var settleAt = 1 << 16

    /// Whether the log is due to be settled.
    var isDue: Bool { requests.count >= settleAt }

    mutating func append(request: Int, gap: Int64) {
        requests.append(request)
        gaps.append(gap)
    }

    mutating func ended(request: Int, finished: Bool) {
        guard request >= 0 else { return }
        let word = request >> 6, bit = UInt64(1) << UInt64(request & 63)
        if word >= ended.count {
            ended.append(contentsOf: repeatElement(0, count: word + 1 - ended.count))
            dropped.append(contentsOf: repeatElement(0, count: word + 1 - dropped.count))
        }
        ended[word] |= bit
        if !finished { dropped[word] |= bit }
    }

    /// Drops the entries of requests that ended, taking dropped requests' gaps out of `all`.
    mutating func settle(_ all: inout CountedValues) {
        var kept = 0
        for k in requests.indices {
            let request = requests[k], word = request >> 6, bit = UInt64(1) << UInt64(request & 63)
            if word >= ended.count || ended[word] & bit == 0 {
                requests[kept] = request
                gaps[kept] = gaps[k]
                kept += 1
            } else if dropped[word] & bit != 0 {
                all.remove(gaps[k])
            }
        }
        requests.removeLast(requests.count - kept)
        gaps.removeLast(gaps.count - kept)
        // Settling when the log is eight times what survived visits each entry about 8/7 times.
        settleAt = max(1 << 16, 8 * kept)
    }

    /// Settled `all` less the gaps of requests that have not ended.
    func withoutLive(_ all: CountedValues) -> CountedValues {
        var result = all
        for g in gaps { result.remove(g) }
        return result
    }
}
