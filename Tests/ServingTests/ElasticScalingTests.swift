import HardwareModels
import Testing
import Policies
import SimCore
import Workloads
@testable import Serving

/// ElasticMoE's rescale and its baselines, on DeepSeek-V2-Lite over Ascend 910C NPUs (TP2, DP2 → DP3).
@Suite("Elastic scaling")
struct ElasticScalingTests {
    private func moe(dp: Int, _ adjust: (inout SchedulerLimits) -> Void = { _ in }) -> InstanceSpec {
        var limits = SchedulerLimits()
        limits.maxSequences = 32 * dp
        adjust(&limits)
        return InstanceSpec(model: ModelCatalog.named("DeepSeek-V2-Lite")!, accelerator: AcceleratorCatalog.named("Ascend-910C")!,
                            layout: ParallelLayout(tp: 2, dp: dp, ep: 2 * dp), limits: limits,
                            engine: EngineCatalog.named("vllm-ascend")!)
    }

    /// 300 requests over 6 s (or `every`), a rescale to `dp` at 2 s; every request must end once, finished, with all its tokens.
    private func scaled(_ method: ScalingMethod, to dp: Int = 3, from start: Int = 2, options: ElasticOptions = .init(),
                        every gap: Double = 0.02, _ adjust: (inout SchedulerLimits) -> Void = { _ in }) throws -> Cluster {
        let c = try cluster([moe(dp: start, adjust)], ListSource(requests(300, every: gap, prompt: 500, output: 200)))
        c.controller = ElasticScaler(period: .seconds(0.5), method: method, options: options, steps: [(.seconds(2), dp)])
        _ = try c.run()
        #expect(c.conservationProblems().isEmpty, "\(method): \(c.conservationProblems().prefix(3))")
        #expect(c.metrics.records.count == 300 && c.metrics.records.allSatisfy { $0.finished && $0.outputTokens == 200 })
        return c
    }

    @Test func everyMethodServesEveryRequestOnce() throws {
        for method in ScalingMethod.allCases {
            // Requests over 75 s: the baselines boot for about a minute while the old layout serves.
            let c = try scaled(method, every: 0.25) { if method == .concurrent { $0.memoryUtilization = 0.45 } }
            let record = try #require(c.scalingRecords.first)
            #expect(record.failure == nil && record.ready != nil && record.successor != nil, "\(method)")
            #expect(record.peakHBMBytes > 0, "\(method)")
            let gpus = Set(c.instances[0].gpus + c.instances[record.successor!].gpus)
            let capacity = AcceleratorCatalog.named("Ascend-910C")!.memoryBytes
            #expect(record.peakHBMBytes <= Double(gpus.count) * capacity && record.peakDeviceHBMBytes <= capacity)
            #expect(record.peakDeviceHBMBytes > 0.5 * capacity, "\(method): the peak is taken while both layouts hold memory")
        }
    }

    /// ElasticMoE serves throughout: no downtime, the new layout takes over in place, the old GPUs
    /// kept; a cold restart serves nothing for its cold start, weight load and warm-up.
    @Test func elasticHasNoDowntimeAndAColdRestartHasItsWholeBoot() throws {
        let elastic = try scaled(.elastic)
        let e = elastic.scalingRecords[0]
        #expect(e.downtime == .zero && e.expertsMoved == 20 && e.peerBytes > 0 && e.storageBytes == 0)
        let successor = elastic.instances[e.successor!]
        #expect(successor.spec.layout == ParallelLayout(tp: 2, dp: 3, ep: 6) && elastic.instances[0].state == .removed)
        #expect(Array(successor.gpus.prefix(4)) == elastic.instances[0].gpus)
        #expect(successor.spec.expertPlacement?.counts == [11, 11, 11, 11, 10, 10])
        let cold = try scaled(.coldRestart)
        let r = cold.scalingRecords[0], engine = EngineCatalog.named("vllm-ascend")!
        #expect(r.downtime.seconds > engine.initialization + engine.warmup)
        #expect((r.ready! - r.start).seconds > 10 * (e.ready! - e.start).seconds)
    }

