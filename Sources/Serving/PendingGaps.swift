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
///
/// Every request sampled in one iteration sees the same gap, so the log keeps runs of equal gaps
/// and, per token, only the request's id: a run's finished tokens join the multiset as one count.
struct PendingGaps {
    /// `count` consecutive tokens of the log that saw `gap`.
    private struct Run {
        let gap: Int64
        var count: Int
    }
    /// The runs closed so far, and the run still growing (count 0: none).
    private var runs: [Run] = []
    private var openGap: Int64 = 0, openCount = 0
    /// The request of each token, in token order (the runs partition it).
    private var requests: [Int] = []
    /// Bits per request id (ids run from 0 in arrival order): it ended; it ended dropped.
    /// Bits rather than bytes keep ten million requests' fates in the cache the settling reads.
    private var ended: [UInt64] = [], dropped: [UInt64] = []
    private var settleAt = 1 << 16
    /// Finished runs on their way to the multiset, a few dozen at a time (see add(contentsOf:)).
    private var finishing: [(value: Int64, count: Int)] = []

    /// Whether the log is due to be settled.
    var isDue: Bool { requests.count >= settleAt }

    @inline(__always) mutating func append(request: Int, gap: Int64) {
        if gap != openGap || openCount == 0 {
            closeRun()
            openGap = gap
        }
        openCount += 1
        requests.append(request)
    }

    private mutating func closeRun() {
        if openCount > 0 { runs.append(Run(gap: openGap, count: openCount)) }
        openCount = 0
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
        closeRun()
        var token = 0, keptTokens = 0, keptRuns = 0
        for k in runs.indices {
            let run = runs[k]
            var finishedTokens = 0, keptInRun = 0
            for t in token..<(token + run.count) {
                let id = requests[t], word = id >> 6, bit = UInt64(1) << UInt64(id & 63)
                // A negative id (never given by a source) is never marked ended: its gaps stay live.
                if word < 0 || word >= ended.count || ended[word] & bit == 0 {
                    requests[keptTokens + keptInRun] = id
                    keptInRun += 1
                } else if dropped[word] & bit == 0 {
                    finishedTokens += 1
                }
            }
            token += run.count
            if finishedTokens > 0 {
                finishing.append((run.gap, finishedTokens))
                if finishing.count == 32 {
                    finished.add(contentsOf: finishing)
                    finishing.removeAll(keepingCapacity: true)
                }
            }
            if keptInRun > 0 {
                runs[keptRuns] = Run(gap: run.gap, count: keptInRun)
                keptRuns += 1
                keptTokens += keptInRun
            }
        }
        finished.add(contentsOf: finishing)
        finishing.removeAll(keepingCapacity: true)
        runs.removeLast(runs.count - keptRuns)
        requests.removeLast(requests.count - keptTokens)
        // The next settlement comes when the log has grown by three times what survived (each
        // token is then visited about 4/3 times), but by at most 8 M tokens (64 MiB): at 1,024
        // replicas the live requests alone hold 13 M gaps, and growing by 7× their number took 1.7 GB.
        settleAt = max(1 << 16, keptTokens + min(3 * keptTokens, 1 << 23))
    }
}
