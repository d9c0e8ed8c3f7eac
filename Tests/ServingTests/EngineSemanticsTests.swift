import HardwareModels
import Policies
import SimCore
import Testing
import Workloads
@testable import Serving

/// Serving as the engines do it, each on a tiny case computed by hand.
@Suite("Engine semantics")
struct EngineSemanticsTests {
    /// max_model_len 4096: a 5,000-token prompt is rejected at arrival; a 4,000-token prompt asking for
    /// 200 tokens stops at 4,096 − 4,000 = 96; a short request is untouched.
    @Test func theContextLimitRejectsLongPromptsAndCapsGeneration() throws {
        let s = spec { $0.maxModelLen = 4096 }
        let c = try cluster([s], ListSource([
            Request(id: 0, arrival: .zero, promptTokens: 5000, outputTokens: 10),
            Request(id: 1, arrival: .zero, promptTokens: 4000, outputTokens: 200),
            Request(id: 2, arrival: .zero, promptTokens: 100, outputTokens: 10),
        ]))
        #expect(try c.run() == .completed)
        let byID = Dictionary(uniqueKeysWithValues: c.metrics.records.map { ($0.id, $0) })
        #expect(byID[0]?.dropReason == .exceedsContext && byID[0]?.outputTokens == 0)
        #expect(byID[1]?.finished == true && byID[1]?.outputTokens == 96)
        #expect(byID[2]?.finished == true && byID[2]?.outputTokens == 10)
        #expect(c.lengthCapped == 1 && c.conservationProblems().isEmpty)
    }

    /// Requests handed to a decode instance with max_num_seqs 4 queue there: at no iteration do more
    /// than 4 run, and all 20 finish.
    @Test func handedOffRequestsWaitForASequenceSlot() throws {
        let decode = spec(role: .decode) { $0.maxSequences = 4 }
        let c = try cluster([spec(role: .prefill), decode], ListSource(requests(20, every: 0, prompt: 200, output: 40)),
                            sample: .seconds(0.001))
        #expect(try c.run() == .completed)
        #expect(c.metrics.records.count == 20 && c.metrics.records.allSatisfy(\.finished))
        let decodeSamples = c.metrics.samples.filter { $0.instance == 1 }
        #expect(decodeSamples.allSatisfy { $0.running <= 4 })
        #expect(decodeSamples.contains { $0.running == 4 && $0.waiting > 0 }, "the rest waited")
        #expect(c.conservationProblems().isEmpty)
    }

    /// A request swapped out after 256 of its 552 prompt tokens comes back for 256 more (the token
    /// budget), not its remaining 296, with its 16 blocks copied back.
    @Test func swapInIsSizedByTheTokenBudget() throws {
        let c = try cluster([spec { $0.maxBatchedTokens = 256; $0.preemption = .swap }], ListSource([]))
        let inst = c.instances[0]
        let r = ServingRequest(Request(id: 0, arrival: .zero, promptTokens: 552, outputTokens: 5), instance: 0)
        inst.enqueue(r)
        _ = inst.formBatch(now: .zero)
        #expect(inst.batchShape.prefillTokens == 256)
        _ = inst.completeIteration()
        #expect(inst.preemptNewestRunning() === r && r.phase == .swapped && r.kvBlocks == 16)
        _ = inst.formBatch(now: .zero)
        #expect(inst.batchShape.prefillTokens == 256 && inst.swapTraffic.fromHost == 16)
        _ = inst.completeIteration()
        #expect(r.computedTokens == 512)
    }

    /// A swapped request whose next token needs a 21st block on a 20-block cache can never come
    /// back: it is dropped (exceeds_capacity) instead of blocking admission forever.
    @Test func aSwappedRequestThatOutgrewTheCacheIsDropped() throws {
        let c = try cluster([spec { $0.gpuBlocksOverride = 20; $0.watermark = 0; $0.preemption = .swap }], ListSource([]))
        let inst = c.instances[0]
        let r = ServingRequest(Request(id: 0, arrival: .zero, promptTokens: 320, outputTokens: 5), instance: 0)
        inst.enqueue(r)
        _ = inst.formBatch(now: .zero)
        _ = inst.completeIteration()
        #expect(r.contextTokens == 321 && r.kvBlocks == 20)
        inst.preemptNewestRunning()
        #expect(inst.swapped.count == 1 && inst.hostBlocks.used == 20)
        #expect(inst.formBatch(now: .zero) == nil)
        #expect(inst.dropped.count == 1 && inst.dropped[0].1 == .exceedsCapacity)
        #expect(inst.swapped.isEmpty && inst.hostBlocks.used == 0 && inst.swapTraffic.fromHost == 0)
    }

