import HardwareModels
import Policies
import SimCore
import Testing
import Workloads
@testable import Serving

/// Checks every batch a decode instance forms: each request's KV has arrived, and the blocks
/// it holds never exceed the cache.
final class DecodeLog: @unchecked Sendable {
    var batches = 0
    var beforeKV = 0
    var overCapacity = 0
}

struct CheckedDecode: BatchScheduler {
    var inner = FCFSScheduler()
    let log: DecodeLog

    mutating func formBatch(on instance: Instance) {
        inner.formBatch(on: instance)
        guard !instance.batch.isEmpty else { return }
        log.batches += 1
        log.beforeKV += instance.batch.filter { $0.migrations == 0 || $0.kvTransfer == .zero }.count
        if instance.gpuBlocks.used > instance.gpuBlocks.capacity { log.overCapacity += 1 }
    }

    mutating func requestFinished(_ request: ServingRequest) { inner.requestFinished(request) }
}

@Suite("Disaggregated prefill and decode (DistServe)")
struct DisaggregationTests {
    private func disaggregated(decodeBlocks: Int? = nil, requests: [Request], log: DecodeLog = DecodeLog(),
                               nodes gpusPerNode: Int = 8) throws -> Cluster {
        var node = NodeSpec.defaults(for: AcceleratorCatalog.named("A100-80GB")!)
        node.gpus = gpusPerNode
        let decode = spec(role: .decode) { $0.gpuBlocksOverride = decodeBlocks; $0.watermark = 0 }
        let c = try Cluster(instances: [spec(role: .prefill) { $0.gpuBlocksOverride = 400 }, decode],
                            router: ShortestQueueRouter(), source: ListSource(requests), sampleInterval: .seconds(0.01),
                            topology: Topology(nodeSpecs: ["A100-80GB": node]),
                            makeScheduler: { s, _ in s.role == .decode ? CheckedDecode(log: log) as any BatchScheduler : FCFSScheduler() })
        c.checkInvariants = true
        return c
    }

    /// A decode cache of 100 blocks holds three 480-token requests with room to grow (30 blocks, then
    /// 31): the rest of 20 wait with their KV on the prefill instance, whose 400 blocks fill (13 × 30),
    /// so it stops admitting; every decode batch holds only requests whose KV has arrived, within the cache.
    @Test func decodeInstancesPullKVOnlyWhenTheyHaveRoom() throws {
        let log = DecodeLog()
        let c = try disaggregated(decodeBlocks: 100, requests: requests(20, every: 0, prompt: 480, output: 20), log: log)
        #expect(try c.run() == .completed)
        #expect(c.conservationProblems().isEmpty)
        #expect(log.batches > 0 && log.beforeKV == 0 && log.overCapacity == 0)
        let records = c.metrics.records
        #expect(records.count == 20 && records.allSatisfy { $0.finished && $0.instance == 1 && $0.kvTransfer > .zero })
        #expect(records.filter { $0.kvWait > .zero }.count >= 16, "all but the first few waited to be pulled")
        let prefill = c.metrics.samples.filter { $0.instance == 0 }
        #expect(prefill.allSatisfy { $0.gpuBlocksUsed <= $0.gpuBlocksTotal })
        #expect(prefill.contains { $0.waiting > 0 && $0.running == 0 && $0.gpuBlocksUsed > 370 },
                "prefilled KV filled the prefill instance and held new prompts back")
    }

    /// Prefill on one server, decode on another: a 2,000-token Llama-2-7B KV (1 GiB) crosses the
    /// NIC at its bandwidth × link efficiency, plus the path's latency.
    @Test func aHandOffTakesItsBytesOverTheLink() throws {
        let c = try disaggregated(requests: [Request(id: 0, arrival: .zero, promptTokens: 2000, outputTokens: 3)], nodes: 1)
        #expect(try c.run() == .completed)
        let r = try #require(c.metrics.records.first)
        let model = ModelCatalog.named("Llama-2-7B")!
        let bytes = 2000 * model.kvBytesPerToken(tp: 1)
        let node = c.topology.spec(for: AcceleratorCatalog.named("A100-80GB")!)
        let expected = bytes / (node.nicBandwidth * c.topology.linkEfficiency) + node.networkLatency
        #expect(abs(r.kvTransfer.seconds - expected) < 1e-6 + 1e-3 * expected)
        #expect(r.kvWait == .zero && c.conservationProblems().isEmpty)
    }

    /// L_m = 1,000 tokens: prompts of 400 batch two at a time, a 1,500-token prompt runs alone.
    @Test func prefillBatchesUpToItsBudgetAndALongerPromptRunsAlone() throws {
        var limits = SchedulerLimits()
        limits.chunkedPrefill = false
        limits.maxBatchedTokens = 1000
        let s = InstanceSpec(model: ModelCatalog.named("Llama-2-7B")!, accelerator: AcceleratorCatalog.named("A100-80GB")!,
                             role: .prefill, limits: limits)
        let c = try Cluster(instances: [s, spec(role: .decode)], router: ShortestQueueRouter(), source: ListSource([]),
                            sampleInterval: nil, makeScheduler: { _, _ in FCFSScheduler() })
        let inst = c.instances[0]
        for (id, prompt) in [400, 400, 400, 1500].enumerated() {
            inst.enqueue(ServingRequest(Request(id: id, arrival: .zero, promptTokens: prompt, outputTokens: 5), instance: 0))
        }
        var batches: [Int] = []
        while !inst.waiting.isEmpty {
            _ = inst.formBatch(now: .zero)
            batches.append(inst.batchShape.prefillTokens)
            _ = inst.completeIteration()
        }
        #expect(batches == [800, 400, 1500])
    }

    /// Shortest queue counts waiting and running requests.
    @Test func shortestQueueCountsWaitingAndRunning() throws {
        let c = try Cluster(instances: [spec(role: .prefill), spec(role: .prefill), spec(role: .decode)],
                            router: ShortestQueueRouter(), source: ListSource([]), sampleInterval: nil,
                            makeScheduler: { _, _ in FCFSScheduler() })
        var router = ShortestQueueRouter()
        let r = { (id: Int) in ServingRequest(Request(id: id, arrival: .zero, promptTokens: 10, outputTokens: 2), instance: -1) }
        #expect(router.route(r(0), among: c.instances) == 0)
        c.instances[0].enqueue(r(1))
        #expect(router.route(r(2), among: c.instances) == 1)
        c.instances[1].enqueue(r(3))
        c.instances[1].enqueue(r(4))
        #expect(router.route(r(5), among: c.instances) == 0)
    }
}

