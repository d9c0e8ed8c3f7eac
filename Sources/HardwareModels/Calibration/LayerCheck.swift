import Foundation
import SimCore

/// A second, independent measurement set: LLMServingSim's per-layer H100
/// timings (Llama-3.1-8B at TP 1/2, Llama-3.1-70B at TP 1/2/4; one prompt of
/// 1…2048 tokens, empty KV cache). It checks GEMM models fitted on Vidur's data,
/// and attention models fitted on our own measurements, against another lab's
/// kernels. None of it is fitted.
public enum LayerCheck {
    static let models = ["Llama-3.1-8B": "Llama-3-8B", "Llama-3.1-70B": "Llama-3-70B"]

    struct Row {
        let op: String
        let tokens: Double
        let tp: Double
        let seconds: Double
        let model: ModelArchitecture
        let heldOut: Bool
    }

    static func rows(folder: String) throws -> [Row] {
        var rows: [Row] = []
        for (dir, name) in models.sorted(by: { $0.key < $1.key }) {
            guard let model = ModelCatalog.named(name) else { continue }
            for tp in [1, 2, 4, 8] {
                let path = "\(folder)/meta-llama/\(dir)/tp\(tp)/layers.csv"
                guard FileManager.default.fileExists(atPath: path) else { continue }
                let table = try ProfileTable(path: path, required: ["layer_name", "input", "kv_cache", "tp_size", "latency(ns)"])
                for r in table.rows.indices where table.text(r, "kv_cache") == "0" {
                    let ns = try table.number(r, "latency(ns)"), tokens = try table.number(r, "input")
                    guard ns > 0, tokens >= 1 else {
                        throw InputError(file: path, location: "line \(table.lines[r])", "expected a latency > 0 and input ≥ 1")
                    }
                    let op = String(table.text(r, "layer_name"))
                    rows.append(Row(op: op, tokens: tokens, tp: Double(tp), seconds: ns * 1e-9, model: model,
                                    heldOut: KernelProfiles.isHeldOut("\(dir)|\(tp)|\(op)|\(Int(tokens))")))
                }
            }
        }
        return rows
    }

    /// (input, output) widths of the separately launched projections.
    static func gemmShape(_ op: String, _ m: ModelArchitecture) -> (Double, Double)? {
        let h = Double(m.hidden), kv = Double(m.kvWidth), f = Double(m.ffn)
        switch op {
        case "q_proj", "o_proj": return (h, h)
        case "k_proj", "v_proj": return (h, kv)
        case "gate_proj", "up_proj": return (h, f)
        case "down_proj": return (f, h)
        case "lm_head": return (h, Double(m.vocabulary))
        default: return nil
        }
    }

    public struct Result: Sendable, Equatable, Codable {
        /// Per projection: the Vidur-fitted GEMM model's error on these (all unseen) rows.
        public let gemmError: [String: ErrorSummary]
        /// The prefill attention model's error on these rows (nil without one).
        public let attentionError: ErrorSummary?
    }

    public static func evaluate(folder: String, gemm: GEMMTimingModel,
                                attention: LinearTimingModel?) throws -> Result? {
        let rows = try rows(folder: folder)
        guard !rows.isEmpty else { return nil }
        var gemmError: [String: ErrorSummary] = [:]
        for op in Set(rows.map(\.op)).sorted() {
            let subset = rows.filter { $0.op == op }
            guard let first = subset.first, gemmShape(op, first.model) != nil else { continue }
            let predicted = subset.map { r -> Double in
                let (i, o) = gemmShape(op, r.model)!
                return gemm.seconds(flops: 2 * r.tokens * i * o / r.tp,
                                    bytes: (i * o / r.tp + r.tokens * i + r.tokens * o / r.tp) * r.model.bytesPerParameter)
            }
            gemmError[op] = ErrorSummary(predicted: predicted, measured: subset.map(\.seconds))
        }
        let layers = rows.filter { $0.op == "attn" }
        let work = { (r: Row) in
            4 * Double(r.model.headDim) * Double(r.model.heads) / r.tp * r.tokens * (r.tokens + 1) / 2
        }
        let attentionError = attention.map { m in
            ErrorSummary(predicted: layers.map { m.seconds(work($0)) }, measured: layers.map(\.seconds))
        }
        return Result(gemmError: gemmError, attentionError: attentionError)
    }
}

/// A kernel whose time is a launch cost plus a cost per unit of work (FLOPs
/// for prefill attention, bytes of KV read for decode attention), fitted by
/// weighted least squares (weights 1/t², so relative error is minimised).
public struct LinearTimingModel: Sendable, Equatable, Codable {
    public let launch: Double
    public let perUnit: Double

    public func seconds(_ units: Double) -> Double { launch + perUnit * units }

    public static func fit(units: [Double], seconds: [Double]) throws -> LinearTimingModel {
        let c = try LeastSquares.fit(rows: units.map { [1, $0] }, y: seconds,
                                     weights: seconds.map { 1 / ($0 * $0) }).coefficients
        return LinearTimingModel(launch: c[0], perUnit: c[1])
    }
}
