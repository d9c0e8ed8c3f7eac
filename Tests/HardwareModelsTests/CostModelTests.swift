import Foundation
import Testing
@testable import HardwareModels

@Suite("Roofline cost model")
struct CostModelTests {
    /// The datasheet roofline unless `timings` says otherwise.
    private func model(_ m: String, _ gpu: String, tp: Int = 1, pp: Int = 1,
                       timings: CostModel.TimingSource = .roofline) throws -> CostModel {
        try CostModel(model: #require(ModelCatalog.named(m)), accelerator: #require(AcceleratorCatalog.named(gpu)),
                      layout: ParallelLayout(tp: tp, pp: pp), timings: timings)
    }

    private func decode(batch: Int, context: Int) -> BatchShape {
        var b = BatchShape()
        for _ in 0..<batch { b.addDecode(context: context) }
        return b
    }

    private func prefill(_ tokens: Int) -> BatchShape {
        var b = BatchShape()
        b.addPrefill(tokens: tokens, cached: 0, samples: true)
        return b
    }

    /// A decode step's cost kept by its size (all but the attention, which reads the context) is
    /// the cost a model that keeps none computes in full, to the bit, asked as a shape or as a
    /// decode step (which reads the attention's kept terms): for sizes inside and around CUDA
    /// graphs' captured ones and past the sizes kept, with TP, and with data parallelism (where
    /// the busiest rank's share is kept).
    @Test func decodeStepsKeptBySizeCostWhatTheyCostInFull() throws {
        let engine = try #require(EngineCatalog.named(EngineCatalog.defaultName))
        for (name, layout) in [("Llama-2-7B", ParallelLayout()), ("Llama-2-70B", ParallelLayout(tp: 4)),
                               ("DeepSeek-V2-Lite", ParallelLayout(tp: 1, dp: 2))] {
            let m = try #require(ModelCatalog.named(name)), gpu = try #require(AcceleratorCatalog.named("H100-SXM-80GB"))
            let kept = CostModel(model: m, accelerator: gpu, layout: layout, engine: engine, keepingDecodeStepsUpTo: 1023)
            let full = CostModel(model: m, accelerator: gpu, layout: layout, engine: engine)
            // The dense models' decode steps take the kept attention terms; latent attention under DP does not.
            #expect(kept.keepsDecodeAttentionTerms == (m.latentAttention == nil))
            for size in [0, 1, 7, 8, 9, 255, 256, 257, 300, 1023, 1024, 2000] {
                let batch = decode(batch: size, context: 900 + size)
                #expect(kept.breakdown(batch) == full.breakdown(batch), "\(name) at \(size) sequences")
                #expect(kept.decodeStep(sequences: size, context: size * (900 + size)) == full.breakdown(batch))
                if size > 0 { #expect(full.breakdown(batch).attention != kept.breakdown(decode(batch: size, context: 50)).attention) }
            }
        }
    }

    /// A step that prefills, timed with its size terms kept (`StepSizeTerms`), costs to the bit what
    /// it costs in full: the first time its size comes up and after, for steps of one size whose
    /// prompts, contexts and decodes differ, past the sizes kept, with TP (collectives), PP, and data
    /// and expert parallelism (the busiest rank's share); decode-only steps pass through.
    @Test func prefillStepsFromKeptSizeTermsCostWhatTheyCostInFull() throws {
        let engine = try #require(EngineCatalog.named(EngineCatalog.defaultName))
        for (name, layout) in [("Llama-2-7B", ParallelLayout()), ("Llama-2-70B", ParallelLayout(tp: 4)),
                               ("Llama-2-13B", ParallelLayout(tp: 2, pp: 2)), ("Mixtral-8x7B", ParallelLayout(tp: 2)),
                               ("DeepSeek-V2-Lite", ParallelLayout(tp: 1, dp: 2))] {
            let m = try #require(ModelCatalog.named(name)), gpu = try #require(AcceleratorCatalog.named("H100-SXM-80GB"))
            let cost = CostModel(model: m, accelerator: gpu, layout: layout, engine: engine, keepingDecodeStepsUpTo: 256)
            let sizes = StepSizeTerms(for: cost)
            for (prompt, decodes) in [(512, 0), (500, 12), (7, 5), (8000, 192), (1, 0), (512, 0), (496, 16), (4095, 1),
                                     (StepSizeTerms.keptSizes + 100, 4)] {
                var batch = decode(batch: decodes, context: 700)
                batch.addPrefill(tokens: prompt, cached: prompt / 3, samples: prompt % 2 == 0)
                let full = cost.breakdown(batch)
                #expect(cost.breakdown(batch, sizes: sizes) == full, "\(name): \(prompt) prompt tokens and \(decodes) decodes")
                #expect(cost.breakdown(batch, sizes: sizes) == full, "\(name), asked again")
            }
            let decodes = decode(batch: 40, context: 900)
            #expect(cost.breakdown(decodes, sizes: sizes) == cost.breakdown(decodes))
        }
    }

    @Test func smallBatchDecodeIsBoundByStreamingTheWeights() throws {
        let c = try model("Llama-2-7B", "A100-80GB")
        let b = c.breakdown(decode(batch: 1, context: 128))
        let weightsTime = c.model.weightBytes / (c.accelerator.memoryBandwidth * c.efficiency.memoryBandwidth)
        #expect(abs((b.gemm + b.outputProjection) / weightsTime - 1) < 0.02)
    }

    @Test func largePrefillIsBoundByCompute() throws {
        let c = try model("Llama-2-7B", "A100-80GB")
        let t = c.breakdown(prefill(4096)).gemm
        let flops = 2 * 4096 * (c.model.parameters - c.model.embeddingParameters)
        #expect(abs(t / (flops / (c.accelerator.fp16Flops * c.efficiency.gemmCompute)) - 1) < 0.02)
    }

    @Test func timeGrowsWithBatchContextAndPromptLength() throws {
        let c = try model("Llama-2-13B", "H100-SXM-80GB")
        #expect(c.iterationTime(decode(batch: 64, context: 512)) > c.iterationTime(decode(batch: 8, context: 512)))
        #expect(c.iterationTime(decode(batch: 8, context: 4000)) > c.iterationTime(decode(batch: 8, context: 100)))
        #expect(c.iterationTime(prefill(2048)) > 1.8 * c.iterationTime(prefill(1024)) - c.engine.hostFixed)
        #expect(c.iterationTime(BatchShape()) == 0)
    }

    @Test func tensorParallelismSpeedsUpButPaysForAllReduce() throws {
        let one = try model("Llama-2-13B", "A100-80GB", tp: 1)
        let two = try model("Llama-2-13B", "A100-80GB", tp: 2)
        let p = prefill(2048)
        #expect(two.iterationTime(p) < one.iterationTime(p))
        #expect(two.iterationTime(p) > one.iterationTime(p) / 2)
        #expect(two.breakdown(p).allReduce > 0 && one.breakdown(p).allReduce == 0)
        let pp = try model("Llama-2-13B", "A100-80GB", pp: 2)
        #expect(pp.breakdown(p).pipelineHandoff > 0)
    }

    @Test func mixtureOfExpertsReadsOnlyTouchedExperts() throws {
        let c = try model("Mixtral-8x7B", "H100-SXM-80GB", tp: 2)
        // One token touches 2 of 8 experts: far less than streaming all weights.
        let one = c.breakdown(decode(batch: 1, context: 64)).gemm
        let many = c.breakdown(decode(batch: 64, context: 64)).gemm
        #expect(many > 3 * one)
    }

    /// The step overhead is what DistServe's measured A100 fit has beyond this
    /// roofline for a batch-1 OPT-13B decode; the two must agree.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: distServeProfile)))
    func batchOneDecodeMatchesDistServesA100Fit() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: distServeProfile))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let opt = try #require((json["facebook/opt-13b"] as? [String: Any])?["1"] as? [String: Any])
        let coef = try #require(opt["decoding_smallbs"] as? [Double])
        let context = 128
        let measuredMs = coef[0] + coef[1] * Double(context) + coef[2] * 1
        let predictedMs = try model("OPT-13B", "A100-80GB", timings: .bundledProfile)
            .iterationTime(decode(batch: 1, context: context)) * 1000
        #expect(abs(predictedMs / measuredMs - 1) < 0.05, "predicted \(predictedMs) ms, DistServe fit \(measuredMs) ms")
    }
}

let distServeProfile = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("shared/data/profiles/distserve/profiler-a100-80g.distserve.json").path
