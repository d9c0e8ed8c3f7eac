import Foundation
import SimCore
import Testing
@testable import Experiments

/// The JSON Schema comes from the field table the loader checks: the shipped file is the generator's
/// output, every type in the table has a schema form, and an independent validator (Python's
/// `jsonschema`) accepts every shipped scenario and refuses the bad-input catalog's field cases.
@Suite("Scenario JSON Schema")
struct JSONSchemaTests {
    @Test func theShippedSchemaIsTheGeneratedOne() throws {
        let shipped = try String(contentsOf: repoRoot.appendingPathComponent("scenarios/scenario.schema.json"), encoding: .utf8)
        #expect(shipped == ScenarioSchema.jsonSchema.prettyText + "\n",
                "regenerate with: .build/debug/simrun schema --json > scenarios/scenario.schema.json")
        let result = try runSimrun(["schema", "--json"], cwd: tempDir())
        #expect(result.status == 0 && result.stdout == shipped)
    }

    @Test func everyTypeInTheTableHasASchemaForm() {
        for f in ScenarioSchema.fields { #expect(ScenarioSchema.typeSchema(f.type) != nil, "\(f.path): \(f.type)") }
        #expect(ScenarioSchema.typeSchema("number in (0, 1]")?.map(\.key) == ["type", "exclusiveMinimum", "maximum"])
        #expect(ScenarioSchema.typeSchema("integer in min...10000000")?.map(\.key) == ["type", "maximum"])
    }

    /// Bad values the schema cannot express: they depend on other fields or on files and catalogs.
    static let beyondTheSchema: Set<String> = [
        "scheduler = {\"priority_headroom_blocks\": 10, \"priority_headroom_slowdown\": 0.1}",  // two fields exclusive
        "workload.lengths.prompt = {\"dist\": \"zipf\", \"mean\": 5000, \"max\": 100}",  // mean above max
        "workload.lengths.prompt = {\"dist\": \"zipf\", \"mean\": 10, \"max\": 2000000}",  // max beyond the model's context
        "workload.lengths.prompt = {\"dist\": \"zipf\", \"max\": 100}",  // mean required for zipf only
        "workload.arrivals.rate = null",  // required for poisson and gamma only
        "workload.arrivals.rate = 1e-12",  // needs more than the simulated clock
        "workload.arrivals.cv = 0",
        "instances[0].expert_skew = 1",  // a dense model has no experts
        "workload.lengths.prompt.min = 100000000",
        "scheduler.num_gpu_blocks = 100000000",  // more than the GPU holds
        "scheduler.kv_offloading_gib = 1e7",  // more than host memory
        "scheduler.max_model_len = 1e12",
        "scheduler.block_size = 1099511627776",  // a block larger than the GPU's memory
        "instances[0].tp = 3", "instances[0].pp = 1000",  // must divide the heads; more GPUs than the topology has
        "instances[0].dp = 2", "instances[0].ep = 2",  // a dense model
        "instances[0].weight_dtype = \"fp8\"",  // the A100 has no FP8 tensor cores
        "instances[0].expert_histogram = [1, 2]",  // one count per expert of the model
        "instances[0].model = \"none.json\"", "instances[0].engine = \"none.json\"",  // no such file
        "instances[0].engine_overrides.cuda_graph_sizes = [4, 2]",  // increasing
        // Fields of one controller policy, and bounds between fields.
        "controller = {\"policy\": \"elastic_moe\", \"max_dp\": 4}",
        "controller = {\"policy\": \"elastic_moe\", \"steps\": [{\"at_s\": 1, \"dp\": 2}], \"idle_load\": 0.5}",
        "controller = {\"policy\": \"elastic_moe\"}",
        "controller = {\"policy\": \"llumnix\", \"max_instances\": 4, \"min_instances\": 5}",
        "controller = {\"policy\": \"llumnix\", \"max_instances\": 4, \"scale_up\": 70, \"scale_down\": 60}",
        "controller = {\"policy\": \"llumnix\", \"scale_up\": 5}",
        "controller = {\"policy\": \"llumnix\", \"zero_copy\": false}",
    ]

    @Test func anIndependentValidatorAcceptsTheShippedScenariosAndRefusesTheBadOnes() throws {
        let dir = tempDir()
        let shipped = ScenarioFilesTests.shipped.map { repoRoot.appendingPathComponent("scenarios/\($0)").path }
        var bad: [(label: String, file: String)] = []
        for (i, c) in BadCases.fields.enumerated() where !Self.beyondTheSchema.contains(c.label) {
            let file = dir.appendingPathComponent("bad-\(i).json").path
            try c.files["s.json"]!.write(toFile: file, atomically: true, encoding: .utf8)
            bad.append((c.label, file))
        }
        let verdicts = try validate(shipped + bad.map(\.file))
        for file in shipped { #expect(verdicts[file] == "ok", "\(file): \(verdicts[file] ?? "no verdict")") }
        for (label, file) in bad { #expect(verdicts[file]?.hasPrefix("invalid") == true, "the schema accepts \(label)") }
    }

    private func validate(_ files: [String]) throws -> [String: String] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", repoRoot.appendingPathComponent("tools/validate_scenarios.py").path,
                       repoRoot.appendingPathComponent("scenarios/scenario.schema.json").path] + files
        let out = Pipe()
        p.standardOutput = out
        try launch(p)
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        var verdicts: [String: String] = [:]
        for line in text.split(separator: "\n") {
            if let r = line.range(of: ": ok", options: .backwards), r.upperBound == line.endIndex {
                verdicts[String(line[..<r.lowerBound])] = "ok"
            } else if let r = line.range(of: ": invalid: ") {
                verdicts[String(line[..<r.lowerBound])] = "invalid: " + line[r.upperBound...]
            }
        }
        return verdicts
    }
}
