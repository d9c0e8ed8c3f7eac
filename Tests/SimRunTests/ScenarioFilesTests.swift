import Foundation
import Testing
@testable import simrun

@Suite("Shipped scenarios and their documentation")
struct ScenarioFilesTests {
    static let shipped = ["quickstart.json", "azure-conv-4x.json", "stress-1m.json", "shared-prefix.json"]
        + ["llama2-7b-sharegpt", "llama2-7b-dist1-decode-heavy", "llama2-7b-dist2-balanced", "llama2-7b-dist3-prefill-heavy",
           "llama2-13b-sharegpt", "llama2-13b-dist1-decode-heavy", "llama2-70b-sharegpt", "llama2-70b-dist1-decode-heavy"]
            .map { "past-future/\($0).json" }

    @Test(arguments: shipped)
    func validates(name: String) throws {
        let path = repoRoot.appendingPathComponent("scenarios/\(name)").path
        let plan = try SimulationPlan(ScenarioLoader.load(path), file: path)
        #expect(!plan.specs.isEmpty)
    }

    @Test func theStressScenarioIsAMillionRequestsOnSixteenInstances() throws {
        let path = repoRoot.appendingPathComponent("scenarios/stress-1m.json").path
        let s = try ScenarioLoader.load(path)
        #expect(s.workload.num_requests == 1_000_000)
        #expect(try SimulationPlan(s, file: path).specs.count == 16)
    }

    @Test func everySchemaFieldIsDocumented() throws {
        let readme = try String(contentsOf: repoRoot.appendingPathComponent("scenarios/README.md"), encoding: .utf8)
        for field in ScenarioSchema.fields {
            #expect(readme.contains("`\(field.path)`"), "scenarios/README.md does not document \(field.path)")
        }
    }

    @Test func schemaKeysAreFoundAtEachLevel() {
        #expect(ScenarioSchema.keys(under: "").contains("instances"))
        #expect(ScenarioSchema.keys(under: "instances[]").sorted() == ["count", "dp", "engine", "engine_overrides", "ep", "expert_histogram", "expert_skew", "gpu", "kv_cache_dtype", "max_num_batched_tokens", "max_num_seqs", "model", "placement", "pp", "role", "tp", "weight_dtype"])
        #expect(ScenarioSchema.keys(under: "workload.lengths.prompt").contains("sigma"))
    }
}
