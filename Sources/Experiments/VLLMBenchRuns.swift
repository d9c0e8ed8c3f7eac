import Foundation
import HardwareModels
import SimCore
import Workloads

/// Reads the JSON that `vllm bench serve --save-result` (and the older
/// `benchmarks/benchmark_serving.py --save-result`) writes, one file per run, in a
/// folder with a `deployment.json` (see `Deployment`).
///
/// The client's load is rebuilt from the file: `num_prompts` requests (those
/// `completed`), arrivals at `request_rate` with gamma gaps of shape `burstiness`
/// (Poisson at 1; all at once when the rate is "inf"), or a closed loop of
/// `max_concurrency` clients when the rate is "inf". Lengths are the per-request
/// `input_lens` / `output_lens` when the file has them (versions ≤ 0.7, or
/// `--save-detailed`), else fixed at the means (`total_input_tokens` / `completed`),
/// which is exact for the random dataset's default range ratio of 0. Measured:
/// `mean_ttft_ms`, `mean_tpot_ms` and, when the run asked for it, `mean_e2el_ms`.
public enum VLLMBenchRuns {
    /// Every `*.json` in `folder` but `deployment.json`, in name order; or one file (its folder's deployment).
    public static func read(_ path: String) throws -> [MeasuredRun] {
        let isFolder = FileSystem.kind(of: path) == .directory
        let folder = isFolder ? path : URL(fileURLWithPath: path).deletingLastPathComponent().path
        let deployment = try Deployment(folder: folder)
        let files = isFolder
            ? try FileManager.default.contentsOfDirectory(atPath: folder)
                .filter { $0.hasSuffix(".json") && $0 != "deployment.json" }.sorted().map { folder + "/" + $0 }
            : [path]
        guard !files.isEmpty else { throw InputError(file: folder, "no benchmark result (*.json) besides deployment.json") }
        return try files.map { try run($0, deployment) }
    }

    /// Whether a folder holds vLLM benchmark results (rather than LMBench CSVs).
    public static func holdsResults(_ folder: String) -> Bool {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
            .contains { $0.hasSuffix(".json") && $0 != "deployment.json" }
    }

    static func run(_ path: String, _ deployment: Deployment) throws -> MeasuredRun {
        guard FileSystem.kind(of: path) == .file, let data = FileManager.default.contents(atPath: path) else {
            throw InputError(file: path, "cannot read the benchmark result (not a readable file)")
        }
        // Python's json writes a bare Infinity for `--burstiness inf`; read it as the string "inf".
        var bytes = [UInt8](data)
        if let text = String(bytes: bytes, encoding: .utf8), text.contains(": Infinity") {
            bytes = Array(text.replacingOccurrences(of: ": Infinity", with: ": \"inf\"").utf8)
        }
        let d: JSONValue
        do { d = try JSONValue.parse(bytes) } catch {
            throw InputError(file: path, location: error.location, "malformed JSON: \(error.message)")
        }
        func fail(_ key: String, _ message: String) -> InputError { InputError(file: path, location: key, message) }
        func number(_ key: String) throws -> Double {
            guard let v = d[key]?.double, v.isFinite, v >= 0 else { throw fail(key, "expected a number ≥ 0") }
            return v
        }
        guard d.members != nil else { throw InputError(file: path, "expected a JSON object (vllm bench serve --save-result)") }
        guard let completed = d["completed"]?.integer(in: 1...100_000_000) else {
            throw fail("completed", "expected the number of completed requests (a whole number ≥ 1)")
        }
        let ttft = try number("mean_ttft_ms"), tpot = try number("mean_tpot_ms")
        guard ttft > 0, tpot > 0 else { throw fail(ttft > 0 ? "mean_tpot_ms" : "mean_ttft_ms", "expected a time > 0") }

        // Lengths: per request when saved (replayed in order through a length file), else the means.
        var lengths = JSONValue.null
        var perRequest: [TraceRow]?
        if let ins = d["input_lens"]?.elements, let outs = d["output_lens"]?.elements {
            guard ins.count == outs.count, !ins.isEmpty else { throw fail("output_lens", "expected as many entries as input_lens") }
            var pairs: [(Int, Int)] = []
            for (i, o) in zip(ins, outs) {
                guard let p = i.integer(in: 1...10_000_000), let q = o.integer(in: 0...10_000_000) else {
                    throw fail("input_lens", "expected whole token counts")
                }
                if q > 0 { pairs.append((p, q)) }   // 0 output tokens: a failed request
            }
            guard !pairs.isEmpty else { throw fail("output_lens", "no request produced a token") }
            perRequest = pairs.map { TraceRow(timestamp: nil, promptTokens: $0.0, outputTokens: $0.1) }
        } else {
            let input = try number("total_input_tokens") / Double(completed), output = try number("total_output_tokens") / Double(completed)
            guard input >= 1, input <= 1e7 else { throw fail("total_input_tokens", "expected 1 to 10000000 tokens per request") }
            guard output >= 1, output <= 1e7 else { throw fail("total_output_tokens", "expected 1 to 10000000 tokens per request") }
            lengths = .object([
                .init("prompt", .object([.init("dist", .string("fixed")), .init("value", .number(String(Int(input.rounded()))))])),
                .init("output", .object([.init("dist", .string("fixed")), .init("value", .number(String(Int(output.rounded()))))])),
            ])
        }

        // Arrivals as the client sent them.
        let arrivals: JSONValue
        let rate = d["request_rate"]
        let infinite = rate?.string == "inf"
        let concurrency = d["max_concurrency"].flatMap { $0 == .null ? nil : $0.integer(in: 1...1_000_000) }
        if d["max_concurrency"] != nil, d["max_concurrency"] != .null, concurrency == nil {
            throw fail("max_concurrency", "expected null or a whole number ≥ 1")
        }
        if infinite {
            // Every request at once; a concurrency cap makes the client a closed loop.
            arrivals = .object([.init("process", .string("closed_loop")),
                                .init("clients", .number(String(concurrency ?? completed)))])
        } else {
            guard let r = rate?.double, r > 0, r.isFinite else { throw fail("request_rate", "expected a number > 0 or \"inf\"") }
            guard concurrency == nil else {
                throw fail("max_concurrency", "a request rate with a concurrency cap is not modelled (the client queues "
                           + "requests before sending them); use request_rate inf or no cap")
            }
            let burstiness = d["burstiness"]?.string == "inf" ? nil : (d["burstiness"] == nil ? 1 : try number("burstiness"))
            guard let shape = burstiness, shape > 0 else { throw fail("burstiness", "expected a finite number > 0") }
            // Gamma gaps of shape k have a coefficient of variation 1/√k; k = 1 is Poisson.
            arrivals = shape == 1
                ? .object([.init("process", .string("poisson")), .init("rate", .number(r.description))])
                : .object([.init("process", .string("gamma")), .init("rate", .number(r.description)),
                           .init("cv", .number((1 / shape.squareRoot()).description))])
        }
        var run = deployment.run(id: URL(fileURLWithPath: path).lastPathComponent, origin: path, ttftMs: ttft, tpotMs: tpot)
        if d["mean_e2el_ms"] != nil { run.e2eMs = try number("mean_e2el_ms") }
        run.requests = perRequest
        run.workload = .object([.init("arrivals", arrivals)] + (perRequest == nil ? [.init("lengths", lengths)] : [])
                               + [.init("num_requests", .number(String(completed)))])
        run.label = infinite ? "rate inf" : "rate \(rate?.double.map { $0.description } ?? "?")"
        return run
    }
}
