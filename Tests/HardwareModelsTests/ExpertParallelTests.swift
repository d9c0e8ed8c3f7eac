import Foundation
import SimCore
import Testing
@testable import HardwareModels

/// Mixture-of-experts step time under attention data parallelism and expert parallelism.
@Suite("Expert parallelism")
struct ExpertParallelTests {
    private let model = ModelCatalog.named("Qwen3-30B-A3B")!
    private let h100 = AcceleratorCatalog.named("H100-SXM-80GB")!

    private func cost(dp: Int, ep: Int, tp: Int = 1, routing: ExpertRouting? = nil, scaleOut: CostModel.ScaleOut? = nil) -> CostModel {
        CostModel(model: model, accelerator: h100, layout: ParallelLayout(tp: tp, dp: dp, ep: ep), engine: EngineCatalog.named("kernels-only")!,
                  timings: .roofline, routing: routing, scaleOut: scaleOut)
    }

    private func decode(_ batch: Int) -> BatchShape {
        var b = BatchShape()
        for _ in 0..<batch { b.addDecode(context: 1000) }
        return b
    }

    /// Dispatch and combine move each routed token's hidden vector that leaves its group: a GPU's
    /// tokens' copies out, its group's load in, the larger over NVLink, twice per MoE layer. With
    /// 256 tokens per DP rank and EP = DP from 2 to 8, the bytes and the time grow as that
    /// predicts; without EP there is none; across servers the share beyond goes over the NIC.
    @Test func allToAllIsBytesOverTheLinks() throws {
        let e = EfficiencyFactors(), link = h100.intraNodeLinkBandwidth * e.linkBandwidth
        func expected(ep: Int, tokens: Double, local: Double = 1, nic: Double = 1, netLatency: Double = 0) -> Double {
            let routed = tokens * Double(model.expertsPerToken), share = 1 / Double(ep), leaving = 1 - share
            let load = routed * share + expectedMaxOfNormals(ep) * (routed * share * (1 - share)).squareRoot()
            let bytes = max(routed / Double(ep) * leaving, load * leaving) * Double(model.hidden) * model.activationBytes
            let inside = bytes * local / link + e.collectiveLatency
            return Double(model.moeLayers) * 2 * (local < 1 ? max(inside, bytes * (1 - local) / nic + netLatency) : inside)
        }
        var times: [Double] = []
        for ep in [2, 4, 8] {
            let b = cost(dp: ep, ep: ep).breakdown(decode(256 * ep))
            let x = expected(ep: ep, tokens: Double(256 * ep))
            #expect(abs(b.allToAll - x) < 1e-9 * x, "EP\(ep): \(b.allToAll) vs \(x)")
            times.append(b.allToAll)
        }
        #expect(times == times.sorted() && times[2] > times[0])
        #expect(cost(dp: 8, ep: 1).breakdown(decode(2048)).allToAll == 0)
        // Half of each GPU's peers on another server: that half crosses the NIC, far narrower than NVLink.
        let nic = 50e9 * e.linkBandwidth
        let across = CostModel.ScaleOut(localShare: 0.5, crossingBoundaries: 0, bandwidth: nic, latency: 17e-6)
        var prompt = BatchShape()
        prompt.addPrefill(tokens: 8192 * 8, cached: 0, samples: true)
        let far = cost(dp: 8, ep: 8, scaleOut: across).breakdown(prompt).allToAll
        let x = expected(ep: 8, tokens: 8192 * 8, local: 0.5, nic: nic, netLatency: 17e-6)
        #expect(abs(far - x) < 1e-9 * x && far > 3 * cost(dp: 8, ep: 8).breakdown(prompt).allToAll)
    }

    /// Which experts are hot is a seeded draw: the same seed gives the same shares, another seed
    /// another order of the same law. Skew makes the busiest group's experts slower and moves more.
    @Test func skewIsDrawnDeterministicallyAndSlowsTheBusiestGroup() throws {
        let a = ExpertRouting.zipf(experts: 128, skew: 1.2, seed: 7), b = ExpertRouting.zipf(experts: 128, skew: 1.2, seed: 7)
        let c = ExpertRouting.zipf(experts: 128, skew: 1.2, seed: 8)
        #expect(a == b && a != c && a.shares.sorted() == c.shares.sorted())
        #expect(abs(a.shares.reduce(0, +) - 1) < 1e-12)
        let batch = decode(256)
        let uniform = cost(dp: 8, ep: 8).breakdown(batch)
        let skewed = cost(dp: 8, ep: 8, routing: a).breakdown(batch)
        #expect(skewed.gemm > uniform.gemm && skewed.allToAll > uniform.allToAll)
        // A histogram that puts every token on the first group's experts.
        let counts = (0..<128).map { $0 < 16 ? 1.0 : 0 }
        let hot = cost(dp: 8, ep: 8, routing: try #require(ExpertRouting.histogram(counts, experts: 128))).breakdown(batch)
        #expect(hot.gemm > skewed.gemm)
        #expect(ExpertRouting.histogram([1, 2], experts: 128) == nil)
    }

    /// Data parallelism: each rank runs attention on its share of the batch, so attention time falls
    /// with DP while the routed experts see every rank's tokens.
    @Test func attentionRunsOnEachRanksShare() throws {
        let batch = decode(512)
        let one = cost(dp: 1, ep: 1).breakdown(batch), eight = cost(dp: 8, ep: 8).breakdown(batch)
        #expect(eight.attention < one.attention / 6)
        #expect(batch.share(of: 3).decodeTokens == 171 && batch.share(of: 3).decodeContextTokens == 170_667)
    }

    /// Weights per GPU: attention and dense weights whole on each DP rank (split by TP), routed
    /// experts spread over all dp × tp GPUs; without DP the plain 1/(tp·pp) share.
    @Test func weightsPerGPUUnderDataParallelism() throws {
        let experts = model.routedExpertParameters, rest = model.parameters - experts
        let perGPU = model.weightBytesPerGPU(ParallelLayout(tp: 2, dp: 4, ep: 8))
        #expect(abs(perGPU - (rest / 2 + experts / 8) * model.bytesPerParameter) < 1)
        #expect(model.weightBytesPerGPU(ParallelLayout(tp: 2)) == model.weightBytes / 2)
    }

    /// Rebalancing moves only experts that change group, as few as balance allows, and lands balanced.
    @Test func rebalancingMovesTheFewestExperts() throws {
        let six = ExpertPlacement.balanced(experts: 64, groups: 6)
        #expect(six.counts == [11, 11, 11, 11, 10, 10])
        let (eight, moves) = six.rebalanced(to: 8)
        #expect(eight.counts == Array(repeating: 8, count: 8))
        #expect(moves.count == 64 - six.counts.map { min($0, 8) }.reduce(0, +))
        for m in moves { #expect(six.group[m.expert] == m.from && eight.group[m.expert] == m.to && m.from != m.to) }
        #expect(zip(six.group, eight.group).filter { $0 != $1 }.count == moves.count)
        let (back, down) = eight.rebalanced(to: 6)
        #expect(back.counts == six.counts && down.allSatisfy { $0.from >= 6 || eight.counts[$0.from] > 11 })
    }
}
