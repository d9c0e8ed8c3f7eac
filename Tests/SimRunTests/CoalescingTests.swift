import Foundation
import Testing
@testable import Experiments

/// Coalescing the steps nothing can change (decode stretches) is exact: every shipped scenario writes
/// the same files byte for byte with it on and off.
@Suite("Coalesced steps change no output")
struct CoalescingTests {
    /// Every output file of `plan` run one way, by name (provenance.json, which names the build, left out).
    private func outputs(_ plan: SimulationPlan, coalesce: Bool) throws
        -> (files: [String: Data], coalesced: Int, summary: RunSummary) {
        let outcome = try Runner.run(plan, iterationsEvery: 1, coalesceDecodes: coalesce)
        let dir = tempDir()
        try ResultWriter.write(outcome.summary, cluster: outcome.cluster, plan: plan, to: ResultsFolder(dir.path), iterations: true)
        var files: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) where name != "provenance.json" {
            files[name] = try Data(contentsOf: dir.appendingPathComponent(name))
        }
        return (files, outcome.cluster.instances.reduce(0) { $0 + $1.coalescedIterations }, outcome.summary)
    }

    /// Expects the same files, byte for byte, from both runs (`label` names the case).
    private func expectSameFiles(_ on: [String: Data], _ off: [String: Data], _ label: String) {
        #expect(on.keys.sorted() == off.keys.sorted())
        for (file, data) in off.sorted(by: { $0.key < $1.key }) {
            #expect(on[file] == data, "\(label): \(file) differs")
        }
    }

    /// Each shipped scenario's first 300 requests (all of a shorter one), with every per-iteration row too.
    @Test(arguments: ScenarioFilesTests.shipped)
    func outputsAreTheSame(name: String) throws {
        let path = repoRoot.appendingPathComponent("scenarios/\(name)").path
        let plan = try SimulationPlan(scenarioPath: path, overrides: ["workload.num_requests=300"])
        let on = try outputs(plan, coalesce: true), off = try outputs(plan, coalesce: false)
        #expect(off.coalesced == 0)
        expectSameFiles(on.files, off.files, name)
        #expect(on.files["summary.json"] != nil && on.files["requests.csv"] != nil && on.files["iterations.csv"] != nil)
    }

    /// Each scheduling policy on the quickstart (the shipped scenarios use no conservative admission),
    /// an invariant-checked run, and FCFS rounds every few steps (with vLLM V0's steps too: a stretch's
    /// steps count towards the next round), both ways.
    @Test(arguments: [["scheduler.policy=conservative"], ["scheduler.policy=fcfs"], ["scheduler.policy=past_future"],
                      ["run.check_invariants=true"], ["scheduler.admission_interval_steps=7"],
                      ["scheduler.admission_interval_steps=3", "scheduler.chunked_prefill=false",
                       "instances[0].engine_overrides.scheduling=v0"]])
    func everyPolicyIsTheSameEitherWay(overrides: [String]) throws {
        let path = repoRoot.appendingPathComponent("scenarios/quickstart.json").path
        let plan = try SimulationPlan(scenarioPath: path, overrides: overrides + ["workload.num_requests=400"])
        let on = try outputs(plan, coalesce: true), off = try outputs(plan, coalesce: false)
        #expect(on.files == off.files)
        #expect(overrides[0].hasSuffix("past_future") ? on.coalesced == 0 : on.coalesced > 100)
    }

    /// A scenario under pressure, and what must happen in it while stretches run.
    struct Pressure: Sendable, CustomTestStringConvertible {
        let scenario: String, overrides: [String]
        /// What the run's summary must show, so that the comparison reaches the case.
        let happened: @Sendable (RunSummary) -> Bool
        let testDescription: String
    }

    /// Where a stretch is broken into, coalescing stays exact: its requests preempted (recomputed or
    /// swapped out, by memory or by a higher priority), timed out in the queue or abandoned by their
    /// clients, moved by Llumnix's migrations, or sharing prefix blocks that are evicted and loaded
    /// back from host memory. Each case checks that it happened and that steps were coalesced.
    @Test(arguments: [
        Pressure(scenario: "quickstart.json", overrides: ["scheduler.num_gpu_blocks=200", "workload.arrivals.rate=8"],
                 happened: { $0.preemptions > 0 }, testDescription: "recomputing preempted requests"),
        Pressure(scenario: "quickstart.json", overrides: ["scheduler.num_gpu_blocks=200", "workload.arrivals.rate=8",
                                                          "scheduler.preemption=swap", "scheduler.swap_space_gib=1"],
                 happened: { $0.preemptions > 0 }, testDescription: "swapping preempted requests out"),
        Pressure(scenario: "quickstart.json", overrides: ["scheduler.priorities=true", "workload.high_priority_share=0.3",
                                                          "workload.arrivals.rate=4", "scheduler.num_gpu_blocks=600"],
                 happened: { $0.preemptions > 0 }, testDescription: "priorities preempting"),
        Pressure(scenario: "quickstart.json", overrides: ["scheduler.max_num_seqs=16", "workload.arrivals.rate=2",
                                                          "scheduler.queue_timeout_s=3"],
                 happened: { ($0.dropped_by_reason["queue_timeout"] ?? 0) > 0 }, testDescription: "queue timeouts"),
        Pressure(scenario: "quickstart.json", overrides: ["workload.arrivals.rate=3", "workload.client_timeout_s=30"],
                 happened: { ($0.dropped_by_reason["client_timeout"] ?? 0) > 0 }, testDescription: "clients giving up"),
        Pressure(scenario: "shared-prefix.json", overrides: ["scheduler.num_gpu_blocks=300", "scheduler.kv_offloading_gib=2"],
                 happened: { $0.preemptions > 0 && ($0.prefix_cache_offload_hit_tokens ?? 0) > 0 },
                 testDescription: "prefix blocks evicted and offloaded"),
        Pressure(scenario: "llumnix/llama7b-a10-generated.json", overrides: ["router=round_robin", "scheduler.num_gpu_blocks=300",
                                                                            "workload.num_requests=600"],
                 happened: { $0.migrations > 0 && $0.preemptions > 0 }, testDescription: "Llumnix migrating"),
    ])
    func stretchesBrokenIntoAreTheSameEitherWay(_ pressure: Pressure) throws {
        let path = repoRoot.appendingPathComponent("scenarios/\(pressure.scenario)").path
        let plan = try SimulationPlan(scenarioPath: path, overrides: ["workload.num_requests=300"] + pressure.overrides)
        let on = try outputs(plan, coalesce: true), off = try outputs(plan, coalesce: false)
        #expect(on.coalesced > 100 && off.coalesced == 0)
        #expect(pressure.happened(off.summary))
        expectSameFiles(on.files, off.files, pressure.testDescription)
    }

    /// `simrun run --no-coalescing` writes the same files as `simrun run`; `simrun bench` says how many
    /// steps it coalesced, none with the flag, and on what machine.
    @Test func theCommandLineFlagChangesNoOutput() throws {
        let dir = tempDir(), scenario = repoRoot.appendingPathComponent("scenarios/quickstart.json").path
        #expect(try runSimrun(["run", scenario, "--out", "on", "--set", "workload.num_requests=200"], cwd: dir).status == 0)
        #expect(try runSimrun(["run", scenario, "--out", "off", "--no-coalescing", "--set", "workload.num_requests=200"],
                              cwd: dir).status == 0)
        for file in ["summary.json", "requests.csv", "timeseries.csv"] {
            let on = try Data(contentsOf: dir.appendingPathComponent("on/\(file)"))
            #expect(on == (try Data(contentsOf: dir.appendingPathComponent("off/\(file)"))), "\(file)")
        }
        let plain = try runSimrun(["bench", scenario, "--no-coalescing"], cwd: dir)
        let coalesced = try runSimrun(["bench", scenario], cwd: dir)
        #expect(plain.status == 0 && plain.stdout.contains("; 0% of ") && plain.stdout.contains("(0% fully"))
        #expect(coalesced.status == 0 && coalesced.stdout.contains("% of ") && !coalesced.stdout.contains("; 0% of "))
        // A speed figure names the machine it was measured on.
        #expect(coalesced.stdout.contains("; on ") && coalesced.stdout.contains(" core"), "\(coalesced.stdout)")
    }

    /// The flag takes no value: given one (or misspelt), `run` and `bench` stop with one error line and
    /// exit status 2, and `run` writes nothing.
    @Test(arguments: [["run", "--no-coalescing=yes"], ["bench", "--no-coalescing=1"], ["run", "--no-coalesing"]])
    func theFlagRefusesAValue(args: [String]) throws {
        let dir = tempDir(), scenario = repoRoot.appendingPathComponent("scenarios/quickstart.json").path
        let result = try runSimrun([args[0], scenario] + args.dropFirst() + (args[0] == "run" ? ["--out", "out"] : []), cwd: dir)
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.hasPrefix("error: ") && result.stderr.contains("coales"), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("out").path))
    }

    /// The comparison above is not vacuous: the plain colocated scenarios do coalesce.
    @Test func plainScenariosCoalesce() throws {
        for name in ["quickstart.json", "stress-1m.json", "stress-10m-256x7b.json"] {
            let path = repoRoot.appendingPathComponent("scenarios/\(name)").path
            let plan = try SimulationPlan(scenarioPath: path, overrides: ["workload.num_requests=300"])
            #expect(try outputs(plan, coalesce: true).coalesced > 100, "\(name)")
        }
    }
}
