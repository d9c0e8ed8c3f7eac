import ArgumentParser
import Experiments
import Foundation
import HardwareModels
import Policies
import Serving
import SimCore
import Workloads

/// `simrun migration-bench`: Llumnix's migration microbenchmark on a scenario's hardware. One request
/// of each length decodes on the first instance and moves to the last, live (in stages) and blocking
/// (one copy); the downtime of each is set against what recomputing the request's KV would cost (a
/// prefill of its length on the source).
struct MigrationBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migration-bench",
        abstract: "Migration downtime against sequence length (live, blocking) beside the cost of recomputing the KV.")

    @Argument(help: "The scenario whose instances, engine and topology to use (at least two instances).") var scenario: String
    @Option(help: "Sequence lengths (prompt tokens), comma-separated.") var lengths = "256,512,1024,2048,3072"

    func run() throws {
        let plan = try SimulationPlan(scenarioPath: scenario)
        guard plan.specs.count >= 2 else {
            throw InputError(file: scenario, location: "instances", "the benchmark moves a request between two instances; found one")
        }
        let context = plan.specs[0].limits.maxModelLen
        let list = try lengths.split(separator: ",").map { text -> Int in
            guard let n = Int(text.trimmingCharacters(in: .whitespaces)), n >= 16, n < context - 64 else {
                throw InputError(file: scenario, location: "--lengths",
                                 "expected whole numbers from 16 to \(context - 65) (the model's context less room to decode), found '\(text)'")
            }
            return n
        }
        print("  length  live downtime (ms)  stages  blocking downtime (ms)  recompute (ms)")
        for n in list {
            let live = try MigrationBenchmark.move(plan, prompt: n, live: true), blocking = try MigrationBenchmark.move(plan, prompt: n, live: false)
            var prefill = BatchShape()
            prefill.addPrefill(tokens: n, cached: 0, samples: true)
            let recompute = CostModel(model: plan.specs[0].model, accelerator: plan.specs[0].accelerator, layout: plan.specs[0].layout,
                                      efficiency: plan.specs[0].efficiency, engine: plan.specs[0].engine).iterationTime(prefill)
            print(String(format: "%8d  %18.3f  %6d  %22.3f  %14.1f", n, live.downtime.seconds * 1e3, live.stages,
                         blocking.downtime.seconds * 1e3, recompute * 1e3))
        }
        print("from instance 0 to instance \(plan.specs.count - 1) of \(plan.file)")
    }
}
