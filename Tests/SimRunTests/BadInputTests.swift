import Foundation
import SimCore
import Testing
@testable import Experiments

@Suite("Bad input gives one clear error")
struct BadInputTests {
    /// Each case replaces one piece of the small scenario and names the field the error must point at.
    static let cases: [(String, String, String, String)] = [
        ("unknown top-level field", "\"seed\": 7,", "\"seed\": 7, \"horizn\": 5,", "horizn"),
        ("unknown nested field", "\"cv\": 2", "\"cv\": 2, \"burst\": 1", "workload.arrivals.burst"),
        ("unknown field in an array element", "\"model\": \"Llama-2-7B\"", "\"model\": \"Llama-2-7B\", \"gpus\": 2",
         "instances[0].gpus"),
        ("unknown GPU", "\"A100-80GB\"", "\"A100-80\"", "instances[0].gpu"),
        ("unknown model", "\"Llama-2-7B\"", "\"Llama-9-7B\"", "instances[0].model"),
        ("unknown router", "\"least_outstanding_tokens\"", "\"random\"", "router"),
        ("unknown policy", "\"router\"", "\"scheduler\": {\"policy\": \"sjf\"}, \"router\"", "scheduler.policy"),
        ("negative rate", "\"rate\": 6", "\"rate\": -6", "workload.arrivals.rate"),
        ("zero rate", "\"rate\": 6", "\"rate\": 0", "workload.arrivals.rate"),
        ("zero cv", "\"cv\": 2", "\"cv\": 0", "workload.arrivals.cv"),
        ("wrong type", "\"num_requests\": 300", "\"num_requests\": \"many\"", "workload.num_requests"),
        ("fractional count", "\"num_requests\": 300", "\"num_requests\": 2.5", "workload.num_requests"),
        ("missing required field", "\"gpu\": \"A100-80GB\", ", "", "instances[0].gpu"),
        ("model does not fit", "\"model\": \"Llama-2-7B\"", "\"model\": \"Llama-2-70B\"", "instances[0]"),
        ("tp not dividing heads", "\"model\": \"Llama-2-7B\"", "\"model\": \"Llama-2-7B\", \"tp\": 3", "instances[0].tp"),
        ("uniform max below min", "\"min\": 1, \"max\": 300", "\"min\": 10, \"max\": 3", "workload.lengths.output.max"),
        ("unknown distribution", "\"dist\": \"uniform\"", "\"dist\": \"normal\"", "workload.lengths.output.dist"),
        ("bad SLO", "\"ttft_s\": 0.5", "\"ttft_s\": -1", "slo.ttft_s"),
        ("bad name", "\"name\": \"small\"", "\"name\": \"../x\"", "name"),
        ("missing trace", "\"process\": \"gamma\", \"rate\": 6, \"cv\": 2",
         "\"process\": \"trace\", \"path\": \"nowhere.csv\"", ""),
        ("sampling too fine", "\"sample_interval_s\": 0.5", "\"sample_interval_s\": 1e-9", "run.sample_interval_s"),
        ("too many instances", "\"count\": 2", "\"count\": 1000000000", "instances[0].count"),
        ("huge swap space", "\"router\"", "\"scheduler\": {\"swap_space_gib\": 1e300}, \"router\"", "scheduler.swap_space_gib"),
        ("length beyond any context", "\"min\": 1, \"max\": 300", "\"min\": 1, \"max\": 9000000000000000000", "workload.lengths.output.max"),
        ("negative host time", "\"model\": \"Llama-2-7B\"",
         "\"model\": \"Llama-2-7B\", \"engine_overrides\": {\"host_fixed_ms\": -1}", "instances[0].engine_overrides.host_fixed_ms"),
        ("zero queue timeout", "\"router\"", "\"scheduler\": {\"queue_timeout_s\": 0}, \"router\"", "scheduler.queue_timeout_s"),
        ("closed loop without clients", "\"process\": \"gamma\", \"rate\": 6, \"cv\": 2", "\"process\": \"closed_loop\"",
         "workload.arrivals.clients"),
        ("negative think time", "\"process\": \"gamma\", \"rate\": 6, \"cv\": 2",
         "\"process\": \"closed_loop\", \"clients\": 3, \"think_time_s\": -1", "workload.arrivals.think_time_s"),
        ("bad reserve", "\"router\"", "\"scheduler\": {\"policy\": \"past_future\", \"reserve\": 1}, \"router\"", "scheduler.reserve"),
        ("too few servers", "\"router\"", "\"topology\": {\"max_nodes\": 1, \"gpus_per_node\": 1}, \"router\"",
         "topology.max_nodes"),
        ("swap beyond host memory", "\"router\"",
         "\"scheduler\": {\"swap_space_gib\": 200}, \"topology\": {\"host_memory_gib\": 64}, \"router\"",
         "scheduler.swap_space_gib"),
        ("offloaded KV beyond host memory", "\"router\"",
         "\"scheduler\": {\"kv_offloading_gib\": 60}, \"topology\": {\"host_memory_gib\": 64}, \"router\"",
         "scheduler.kv_offloading_gib"),
        ("NVMe swap beyond NVMe", "\"router\"",
         "\"scheduler\": {\"swap_nvme_gib\": 100000}, \"router\"", "scheduler.swap_nvme_gib"),
        ("bad NIC count", "\"router\"", "\"topology\": {\"nics_per_node\": 0}, \"router\"", "topology.nics_per_node"),
        ("negative watermark", "\"router\"", "\"scheduler\": {\"watermark\": -0.1}, \"router\"", "scheduler.watermark"),
    ]

