import HardwareModels
import SimCore
import Testing
import Workloads
@testable import Policies
@testable import Serving

private func spec(_ adjust: (inout SchedulerLimits) -> Void = { _ in }) -> InstanceSpec {
    var limits = SchedulerLimits()
    adjust(&limits)
    return InstanceSpec(model: ModelCatalog.named("Llama-2-7B")!, accelerator: AcceleratorCatalog.named("A100-80GB")!,
                        limits: limits)
}

private final class ListSource: RequestSource {
    private var requests: [Request]
    init(_ requests: [Request]) { self.requests = requests.reversed() }
    func next() -> Request? { requests.popLast() }
}

@Suite("Admission control")
struct AdmissionTests {
    @Test func remainingLengthsComeFromTheHistoryAboveWhatWasGenerated() {
        var p = PastFutureAdmission.Parameters(prior: 100, maxOutputTokens: 1000)
        p.window = 10
        var pf = PastFutureAdmission(p, random: RandomStream(name: "pf", scenarioSeed: 1))
        for n in [50, 200, 300, 400, 800] { pf.finished(outputTokens: n) }
        for done in [0, 150, 350, 900] {
            for _ in 0..<200 {
                let r = pf.sampleRemaining(done: done)
                #expect(r >= 0 && done + r <= 1000)
            }
        }
        // Having generated 350 tokens, only 400, 800 and the maximum lie above.
        let draws = (0..<2000).map { _ in pf.sampleRemaining(done: 350) + 350 }
        #expect(draws.min()! >= 350 && draws.contains { $0 > 800 })
    }

    /// Two workloads that differ only in their (hidden) output lengths: every
    /// scheduling decision before the first request finishes must be the same.
    @Test(arguments: ["past_future", "conservative", "fcfs"])
    func decisionsDoNotDependOnTrueOutputLengths(policy: String) throws {
        func firstScheduled(outputs: Int) throws -> [SimTime?] {
            var options = SchedulerOptions()
            options.maxOutputTokens = 4096
            let requests = (0..<300).map {
                Request(id: $0, arrival: .seconds(Double($0) * 0.002), promptTokens: 300 + $0 % 200, outputTokens: outputs + $0)
            }
            let s = spec { $0.memoryUtilization = 0.3 }
            let c = try Cluster(instances: [s], router: RoundRobinRouter(), source: ListSource(requests), sampleInterval: nil,
                                makeScheduler: { _, i in PolicyRegistry.scheduler(named: policy, options: options, instance: i)! })
            // Stop before anything can finish: the shortest output is 2,000 tokens.
            _ = try c.run(StopConditions(horizon: .seconds(20)))
            #expect(c.metrics.records.isEmpty)
            let all = c.instances[0].running + Array(c.instances[0].waiting)
            return all.sorted { $0.id < $1.id }.map(\.firstScheduled)
        }
        #expect(try firstScheduled(outputs: 2000) == firstScheduled(outputs: 3500))
    }

    @Test func aClosedLoopNeverHasMoreRequestsInFlightThanClients() throws {
        let source = ClosedLoopSource(clients: 7, lengths: .independent(prompt: .uniform(min: 10, max: 400),
                                                                       output: .uniform(min: 5, max: 300)),
                                      count: 200, seed: 3)
        let c = try Cluster(instances: [spec()], router: RoundRobinRouter(), source: source, sampleInterval: .seconds(0.2),
                            makeScheduler: { _, _ in FCFSScheduler() })
        #expect(try c.run() == .completed)
        #expect(c.metrics.records.count == 200 && c.conservationProblems().isEmpty)
        #expect(c.metrics.samples.allSatisfy { $0.waiting + $0.running <= 7 })
        // Arrivals follow completions: request 7 arrives when some earlier one ends.
        let ends = Set(c.metrics.records.filter { $0.id < 7 }.map(\.end))
        let seventh = c.metrics.records.first { $0.id == 7 }!
        #expect(ends.contains(seventh.arrival))
    }

    /// Under memory pressure the paper's ordering: conservative never evicts but
    /// leaves memory idle; aggressive fills memory and evicts; Past-Future evicts
    /// far less than aggressive while using more memory than conservative.
    @Test func thePoliciesOrderAsThePaperDescribes() throws {
        func run(_ policy: String) throws -> (preemptions: Int, utilization: Double) {
            var options = SchedulerOptions()
            options.maxOutputTokens = 1024
            let source = ClosedLoopSource(clients: 48, lengths: .independent(prompt: .uniform(min: 32, max: 512),
                                                                            output: .uniform(min: 256, max: 1024)),
                                          count: 240, seed: 11)
            let c = try Cluster(instances: [spec { $0.memoryUtilization = 0.3 }], router: RoundRobinRouter(),
                                source: source, sampleInterval: nil,
                                makeScheduler: { _, i in PolicyRegistry.scheduler(named: policy, options: options, instance: i)! })
            _ = try c.run()
            #expect(c.conservationProblems().isEmpty)
            return (c.totalPreemptions, c.kvUtilization()[0])
        }
        let aggressive = try run("fcfs"), conservative = try run("conservative"), pastFuture = try run("past_future")
        #expect(conservative.preemptions == 0)
        #expect(aggressive.preemptions > 0)
        #expect(pastFuture.preemptions < aggressive.preemptions / 2)
        #expect(pastFuture.utilization > conservative.utilization)
    }
}

@Suite("Queue timeout")
struct QueueTimeoutTests {
    @Test func requestsNeverScheduledWithinTheTimeoutAreAbortedAndCounted() throws {
        var options = SchedulerOptions()
        options.maxOutputTokens = 2048
        let source = ClosedLoopSource(clients: 40, lengths: .independent(prompt: .uniform(min: 1000, max: 2000),
                                                                        output: .uniform(min: 1000, max: 2000)),
                                      count: 300, seed: 2)
        let s = spec { $0.memoryUtilization = 0.3; $0.queueTimeout = .seconds(2) }
        let c = try Cluster(instances: [s], router: RoundRobinRouter(), source: source, sampleInterval: nil,
                            makeScheduler: { _, i in PolicyRegistry.scheduler(named: "conservative", options: options, instance: i)! })
        #expect(try c.run() == .completed)
        #expect(c.conservationProblems().isEmpty)
        let timedOut = c.metrics.records.filter { $0.dropReason == .queueTimeout }
        #expect(!timedOut.isEmpty)
        // Aborted requests never ran, and waited longer than the timeout.
        #expect(timedOut.allSatisfy { $0.firstScheduled == nil && ($0.end - $0.arrival) > .seconds(2) })
        // Every request that ran started within the timeout.
        let ran = c.metrics.records.compactMap { r in r.firstScheduled.map { $0 - r.arrival } }
        #expect(ran.allSatisfy { $0 <= .seconds(2) })
    }
}