    /// ITL pools the gaps of finished requests only, exactly: a 4-token request alone has 3 gaps,
    /// each one decode iteration; a request still running at the horizon adds none.
    @Test func interTokenLatencyCountsFinishedRequestsExactly() throws {
        let s = spec()
        let c = try cluster([s], ListSource([Request(id: 0, arrival: .zero, promptTokens: 1000, outputTokens: 4),
                                             Request(id: 1, arrival: .seconds(5), promptTokens: 100, outputTokens: 5000)]))
        #expect(try c.run(StopConditions(horizon: .seconds(6))) == .horizon)
        #expect(c.metrics.outputTokens > 6, "the running request has gaps of its own")
        let gaps = c.finishedInterTokenGaps()
        #expect(gaps.total == 3)
        let cost = CostModel(model: s.model, accelerator: s.accelerator, layout: s.layout)
        let decodes = (1000..<1003).map { context -> Int64 in
            var d = BatchShape()
            d.addDecode(context: context)
            return SimTime.seconds(cost.iterationTime(d)).nanoseconds
        }
        #expect(gaps.quantiles([0.5]) == [Double(decodes.sorted()[1])])
        #expect(abs(gaps.mean - Double(decodes.reduce(0, +)) / 3) < 1e-6)
    }

    /// Distinct experts a batch reads: Mixtral (8 experts, 2 per token) at 4 decode tokens touches
    /// 8·(1 − (3/4)⁴) = 5.46875 in expectation, not min(8, 8) = 8; with 2 experts, 1 per token and
    /// skew 1 (chances 2/3, 1/3), 2 tokens touch (1 − (1/3)²) + (1 − (2/3)²) = 13/9.
    @Test func expertsTouchedFollowTheRoutingExpectation() throws {
        let mixtral = try #require(ModelCatalog.named("Mixtral-8x7B"))
        #expect(abs(mixtral.expectedExpertsTouched(tokens: 4) - 5.46875) < 1e-12)
        var two = ModelArchitecture(name: "two", layers: 1, hidden: 64, heads: 8, kvHeads: 8, ffn: 64, vocabulary: 100,
                                    experts: 2, expertsPerToken: 1, gatedMLP: true, tiedEmbeddings: false,
                                    bytesPerParameter: 2, maxContext: 100, source: "test")
        #expect(abs(two.expectedExpertsTouched(tokens: 2) - 1.5) < 1e-12, "uniform: 2·(1 − (1/2)²)")
        two.expertSkew = 1
        #expect(abs(two.expectedExpertsTouched(tokens: 2) - 13.0 / 9) < 1e-12)
    }
}

@Suite("Clients that give up")
struct ClientTimeoutTests {
    /// One sequence slot, a 1 s client timeout: the request waiting behind the long one is aborted
    /// at exactly 1 s; the running one at the end of the iteration that the deadline falls in. Both
    /// count as client_timeout, their blocks are freed and no gap of theirs is in ITL.
    @Test func abandonedRequestsAreAbortedWhereverTheyAre() throws {
        let c = try cluster([spec { $0.maxSequences = 1 }], ListSource([
            Request(id: 0, arrival: .zero, promptTokens: 100, outputTokens: 2000),
            Request(id: 1, arrival: .zero, promptTokens: 100, outputTokens: 10),
        ]))
        c.clientTimeout = .seconds(1)
        #expect(try c.run() == .completed)
        let byID = Dictionary(uniqueKeysWithValues: c.metrics.records.map { ($0.id, $0) })
        #expect(byID[1]?.dropReason == .clientTimeout && byID[1]?.end == .seconds(1) && byID[1]?.outputTokens == 0)
        let running = try #require(byID[0])
        #expect(running.dropReason == .clientTimeout && running.end >= .seconds(1) && running.end < .seconds(1.1))
        #expect(running.outputTokens > 1)
        #expect(c.instances[0].gpuBlocks.used == 0 && c.finishedInterTokenGaps().total == 0)
        #expect(c.conservationProblems().isEmpty)
    }
}

