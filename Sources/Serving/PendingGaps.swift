import SimCore

/// The inter-token gaps of requests that have not ended yet. ITL counts the gaps of finished
/// requests only (`vllm bench serve` counts successful requests), so a gap joins the run's
/// multiset only once its request has finished; a dropped request's gaps are let go.
///
/// Most gaps never come here: those of a request sampling at consecutive steps of one instance are
/// counted by the step (SampledSteps), and arrive as runs already known to count. The rest
/// (after a preemption, a skipped step, a move; under pipeline parallelism) are logged by request.
///
/// One log in token order, not an array per request: at cluster scale, touching a request's own
/// array on every token cost more than the rest of the step (cache misses over tens of thousands
/// of live requests), and adding each gap to the multiset as it came cost a hash-table probe per
/// step. The log is settled in bulk when most of it belongs to requests that ended: their gaps
/// join the multiset in one streaming pass, in token order.
struct PendingGaps {
    /// The gaps of requests that had not ended at the last settlement, in token order.
    private var kept = GapLog()
    /// Bits per request id (ids run from 0 in arrival order): it ended; it ended dropped.
    /// Bits rather than bytes keep ten million requests' fates in the cache the settling reads.
    private var ended: [UInt64] = [], dropped: [UInt64] = []
    /// Finished runs on their way to the multiset, a few dozen at a time (see add(contentsOf:)).
    private var finishing: [(value: Int64, count: Int)] = []

    /// Tokens logged since the last settlement that make the next one due, given the tokens that
    /// one kept: when the log has grown by three times what survived (each token is then visited
    /// about 4/3 times), but by at most 8 M tokens (64 MiB), and to at least 64 K in all. At 1,024
    /// replicas the live requests alone hold 13 M gaps, and growing by 7× their number took 1.7 GB.
    static func dueAfter(kept: Int) -> Int { max((1 << 16) - kept, min(3 * kept, 1 << 23)) }

    /// Takes in `logs` after the tokens kept, moves the gaps of requests that finished into
    /// `finished` in token order, lets go of those of requests that were dropped, and keeps the
    /// rest. Returns how many tokens it kept.
    @discardableResult
    mutating func settle(_ logs: GapLog..., into finished: inout CountedValues) -> Int {
        for log in logs { for e in log.ends { mark(e.request, finished: e.finished) } }
        var finishing = self.finishing
        self.finishing = []  // (the buffer stays unique)
        Self.passingOn(&finishing, into: &finished) { add in
            kept.settle(ended: ended, dropped: dropped, finished: add)
            for log in logs { kept.appendSettled(log, ended: ended, dropped: dropped, finished: add) }
        }
        self.finishing = finishing
        return kept.tokens
    }

    /// Calls `body` with a function that adds `count` gaps of `gap` to `finished` through
    /// `finishing`, a few dozen at a time (see CountedValues.add(contentsOf:)).
    static func passingOn(_ finishing: inout [(value: Int64, count: Int)], into finished: inout CountedValues,
                           _ body: (_ add: (Int64, Int) -> Void) -> Void) {
        body { gap, count in
            finishing.append((gap, count))
            if finishing.count == 32 {
                finished.add(contentsOf: finishing)
                finishing.removeAll(keepingCapacity: true)
            }
        }
        finished.add(contentsOf: finishing)
        finishing.removeAll(keepingCapacity: true)
    }

    private mutating func mark(_ request: Int, finished: Bool) {
        guard request >= 0 else { return }
        let word = request >> 6, bit = UInt64(1) << UInt64(request & 63)
        if word >= ended.count {
            ended.append(contentsOf: repeatElement(0, count: word + 1 - ended.count))
            dropped.append(contentsOf: repeatElement(0, count: word + 1 - dropped.count))
        }
        ended[word] |= bit
        if !finished { dropped[word] |= bit }
    }
}