@Suite("Stage-per-server placement (DistServe's low node affinity)")
struct StagePlacementTests {
    /// Prefill TP3·PP3 then decode TP4·PP3 on 8-GPU servers: stage k of both on server k (3 + 4 GPUs).
    @Test func eachStageTakesTheFirstServerWithRoom() {
        var t = Topology()
        let a100 = AcceleratorCatalog.named("A100-80GB")!
        let p = t.allocate(stages: 3, perStage: 3, of: a100)!, d = t.allocate(stages: 3, perStage: 4, of: a100)!
        #expect(p.map(\.node) == [0, 0, 0, 1, 1, 1, 2, 2, 2] && d.map(\.node) == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2])
        #expect(Set(p + d).count == 21 && t.nodes.count == 3)
        // A third pipeline finds no server with 4 free GPUs among the three (1 left each) and opens new ones.
        #expect(t.allocate(stages: 2, perStage: 4, of: a100)!.map(\.node) == [3, 3, 3, 3, 4, 4, 4, 4])
    }

    /// Llama-2-13B prefill and decode at TP1·PP2, one stage per server (1-GPU NIC, 8-GPU servers): each
    /// stage's KV half moves over NVLink inside its server, as fast as the whole KV over NVLink on one; packed
    /// on 1-GPU servers it crosses the NIC.
    @Test func stageAlignedHandOffsStayOnNVLink() throws {
        func transfer(stagePerServer: Bool, gpusPerNode: Int) throws -> Double {
            var node = NodeSpec.defaults(for: AcceleratorCatalog.named("A100-80GB")!)
            node.gpus = gpusPerNode
            var p = spec("Llama-2-13B", role: .prefill), d = spec("Llama-2-13B", role: .decode)
            p.layout = ParallelLayout(tp: 1, pp: 2)
            d.layout = ParallelLayout(tp: 1, pp: 2)
            p.stagePerServer = stagePerServer
            d.stagePerServer = stagePerServer
            let c = try Cluster(instances: [p, d], router: ShortestQueueRouter(),
                                source: ListSource([Request(id: 0, arrival: .zero, promptTokens: 2000, outputTokens: 3)]),
                                sampleInterval: nil, topology: Topology(nodeSpecs: ["A100-80GB": node]),
                                makeScheduler: { _, _ in FCFSScheduler() })
            c.checkInvariants = true
            #expect(try c.run() == .completed && c.conservationProblems().isEmpty)
            if stagePerServer { #expect(c.instances[0].gpus.map(\.node) == c.instances[1].gpus.map(\.node)) }
            return try #require(c.metrics.records.first).kvTransfer.seconds
        }
        let aligned = try transfer(stagePerServer: true, gpusPerNode: 8)
        let acrossNIC = try transfer(stagePerServer: false, gpusPerNode: 1)
        #expect(aligned > 0 && acrossNIC > 5 * aligned)
    }
}

/// Runs that cannot go on end instead of looping.
@Suite("Stalls")
struct StallTests {
    /// A scheduler that never runs anything.
    private struct Idle: BatchScheduler {
        mutating func formBatch(on instance: Instance) {}
    }

    /// With nothing able to run, periodic samples alone do not keep the clock going: the run ends
    /// drained, its requests unfinished and the stall reported.
    @Test func aClusterThatCannotProgressEnds() throws {
        let c = try Cluster(instances: [spec()], router: RoundRobinRouter(), source: ListSource(requests(3, every: 0.1, prompt: 50, output: 5)),
                            sampleInterval: .seconds(1), makeScheduler: { _, _ in Idle() })
        #expect(try c.run() == .drained)
        #expect(c.ended == 0 && c.conservationProblems().contains { $0.contains("stalled") })
    }
}
