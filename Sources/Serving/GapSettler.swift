import SimCore

/// The run's exact inter-token gaps (see PendingGaps), logged on the simulation's thread and
/// settled on a thread of its own (OrderedWorker), so that settling (a tenth of a large run)
/// overlaps the simulation instead of stopping it.
///
/// The result does not depend on the threads' timing: settlements happen at the same tokens, with
/// the same ends, in the same order, as on one thread. What makes the next one due is how many
/// tokens the last one kept, and that is counted here as tokens are logged and requests end, so
/// the simulation never waits for the settling thread (unless that thread falls two behind).
final class GapSettler {
    /// The settling thread's state: the settling worker's from a handover until it is idle again.
    private final class Settled: @unchecked Sendable {
        var pending = PendingGaps()
        var finished = CountedValues()

        /// Settles `log`, which must keep `keeps` tokens (as counted by the owner).
        func settle(_ log: GapLog, keeps: Int) {
            let kept = pending.settle(log, into: &finished)
            assert(kept == keeps, "the count of live tokens went astray: \(keeps), not \(kept)")
        }
    }

    private var log = GapLog(room: PendingGaps.dueAfter(kept: 0))
    /// Logged tokens of requests that have not ended: what a settlement now would keep.
    private var live = 0
    /// Tokens in `log` that make the next settlement due.
    private var dueAt = PendingGaps.dueAfter(kept: 0)
    private let settled = Settled()
    private let worker: OrderedWorker<(log: GapLog, keeps: Int)>
    private var handedOver = false

    init() {
        let settled = settled
        worker = OrderedWorker(name: "simrun gaps") { settled.settle($0.log, keeps: $0.keeps) }
    }

    /// Logs a token that saw `gap` for each request of `ids`, in order. A settlement falls due at
    /// the token that makes it due, as if they were logged one by one.
    func append(requests ids: UnsafeBufferPointer<Int>, gap: Int64) {
        var rest = ids[...]
        while !rest.isEmpty {
            let now = rest.prefix(dueAt - log.tokens)  // at least one: a settlement leaves dueAt above tokens
            log.append(requests: UnsafeBufferPointer(rebasing: now), gap: gap)
            live += now.count
            rest = rest.dropFirst(now.count)
            if log.tokens >= dueAt { handOver() }
        }
    }

    /// `count` gaps of `gap` whose requests finished (runs of steps; see SampledSteps). They are
    /// handed over with the log, at the latest every 32 K of them (512 KiB).
    func passFinished(_ gap: Int64, _ count: Int) {
        log.addFinished(gap: gap, count: count)
        if log.finishedRuns.count >= 1 << 15 { handOver() }
    }

    /// `request` ended, with `loggedGaps` of its gaps logged here by `append`.
    func ended(request: Int, loggedGaps: Int, finished: Bool) {
        log.ended(request: request, finished: finished)
        // A negative id (never given by a source) is never marked ended: its gaps stay live.
        if request >= 0 { live -= loggedGaps }
    }

    /// Settles everything logged so far and returns the gaps of the requests that have finished.
    func settledGaps() -> CountedValues {
        if handedOver {
            handOver()
            worker.waitUntilIdle()
        } else {
            // Nothing was ever due (a short run): no thread to start.
            settled.settle(log, keeps: live)
            log = GapLog()
            dueAt = PendingGaps.dueAfter(kept: live)
        }
        return settled.finished
    }

    /// Hands the log to the settling thread and starts a new one.
    private func handOver() {
        worker.submit((log, live))
        handedOver = true
        dueAt = PendingGaps.dueAfter(kept: live)
        log = GapLog(room: dueAt)
    }
}
