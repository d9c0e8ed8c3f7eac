import SimCore

/// The run's exact inter-token gaps (see PendingGaps), logged on the simulation's thread and
/// settled on a thread of its own (OrderedWorker), so that settling (a tenth of a large run)
/// overlaps the simulation instead of stopping it. The settling thread also keeps the instances'
/// runs of sampled steps (SampledSteps), replaying the changes the simulation's steps made to them
/// (StepEvent): their slots had been most of the simulation thread's cache misses on the way.
///
/// The result does not depend on the threads' timing: settlements happen at the same tokens, with
/// the same ends, in the same order, as on one thread. What makes the next one due is how many
/// tokens the last one kept, and that is counted here as tokens are logged and requests end, so
/// the simulation never waits for the settling thread (unless that thread falls 256 blocks behind).
final class GapSettler {
    /// The settling thread's state: the settling worker's from a handover until it is idle again.
    private final class Settled: @unchecked Sendable {
        var pending = PendingGaps()
        var finished = CountedValues()
        /// Per instance (by index): its steps that sampled, with the runs of gaps over them.
        var steps = SampledStepsTable()
        /// Broken runs' gaps by request, logged by replaying step events since the last settlement.
        var replayed = GapLog()
        /// Runs known to count on their way to `finished` (see PendingGaps.passingOn).
        var passing: [(value: Int64, count: Int)] = []

        /// Replays `events` into the runs of sampled steps, in order (an event's numbers follow it).
        /// Runs known to count need no settlement: they join the multiset as they come, a few dozen
        /// at a time (they had waited in the log, 32 K at a time, and been copied twice on the way).
        func replay(_ events: StepEvents) {
            let all = events.all
            var i = 0
            /// The number that follows the event at `i`.
            func argument() -> Int {
                i += 1
                assert(all[i].kind == .argument)
                return Int(all[i].value)
            }
            PendingGaps.passingOn(&passing, into: &finished) { pass in
                while i < all.count {
                    let e = all[i], runs = steps.steps(of: Int(e.instance))
                    switch e.kind {
                    case .step: runs.pointee.step(at: e.value)
                    case .settle: runs.pointee.settle(pass)
                    case .open: runs.pointee.open(at: Int(e.value), runs: argument())
                    case .closeFinished, .closeDropped:
                        runs.pointee.close(from: Int(e.value), through: argument(), finished: e.kind == .closeFinished, pass)
                    case .broke:
                        let first = Int(e.value), last = argument(), request = argument()
                        if last > first {
                            withUnsafePointer(to: request) { id in
                                runs.pointee.gaps((first + 1)...last) { replayed.append(requests: UnsafeBufferPointer(start: id, count: 1), gap: $0) }
                            }
                        }
                        runs.pointee.close(from: first, through: last, finished: false, pass)
                    case .argument: assertionFailure("a number with no event before it")
                    }
                    i += 1
                }
            }
        }

        /// Settles `log` with what was replayed since the last settlement (with `final`, every step
        /// taken as final first: the run is over), keeping `keeps` tokens (as counted by the owner).
        /// The order of the two does not matter: a settlement marks every end first, and the gaps
        /// it passes on join a multiset.
        func settle(_ log: GapLog, keeps: Int, final: Bool) {
            if final {
                PendingGaps.passingOn(&passing, into: &finished) { pass in
                    for i in 0..<steps.count { steps.steps(of: i).pointee.settle(all: true, pass) }
                }
            }
            let kept = pending.settle(log, replayed, into: &finished)
            replayed = GapLog()
            assert(kept == keeps, "the count of live tokens went astray: \(keeps), not \(kept)")
        }
    }

    /// What the settling thread is handed, in order.
    private enum Work: Sendable {
        case replay(StepEvents)
        case settle(log: GapLog, keeps: Int, final: Bool)
    }

    private var log = GapLog(room: PendingGaps.dueAfter(kept: 0))
    /// Logged tokens of requests that have not ended: what a settlement now would keep.
    private var live = 0
    /// Tokens in `log` that make the next settlement due.
    private var dueAt = PendingGaps.dueAfter(kept: 0)
    /// Tokens the settling thread adds to `log`'s settlement as it replays broken runs (see `broke`).
    private var promised = 0
    private let settled = Settled()
    /// Step events not yet handed over.
    private var events = StepEvents()
    private let worker: OrderedWorker<Work>
    private var handedOver = false

