import Foundation
import HardwareModels
import SimCore

/// A serving run measured on a real engine: what ran, under what load, and the
/// mean latencies it measured.
struct MeasuredRun: Sendable {
    let id: String
    /// Where it came from: file and line.
    let origin: String
    /// The serving stack as the source names it (vllm, sglang, trtllm) and its version.
    let backend: String
    let backendVersion: String
    let model: String
    let gpu: String
    let tp: Int
    /// The weights' type when it is not the checkpoint's (fp8).
    var weightDType: String? = nil
    let inputTokens: Int
    let outputTokens: Int
    /// Clients of a closed loop, each sending its next request when the last one ends.
    let concurrency: Int
    let ttftMs: Double
    let tpotMs: Double

    /// The engine, GPU and model (with its weight type): runs of one deployment, at every TP, are held out together.
    var deployment: String { "\(backend) \(backendVersion) \(gpu) \(model)\(weightDType.map { " " + $0 } ?? "")" }
    /// The deployment at one TP degree: a row of the reports.
    var configuration: String { "\(deployment) TP\(tp)" }

    func withWeights(_ dtype: String?) -> MeasuredRun {
        var r = self
        r.weightDType = dtype
        return r
    }
}

/// Reads AIConfigurator's `silicon_sample.csv` layout: mean TTFT and TPOT at fixed
/// input/output lengths and closed-loop concurrency, per backend, GPU, model and TP.
enum AIConfiguratorRuns {
    static let gpus = ["h100_sxm": "H100-SXM-80GB", "h200_sxm": "H200"]

    /// The runs simrun can model, and a count of the rows left out by reason.
    static func read(_ path: String) throws -> (runs: [MeasuredRun], skipped: [String: Int]) {
        let lines = try LineReader(path: path)
        guard let header = try lines.next().map(CSVLine.fields) else { throw InputError(file: path, "the file is empty") }
        let required = ["id", "backend", "backend_version", "model_path", "system", "precision", "mode", "isl", "osl",
                        "batch_size", "tp_size", "pp_size", "silicon_ttft_ms", "silicon_tpot_ms"]
        var column: [String: Int] = [:]
        for (i, name) in header.enumerated() where column[name] == nil { column[name] = i }
        if let missing = required.first(where: { column[$0] == nil }) {
            throw InputError(file: path, location: "line 1", "missing column \(missing); expected AIConfigurator's silicon_sample.csv")
        }
        var runs: [MeasuredRun] = []
        var skipped: [String: Int] = [:]
        while let line = try lines.next() {
            if line.isEmpty { continue }
            let f = CSVLine.fields(line)
            guard f.count == header.count else {
                throw InputError(file: path, location: "line \(lines.lineNumber)", "expected \(header.count) fields, found \(f.count)")
            }
            func value(_ name: String) -> String { f[column[name]!] }
            func number(_ name: String) throws -> Double {
                guard let v = Double(value(name)), v.isFinite, v > 0 else {
                    throw InputError(file: path, location: "line \(lines.lineNumber)", "expected a number > 0 in column \(name), found '\(value(name))'")
                }
                return v
            }
            func whole(_ name: String) throws -> Int {
                let v = try number(name)
                guard v == v.rounded(), v <= 10_000_000 else {
                    throw InputError(file: path, location: "line \(lines.lineNumber)", "expected a whole number in column \(name), found '\(value(name))'")
                }
                return Int(v)
            }
            let precision = value("precision")
            guard value("mode") == "agg" else { skipped["disaggregated", default: 0] += 1; continue }
            guard ["", "bf16", "fp16", "fp8"].contains(precision) else {
                skipped["\(precision) weights (not modelled yet)", default: 0] += 1
                continue
            }
            guard let gpu = gpus[value("system")] else { skipped["GPU \(value("system"))", default: 0] += 1; continue }
            guard let model = catalogName(value("model_path")) else {
                skipped["model \(value("model_path"))", default: 0] += 1
                continue
            }
            guard try whole("pp_size") == 1 else { skipped["pipeline parallel", default: 0] += 1; continue }
            runs.append(MeasuredRun(
                id: value("id"), origin: "\(path):\(lines.lineNumber)", backend: value("backend"),
                backendVersion: value("backend_version").isEmpty ? "unknown" : value("backend_version"),
                model: model, gpu: gpu, tp: try whole("tp_size"), inputTokens: try whole("isl"),
                outputTokens: try whole("osl"), concurrency: try whole("batch_size"),
                ttftMs: try number("silicon_ttft_ms"), tpotMs: try number("silicon_tpot_ms"))
                .withWeights(precision == "fp8" ? "fp8" : nil))
        }
        return (runs, skipped)
    }

    /// `meta-llama/Llama-3.1-8B-Instruct` → `Llama-3.1-8B`, when the catalog has it.
    static func catalogName(_ huggingFaceID: String) -> String? {
        var name = String(huggingFaceID.split(separator: "/").last ?? "")
        for suffix in ["-FP8", "-Instruct"] where name.hasSuffix(suffix) { name.removeLast(suffix.count) }
        return ModelCatalog.named(name)?.name
    }
}

/// What the simulator predicts for a measured run's configuration and load.
enum ServingRunCheck {
    struct Prediction: Sendable {
        let ttftMs: Double
        let tpotMs: Double
    }

    /// The scenario that reproduces a run: one instance, a closed loop of `concurrency`
    /// clients sending fixed-length requests, `requestsPerClient` each.
    static func scenario(_ run: MeasuredRun, requestsPerClient: Int = 4, instance extra: [JSONValue.Member] = [])
        -> JSONValue {
        func n(_ x: Int) -> JSONValue { .number(String(x)) }
        var instance: [JSONValue.Member] = [.init("gpu", .string(run.gpu)), .init("model", .string(run.model)),
                                            .init("tp", n(run.tp))] + extra
        if let w = run.weightDType { instance.append(.init("weight_dtype", .string(w))) }
        return .object([
            .init("name", .string("check")),
            .init("instances", .array([.object(instance)])),
            .init("scheduler", .object([.init("max_num_seqs", n(max(256, run.concurrency)))])),
            .init("workload", .object([
                .init("arrivals", .object([.init("process", .string("closed_loop")), .init("clients", n(run.concurrency))])),
                .init("lengths", .object([
                    .init("prompt", .object([.init("dist", .string("fixed")), .init("value", n(run.inputTokens))])),
                    .init("output", .object([.init("dist", .string("fixed")), .init("value", n(run.outputTokens))])),
                ])),
                .init("num_requests", n(run.concurrency * requestsPerClient)),
            ])),
            .init("run", .object([.init("sample_interval_s", .number("0"))])),
        ])
    }

    static func predict(_ run: MeasuredRun, instance extra: [JSONValue.Member] = []) throws -> Prediction {
        let tree = scenario(run, instance: extra)
        let plan = try SimulationPlan(ScenarioLoader.decode(tree, file: run.origin), file: run.origin)
        let summary = try Runner.run(plan).summary
        return Prediction(ttftMs: summary.ttft.mean_ms ?? .nan, tpotMs: summary.tpot.mean_ms ?? .nan)
    }
}