@Suite("V0 and V1 steps without chunked prefill")
struct SchedulingSemanticsTests {
    /// A decodes; B arrives. vLLM V0 runs B's whole prompt in a step of its own (A waits one step);
    /// V1 runs A's decode and B's prompt together under one token budget.
    @Test(arguments: [(EngineProfile.Scheduling.v0, 0, 100), (.v1, 1, 100)])
    func aNewPromptRunsAloneUnderV0AndMixedUnderV1(scheduling: EngineProfile.Scheduling, decodes: Int, prefill: Int) throws {
        var engine = try #require(EngineCatalog.named("vllm-v1"))
        engine.scheduling = scheduling
        var limits = SchedulerLimits()
        limits.chunkedPrefill = false
        let s = InstanceSpec(model: ModelCatalog.named("Llama-2-7B")!, accelerator: AcceleratorCatalog.named("A100-80GB")!,
                             limits: limits, engine: engine)
        let c = try cluster([s], ListSource([]))
        let inst = c.instances[0]
        let a = ServingRequest(Request(id: 0, arrival: .zero, promptTokens: 100, outputTokens: 10), instance: 0)
        inst.enqueue(a)
        _ = inst.formBatch(now: .zero)
        _ = inst.completeIteration()
        inst.enqueue(ServingRequest(Request(id: 1, arrival: .zero, promptTokens: 100, outputTokens: 10), instance: 0))
        _ = inst.formBatch(now: .zero)
        #expect(inst.batchShape.decodeTokens == decodes && inst.batchShape.prefillTokens == prefill)
        _ = inst.completeIteration()
        // The next step: both decode.
        _ = inst.formBatch(now: .zero)
        #expect(inst.batchShape.decodeTokens == 2 && inst.batchShape.prefillTokens == 0)
    }
}

@Suite("Admission timing")
struct AdmissionTimingTests {
    private func instance(interval: Int, cap: Int? = nil) throws -> Instance {
        var options = SchedulerOptions()
        options.admissionInterval = interval
        options.maxPrefillTokensPerRound = cap
        let c = try Cluster(instances: [spec()], router: RoundRobinRouter(), source: ListSource([]), sampleInterval: nil,
                            makeScheduler: { _, i in PolicyRegistry.scheduler(named: "fcfs", options: options, instance: i)! })
        return c.instances[0]
    }

    private func step(_ inst: Instance) -> BatchShape {
        _ = inst.formBatch(now: .zero)
        let shape = inst.batchShape
        _ = inst.completeIteration()
        return shape
    }

    /// Rounds every 3 steps: A starts a round at step 1; B, queued before step 2, waits for the
    /// round at step 4 (steps 2 and 3 decode A alone).
    @Test func newRequestsWaitForTheNextRound() throws {
        let inst = try instance(interval: 3)
        inst.enqueue(ServingRequest(Request(id: 0, arrival: .zero, promptTokens: 100, outputTokens: 50), instance: 0))
        #expect(step(inst).prefillTokens == 100)
        inst.enqueue(ServingRequest(Request(id: 1, arrival: .zero, promptTokens: 100, outputTokens: 50), instance: 0))
        let shapes = (2...4).map { _ in step(inst) }
        #expect(shapes.map(\.prefillTokens) == [0, 0, 100] && shapes.map(\.decodeTokens) == [1, 1, 1])
    }

    /// A 250-token round cap: of three 100-token prompts, two start; the third waits for the next round.
    @Test func aRoundTakesAtMostItsPrefillCap() throws {
        let inst = try instance(interval: 1, cap: 250)
        for id in 0..<3 {
            inst.enqueue(ServingRequest(Request(id: id, arrival: .zero, promptTokens: 100, outputTokens: 50), instance: 0))
        }
        #expect(step(inst).prefillTokens == 200)
        let next = step(inst)
        #expect(next.prefillTokens == 100 && next.decodeTokens == 2)
    }
}

