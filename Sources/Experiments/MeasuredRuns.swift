import Foundation
import HardwareModels
import SimCore
import Workloads

/// A serving run measured on a real engine: what ran, under what load, and the
/// mean latencies it measured.
public struct MeasuredRun: Sendable {
    let id: String
    /// Where it came from: file and line.
    let origin: String
    /// The serving stack as the source names it (vllm, sglang, trtllm) and its version.
    public let backend: String
    let backendVersion: String
    let model: String
    let gpu: String
    let tp: Int
    /// The weights' type when it is not the checkpoint's (fp8).
    var weightDType: String? = nil
    /// Every request of a run replayed as measured (arrival offset in seconds, prompt and output tokens;
    /// with `workload` set, lengths only, in order); nil for a closed loop of fixed-length requests.
    var requests: [TraceRow]? = nil
    /// Scheduler fields the deployment set (e.g. gpu_memory_utilization).
    var scheduler: [JSONValue.Member] = []
    let inputTokens: Int
    let outputTokens: Int
    /// Clients of a closed loop, each sending its next request when the last one ends.
    let concurrency: Int
    let ttftMs: Double
    let tpotMs: Double
    /// Mean end-to-end latency, where the source gives it.
    var e2eMs: Double? = nil
    /// An open-loop workload section (a benchmark client's arrival process and lengths), used
    /// instead of the closed loop when set.
    var workload: JSONValue? = nil
    /// Replicas behind the client, each `tp` GPUs, routed round-robin.
    var replicas = 1
    /// The engine profile a deployment names (nil: the backend's).
    var engine: String? = nil

    /// The engine, GPU and model (with its weight type): runs of one deployment, at every TP, are held out together.
    var deployment: String { "\(backend) \(backendVersion) \(gpu) \(model)\(weightDType.map { " " + $0 } ?? "")" }
    /// The deployment at one TP degree (or one replayed run): a row of the reports.
    var configuration: String { "\(deployment) TP\(tp)\(label.map { " " + $0 } ?? "")" }
    /// What tells replayed runs of one deployment apart (their load).
    var label: String? = nil

    func withWeights(_ dtype: String?) -> MeasuredRun {
        var r = self
        r.weightDType = dtype
        return r
    }
}

/// Reads AIConfigurator's `silicon_sample.csv` layout: mean TTFT and TPOT at fixed
/// input/output lengths and closed-loop concurrency, per backend, GPU, model and TP.
public enum AIConfiguratorRuns {
    static let gpus = ["h100_sxm": "H100-SXM-80GB", "h200_sxm": "H200"]

    /// The runs simrun can model, and a count of the rows left out by reason.
    public static func read(_ path: String) throws -> (runs: [MeasuredRun], skipped: [String: Int]) {
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
        let e2eMs: Double
    }

