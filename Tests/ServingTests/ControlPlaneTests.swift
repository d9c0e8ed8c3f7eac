import HardwareModels
import Policies
import SimCore
import Testing
import Workloads
@testable import Serving

/// Records what a controller is called with.
final class ControlLog: @unchecked Sendable {
    var ticks: [SimTime] = []
    var events: [ControlEvent] = []
}

struct RecordingController: ClusterController {
    let log: ControlLog
    var period: SimTime? = .seconds(0.5)
    mutating func tick(_ plane: ControlPlane) { log.ticks.append(plane.now) }
    mutating func observe(_ event: ControlEvent, _ plane: ControlPlane) { log.events.append(event) }
}

/// Sends every request to instance 0.
struct FirstInstanceRouter: Router {
    mutating func route(_ request: ServingRequest, among instances: [Instance]) -> Int? { 0 }
}

@Suite("Cluster control plane")
struct ControlPlaneTests {
    /// Ticks every 0.5 s from 0.5 s until every request has ended; one arrival and one end per request,
    /// and a drained instance reported removed.
    @Test func aControllerTicksOnItsPeriodAndSeesEvents() throws {
        let log = ControlLog()
        let c = try cluster([spec(), spec()], ListSource(requests(10, every: 0.3, prompt: 200, output: 50)))
        c.controller = RecordingController(log: log)
        c.drain(1)
        #expect(try c.run() == .completed)
        let end = c.loop.now
        #expect(log.ticks.first == .seconds(0.5) && zip(log.ticks, log.ticks.dropFirst()).allSatisfy { $1 - $0 == .seconds(0.5) })
        #expect(log.ticks.last! <= end && end - log.ticks.last! <= .seconds(0.5))
        let arrivals = log.events.filter { if case .arrival = $0 { true } else { false } }
        let ended = log.events.filter { if case .ended = $0 { true } else { false } }
        #expect(arrivals.count == 10 && ended.count == 10 && log.events.contains(.instanceRemoved(1)))
        #expect(c.conservationProblems().isEmpty)
    }

    /// A 100-block cache (no watermark) with two running requests of 10 blocks and a queue of a 320-token
    /// and a 160-token prompt: migration freeness (100 − 20 − 20) / 3 = 20; dispatch freeness
    /// (100 − 20 − 30) / 4 = 12.5; an empty instance is infinitely free, a draining one infinitely loaded.
    @Test func freenessIsFreeBlocksPerRequest() throws {
        let c = try cluster([spec { $0.gpuBlocksOverride = 100; $0.watermark = 0 }, spec(), spec()], ListSource([]))
        let inst = c.instances[0]
        for id in 0..<2 { inst.enqueue(ServingRequest(Request(id: id, arrival: .zero, promptTokens: 160, outputTokens: 9), instance: 0)) }
        _ = inst.formBatch(now: .zero)
        _ = inst.completeIteration()
        #expect(inst.running.count == 2 && inst.blocksInUse == 20)   // 160 tokens computed each: 10 blocks
        inst.enqueue(ServingRequest(Request(id: 2, arrival: .zero, promptTokens: 320, outputTokens: 9), instance: 0))
        inst.enqueue(ServingRequest(Request(id: 3, arrival: .zero, promptTokens: 160, outputTokens: 9), instance: 0))
        #expect(Freeness.forMigration(inst) == 20)
        #expect(Freeness.forDispatch(inst) == 12.5)
        #expect(Freeness.forMigration(c.instances[1]) == .infinity)
        c.drain(2)
        c.instances[2].enqueue(ServingRequest(Request(id: 4, arrival: .zero, promptTokens: 16, outputTokens: 9), instance: 2))
        #expect(Freeness.forMigration(c.instances[2]) == -.infinity)
    }