/// FCFS with a check after every step: a step whose preemptions left a batch to run swapped
/// nothing in, even with requests waiting in swap.
final class StepLog: @unchecked Sendable {
    var swapInsAfterPreempting = 0
    var preemptingStepsWithSwapped = 0
}

struct CheckedFCFS: BatchScheduler {
    var inner = FCFSScheduler()
    let log: StepLog

    mutating func formBatch(on instance: Instance) {
        let before = instance.preemptionCount
        inner.formBatch(on: instance)
        guard instance.preemptionCount > before, !instance.batch.isEmpty else { return }
        if !instance.swapped.isEmpty { log.preemptingStepsWithSwapped += 1 }
        if instance.swapTraffic.fromHost + instance.swapTraffic.fromNVMe > 0 { log.swapInsAfterPreempting += 1 }
    }

    mutating func requestFinished(_ request: ServingRequest) { inner.requestFinished(request) }
}

@Suite("A step that preempts")
struct PreemptingStepTests {
    /// Overload with swap: many steps preempt while others wait in swap; none of them swaps in (vLLM V0).
    @Test func swapsNothingIn() throws {
        let s = spec("Llama-2-13B", gpu: "A100-40GB") { $0.preemption = .swap; $0.maxPreemptions = 3; $0.swapSpaceBytesPerGPU = 2e9 }
        let source = SyntheticSource(arrivals: .poisson(rate: 50),
                                     lengths: .independent(prompt: .uniform(min: 500, max: 8000), output: .uniform(min: 200, max: 3000)),
                                     count: 300, seed: 5)
        let log = StepLog()
        let c = try Cluster(instances: [s], router: RoundRobinRouter(), source: source, sampleInterval: nil,
                            makeScheduler: { _, _ in CheckedFCFS(log: log) })
        c.checkInvariants = true
        #expect(try c.run(StopConditions(maxEvents: 2_000_000)) == .completed)
        #expect(log.preemptingStepsWithSwapped > 0, "the case arose")
        #expect(log.swapInsAfterPreempting == 0)
        #expect(c.conservationProblems().isEmpty)
    }
}

@Suite("Automatic prefix caching")
struct PrefixCachingTests {
    private func instance(blocks: Int? = nil, offloadGiB: Double = 0) throws -> Instance {
        var limits = SchedulerLimits()
        limits.gpuBlocksOverride = blocks
        limits.kvOffloadBytes = offloadGiB * 1_073_741_824
        limits.watermark = 0
        let s = InstanceSpec(model: ModelCatalog.named("Llama-3.1-8B")!, accelerator: AcceleratorCatalog.named("A100-80GB")!,
                             limits: limits, engine: EngineCatalog.named("vllm-v1")!)
        return try cluster([s], ListSource([])).instances[0]
    }

    /// A 64-token system prompt and a 16-token question: 5 full 16-token blocks.
    private func request(_ id: Int, question: UInt64, output: Int = 2) -> ServingRequest {
        ServingRequest(Request(id: id, arrival: .zero, promptTokens: 80, outputTokens: output,
                               prefix: [PrefixSegment(id: 7, tokens: 64), PrefixSegment(id: question, tokens: 16)]), instance: 0)
    }

    private func runToEnd(_ inst: Instance, _ r: ServingRequest) -> [BatchShape] {
        inst.enqueue(r)
        var shapes: [BatchShape] = []
        while r.generatedTokens < 2 {
            _ = inst.formBatch(now: .zero)
            shapes.append(inst.batchShape)
            _ = inst.completeIteration()
        }
        return shapes
    }

    /// B shares A's 4 system-prompt blocks and computes only its 16-token question; the same
    /// prompt again reuses 4 blocks, not 5: the last token is always computed (vLLM).
    @Test func aPromptComputesOnlyWhatTheCacheLacks() throws {
        let inst = try instance()
        #expect(runToEnd(inst, request(0, question: 1))[0].prefillTokens == 80)
        let b = runToEnd(inst, request(1, question: 2))[0]
        #expect(b.prefillTokens == 16 && b.prefillCachedTokens == 64)
        let again = runToEnd(inst, request(2, question: 1))[0]
        #expect(again.prefillTokens == 16 && again.prefillCachedTokens == 64)
        #expect(inst.prefixHitTokens == 128 && inst.prefixLookedUpTokens == 240)
        // Nothing runs: every block left is a cached one nobody uses (A's 5, B's question block).
        #expect(inst.blocksInUse == 0 && inst.gpuBlocks.used == 6 && inst.accountingProblem() == nil)
    }

