import SimCore

/// The inter-token gaps of requests that have not ended yet. ITL counts the gaps of finished
/// requests only (`vllm bench serve` counts successful requests), so a gap joins the run's
/// multiset only once its request has finished; a dropped request's gaps are let go.
///
/// One log in token order, not an array per request: at cluster scale, touching a request's own
/// array on every token cost more than the rest of the step (cache misses over tens of thousands
/// of live requests), and adding each gap to the multiset as it came cost a hash-table probe per
/// step. The log is settled in bulk when most of it belongs to requests that ended: their gaps
/// join the multiset in one streaming pass, in token order.
struct PendingGaps {
    private struct Entry {
        let request: Int
        let gap: Int64
    }
    private var log: [Entry] = []
    /// Bits per request id (ids run from 0 in arrival order): it ended; it ended dropped.
    /// Bits rather than bytes keep ten million requests' fates in the cache the settling reads.
    private var ended: [UInt64] = [], dropped: [UInt64] = []
    private var settleAt = 1 << 16

    /// Whether the log is due to be settled.
    var isDue: Bool { log.count >= settleAt }

    mutating func append(request: Int, gap: Int64) {
        log.append(Entry(request: request, gap: gap))
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

    /// Moves the gaps of requests that finished into `finished`, lets go of those of requests
    /// that were dropped, and keeps the rest.
    mutating func settle(into finished: inout CountedValues) {
        var kept = 0
        for k in log.indices {
            let e = log[k], word = e.request >> 6, bit = UInt64(1) << UInt64(e.request & 63)
            // A negative id (never given by a source) is never marked ended: its gaps stay live.
            if word < 0 || word >= ended.count || ended[word] & bit == 0 {
                log[kept] = e
                kept += 1
            } else if dropped[word] & bit == 0 {
                finished.add(e.gap)
            }
        }
        log.removeLast(log.count - kept)
        // The next settlement comes when the log has grown by three times what survived (each
        // entry is then visited about 4/3 times), but by at most 8 M entries (128 MiB): at 1,024
        // replicas the live requests alone hold 13 M gaps, and growing by 7× their number took 1.7 GB.
        settleAt = max(1 << 16, kept + min(3 * kept, 1 << 23))
    }
}