    @Test(arguments: cases)
    func namesTheFileAndField(label: String, find: String, replace: String, field: String) throws {
        #expect(smallScenario.contains(find), "test case \(label) does not apply")
        var text = smallScenario.replacingOccurrences(of: find, with: replace)
        if label == "missing trace" { text = text.replacingOccurrences(of: #""lengths": {"#, with: #""lengthz": {"#) }
        let path = try writeScenario(text)
        do {
            _ = try SimulationPlan(ScenarioLoader.load(path), file: path)
            Issue.record("\(label): accepted")
        } catch let e as InputError {
            #expect(e.file.hasSuffix("scenario.json") || e.file.hasSuffix("nowhere.csv"), "\(label): \(e)")
            if !field.isEmpty { #expect(e.location == field, "\(label): \(e)") }
            #expect(!e.description.contains("\n"))
        }
    }

    @Test func overridesAreValidatedLikeTheFile() throws {
        let path = try writeScenario(smallScenario)
        let s = try ScenarioLoader.load(path, overrides: ["scheduler.policy=past_future", "workload.arrivals.rate=2.5", "name=other"])
        #expect(s.scheduler?.policy == "past_future" && s.workload.arrivals.rate == 2.5 && s.name == "other")
        do {
            _ = try ScenarioLoader.load(path, overrides: ["scheduler.polcy=x"])
            Issue.record("accepted an unknown field")
        } catch let e as InputError { #expect(e.location == "scheduler.polcy") }
        #expect(throws: InputError.self) { try ScenarioLoader.load(path, overrides: ["no-equals-sign"]) }
        #expect(throws: InputError.self) { try ScenarioLoader.load(path, overrides: ["name.inner=1"]) }
    }

    /// A scenario written elsewhere (a search's best.json) names its files relative to where it is
    /// written; names that are not paths, and absolute paths, stay as they are.
    @Test func rebasedScenariosKeepTheirFiles() throws {
        let tree = try JSONValue.parse(#"{"instances": [{"model": "Llama-2-7B", "engine": "../engines/e.json"}], "#
            + #""workload": {"arrivals": {"process": "trace", "path": "../data/x.csv"}, "lengths": {"from_trace": "/abs/l.csv"}}}"#)
        let moved = ScenarioLoader.rebased(tree, from: "/a/b/s.json", to: "/a/c/out")
        #expect(moved["workload"]?["arrivals"]?["path"]?.string == "../../data/x.csv")
        #expect(moved["workload"]?["lengths"]?["from_trace"]?.string == "/abs/l.csv")
        #expect(moved["instances"]?.elements?[0]["model"]?.string == "Llama-2-7B")
        #expect(moved["instances"]?.elements?[0]["engine"]?.string == "../../engines/e.json")
    }

    /// `field=null` removes a field, so its default applies; a field that is not there stays absent.
    @Test func settingNullRemovesAField() throws {
        let path = try writeScenario(smallScenario)
        let s = try ScenarioLoader.load(path, overrides: ["instances[0].tp=2", "instances[0].tp=null", "seed=null", "router=null"])
        #expect(s.instances[0].tp == nil && s.seed == nil && s.router == nil && s.instances[0].model == "Llama-2-7B")
    }

    /// A list entry by index: `instances[0].tp=2` sets the first group's TP, the rest of it unchanged; an
    /// index past the list, a field that is not a list or a malformed index is one clear error.
    @Test func overridesReachIntoInstanceGroups() throws {
        let path = try writeScenario(smallScenario)
        let s = try ScenarioLoader.load(path, overrides: ["instances[0].tp=2", "instances[0].count=3"])
        #expect(s.instances[0].tp == 2 && s.instances[0].count == 3 && s.instances[0].model == "Llama-2-7B")
        for (bad, message) in [("instances[1].tp=2", "instances has 1 entry; expected an index from 0 to 0, found 1"),
                               ("workload[0].x=1", "workload is not a list"), ("instances[-1].tp=2", "expected a whole number ≥ 0")] {
            do {
                _ = try ScenarioLoader.load(path, overrides: [bad])
                Issue.record("accepted \(bad)")
            } catch let e as InputError {
                #expect(e.location == "--set \(bad)" && e.message.contains(message), "\(e.description)")
            }
        }
    }

    @Test func malformedJSONAndMissingFiles() throws {
        let bad = try writeScenario("{ \"name\": \"x\", ")
        #expect(throws: InputError.self) { try ScenarioLoader.load(bad) }
        #expect(throws: InputError.self) { try ScenarioLoader.load("/nonexistent/scenario.json") }
        let array = try writeScenario("[1, 2]")
        #expect(throws: InputError.self) { try ScenarioLoader.load(array) }
    }

    /// Through the real executable: exit status 2, one error line, nothing written.
    @Test(arguments: [
        ("{ not json", "malformed JSON"),
        (smallScenario.replacingOccurrences(of: "\"rate\": 6", with: "\"rate\": -1"), "workload.arrivals.rate"),
        (smallScenario.replacingOccurrences(of: "\"gamma\", \"rate\": 6, \"cv\": 2", with: "\"trace\", \"path\": \"t.csv\"")
            .replacingOccurrences(of: "\"num_requests\": 300", with: "\"num_requests\": 5")
            .replacingOccurrences(of: #""lengths": {"#, with: #""lengthz": {"#), "lengthz"),
    ])
    func theExecutableExitsWithStatus2AndWritesNothing(text: String, mention: String) throws {
        let dir = tempDir()
        let path = try writeScenario(text, in: dir)
        let result = try runSimrun(["run", path, "--out", dir.appendingPathComponent("out").path], cwd: dir)
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("error: \(path)"), "\(result.stderr)")
        #expect(result.stderr.contains(mention))
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("out").path))
    }

    /// A trace whose 4th data row is broken fails mid-run: still status 2 and no output.
    @Test func aMalformedTraceRowFailsTheRunCleanly() throws {
        let dir = tempDir()
        var rows = "arrived_at,num_prefill_tokens,num_decode_tokens\n"
        for i in 0..<3 { rows += "\(Double(i) * 0.1),100,10\n" }
        rows += "0.4,100,ten\n"
        try rows.write(to: dir.appendingPathComponent("t.csv"), atomically: true, encoding: .utf8)
        let scenario = """
        {"name": "t", "instances": [{"gpu": "A100-80GB", "model": "Llama-2-7B"}],
         "workload": {"arrivals": {"process": "trace", "path": "t.csv"}}}
        """
        let path = try writeScenario(scenario, in: dir)
        let result = try runSimrun([path], cwd: dir)
        #expect(result.status == 2)
        #expect(result.stderr == "error: \(dir.appendingPathComponent("t.csv").path): line 5: expected a token count in column output, found 'ten'\n")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("results").path))
    }
}

@Suite("Extreme but valid input ends cleanly")
struct ExtremeInputTests {
    @Test(arguments: [
        ("\"cv\": 2", "\"cv\": 1e6"),         // gamma shape 1e-12
        ("\"sigma\": 1", "\"sigma\": 60"),    // lognormal draws overflowing Int
        ("\"rate\": 6", "\"rate\": 1e9"),     // everything arrives at once
    ])
    func runsToAnEnd(find: String, replace: String) throws {
        let text = smallScenario.replacingOccurrences(of: find, with: replace)
        let path = try writeScenario(text)
        let (_, outcome) = try Runner.run(scenarioPath: path)
        #expect(outcome.cluster.conservationProblems() == [])
        #expect(outcome.cluster.metrics.samples.count < 100_000)
    }

    @Test func anIdleGapInATraceIsNotSampledRowByRow() throws {
        let dir = tempDir()
        try "arrived_at,num_prefill_tokens,num_decode_tokens\n0,10,2\n1000000,10,2\n"
            .write(to: dir.appendingPathComponent("gap.csv"), atomically: true, encoding: .utf8)
        let path = try writeScenario("""
            {"name": "gap", "instances": [{"gpu": "A100-80GB", "model": "Llama-2-7B"}],
             "workload": {"arrivals": {"process": "trace", "path": "gap.csv"}}, "run": {"sample_interval_s": 0.5}}
            """, in: dir)
        let (_, outcome) = try Runner.run(scenarioPath: path)
        #expect(outcome.summary.requests_completed == 2)
        #expect(outcome.cluster.metrics.samples.count < 10)
        #expect(outcome.cluster.metrics.samples.allSatisfy { $0.time.nanoseconds % 500_000_000 == 0 })
    }
}

@Suite("Calibration commands refuse bad input")
struct CalibrationInputTests {
    @Test(arguments: [
        (["calibrate", "--profiles", "/nonexistent/profiles", "--out", "x.json"], "/nonexistent/profiles"),
        (["validate", "--host", "--device", "missing.json"], "missing.json"),
        (["validate", "--host", "--device", "scenario.json"], "not a host device profile"),
    ])
    func exitWithStatus2AndOneLine(args: [String], mention: String) throws {
        let dir = tempDir()
        _ = try writeScenario("{}", in: dir)
        let result = try runSimrun(args, cwd: dir)
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.hasPrefix("error: ") && result.stderr.contains(mention), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("x.json").path))
    }
}