    /// A 10-block cache: after A, a 160-token prompt needs every block, so A's cached blocks are
    /// evicted and A's prompt finds nothing the next time.
    @Test func cachedBlocksAreEvictedWhenThePoolNeedsThem() throws {
        let inst = try instance(blocks: 10)
        _ = runToEnd(inst, request(0, question: 1))
        let big = ServingRequest(Request(id: 1, arrival: .zero, promptTokens: 159, outputTokens: 2), instance: 0)
        _ = runToEnd(inst, big)
        #expect(inst.accountingProblem() == nil)
        let again = runToEnd(inst, request(2, question: 1))[0]
        #expect(again.prefillTokens == 80 && again.prefillCachedTokens == 0)
    }

    /// Swap preemption with caching: A (80 tokens, 5 cached blocks, +1 block for its first output)
    /// is swapped out: all 6 blocks go to host memory, and its 5 named blocks stay cached, unused.
    /// B then reuses the 4 system-prompt blocks. A comes back with its 6 blocks as its own copies.
    @Test func swappedRequestsLeaveTheirSharedBlocksCached() throws {
        var limits = SchedulerLimits()
        limits.watermark = 0
        limits.preemption = .swap
        let s = InstanceSpec(model: ModelCatalog.named("Llama-3.1-8B")!, accelerator: AcceleratorCatalog.named("A100-80GB")!,
                             limits: limits, engine: EngineCatalog.named("vllm-v1")!)
        let inst = try cluster([s], ListSource([])).instances[0]
        let a = request(0, question: 1, output: 4)
        inst.enqueue(a)
        _ = inst.formBatch(now: .zero)
        _ = inst.completeIteration()
        _ = inst.formBatch(now: .zero)   // A's first decode takes a 6th block
        _ = inst.completeIteration()
        #expect(inst.preemptNewestRunning() === a && a.phase == .swapped && a.kvBlocks == 6)
        #expect(inst.hostBlocks.used == 6 && inst.blocksInUse == 0 && inst.gpuBlocks.used == 5)
        let b = request(1, question: 2)
        inst.enqueue(b)
        _ = inst.formBatch(now: .zero)
        #expect(inst.batchShape.prefillCachedTokens == 64 && inst.swapTraffic.fromHost == 6)
        _ = inst.completeIteration()
        #expect(a.phase == .running && a.kvBlocks == 6 && a.cachedBlocks == 0 && inst.hostBlocks.used == 0)
        #expect(inst.accountingProblem() == nil)
    }

    /// Offloading: A's 5 prompt blocks are stored in host DRAM as the GPU cache names them. A
    /// 159-token prompt then evicts them from the 10-block GPU cache; A's prompt again loads its 4
    /// leading blocks over PCIe (the last token is always computed) and computes 16 tokens, not 80.
    @Test func offloadedBlocksComeBackInsteadOfBeingRecomputed() throws {
        let inst = try instance(blocks: 10, offloadGiB: 1)
        _ = runToEnd(inst, request(0, question: 1))
        #expect(inst.offloadStores == 5 && inst.offloaded.count == 5)
        _ = runToEnd(inst, ServingRequest(Request(id: 1, arrival: .zero, promptTokens: 159, outputTokens: 2), instance: 0))
        let again = request(2, question: 1)
        inst.enqueue(again)
        _ = inst.formBatch(now: .zero)
        #expect(inst.batchShape.prefillTokens == 16 && inst.batchShape.prefillCachedTokens == 64)
        #expect(inst.swapTraffic.fromHost == 4)
        _ = inst.completeIteration()
        #expect(inst.offloadHitTokens == 64 && inst.prefixHitTokens == 0 && inst.offloadStores == 5)
        #expect(inst.accountingProblem() == nil)
    }