    /// Every request sent to instance 0 of two, on a small cache: Llumnix moves requests to the idle
    /// instance; each finishes once with all its tokens; preemptions fall against no controller.
    @Test func llumnixMovesRequestsFromALoadedInstanceToAFreeOne() throws {
        func run(_ controller: (any ClusterController)?) throws -> Cluster {
            let s = spec { $0.gpuBlocksOverride = 300 }
            let c = try Cluster(instances: [s, s], router: FirstInstanceRouter(),
                                source: ListSource(requests(40, every: 0.02, prompt: 300, output: 200)), sampleInterval: nil,
                                makeScheduler: { _, _ in FCFSScheduler() })
            c.checkInvariants = true
            c.controller = controller
            #expect(try c.run() == .completed)
            #expect(c.conservationProblems().isEmpty)
            #expect(c.metrics.records.count == 40 && c.metrics.records.allSatisfy { $0.finished && $0.outputTokens == 200 })
            return c
        }
        let none = try run(nil), llumnix = try run(LlumnixController())
        #expect(none.migrations == 0 && llumnix.migrations > 0)
        #expect(llumnix.metrics.records.contains { $0.instance == 1 })
        #expect(llumnix.totalPreemptions < none.totalPreemptions)
        for inst in llumnix.instances { #expect(inst.gpuBlocks.used == 0 && inst.reservedBlocks == 0) }
    }
}

@Suite("Live migration in stages (Llumnix)")
struct LiveMigrationTests {
    /// One long request on instance 0 of two, decoding; returns the cluster and the request once it has
    /// generated `after` tokens.
    private func decoding(prompt: Int, output: Int = 400, after: Int = 5, destinationBlocks: Int? = nil) throws -> (Cluster, ServingRequest) {
        let c = try cluster([spec(), spec { $0.gpuBlocksOverride = destinationBlocks; $0.watermark = 0 }],
                            ListSource([Request(id: 0, arrival: .zero, promptTokens: prompt, outputTokens: output)]),
                            router: FirstInstanceRouter())
        var r: ServingRequest?
        while r == nil || r!.generatedTokens < after {
            _ = try c.run(StopConditions(maxEvents: c.loop.eventsProcessed + 1))
            r = c.instances[0].running.first
        }
        return (c, r!)
    }

