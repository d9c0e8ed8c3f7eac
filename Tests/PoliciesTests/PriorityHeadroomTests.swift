import HardwareModels
import Policies
import Testing

/// Llumnix's profiled headroom, on the step model.
@Suite("Profiled priority headroom")
struct PriorityHeadroomTests {
    /// LLaMA-7B on an A10 (vLLM V0): the KV left outside the headroom is the largest decode batch of
    /// 512-token requests whose step stays within the allowed slowdown of one request's step: one
    /// more request would break it. A looser slowdown leaves less headroom.
    @Test func headroomIsCapacityBeyondTheLargestBatchWithinTheSlowdown() throws {
        let model = try #require(ModelCatalog.named("Llama-2-7B")), a10 = try #require(AcceleratorCatalog.named("A10"))
        let cost = CostModel(model: model, accelerator: a10, layout: ParallelLayout(), engine: try #require(EngineCatalog.named("vllm-v0")))
        let capacity = 1_000, perRequest = 32
        func step(_ n: Int) -> Double {
            var b = BatchShape()
            for _ in 0..<n { b.addDecode(context: 512) }
            return cost.iterationTime(b)
        }
        var previous = Int.max
        for slowdown in [0.05, 0.1, 0.2, 0.5] {
            let headroom = PriorityHeadroom.profiled(cost, capacity: capacity, blockTokens: 16, slowdown: slowdown)
            let batch = (capacity - headroom) / perRequest
            #expect(step(batch) <= (1 + slowdown) * step(1) && step(batch + 1) > (1 + slowdown) * step(1), "\(slowdown): \(headroom)")
            #expect(headroom < previous && headroom > 0)
            previous = headroom
        }
    }
}