    /// Under load every request ends once and the block accounting holds with sharing, preemption
    /// and eviction (the conservation checks), and caching cuts the time to first token.
    @Test func sharedPrefixesUnderLoadKeepTheBooks() throws {
        func run(_ caching: Bool, _ preemption: PreemptionMode = .recompute, offloadGiB: Double = 0) throws -> Cluster {
            var engine = EngineCatalog.named("vllm-v1")!
            engine.prefixCaching = caching
            var limits = SchedulerLimits()
            limits.gpuBlocksOverride = 400
            limits.preemption = preemption
            limits.kvOffloadBytes = offloadGiB * 1_073_741_824
            let s = InstanceSpec(model: ModelCatalog.named("Llama-3.1-8B")!, accelerator: AcceleratorCatalog.named("A100-80GB")!,
                                 limits: limits, engine: engine)
            let source = SharedPrefixSource(arrivals: .poisson(rate: 20), groups: 3, promptsPerGroup: 5, systemTokens: 1000,
                                            questionTokens: 50, output: .uniform(min: 10, max: 200), count: 300, seed: 3)
            let c = try cluster([s], source)
            #expect(try c.run() == .completed)
            #expect(c.conservationProblems().isEmpty)
            #expect(c.metrics.records.count == 300)
            return c
        }
        let on = try run(true), off = try run(false), swapping = try run(true, .swap), offloading = try run(true, offloadGiB: 4)
        #expect(on.instances[0].prefixHitTokens > 0 && off.instances[0].prefixLookedUpTokens == 0)
        #expect(offloading.instances[0].offloadHitTokens > 0 && on.instances[0].offloadHitTokens == 0)
        #expect(swapping.instances[0].prefixHitTokens > 0 && swapping.totalPreemptions > 0)
        let ttft = { (c: Cluster) in c.metrics.records.compactMap(\.ttft).reduce(0, +) }
        #expect(ttft(on) < ttft(off))
    }
}

@Suite("Pipeline parallelism")
struct PipelineTests {
    /// Two stages. A (3 s on the first stage, 2 s on the second) enters at 0: done at 5, first stage
    /// free at 3. B (the same) enters at 3: done at 8. C (1 s, 4 s) enters at 5 but waits for the
    /// first stage until 6, leaves it at 7, waits for the second until 8: done at 12.
    @Test func microBatchesFollowEachOtherThroughTheStages() {
        var p = Pipeline(stages: 2)
        let ab = StageTimes(first: .seconds(3), rest: .seconds(2))
        #expect(p.run(from: .zero, ab) == (.seconds(5), .seconds(3)))
        #expect(!p.acceptsBatch(at: .seconds(2.9)) && p.acceptsBatch(at: .seconds(3)))
        #expect(p.run(from: .seconds(3), ab) == (.seconds(8), .seconds(6)))
        #expect(p.run(from: .seconds(5), StageTimes(first: .seconds(1), rest: .seconds(4))) == (.seconds(12), .seconds(7)))
    }

    /// One stage is the whole step (no other stage takes any); with two, the host work stays on
    /// the first and the GPU time splits in halves (serial host: 1 + 4/2; overlapped: max(1, 4/2)).
    @Test func aStepSplitsOverTheStages() {
        #expect(StageTimes(host: 1, gpu: 4, overlapsHost: false, stages: 1) == StageTimes(first: .seconds(5), rest: .zero))
        #expect(StageTimes(host: 1, gpu: 4, overlapsHost: false, stages: 2) == StageTimes(first: .seconds(3), rest: .seconds(2)))
        #expect(StageTimes(host: 1, gpu: 4, overlapsHost: true, stages: 2) == StageTimes(first: .seconds(2), rest: .seconds(2)))
    }

    /// PP2: A's prefill enters at 0 and samples after both stages (f + r); B, arriving at 1 ms,
    /// starts when the first stage frees (f), in a micro-batch of its own, not after A's step.
    /// With PP1, B waits for A's whole step.
    @Test func aSecondMicroBatchStartsWhenTheFirstStageFrees() throws {
        let reqs = [Request(id: 0, arrival: .zero, promptTokens: 1000, outputTokens: 3),
                    Request(id: 1, arrival: .seconds(0.001), promptTokens: 1000, outputTokens: 3)]
        var shape = BatchShape()
        shape.addPrefill(tokens: 1000, cached: 0, samples: true)
        for pp in [1, 2] {
            var s = spec("Llama-2-13B")
            s.layout = ParallelLayout(tp: 1, pp: pp)
            let c = try cluster([s], ListSource(reqs))
            #expect(try c.run() == .completed)
            let step = c.instances[0].costModel.breakdown(shape)
            let t = StageTimes(host: step.host, gpu: step.gpu, overlapsHost: step.overlapsHost, stages: pp)
            let byID = Dictionary(uniqueKeysWithValues: c.metrics.records.map { ($0.id, $0) })
            #expect(byID[0]?.firstToken == .zero + t.first + (pp == 2 ? t.rest : .zero))
            #expect(byID[1]?.firstScheduled == (pp == 2 ? .zero + t.first : byID[0]?.firstToken))
            #expect(c.conservationProblems().isEmpty)
        }
    }
}

