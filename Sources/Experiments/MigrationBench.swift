import Foundation
import HardwareModels
import Policies
import Serving
import SimCore
import Workloads

/// One request moved between two instances of a scenario, alone on the cluster:
/// what `simrun migration-bench` measures.
public enum MigrationBenchmark {
    /// One request of `prompt` tokens decodes on the first instance, then moves to the last.
    public static func move(_ plan: SimulationPlan, prompt: Int, live: Bool) throws -> MigrationRecord {
        let c = try Cluster(instances: plan.specs, router: FirstInstance(), source: OneRequest(prompt: prompt),
                            sampleInterval: nil, topology: plan.topology, makeScheduler: { _, _ in FCFSScheduler() })
        // Decoding (a step is always in flight: the moves handle that, as they would in a run).
        while c.instances[0].running.first.map({ $0.generatedTokens < 4 }) ?? true {
            guard try c.run(StopConditions(maxEvents: c.loop.eventsProcessed + 1)) != .completed else { break }
        }
        guard let r = c.instances[0].running.first,
              live ? c.migrateLive(r, to: plan.specs.count - 1) : c.migrate(r, to: plan.specs.count - 1) else {
            throw RunError(path: plan.file, message: "the last instance cannot take a \(prompt)-token request")
        }
        while c.migrationRecords.isEmpty {
            guard try c.run(StopConditions(maxEvents: c.loop.eventsProcessed + 1)) != .completed else { break }
        }
        guard let record = c.migrationRecords.first, record.outcome == .committed else {
            throw RunError(path: plan.file, message: "the \(prompt)-token move did not complete")
        }
        return record
    }

    private struct FirstInstance: Router {
        mutating func route(_ request: ServingRequest, among instances: [Instance]) -> Int? { 0 }
    }

    private final class OneRequest: RequestSource {
        private var request: Request?
        init(prompt: Int) { request = Request(id: 0, arrival: .zero, promptTokens: prompt, outputTokens: 1000) }
        func next() -> Request? { defer { request = nil }; return request }
    }
}
