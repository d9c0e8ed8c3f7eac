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
        _ = inst.completeIteration { _ in }
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