    /// Without P2P, the bytes for the new GPUs come over the server's NVMe, which all of them share:
    /// the transfers end at bytes / NVMe bandwidth (plus the path's latency); over the Unified Bus far sooner.
    @Test func withoutPeerToPeerWeightsTakeBytesOverTheStoragePath() throws {
        var off = ElasticOptions()
        off.peerToPeer = false
        let c = try scaled(.elastic, options: off)
        let r = c.scalingRecords[0]
        let node = c.topology.nodes[0].spec
        let path = c.topology.pathFromNVMe(to: c.instances[r.successor!].gpus[4])
        let expected = r.storageBytes / (node.nvmeReadBandwidth * c.topology.linkEfficiency) + c.topology.network.latency(of: path)
        let took = (r.warmupStart! - r.start).seconds
        #expect(r.peerBytes == 0 && abs(took - expected) < 1e-3 * expected, "\(took) vs \(expected)")
        let p2p = try scaled(.elastic).scalingRecords[0]
        #expect((p2p.warmupStart! - p2p.start).seconds < took / 3 && p2p.peerBytes == r.storageBytes)
    }

    /// Without the IPC allocator the GPUs that stay hold a second copy of their experts until switch-over.
    @Test func withoutTheIPCAllocatorRetainedExpertsAreDoubleBuffered() throws {
        func staged(_ ipc: Bool) throws -> Double {
            var o = ElasticOptions()
            o.ipcAllocator = ipc
            let c = try cluster([moe(dp: 2)], ListSource(requests(40, every: 0.05, prompt: 500, output: 200)))
            try c.rescale(0, to: ParallelLayout(tp: 2, dp: 3, ep: 6), method: .elastic, options: o)
            return c.hbmInUse(c.instances[0].gpus)
        }
        let model = ModelCatalog.named("DeepSeek-V2-Lite")!
        let retained = model.expertBytesPerLayer * Double(model.moeLayers * model.experts) / 6
        #expect(abs(try staged(false) - staged(true) - 4 * retained) < 1e-6 * retained)
    }

    /// In a concurrent rescale both engines compute on the shared NPUs while the old one finishes its
    /// requests: their steps time-share them, so requests decoding on both sides then see their mean
    /// time per token rise, against requests served by one engine alone.
    @Test func twoEnginesOnTheSameNPUsTimeShareThem() throws {
        let c = try scaled(.concurrent, every: 0.25) { $0.memoryUtilization = 0.45 }
        let r = c.scalingRecords[0]
        let overlap = c.metrics.records.filter { $0.instance == 0 && $0.end > r.ready! }
        let alone = c.metrics.records.filter { $0.instance == 0 && $0.end < r.ready! }
        func tpot(_ x: [RequestRecord]) -> Double { x.compactMap(\.tpot).reduce(0, +) / Double(x.count) }
        #expect(!overlap.isEmpty && !alone.isEmpty && tpot(overlap) > 1.2 * tpot(alone), "\(tpot(overlap)) vs \(tpot(alone))")
    }

    /// Scaling down frees the GPUs the smaller layout does not use.
    @Test func scalingDownReturnsGPUs() throws {
        let c = try scaled(.elastic, to: 2, from: 3)
        let r = c.scalingRecords[0]
        #expect(r.failure == nil && c.instances[r.successor!].gpus.count == 4)
        #expect(c.topology.freeGPUs(on: 0) == 12)
    }

    /// The SLO rule scales up when attainment falls below the target, and not while a rescale is under way.
    @Test func theSLORuleScalesUpUnderLoad() throws {
        let c = try cluster([moe(dp: 1)], ListSource(requests(600, every: 0.005, prompt: 2000, output: 100)))
        var rule = ElasticScaler.Rule(ttft: 0.5, tpot: 0.1, maxDP: 3)
        rule.minSamples = 5
        rule.window = .seconds(5)
        c.controller = ElasticScaler(period: .seconds(0.5), method: .elastic, rule: rule)
        _ = try c.run()
        #expect(c.conservationProblems().isEmpty)
        let ups = c.scalingRecords.filter { $0.to.dp > $0.from.dp && $0.failure == nil }
        #expect(!ups.isEmpty && ups.allSatisfy { $0.to.dp == $0.from.dp + 1 })
        for (a, b) in zip(c.scalingRecords, c.scalingRecords.dropFirst()) { #expect(b.start >= a.end ?? .max) }
    }
}