    private func move(prompt: Int, live: Bool) throws -> (MigrationRecord, Cluster) {
        let (c, r) = try decoding(prompt: prompt)
        #expect(live ? c.migrateLive(r, to: 1) : c.migrate(r, to: 1))
        #expect(try c.run() == .completed)
        #expect(c.conservationProblems().isEmpty)
        let rec = try #require(c.metrics.records.first)
        #expect(rec.finished && rec.instance == 1 && rec.outputTokens == 400 && c.metrics.records.count == 1)
        for inst in c.instances { #expect(inst.gpuBlocks.used == 0 && inst.reservedBlocks == 0) }
        return (try #require(c.migrationRecords.first), c)
    }

    /// A 2,000-token request moves in stages while it decodes and is paused only for the last (a few
    /// blocks); a blocking move pauses it for the whole copy. Its downtime stays flat from 1,000 to 3,500
    /// tokens while the blocking copy's grows with the length.
    @Test func downtimeIsTheLastStageAndDoesNotGrowWithLength() throws {
        let (short, _) = try move(prompt: 1000, live: true), (long, _) = try move(prompt: 3500, live: true)
        let (blockShort, _) = try move(prompt: 1000, live: false), (blockLong, _) = try move(prompt: 3500, live: false)
        #expect(short.outcome == .committed && short.kind == .live && short.stages >= 2 && long.stages >= 2)
        #expect(blockShort.kind == .blocking && blockShort.stages == 1)
        #expect(long.downtime.seconds < blockLong.downtime.seconds / 5)
        #expect(long.downtime.seconds < 1.5 * short.downtime.seconds, "live: \(short.downtime.seconds) → \(long.downtime.seconds)")
        #expect(blockLong.downtime.seconds > 2.5 * blockShort.downtime.seconds)
        #expect(long.bytes > short.bytes * 3)
    }

    /// A destination of 20 blocks cannot take the first stage (about 125 blocks): the move aborts, nothing
    /// stays reserved, and the request finishes on the source.
    @Test func aDestinationWithoutRoomAbortsTheMove() throws {
        let (c, r) = try decoding(prompt: 2000, destinationBlocks: 20)
        #expect(!c.migrateLive(r, to: 1))
        #expect(c.migrationRecords.first?.outcome == .aborted && c.instances[1].reservedBlocks == 0)
        #expect(try c.run() == .completed && c.conservationProblems().isEmpty)
        #expect(c.metrics.records.first?.instance == 0 && c.metrics.records.first?.outputTokens == 400)
    }

    /// A request that finishes during the first stage: the move aborts when the stage ends and frees the
    /// destination's reservation; the request ended once, on the source.
    @Test func aRequestThatFinishesDuringAStageAbortsTheMove() throws {
        let (c, r) = try decoding(prompt: 3500, output: 8, after: 7)
        #expect(c.migrateLive(r, to: 1))
        #expect(try c.run() == .completed && c.conservationProblems().isEmpty)
        #expect(c.migrationRecords.first?.outcome == .aborted && c.instances[1].reservedBlocks == 0)
        #expect(c.metrics.records.count == 1 && c.metrics.records[0].instance == 0 && c.metrics.records[0].outputTokens == 8)
    }

    /// A destination of exactly 125 blocks takes the first stage (the 125 full blocks of a 2,000-token
    /// prompt) but not the last (the block still filling): the last stage fails and the request, never
    /// paused, finishes on the source with nothing left reserved.
    @Test func aFailedLastStageLeavesTheRequestOnTheSource() throws {
        let (c, r) = try decoding(prompt: 2000, after: 2, destinationBlocks: 125)
        #expect(r.kvBlocks == 126)
        #expect(c.migrateLive(r, to: 1))
        #expect(try c.run() == .completed && c.conservationProblems().isEmpty)
        let rec = try #require(c.migrationRecords.first)
        #expect(rec.outcome == .failedLastStage && rec.stages == 1 && rec.downtime == .zero)
        #expect(c.instances[1].reservedBlocks == 0 && c.metrics.records.first?.instance == 0)
    }
}

@Suite("Instance lifecycle")
struct InstanceLifecycleTests {
    private func launched(count: Int, source: Cluster.WeightSource = .nvme, gpusPerNode: Int = 8) throws -> Cluster {
        var node = NodeSpec.defaults(for: AcceleratorCatalog.named("A100-80GB")!)
        node.gpus = gpusPerNode
        // A request a minute in keeps the run going while the instances start.
        let c = try Cluster(instances: [spec()], router: RoundRobinRouter(),
                            source: ListSource([Request(id: 0, arrival: .seconds(60), promptTokens: 10, outputTokens: 2)]),
                            sampleInterval: nil, topology: Topology(nodeSpecs: ["A100-80GB": node]),
                            makeScheduler: { _, _ in FCFSScheduler() })
        for _ in 0..<count { try c.launchInstance(spec(), weightsFrom: source) }
        #expect(c.instances.dropFirst().allSatisfy { $0.state == .starting && !$0.acceptsNewRequests })
        _ = try c.run()
        return c
    }

    /// Llama-2-7B's 13.5 GB from NVMe: weight bytes over the path's narrowest link (NVMe read × link
    /// efficiency) plus its latency, then the engine's warm-up, then ready; two loads at once on one
    /// server share the NVMe and take about twice as long; from a peer over NVLink it is much faster.
    @Test func startUpIsWeightBytesOverThePathThenWarmUp() throws {
        let one = try launched(count: 1)
        let inst = one.instances[1]
        let node = one.topology.nodes[0].spec, a100 = AcceleratorCatalog.named("A100-80GB")!
        let narrowest = min(node.nvmeReadBandwidth, node.hostMemoryBandwidth, a100.hostLinkBandwidth) * one.topology.linkEfficiency
        let expected = inst.weightBytesPerGPU / narrowest + one.topology.network.latency(of: one.topology.pathFromNVMe(to: inst.gpus[0]))
        let load = try #require(inst.lifecycle.weightsLoaded).seconds
        #expect(abs(load - expected) < 1e-6 + 1e-3 * expected && inst.lifecycle.requested == .zero)
        #expect(inst.lifecycle.ready == inst.lifecycle.weightsLoaded! + .seconds(inst.spec.engine.warmup) && inst.state == .active)
        let two = try launched(count: 2)
        let shared = try #require(two.instances[1].lifecycle.weightsLoaded).seconds
        #expect(shared > 1.6 * load && shared < 2.4 * load)
        let peer = try launched(count: 1, source: .peer(instance: 0))
        #expect(try #require(peer.instances[1].lifecycle.weightsLoaded).seconds < load / 5)
    }

    /// A drained instance is removed only once the requests it held have ended.
    @Test func aDrainedInstanceIsRemovedOnlyWhenEmpty() throws {
        let c = try cluster([spec(), spec()], ListSource(requests(6, every: 0, prompt: 300, output: 200)))
        _ = try c.run(StopConditions(horizon: .seconds(0.5)))
        #expect(c.instances[1].requestCount > 0)
        c.drain(1)
        #expect(c.instances[1].state == .draining && c.instances[1].lifecycle.drainStarted == .seconds(0.5))
        _ = try c.run()
        let lastEnd = c.metrics.records.filter { $0.instance == 1 }.map(\.end).max()!
        #expect(c.instances[1].state == .removed && c.instances[1].lifecycle.removed == lastEnd)
        #expect(c.conservationProblems().isEmpty)
    }
}

@Suite("Llumnix autoscaling")
struct AutoscalingTests {
    /// A burst on one small instance: average freeness falls below 10, so instances start (one at a time,
    /// each loading and warming up) up to 3; once the burst is served the emptiest are drained and removed
    /// down to 1. Every request ends once, with all its tokens.
    @Test func instancesStartUnderLoadAndDrainAfterIt() throws {
        var burst = requests(150, every: 0.02, prompt: 400, output: 300)
        burst += [Request(id: 150, arrival: .seconds(200), promptTokens: 50, outputTokens: 5),
                  Request(id: 151, arrival: .seconds(300), promptTokens: 50, outputTokens: 5)]
        let s = spec { $0.gpuBlocksOverride = 600 }
        let c = try Cluster(instances: [s], router: FreenessRouter(), source: ListSource(burst), sampleInterval: nil,
                            makeScheduler: { _, _ in FCFSScheduler() })
        c.checkInvariants = true
        var scaling = LlumnixController.Scaling(maxInstances: 3)
        scaling.interval = .seconds(1)
        c.controller = LlumnixController(scaling: scaling)
        #expect(try c.run() == .completed && c.conservationProblems().isEmpty)
        #expect(c.instances.count == 3)
        let launched = c.instances.dropFirst()
        #expect(launched.allSatisfy { $0.lifecycle.ready! >= $0.lifecycle.weightsLoaded! && $0.lifecycle.weightsLoaded! > $0.lifecycle.requested! })
        #expect(c.instances.filter { $0.state == .removed }.count == 2)
        #expect(c.instances.allSatisfy { $0.state != .removed || $0.lifecycle.removed! >= $0.lifecycle.drainStarted! })
        #expect(c.metrics.records.count == 152 && c.metrics.records.allSatisfy { $0.finished })
        #expect(c.metrics.records.contains { $0.instance > 0 })
    }
}

@Suite("Priority classes")
struct PriorityTests {
    private func request(_ id: Int, high: Bool, prompt: Int = 100) -> ServingRequest {
        ServingRequest(Request(id: id, arrival: .zero, promptTokens: prompt, outputTokens: 50, highPriority: high), instance: 0)
    }

    /// High-priority requests queue after those already high, ahead of normal ones; a preemption takes
    /// the newest normal request even when a high one is newer.
    @Test func highPriorityQueuesFirstAndIsPreemptedLast() throws {
        let inst = try cluster([spec()], ListSource([])).instances[0]
        for (id, high) in [(0, false), (1, false), (2, true), (3, true)] { inst.enqueue(request(id, high: high)) }
        #expect(inst.waiting.map(\.id) == [2, 3, 0, 1])
        _ = inst.formBatch(now: .zero)
        _ = inst.completeIteration()
        #expect(inst.running.map(\.id) == [2, 3, 0, 1])
        #expect(inst.preemptNewestRunning().id == 1 && inst.preemptNewestRunning().id == 0 && inst.preemptNewestRunning().id == 3)
        // With priorities off (Llumnix-base) the classes are only labels: arrival order, newest preempted.
        let base = try cluster([spec { $0.honorsPriorities = false }], ListSource([])).instances[0]
        for (id, high) in [(0, false), (1, false), (2, true), (3, true)] { base.enqueue(request(id, high: high)) }
        #expect(base.waiting.map(\.id) == [0, 1, 2, 3])
        _ = base.formBatch(now: .zero)
        _ = base.completeIteration()
        #expect(base.preemptNewestRunning().id == 3)
    }

    /// A 10% share marks about 100 of 1,000 requests, the same ones twice, and changes nothing else.
    @Test func aShareOfRequestsIsMarkedHighFromItsOwnStream() throws {
        func marked() throws -> [Request] {
            let source = PrioritySource(ListSource(requests(1000, every: 0.01, prompt: 10, output: 5)), highShare: 0.1, seed: 3)
            var all: [Request] = []
            while let r = try source.next() { all.append(r) }
            return all
        }
        let a = try marked(), b = try marked()
        #expect(a == b && (80...120).contains(a.filter(\.highPriority).count))
        #expect(a.map(\.promptTokens) == requests(1000, every: 0.01, prompt: 10, output: 5).map(\.promptTokens))
    }

    /// With 40 blocks of headroom, an instance serving a high-priority request looks 40 blocks fuller.
    @Test func headroomLowersFreenessWhereHighPriorityRequestsRun() throws {
        let c = try cluster([spec { $0.gpuBlocksOverride = 100; $0.watermark = 0; $0.priorityHeadroomBlocks = 40 }], ListSource([]))
        let inst = c.instances[0]
        inst.enqueue(request(0, high: false, prompt: 160))
        _ = inst.formBatch(now: .zero)
        _ = inst.completeIteration()
        #expect(Freeness.forMigration(inst) == 90)
        inst.enqueue(request(1, high: true, prompt: 160))
        _ = inst.formBatch(now: .zero)
        _ = inst.completeIteration()
        #expect(inst.running.count == 2 && Freeness.forMigration(inst) == Double(100 - 21 - 40) / 2)   // 11 + 10 blocks in use
    }
}

/// Routes by the tournament tree and checks every answer against the plain scan.
private final class Mismatches { var count = 0, routed = 0 }
private struct Checked<Plain: Router>: Router {
    var plain: Plain
    let log: Mismatches
    mutating func route(_ request: ServingRequest, among instances: [Instance]) -> Int? { plain.route(request, among: instances) }
    mutating func route(_ request: ServingRequest, among instances: [Instance], loads: LoadIndex) -> Int? {
        let fast = plain.route(request, among: instances, loads: loads)
        log.routed += 1
        if fast != plain.route(request, among: instances) { log.count += 1 }
        return fast
    }
}

/// Least-outstanding routing by the tree, checked against the scan; from the 200th arrival on, a
/// shortest-queue ranking is registered and asked too, and checked against its own scan.
private struct SecondRankingHalfway: Router {
    let log: Mismatches
    var tokens = LeastOutstandingTokensRouter(), queues = ShortestQueueRouter()
    mutating func route(_ request: ServingRequest, among instances: [Instance]) -> Int? { tokens.route(request, among: instances) }
    mutating func route(_ request: ServingRequest, among instances: [Instance], loads: LoadIndex) -> Int? {
        let fast = tokens.route(request, among: instances, loads: loads)
        if fast != tokens.route(request, among: instances) { log.count += 1 }
        if log.routed >= 200, queues.route(request, among: instances, loads: loads) != queues.route(request, among: instances) {
            log.count += 1
        }
        log.routed += 1
        return fast
    }
}

@Suite("Least-loaded index")
struct LoadIndexTests {
    /// On every arrival of a loaded run whose instances drain, start, preempt and finish requests,
    /// each router's tree names the instance its scan of every instance names: fewest outstanding
    /// tokens, shortest queue (DistServe), highest freeness (Llumnix, whose key reads queues and
    /// KV blocks); ties to the lowest index.
    @Test(arguments: ["least_outstanding_tokens", "shortest_queue", "llumnix_load"])
    func theTreeAnswersAsTheScanDoes(router: String) throws {
        let log = Mismatches()
        let arrivals = (0..<600).map { Request(id: $0, arrival: .seconds(Double($0) * 0.02), promptTokens: 50 + ($0 * 37) % 900,
                                               outputTokens: 5 + ($0 * 53) % 200) }
        let checked: any Router = switch router {
        case "shortest_queue": Checked(plain: ShortestQueueRouter(), log: log)
        case "llumnix_load": Checked(plain: FreenessRouter(), log: log)
        default: Checked(plain: LeastOutstandingTokensRouter(), log: log)
        }
        // Few KV blocks, so that queues form and requests are preempted (swapped out), and a small
        // token budget, so that prompts take several steps that sample nothing: what an instance
        // holds then changes while its outstanding tokens do not.
        let small = spec { $0.gpuBlocksOverride = 300; $0.maxBatchedTokens = 128; $0.preemption = .swap }
        let c = try cluster((0..<5).map { _ in small }, ListSource(arrivals), router: checked)
        c.drain(3)
        try c.launchInstance(small)
        #expect(try c.run() == .completed)
        #expect(log.routed == 600 && log.count == 0)
        #expect(c.instances[3].state == .removed && c.instances[5].lifecycle.ready != nil)
        #expect(c.totalPreemptions > 0, "the KV cache ran short")
    }

    /// Least-outstanding routing reads again only the instances whose tokens grew that would win
    /// (`LoadIndex.grown`) while its ranking is the only one; a ranking registered halfway through
    /// the run makes every change a mark for both. Both answer as their scans do at every arrival.
    @Test func aRankingRegisteredMidRunKeepsBothExact() throws {
        let log = Mismatches()
        let arrivals = (0..<400).map { Request(id: $0, arrival: .seconds(Double($0) * 0.02), promptTokens: 40 + ($0 * 61) % 700,
                                               outputTokens: 5 + ($0 * 29) % 150) }
        let c = try cluster((0..<6).map { _ in spec { $0.gpuBlocksOverride = 400 } }, ListSource(arrivals),
                            router: SecondRankingHalfway(log: log))
        #expect(try c.run() == .completed)
        #expect(log.routed == 400 && log.count == 0)
    }

    /// A prompt prefilled in chunks samples nothing, so the instance's outstanding tokens stay put
    /// while its free blocks shrink: Llumnix's freeness ranking must still see it fall below the
    /// other instance's.
    @Test func aKeyThatReadsBlocksFollowsStepsThatSampleNothing() throws {
        let small = spec { $0.gpuBlocksOverride = 300; $0.maxBatchedTokens = 128 }
        let c = try cluster([small, small], ListSource([]))
        let (busy, other) = (c.instances[0], c.instances[1])
        // The other instance holds 19 blocks once its 300-token prompt is in (three steps).
        let held = ServingRequest(Request(id: 1, arrival: .zero, promptTokens: 300, outputTokens: 500), instance: 1)
        other.enqueue(held)
        while held.generatedTokens == 0 {
            _ = other.formBatch(now: .zero)
            _ = other.completeIteration()
        }
        busy.enqueue(ServingRequest(Request(id: 0, arrival: .zero, promptTokens: 1500, outputTokens: 5), instance: 0))
        var router = FreenessRouter()
        let probe = ServingRequest(Request(id: 2, arrival: .zero, promptTokens: 10, outputTokens: 1), instance: -1)
        var picks: [Int?] = []
        for _ in 0..<6 {
            _ = busy.formBatch(now: .zero)
            _ = busy.completeIteration()
            let fast = router.route(probe, among: c.instances, loads: c.loads)
            #expect(fast == router.route(probe, among: c.instances))
            picks.append(fast)
        }
        #expect(busy.outstandingTokens == 1500, "nothing was sampled")
        // The busy one holds 8 blocks more each step: freer than the other after one, less free after three.
        #expect(picks == [0, 0, 1, 1, 1, 1], "the busy instance's freeness fell below the other's")
    }
}