extension GapLog {
    /// One token at a time: the reference the tests compare runs against.
    mutating func append(request: Int, gap: Int64) {
        [request].withUnsafeBufferPointer { append(requests: $0, gap: gap) }
    }
}

/// The log of gaps whose requests have not ended: settled in bulk, it passes on exactly the gaps
/// of requests that finished, whatever the order of ends and settlements; settled on a thread of
/// its own, it gives what one thread gives, slot for slot.
@Suite("Pending inter-token gaps")
struct PendingGapsTests {
    @Test func onlyFinishedRequestsGapsArePassedOn() {
        var pending = PendingGaps(), log = GapLog(), finished = CountedValues(), expected = CountedValues()
        // Request k's gaps are k·1000 + step; 0, 2, 4 finish; 1 and 3 are dropped; 5 is still running.
        for step in 0..<40_000 {
            for k in 0..<6 {
                let gap = Int64(k * 1000 + step % 997)
                log.append(request: k, gap: gap)
                if log.tokens >= 50_000 {
                    pending.settle(log, into: &finished)
                    log = GapLog()
                }
                if k % 2 == 0 && k != 5 { expected.add(gap) }
            }
            if step == 20_000 { log.ended(request: 1, finished: false) }
            if step == 30_000 { log.ended(request: 0, finished: true) }
        }
        log.ended(request: 2, finished: true)
        log.ended(request: 3, finished: false)
        log.ended(request: 4, finished: true)
        #expect(pending.settle(log, into: &finished) == 40_000, "request 5's gaps are kept")
        #expect(finished.total == expected.total && finished.total == 3 * 40_000)
        #expect(finished.quantiles([0, 0.25, 0.5, 0.9, 1]) == expected.quantiles([0, 0.25, 0.5, 0.9, 1]))
        #expect(finished.mean == expected.mean, "the sum is exact, whatever order the gaps came in")
        #expect(finished.standardDeviation == expected.standardDeviation, "summed in order of value, whatever order they came in")
    }

    /// Requests generate for random spans and end finished, dropped or never; gaps repeat across
    /// requests (one iteration's gap) and are new every few tokens, over many settlements.
    @Test func settlingOnItsOwnThreadGivesWhatOneThreadGives() {
        let random = RandomStream(name: "gap settling", scenarioSeed: 7)
        let settler = GapSettler()
        var pending = PendingGaps(), log = GapLog(), oneThread = CountedValues(), kept = 0
        var live: [(id: Int, tokens: Int, left: Int)] = [], nextID = 0, settlements = 0
        for step in 0..<6_000 {
            while live.count < 60 {
                live.append((nextID, 1, random.uniformInt(1...200)))
                nextID += 1
            }
            let gap = Int64(1_000 + step % 50)
            var run: [Int] = [], runGap: Int64 = 0
            for i in live.indices {
                live[i].tokens += 1
                live[i].left -= 1
                // Most requests see the iteration's gap; every seventh, one of its own. The settler
                // takes runs of equal gaps (a settlement may fall due inside one); the log, token by token.
                let g = live[i].id % 7 == 0 ? gap + Int64(live[i].tokens) : gap
                if g != runGap {
                    run.withUnsafeBufferPointer { settler.append(requests: $0, gap: runGap) }
                    run.removeAll()
                    runGap = g
                }
                run.append(live[i].id)
                log.append(request: live[i].id, gap: g)
                if log.tokens >= PendingGaps.dueAfter(kept: kept) {
                    kept = pending.settle(log, into: &oneThread)
                    log = GapLog()
                    settlements += 1
                }
            }
            run.withUnsafeBufferPointer { settler.append(requests: $0, gap: runGap) }
            for r in live where r.left <= 0 && r.id % 11 != 0 {
                let finished = r.id % 5 != 0
                settler.ended(request: r.id, loggedGaps: r.tokens - 1, finished: finished)
                log.ended(request: r.id, finished: finished)
            }
            live.removeAll { $0.left <= 0 }
        }
        pending.settle(log, into: &oneThread)
        let threaded = settler.settledGaps()
        #expect(settlements > 3)
        #expect(threaded.total == oneThread.total && threaded.total > 100_000)
        #expect(threaded.mean == oneThread.mean)
        #expect(threaded.standardDeviation == oneThread.standardDeviation)
        #expect(threaded.quantiles([0, 0.5, 0.99, 1]) == oneThread.quantiles([0, 0.5, 0.99, 1]))
    }
}

