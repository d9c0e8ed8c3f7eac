import Foundation
import Testing
@testable import Experiments

@Suite("Shipped scenarios and their documentation")
struct ScenarioFilesTests {
    /// Every scenario file shipped under scenarios/ (search specs, which name a scenario, and the JSON Schema left out).
    static let shipped: [String] = {
        let root = repoRoot.appendingPathComponent("scenarios")
        let files = FileManager.default.enumerator(atPath: root.path)?.compactMap { $0 as? String } ?? []
        return files.filter { $0.hasSuffix(".json") && !$0.hasPrefix("data/") && $0 != "scenario.schema.json" }.sorted().filter { name in
            let text = (try? String(contentsOf: root.appendingPathComponent(name), encoding: .utf8)) ?? ""
            return text.contains("\"instances\"")
        }
    }()

    @Test(arguments: shipped)
    func validates(name: String) throws {
        let path = repoRoot.appendingPathComponent("scenarios/\(name)").path
        let plan = try SimulationPlan(ScenarioLoader.load(path), file: path)
        #expect(!plan.specs.isEmpty)
    }

    @Test func everyKindOfShippedScenarioIsFound() {
        for name in ["quickstart.json", "stress-10m-256gpu.json", "elasticmoe/v2lite-scale-up.json", "tutorial/llama3-70b-azure.json",
                     "distserve/opt66b-code-vllm.json", "llumnix/llama7b-a10-priority.json", "past-future/llama2-7b-sharegpt.json"] {
            #expect(Self.shipped.contains(name), "\(name)")
        }
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
