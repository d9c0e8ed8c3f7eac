import Foundation
import TestSupport
import HardwareModels
import Policies
import SimCore
import Testing
import Workloads
@testable import Serving

@Suite("Continuous batching runtime")
struct ContinuousBatchingTests {
    @Test func aLoneRequestTakesExactlyTheCostModelsTime() throws {
        let s = spec()
        let c = try cluster([s], ListSource([Request(id: 0, arrival: .zero, promptTokens: 1000, outputTokens: 4)]))
        #expect(try c.run() == .completed)
        let r = try #require(c.metrics.records.first)
        let cost = CostModel(model: s.model, accelerator: s.accelerator, layout: s.layout)
        var prefill = BatchShape()
        prefill.addPrefill(tokens: 1000, cached: 0, samples: true)
        var expected = SimTime.seconds(cost.iterationTime(prefill))
        #expect(r.firstToken == expected)
        for context in 1000..<1003 {
            var d = BatchShape()
            d.addDecode(context: context)
            expected += .seconds(cost.iterationTime(d))
        }
        #expect(r.end == expected)
        #expect(r.outputTokens == 4 && r.finished && r.preemptions == 0)
        #expect(c.conservationProblems().isEmpty)
    }

    @Test func longPromptsAreChunkedWithinTheTokenBudget() throws {
        let s = spec { $0.maxBatchedTokens = 512 }
        let c = try cluster([s], ListSource([Request(id: 0, arrival: .zero, promptTokens: 2000, outputTokens: 2)]))
        _ = try c.run()
        // 2000 prompt tokens in chunks of 512 take 4 iterations, then 1 decode.
        #expect(c.loop.eventsProcessed == 1 + 4 + 1)
        #expect(c.metrics.records.first?.finished == true)
        let unchunked = try cluster([spec { $0.maxBatchedTokens = 512; $0.chunkedPrefill = false }],
                                    ListSource([Request(id: 0, arrival: .zero, promptTokens: 2000, outputTokens: 2)]))
        _ = try unchunked.run()
        #expect(unchunked.metrics.records.first?.dropReason == .exceedsCapacity)
    }

    @Test func batchingSharesIterationsAcrossRequests() throws {
        let batched = try cluster([spec()], ListSource(requests(32, every: 0, prompt: 100, output: 50)))
        _ = try batched.run()
        let alone = try cluster([spec()], ListSource(requests(1, every: 0, prompt: 100, output: 50)))
        _ = try alone.run()
        // 32 requests together take far less than 32 times one request.
        #expect(batched.loop.now.seconds < 3 * alone.loop.now.seconds)
        #expect(batched.metrics.records.count == 32 && batched.conservationProblems().isEmpty)
    }

    @Test func everyRequestEndsOnceAndBlocksBalanceUnderLoad() throws {
        let source = SyntheticSource(arrivals: .poisson(rate: 8),
                                     lengths: .independent(prompt: .lognormal(mean: 600, sigma: 1, min: 1, max: 4000),
                                                           output: .lognormal(mean: 200, sigma: 1, min: 1, max: 2000)),
                                     count: 1500, seed: 3)
        let c = try cluster([spec(), spec()], source, router: LeastOutstandingTokensRouter(), sample: .seconds(1))
        #expect(try c.run() == .completed)
        #expect(c.conservationProblems() == [])
        #expect(c.metrics.records.count == 1500)
        for inst in c.instances {
            #expect(inst.gpuBlocks.used == 0 && inst.outstandingTokens == 0 && inst.requestCount == 0)
        }
        #expect(c.metrics.samples.allSatisfy { $0.gpuBlocksUsed >= 0 && $0.gpuBlocksUsed <= $0.gpuBlocksTotal })
    }

    /// A cache far too small for the load: the run must end, with preemptions and
    /// drops counted, rather than cycle forever.
    @Test(arguments: [PreemptionMode.recompute, .swap])
    func overloadEndsInCountedPreemptionsAndDrops(mode: PreemptionMode) throws {
        // Llama-2-13B leaves room for about 14k tokens on an A100-40GB at 0.9
        // utilisation; some prompts exceed even that.
        let s = spec("Llama-2-13B", gpu: "A100-40GB") { $0.preemption = mode; $0.maxPreemptions = 3; $0.swapSpaceBytesPerGPU = 2e9 }
        let source = SyntheticSource(arrivals: .poisson(rate: 50),
                                     lengths: .independent(prompt: .uniform(min: 500, max: 16000),
                                                           output: .uniform(min: 200, max: 3000)),
                                     count: 400, seed: 5)
        let c = try cluster([s], source)
        #expect(try c.run(StopConditions(maxEvents: 2_000_000)) == .completed)
        #expect(c.conservationProblems() == [])
        #expect(c.totalPreemptions > 0)
        let drops = c.metrics.records.filter { !$0.finished }
        #expect(!drops.isEmpty)
        #expect(c.metrics.records.count == 400)
        #expect(c.metrics.records.allSatisfy { $0.preemptions <= 4 })
        #expect(c.instances[0].hostBlocks.used == 0)
    }

    @Test func swappingChargesPCIeTimeWhileRecomputeChargesCompute() throws {
        func run(_ mode: PreemptionMode) throws -> Cluster {
            let s = spec("Llama-2-13B", gpu: "A100-40GB") { $0.preemption = mode }
            let c = try cluster([s], ListSource(requests(24, every: 0, prompt: 600, output: 1200)))
            _ = try c.run()
            return c
        }
        let swap = try run(.swap), recompute = try run(.recompute)
        #expect(swap.totalPreemptions > 0 && recompute.totalPreemptions > 0)
        #expect(swap.conservationProblems() == [] && recompute.conservationProblems() == [])
        #expect(swap.loop.now != recompute.loop.now)
    }

    @Test func theSameInputGivesTheSameRun() throws {
        func run() throws -> [RequestRecord] {
            let source = SyntheticSource(arrivals: .gamma(rate: 10, cv: 2),
                                         lengths: .independent(prompt: .uniform(min: 10, max: 2000), output: .uniform(min: 1, max: 500)),
                                         count: 500, seed: 42)
            let c = try cluster([spec(), spec(), spec()], source, router: LeastOutstandingTokensRouter())
            _ = try c.run()
            return c.metrics.records
        }
        #expect(try run() == run())
    }
}

@Suite("Streaming workloads")
struct StreamingTests {
    /// A replayed trace is read one request ahead of the simulation, never whole.
    @Test func aTraceIsReadOnlyAsFarAsTheSimulationHasReached() throws {
        var text = "arrived_at,num_prefill_tokens,num_decode_tokens\n"
        for i in 0..<5000 { text += "\(Double(i) * 0.01),50,5\n" }
        let path = Scratch.path("stream.csv")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let reader = try TraceReader(path: path)
        let c = try cluster([spec()], TraceReplaySource(reader: reader))
        _ = try c.run(StopConditions(horizon: .seconds(1.005)))
        // 101 arrivals (t = 0 ... 1.00 s) plus the one pulled ahead, plus the header.
        #expect(c.arrived == 101)
        #expect(reader.linesRead == 1 + 102)
        _ = try c.run()
        #expect(c.arrived == 5000 && c.conservationProblems() == [])
    }
}
