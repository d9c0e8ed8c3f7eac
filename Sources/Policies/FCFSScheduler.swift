import Serving

/// vLLM-style continuous batching, first come first served. Which waiting
/// requests may join is decided by an `AdmissionControl`: aggressive (vLLM:
/// admit while KV blocks are free), conservative (reserve the maximum output)
/// or Past-Future (predicted peak memory).
///
/// Each iteration:
/// 1. Running requests, oldest first, get their next tokens (one for a decode,
///    a prompt chunk for a prefill) within the batched-token budget. When a
///    request needs a block and none is free, the newest running request is
///    preempted, repeatedly, until it fits or is itself the victim.
/// 2. Only if nothing was preempted: swapped requests come back first (within
///    the token budget; one that has outgrown the cache is dropped), then
///    waiting requests are admitted in arrival order while the sequence cap,
///    the token budget, the free blocks (above the watermark) and the
///    admission control allow. A request that can never fit is dropped; the
///    head of the queue blocks the rest (strict FCFS). A step that preempted
///    swaps nothing in and admits nothing (vLLM V0), unless its preemptions
///    emptied the batch: then the engine's next step follows at once and is
///    taken in its place (as when a lone request outgrows the cache).
///
/// Without chunked prefill, a prefill-only instance batches prompts up to the token budget and
/// runs a longer prompt alone (DistServe's L_m).
///
/// With pipeline parallelism a request in a micro-batch still in flight waits for it, and is
/// never the one preempted.
///
/// Without chunked prefill, an engine profile with `scheduling: v0` forms vLLM V0's
/// steps instead: when nothing is swapped out and a waiting prompt can start, the
/// step admits whole prompts only; otherwise it runs decodes (and swaps in) only.
public struct FCFSScheduler: BatchScheduler {
    public var admission: any AdmissionControl
    /// New requests are considered every this many steps, or at once when nothing runs
    /// (LightLLM's `max_wait_tokens` = 2; vLLM: every step). Every step counts, a prefill-only one too.
    public var admissionInterval = 1
    /// The most prompt tokens one admission round takes in (nil: the token budget alone).
    public var maxPrefillTokensPerRound: Int?
    private var stepsSinceRound = Int.max

    public init(admission: any AdmissionControl = AggressiveAdmission()) {
        self.admission = admission
    }

    /// It reads running requests only to preempt (the instance brings them up to date first),
    /// and through its admission control's rounds.
    public var coalescesDecodes: Bool { !admission.readsRunningProgress }

    public mutating func requestFinished(_ request: ServingRequest) {
        admission.finished(outputTokens: request.generatedTokens)
    }

    public mutating func formBatch(on instance: Instance) {
        let chunked = instance.limits.chunkedPrefill
        if stepsSinceRound < Int.max { stepsSinceRound += 1 }
        // vLLM V0 without chunked prefill: waiting prompts go first, in a step of their own. A request
        // whose KV arrived from a prefill instance is a decode, and joins the decodes instead.
        let v0 = formsV0Steps(instance)
        if v0, instance.swapped.isEmpty, let head = instance.waiting.first, !head.isDecoding {
            admitWaiting(on: instance, chunked: false)
            if !instance.batch.isEmpty { return }
        }
        var preempted = false
        var i = instance.scheduleRunning(from: 0, wholeOnly: !chunked)
        while i < instance.runningCount, instance.tokenBudget > 0 {
            // The request at `i` needs blocks that are not free: the newest running requests are
            // preempted until it fits or is itself the victim.
            preempted = true
            let r = instance.running[i]
            let tokens = max(min(r.pendingTokens, instance.tokenBudget), 1)
            while instance.preemptNewestRunning() !== r, !instance.scheduleRunning(r, tokens: tokens) {}
            if r.phase == .running && r.scheduledTokens > 0 { i += 1 }
            i = instance.scheduleRunning(from: i, wholeOnly: !chunked)
        }
        // A step that preempted swaps nothing in and admits nothing (vLLM V0). When its preemptions
        // emptied the batch, nothing runs: the engine's next step follows at once, and is taken here.
        guard !preempted || instance.batch.isEmpty else { return }

        while let r = instance.swapped.first, !instance.canEverSwapIn(r) { instance.dropNextSwapped(.exceedsCapacity) }
        while !instance.swapped.isEmpty, instance.runningCount < instance.limits.maxSequences,
              instance.tokenBudget > 0, instance.swapInNextSwapped() {}
        guard instance.swapped.isEmpty else { return }
        admitWaiting(on: instance, chunked: chunked, decodesOnly: v0 && !instance.batchShape.isEmpty)
    }

    /// A decode stretch's step is this scheduler's step with nothing waiting or swapped out: every
    /// running request scheduled, no preemption, and a round, when one is due, that admits nothing.
    /// Such a round only counts (its admission control's `beginRound` prepares admissions, and
    /// there are none), so `count` steps move the count at once. Under vLLM V0's steps no round
    /// begins without a waiting decode.
    public mutating func formedStretchSteps(_ count: Int, on instance: Instance) {
        guard count > 0 else { return }
        let counted = stepsSinceRound < Int.max ? stepsSinceRound + 1 : Int.max
        if formsV0Steps(instance) {
            if counted < Int.max { stepsSinceRound = counted + count - 1 }
            return
        }
        // The first step holds the round if one is due; from there a round falls due every interval.
        let first = counted >= admissionInterval ? 0 : counted
        stepsSinceRound = (first + count - 1) % admissionInterval
    }

    /// Whether the instance forms vLLM V0's steps (no chunked prefill, an engine scheduling as V0).
    private func formsV0Steps(_ instance: Instance) -> Bool {
        !instance.limits.chunkedPrefill && instance.spec.engine.scheduling == .v0
    }

    /// Admits waiting requests in arrival order while the caps and the admission control allow
    /// (with `decodesOnly`, only requests whose KV has arrived, up to the first prompt).
    private mutating func admitWaiting(on instance: Instance, chunked: Bool, decodesOnly: Bool = false) {
        if decodesOnly, !(instance.waiting.first?.isDecoding ?? false) { return }
        guard instance.runningCount == 0 || stepsSinceRound >= admissionInterval else { return }
        stepsSinceRound = 0
        admission.beginRound(on: instance)
        var prefill = 0
        while let r = instance.waiting.first, instance.runningCount < instance.limits.maxSequences {
            if decodesOnly && !r.isDecoding { break }
            guard instance.canEverRun(r) else {
                instance.dropNextWaiting(.exceedsCapacity)
                continue
            }
            let budget = instance.tokenBudget
            guard budget > 0 else { break }
            // A prefill instance runs a prompt longer than its budget alone (DistServe's L_m).
            let alone = instance.role == .prefill && instance.batch.isEmpty
            if !chunked && r.pendingTokens > budget && !alone { break }
            let tokens = chunked ? min(r.pendingTokens, budget) : r.pendingTokens
            if let cap = maxPrefillTokensPerRound, prefill > 0, prefill + tokens > cap { break }
            // An empty instance always takes the head, so a strict rule cannot stall it.
            guard instance.runningCount == 0 || admission.admits(r, on: instance),
                  instance.admitNextWaiting(tokens: tokens)
            else {
                // Nothing runs and the head cannot get its blocks: a request behind it whose KV is
                // already here goes first (it holds the memory the head is waiting for).
                if instance.runningCount == 0, instance.batch.isEmpty, instance.moveHeldKVToFront() { continue }
                break
            }
            prefill += tokens
            admission.admitted(r)
        }
    }
}