/// Gaps counted by runs of steps (SampledSteps) are exactly the gaps counted token by token: requests
/// on four instances sample at most steps, skip some (which breaks their run), move between
/// instances, and end finished, dropped or never; the multiset is asked for along the way too.
@Suite("Inter-token gaps by runs of steps")
struct SampledStepsTests {
    @Test func runsGiveTheGapsTokensGive() {
        let random = RandomStream(name: "sampled steps", scenarioSeed: 11)
        let metrics = MetricsRecorder()
        var requests: [ServingRequest] = [], target: [Int] = [], on: [Int] = []
        var lastToken: [SimTime?] = [], largest: [SimTime] = [], own: [[Int64]] = []
        var expected = CountedValues(), ended = Set<Int>()
        var now = SimTime.zero, asked = 0
        for id in 0..<400 {
            requests.append(ServingRequest(Request(id: id, arrival: .zero, promptTokens: 8, outputTokens: 10_000), instance: 0))
            target.append(random.uniformInt(2...120))
            on.append(random.uniformInt(0...3))
            lastToken.append(nil)
            largest.append(.zero)
            own.append([])
        }
        for tick in 0..<20_000 {
            now = now + SimTime(nanoseconds: Int64(random.uniformInt(1...40)))
            let instance = random.uniformInt(0...3)
            var batch = Batch()
            // Requests arrive over time; a few move to another instance between steps.
            for id in 0..<min(requests.count, 20 + tick / 50) where !ended.contains(id) && on[id] == instance {
                let r = requests[id]
                if random.uniformInt(0...299) == 0 { on[id] = (instance + 1) % 4; continue }
                batch.append(r)
                r.sampledNow = random.uniformInt(0...29) > 0
                guard r.sampledNow else { continue }
                r.generatedTokens += 1
                if let last = lastToken[id] {
                    own[id].append((now - last).nanoseconds)
                    largest[id] = max(largest[id], now - last)
                }
                lastToken[id] = now
            }
            if !batch.isEmpty { metrics.tokensSampled(in: batch, on: instance, at: now) }
            batch.forEach { r in
                guard r.generatedTokens >= target[r.id], r.id % 13 != 0 else { return }
                let finished = r.id % 4 != 0
                metrics.ended(r, at: now, reason: finished ? nil : .clientTimeout)
                ended.insert(r.id)
                if finished { for g in own[r.id] { expected.add(g) } }
            }
            if tick % 1_000 == 999 {
                // Asked along the way: every step is passed on as final, and runs open then that
                // finish later still count.
                let sofar = metrics.finishedInterTokenGaps()
                #expect(sofar.total == expected.total && sofar.quantiles([0, 0.5, 1]) == expected.quantiles([0, 0.5, 1]))
                asked += 1
            }
        }
        let gaps = metrics.finishedInterTokenGaps()
        #expect(asked == 20 && ended.count > 200 && expected.total > 10_000)
        #expect(gaps.total == expected.total)
        #expect(gaps.mean == expected.mean && gaps.standardDeviation == expected.standardDeviation)
        #expect(gaps.quantiles([0, 0.1, 0.5, 0.9, 0.99, 1]) == expected.quantiles([0, 0.1, 0.5, 0.9, 0.99, 1]))
        for record in metrics.records { #expect(record.maxInterTokenGap == largest[record.id]) }
    }
}