    init() {
        let settled = settled
        // Blocks of step events come every 4,000 steps, and a settlement can take a while: up to 256
        // items (32 MiB of events) wait, so that the simulation does not.
        worker = OrderedWorker(name: "simrun gaps", limit: 256) { work in
            switch work {
            case .replay(let events): settled.replay(events)
            case .settle(let log, let keeps, let final): settled.settle(log, keeps: keeps, final: final)
            }
        }
    }

    /// A step of `instance` ended at `time` (ns); with `settles`, the steps whose counts are final are
    /// passed on after it (and after the runs it opened: see `opened`).
    @inline(__always) func stepped(_ instance: Int, at time: Int64) { record(StepEvent(.step, instance: instance, time)) }
    @inline(__always) func settles(_ instance: Int) { record(StepEvent(.settle, instance: instance)) }

    /// `runs` runs of `instance` began at its step `step`.
    func opened(_ instance: Int, at step: Int, runs: Int) {
        record(StepEvent(.open, instance: instance, Int64(step)), Int64(runs))
    }

    /// The run of `instance` from `first` through `last` ended with its request, which finished or not.
    func closed(_ instance: Int, from first: Int, through last: Int, finished: Bool) {
        record(StepEvent(finished ? .closeFinished : .closeDropped, instance: instance, Int64(first)), Int64(last))
    }

    /// The run of `instance` from `first` through `last` broke; its `last − first` gaps are logged
    /// for `request` (as `append` would, one token each).
    func broke(_ instance: Int, from first: Int, through last: Int, request: Int) {
        record(StepEvent(.broke, instance: instance, Int64(first)), Int64(last), Int64(request))
        guard last > first else { return }
        live += last - first
        promised += last - first
        if log.tokens + promised >= dueAt { handOver() }
    }

    /// Logs `event`, handing the events over in blocks.
    @inline(__always) private func record(_ event: StepEvent) {
        if events.add(event) { handOverEvents() }
    }

    /// Logs `event` and the one or two numbers that follow it, in one block.
    private func record(_ event: StepEvent, _ first: Int64, _ second: Int64? = nil) {
        if events.count + 3 > StepEvents.capacity { handOverEvents() }
        _ = events.add(event)
        var full = events.add(StepEvent(.argument, first))
        if let second { full = events.add(StepEvent(.argument, second)) }
        if full { handOverEvents() }
    }

    private func handOverEvents() {
        worker.submit(.replay(events))
        handedOver = true
        events = StepEvents()
    }

    /// Logs a token that saw `gap` for each request of `ids`, in order. A settlement falls due at
    /// the token that makes it due, as if they were logged one by one.
    func append(requests ids: UnsafeBufferPointer<Int>, gap: Int64) {
        var rest = ids[...]
        while !rest.isEmpty {
            let now = rest.prefix(max(dueAt - log.tokens - promised, 1))  // (a settlement leaves dueAt above tokens)
            log.append(requests: UnsafeBufferPointer(rebasing: now), gap: gap)
            live += now.count
            rest = rest.dropFirst(now.count)
            if log.tokens + promised >= dueAt { handOver() }
        }
    }

    /// `request` ended, with `loggedGaps` of its gaps logged here by `append`.
    func ended(request: Int, loggedGaps: Int, finished: Bool) {
        log.ended(request: request, finished: finished)
        // A negative id (never given by a source) is never marked ended: its gaps stay live.
        if request >= 0 { live -= loggedGaps }
        // The ends are handed over every 32 K (512 KiB) at the latest: in a run whose gaps are nearly
        // all in runs of sampled steps, few tokens are logged here to make a settlement due.
        if log.ends.count >= 1 << 15 { handOver() }
    }

    /// Settles everything logged so far, every step taken as final (a run still open never counts),
    /// and returns the gaps of the requests that have finished.
    func settledGaps() -> CountedValues {
        if handedOver {
            handOver(final: true)
            worker.waitUntilIdle()
        } else {
            // Nothing was ever handed over (a short run): no thread to start.
            settled.replay(events)
            events = StepEvents()
            settled.settle(log, keeps: live, final: true)
            log = GapLog()
            promised = 0
            dueAt = PendingGaps.dueAfter(kept: live)
        }
        return settled.finished
    }

    /// Hands the events and the log to the settling thread and starts a new log.
    private func handOver(final: Bool = false) {
        if events.count > 0 { handOverEvents() }
        worker.submit(.settle(log: log, keeps: live, final: final))
        handedOver = true
        promised = 0
        dueAt = PendingGaps.dueAfter(kept: live)
        log = GapLog(room: dueAt)
    }
}
