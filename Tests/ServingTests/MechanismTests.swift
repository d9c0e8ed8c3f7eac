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
                            makeScheduler: { _, _ in FCFSScheduler() })
        c.instances[1].scheduler = NothingScheduler()
        _ = try c.run()
        #expect(c.metrics.records.count == 2)
        #expect(c.instances[1].waiting.count == 2)
    }

    /// Replicas of one spec share a cost model (it holds nothing that changes); a replica of another
    /// spec, or one added later beside another spec, has its own, and every one times a step the same.
    @Test func replicasOfOneSpecShareACostModel() throws {
        let tp2 = spec(tp: 2), small = spec { $0.maxBatchedTokens = 512 }
        let c = try cluster([spec(), spec(), tp2, tp2, small], ListSource([]))
        let models = c.instances.map { ObjectIdentifier($0.costModel) }
        #expect(models[0] == models[1] && models[2] == models[3])
        #expect(Set(models).count == 3)
        let added = try c.addInstance(spec())
        #expect(added.costModel !== c.instances[0].costModel)
        var shape = BatchShape()
        shape.addDecodes(32, context: 32 * 700)
        #expect(added.costModel.breakdown(shape) == c.instances[0].costModel.breakdown(shape))
    }
}

@Suite("Transfers share links")
struct TransferContentionTests {
    /// Starts `count` long requests on instance 0, migrates them all to instance 1
    /// at once, and returns how long the copies took.
    private func migrationTime(count: Int, gpusPerNode: Int) throws -> Double {
        var node = NodeSpec.defaults(for: AcceleratorCatalog.named("A100-80GB")!)
        node.gpus = gpusPerNode
        let topology = Topology(nodeSpecs: ["A100-80GB": node])
        let c = try Cluster(instances: [spec(), spec()], router: RoundRobinRouter(),
                            source: ListSource((0..<count).map {
                                Request(id: $0, arrival: .zero, promptTokens: 2000, outputTokens: 500)
                            }),
                            sampleInterval: nil, topology: topology, makeScheduler: { _, _ in FCFSScheduler() })
        c.drain(1)
        // Let the prompts run (every request on instance 0: instance 1 is draining).
        _ = try c.run(StopConditions(maxEvents: count + 4))
        let moving = c.instances[0].running
        #expect(moving.count == count)
        c.instances[1].state = .active
        for r in moving { #expect(c.migrate(r, to: 1)) }
        // The copies start when the iteration the requests are in ends.
        while moving.contains(where: { $0.phase != .transferring }) {
            _ = try c.run(StopConditions(maxEvents: c.loop.eventsProcessed + 1))
        }
        let start = c.loop.now
        while moving.contains(where: { $0.instance != 1 }) {
            _ = try c.run(StopConditions(maxEvents: c.loop.eventsProcessed + 1))
        }
        let copied = moving.map(\.computedTokens).reduce(0, +)
        #expect(copied > 0)
        return (c.loop.now - start).seconds
    }

    @Test func crossNodeIsSlowerThanNVLinkAndConcurrentCopiesShareTheNIC() throws {
        let nvlink = try migrationTime(count: 1, gpusPerNode: 8)
        let network = try migrationTime(count: 1, gpusPerNode: 1)
        #expect(network > 5 * nvlink)
        let two = try migrationTime(count: 2, gpusPerNode: 1)
        // Two equal copies over one NIC take about twice as long as one.
        #expect(two > 1.6 * network && two < 2.4 * network)
    }
}

@Suite("Memory tiers under the runtime")
struct MemoryTierRuntimeTests {
    @Test func instancesReserveAndReturnTheirHBM() throws {
        let c = try cluster([spec(), spec("Llama-2-13B", tp: 2)], ListSource([]))
        let node = c.topology.nodes[0].memory
        let sizing = try spec().kvSizing()
        let expected = sizing.weightBytesPerGPU + sizing.activationReserveBytesPerGPU
            + Double(sizing.blocks) * c.instances[0].blockBytesPerGPU
        let used = node.hbm.map(\.totalUsed)
        #expect(abs(used[0] - expected) < 1)
        #expect(used[1] > 0 && used[2] > 0 && used[3] == 0)
        #expect(zip(used, node.hbm.map(\.capacity)).allSatisfy { $0 <= $1 })
        c.drain(0)
        let after = node.hbm[0].totalUsed
        #expect(c.instances[0].state == .removed && after < 1)
    }

    /// Host swap space far too small: swapped KV spills to NVMe, over NVMe's
    /// slower links, and every byte comes back.
    @Test func swapSpillsToNVMeWhenHostSwapSpaceIsFull() throws {
        func run(nvme: Double) throws -> Cluster {
            let s = spec("Llama-2-13B", gpu: "A100-40GB") {
                $0.preemption = .swap; $0.swapSpaceBytesPerGPU = 0.05e9; $0.nvmeSwapBytesPerGPU = nvme
            }
            let c = try cluster([s], ListSource(requests(24, every: 0, prompt: 600, output: 1200)), sample: .seconds(0.5))
            _ = try c.run()
            #expect(c.conservationProblems() == [])
            return c
        }
        let spill = try run(nvme: 20e9), noSpill = try run(nvme: 0)
        #expect(spill.metrics.samples.contains { $0.nvmeBlocksUsed > 0 })
        #expect(noSpill.metrics.samples.allSatisfy { $0.nvmeBlocksUsed == 0 })
        let tiers = spill.topology.nodes[0].memory
        let left = (tiers.nvme.used[.swappedKV] ?? 0) + (tiers.dram.used[.swappedKV] ?? 0)
        #expect(left < 1)
        let allFinished = spill.metrics.records.allSatisfy { $0.finished }
        #expect(allFinished)
    }
}
