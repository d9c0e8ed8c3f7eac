import HardwareModels
import Policies
import SimCore
import Testing
import Workloads
@testable import Serving

@Suite("Mechanisms for later policies")
struct MechanismTests {
    @Test func prefillInstancesHandRequestsToDecodeInstancesWithTheirKV() throws {
        let c = try cluster([spec(role: .prefill), spec(role: .decode), spec(role: .decode)],
                            ListSource(requests(40, every: 0.05, prompt: 800, output: 30)))
        #expect(try c.run() == .completed)
        #expect(c.conservationProblems() == [])
        let records = c.metrics.records
        #expect(records.count == 40 && records.allSatisfy(\.finished))
        #expect(records.allSatisfy { $0.instance == 1 || $0.instance == 2 })
        #expect(c.migrations == 40 && records.allSatisfy { $0.migrations == 1 })
        #expect(Set(records.map(\.instance)).count == 2)
        for inst in c.instances { #expect(inst.gpuBlocks.used == 0 && inst.reservedBlocks == 0) }
    }

    @Test func aRunningRequestMigratesWithItsKVAndFinishesThere() throws {
        let c = try cluster([spec(), spec()], ListSource([Request(id: 0, arrival: .zero, promptTokens: 500, outputTokens: 200)]))
        // Run until the request is decoding, then move it.
        _ = try c.run(StopConditions(maxEvents: 20))
        let r = try #require(c.instances[0].running.first)
        let blocks = r.kvBlocks
        #expect(r.generatedTokens > 5 && blocks > 0)
        // It is in the iteration now running, so it leaves when that ends.
        #expect(c.instances[0].busy)
        #expect(c.migrate(r, to: 1))
        _ = try c.run(StopConditions(maxEvents: c.loop.eventsProcessed + 1))
        #expect(r.phase == .transferring)
        #expect(c.instances[1].reservedBlocks >= blocks)
        _ = try c.run()
        let rec = try #require(c.metrics.records.first)
        #expect(rec.finished && rec.instance == 1 && rec.outputTokens == 200)
        #expect(c.migrations == 1 && c.conservationProblems() == [])
    }

    @Test func instancesCanBeAddedAndDrainedWhileRunning() throws {
        let c = try cluster([spec()], ListSource(requests(60, every: 0.1, prompt: 200, output: 100)))
        _ = try c.run(StopConditions(horizon: .seconds(2)))
        try c.addInstance(spec())
        c.drain(0)
        #expect(c.instances[0].state != .active)
        _ = try c.run()
        #expect(c.conservationProblems() == [])
        #expect(c.instances[0].state == .removed)
        let late = c.metrics.records.filter { $0.arrival > .seconds(2) }
        #expect(!late.isEmpty && late.allSatisfy { $0.instance == 1 })
    }

    @Test func eachInstanceOwnsItsScheduler() throws {
        struct NothingScheduler: BatchScheduler { mutating func formBatch(on instance: Instance) {} }
        let c = try Cluster(instances: [spec(), spec()], router: RoundRobinRouter(),
                            source: ListSource(requests(4, every: 0, prompt: 10, output: 2)), sampleInterval: nil,
                            makeScheduler: { _ in FCFSScheduler() })
        c.instances[1].scheduler = NothingScheduler()
        _ = try c.run()
        #expect(c.metrics.records.count == 2)
        #expect(c.instances[1].waiting.count == 2)
    }
}
