import Foundation
import SimCore

/// The run's exact inter-token gaps (see PendingGaps), logged on the simulation's thread and
/// settled on a thread of its own, so that settling (a tenth of a large run) overlaps the
/// simulation instead of stopping it.
///
/// The result does not depend on the threads' timing: settlements happen at the same tokens, with
/// the same ends, in the same order, as on one thread. What makes the next one due is how many
/// tokens the last one kept, and that is counted here as tokens are logged and requests end, so
/// the simulation never waits for the settling thread (unless that thread falls two behind).
final class GapSettler {
    /// What the settling thread works on, and how the two threads hand it over.
    private final class Settling: @unchecked Sendable {
        let handover = NSCondition()
        // Guarded by `handover`: logs handed over, oldest first, each with the tokens its settlement
        // must keep (counted by the owner), and whether one is being settled.
        var inbox: [(log: GapLog, keeps: Int)] = []
        var busy = false
        var stopping = false
        // The settling thread's own while it is busy or the inbox holds a log; the owner's otherwise.
        var pending = PendingGaps()
        var finished = CountedValues()

        func run() {
            while true {
                handover.lock()
                while inbox.isEmpty && !stopping { handover.wait() }
                guard !inbox.isEmpty else { handover.unlock(); return }
                let (log, keeps) = inbox.removeFirst()
                busy = true
                handover.unlock()
                let kept = pending.settle(log, into: &finished)
                assert(kept == keeps, "the owner's count of live tokens went astray: \(keeps), not \(kept)")
                handover.lock()
                busy = false
                handover.broadcast()
                handover.unlock()
            }
        }

        /// Waits until fewer than `limit` logs are waiting or being settled.
        func wait(below limit: Int) {
            handover.lock()
            while inbox.count + (busy ? 1 : 0) >= limit { handover.wait() }
            handover.unlock()
        }
    }

    private var log = GapLog()
    /// Logged tokens of requests that have not ended: what a settlement now would keep.
    private var live = 0
    /// Tokens in `log` that make the next settlement due.
    private var dueAt = PendingGaps.dueAfter(kept: 0)
    private let settling = Settling()
    private var thread: Thread?

    deinit {
        settling.handover.lock()
        settling.stopping = true
        settling.handover.broadcast()
        settling.handover.unlock()
    }

    @inline(__always) func append(request: Int, gap: Int64) {
        log.append(request: request, gap: gap)
        live += 1
        if log.tokens >= dueAt { handOver() }
    }

    /// `request` ended, after `tokens` tokens (its gaps were logged for all but the first).
    func ended(request: Int, tokens: Int, finished: Bool) {
        log.ended(request: request, finished: finished)
        // A negative id (never given by a source) is never marked ended: its gaps stay live.
        if request >= 0 { live -= max(0, tokens - 1) }
    }

    /// Settles everything logged so far and returns the gaps of the requests that have finished.
    func settledGaps() -> CountedValues {
        if thread == nil {
            // Nothing was ever due (a short run): no thread to start.
            let kept = settling.pending.settle(log, into: &settling.finished)
            assert(kept == live, "the count of live tokens went astray: \(live), not \(kept)")
            log = GapLog()
            dueAt = PendingGaps.dueAfter(kept: live)
        } else {
            handOver()
            settling.wait(below: 1)
        }
        return settling.finished
    }

    /// Hands the log to the settling thread (started the first time) and starts a new one.
    private func handOver() {
        if thread == nil {
            let settling = settling
            let t = Thread { settling.run() }
            t.name = "simrun gaps"
            t.start()
            thread = t
        }
        // At most two logs in hand: the one being settled and this one.
        settling.wait(below: 2)
        settling.handover.lock()
        settling.inbox.append((log, live))
        settling.handover.broadcast()
        settling.handover.unlock()
        log = GapLog()
        dueAt = PendingGaps.dueAfter(kept: live)
    }
}