    /// The scenario that reproduces a run: one instance, a closed loop of `concurrency`
    /// clients sending fixed-length requests, `requestsPerClient` each.
    static func scenario(_ run: MeasuredRun, requestsPerClient: Int = 4, instance extra: [JSONValue.Member] = [],
                         trace: String? = nil) -> JSONValue {
        func n(_ x: Int) -> JSONValue { .number(String(x)) }
        var instance: [JSONValue.Member] = [.init("gpu", .string(run.gpu)), .init("model", .string(run.model)),
                                            .init("tp", n(run.tp)), .init("count", n(run.replicas))] + extra
        if let w = run.weightDType { instance.append(.init("weight_dtype", .string(w))) }
        let defaults: [JSONValue.Member] = run.scheduler.contains { $0.key == "max_num_seqs" } ? []
            : [.init("max_num_seqs", n(max(256, run.concurrency)))]
        let scheduler = JSONValue.object(defaults + run.scheduler)
        if var workload = run.workload {
            if let trace, case .object(var members) = workload {
                members.append(.init("lengths", .object([.init("from_trace", .string(trace))])))
                workload = .object(members)
            }
            return .object([
                .init("name", .string("check")), .init("instances", .array([.object(instance)])), .init("scheduler", scheduler),
                .init("workload", workload), .init("run", .object([.init("sample_interval_s", .number("0"))])),
            ])
        }
        if let trace {
            return .object([
                .init("name", .string("check")), .init("instances", .array([.object(instance)])), .init("scheduler", scheduler),
                .init("workload", .object([.init("arrivals", .object([.init("process", .string("trace")),
                                                                      .init("path", .string(trace))]))])),
                .init("run", .object([.init("sample_interval_s", .number("0"))])),
            ])
        }
        return .object([
            .init("name", .string("check")),
            .init("instances", .array([.object(instance)])),
            .init("scheduler", scheduler),
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
        // A replayed run's requests go through a trace file in a fresh folder of simrun's own
        // (mkdtemp: never an existing name), removed afterwards.
        var folder: String?
        var trace: String?
        if let requests = run.requests {
            var template = Array((NSTemporaryDirectory() + "/simrun-replay-XXXXXX").utf8CString)
            guard let made = mkdtemp(&template) else {
                throw RunError(path: NSTemporaryDirectory(), message: "cannot create a folder (\(FileSystem.errorText()))")
            }
            folder = String(cString: made)
            var text = run.workload == nil ? "arrived_at,num_prefill_tokens,num_decode_tokens\n" : "num_prefill_tokens,num_decode_tokens\n"
            for r in requests {
                text += run.workload == nil ? "\(r.timestamp ?? 0),\(r.promptTokens),\(r.outputTokens)\n" : "\(r.promptTokens),\(r.outputTokens)\n"
            }
            trace = folder! + "/trace.csv"
            try text.write(toFile: trace!, atomically: false, encoding: .utf8)
        }
        defer { if let folder { try? FileManager.default.removeItem(atPath: folder) } }
        let tree = scenario(run, instance: extra, trace: trace)
        let plan = try SimulationPlan(ScenarioLoader.decode(tree, file: run.origin), file: run.origin)
        let summary = try Runner.run(plan).summary
        return Prediction(ttftMs: summary.ttft.mean_ms ?? .nan, tpotMs: summary.tpot.mean_ms ?? .nan,
                          e2eMs: summary.e2el.mean_ms ?? .nan)
    }
}

/// Reads a folder of per-request runs from LMCache's LMBench client (llm-d-benchmark's layout):
/// `deployment.json` (see `Deployment`) and one `LMBench_<workload>_<qps>.csv` per run
/// (prompt_tokens, generation_tokens, ttft, generation_time, launch_time).
public enum LMBenchRuns {
    public static func read(folder: String) throws -> [MeasuredRun] {
        let deployment = try Deployment(folder: folder)
        let files = try FileManager.default.contentsOfDirectory(atPath: folder)
            .filter { $0.hasPrefix("LMBench_") && $0.hasSuffix(".csv") }.sorted()
        guard !files.isEmpty else { throw InputError(file: folder, "no LMBench_*.csv runs in this folder") }
        return try files.map { file in
            let path = folder + "/" + file
            let lines = try LineReader(path: path)
            guard let header = try lines.next().map(CSVLine.fields) else { throw InputError(file: path, "the file is empty") }
            let need = ["prompt_tokens", "generation_tokens", "ttft", "generation_time", "launch_time"]
            let column = Dictionary(header.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
            if let missing = need.first(where: { column[$0] == nil }) {
                throw InputError(file: path, location: "line 1", "missing column \(missing)")
            }
            var rows: [(launch: Double, prompt: Int, output: Int, ttft: Double, generation: Double, tpot: Double?)] = []
            while let line = try lines.next() {
                if line.isEmpty { continue }
                let f = CSVLine.fields(line)
                func value(_ name: String) throws -> Double {
                    guard column[name]! < f.count, let v = Double(f[column[name]!]), v.isFinite, v >= 0 else {
                        throw InputError(file: path, location: "line \(lines.lineNumber)", "expected a number ≥ 0 in column \(name)")
                    }
                    return v
                }
                let prompt = try value("prompt_tokens"), output = try value("generation_tokens")
                guard prompt >= 1, output >= 1, prompt < 1e7, output < 1e7, prompt == prompt.rounded(), output == output.rounded() else {
                    throw InputError(file: path, location: "line \(lines.lineNumber)", "expected whole token counts ≥ 1")
                }
                let generation = try value("generation_time")
                rows.append((try value("launch_time"), Int(prompt), Int(output), try value("ttft"), generation,
                             output > 1 ? generation / (output - 1) : nil))
            }
            guard let start = rows.map(\.launch).min() else { throw InputError(file: path, "no requests") }
            rows.sort { $0.launch < $1.launch }
            let tpots = rows.compactMap(\.tpot)
            let qps = file.dropFirst("LMBench_".count).dropLast(4).split(separator: "_").last.map(String.init) ?? file
            var run = deployment.run(id: file, origin: path, ttftMs: rows.map(\.ttft).reduce(0, +) / Double(rows.count) * 1000,
                                     tpotMs: tpots.reduce(0, +) / Double(max(tpots.count, 1)) * 1000)
            run.e2eMs = rows.map { $0.ttft + $0.generation }.reduce(0, +) / Double(rows.count) * 1000
            run.requests = rows.map { TraceRow(timestamp: $0.launch - start, promptTokens: $0.prompt, outputTokens: $0.output) }
            run.label = "QPS \(qps)"
            return run
        }
    }
}

/// What a folder of measured runs ran on, from its `deployment.json`: `gpu`, `model` (catalog
/// names), `tp`, and optionally `engine` (a profile name; default the backend's), `replicas`
/// (instances behind the client, round-robin), `gpu_memory_utilization`, `max_num_seqs`,
/// `max_num_batched_tokens`, `backend_version` and `description`.
struct Deployment {
    let gpu: String
    let model: String
    let tp: Int
    let engine: String?
    let replicas: Int
    let version: String
    let scheduler: [JSONValue.Member]

    init(folder: String) throws {
        let path = folder + "/deployment.json"
        let d = try JSONValue.read(file: path, what: "deployment description")
        func fail(_ key: String, _ message: String) -> InputError { InputError(file: path, location: key, message) }
        let allowed = ["description", "gpu", "model", "tp", "engine", "replicas", "gpu_memory_utilization", "max_num_seqs",
                       "max_num_batched_tokens", "backend_version"]
        guard let members = d.members else { throw InputError(file: path, "expected a JSON object") }
        if let unknown = members.map(\.key).sorted().first(where: { !allowed.contains($0) }) {
            throw fail(unknown, "unknown field; expected one of: \(allowed.joined(separator: ", "))")
        }
        func text(_ key: String) throws -> String {
            guard let s = d[key]?.string else { throw fail(key, "expected a string") }
            return s
        }
        gpu = try text("gpu")
        model = try text("model")
        guard AcceleratorCatalog.named(gpu) != nil else { throw fail("gpu", "unknown GPU '\(gpu)'") }
        guard ModelCatalog.named(model) != nil else { throw fail("model", "unknown model '\(model)'") }
        guard let tp = d["tp"]?.integer(in: 1...64) else { throw fail("tp", "expected a whole number from 1 to 64") }
        self.tp = tp
        engine = d["engine"] == nil ? nil : try text("engine")
        if let engine, EngineCatalog.named(engine) == nil {
            throw fail("engine", "unknown engine '\(engine)'; expected one of: \(EngineCatalog.all.map(\.name).sorted().joined(separator: ", "))")
        }
        if let r = d["replicas"] {
            guard let n = r.integer(in: 1...1024) else { throw fail("replicas", "expected a whole number from 1 to 1024") }
            replicas = n
        } else { replicas = 1 }
        version = d["backend_version"] == nil ? URL(fileURLWithPath: folder).lastPathComponent : try text("backend_version")
        var scheduler: [JSONValue.Member] = []
        if let u = d["gpu_memory_utilization"] {
            guard let v = u.double, v > 0, v <= 1 else { throw fail("gpu_memory_utilization", "expected a number in (0, 1]") }
            scheduler.append(.init("gpu_memory_utilization", u))
        }
        for key in ["max_num_seqs", "max_num_batched_tokens"] {
            guard let v = d[key] else { continue }
            guard v.integer(in: 1...10_000_000) != nil else { throw fail(key, "expected a whole number from 1 to 10000000") }
            scheduler.append(.init(key, v))
        }
        self.scheduler = scheduler
    }

    /// A measured run on this deployment (vLLM).
    func run(id: String, origin: String, ttftMs: Double, tpotMs: Double) -> MeasuredRun {
        var r = MeasuredRun(id: id, origin: origin, backend: "vllm", backendVersion: version, model: model, gpu: gpu, tp: tp,
                            inputTokens: 0, outputTokens: 0, concurrency: 0, ttftMs: ttftMs, tpotMs: tpotMs)
        r.scheduler = scheduler
        r.replicas = replicas
        r.engine = engine
        return r
    }
}
