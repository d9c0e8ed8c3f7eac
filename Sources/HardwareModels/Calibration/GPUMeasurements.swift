import Foundation
import SimCore

/// Kernel timings this project measured itself on a GPU with
/// tools/gpu_kernels.py (stored under calibration/<gpu>-<date>/): attention
/// for fitting, GEMMs for checking the Vidur-fitted model.
public enum GPUMeasurements {
    public struct AttentionFit: Sendable, Equatable, Codable {
        public let prefill: LinearTimingModel
        public let decode: LinearTimingModel
        public let prefillHeldOutError: ErrorSummary
        public let decodeHeldOutError: ErrorSummary
        /// The Vidur-fitted GEMM model against our GEMM timings (none fitted).
        public let gemmCheck: ErrorSummary
        public let source: String
    }

    /// Prefill units are attention FLOPs (4·d·heads·pairs); decode units are
    /// bytes of K and V read (2·batch·context·kvHeads·d·2).
    /// `label` names the folder in reports (independent of where it sits).
    public static func fit(folder: String, label: String, gemm: GEMMTimingModel) throws -> AttentionFit {
        let path = "\(folder)/attention.csv"
        let table = try ProfileTable(path: path, required: ["phase", "heads", "kv_heads", "head_dim", "batch", "tokens",
                                                             "context", "seconds"])
        var prefill: [(Double, Double, Bool)] = [], decode: [(Double, Double, Bool)] = []
        for r in table.rows.indices {
            let heads = try table.number(r, "heads"), kv = try table.number(r, "kv_heads"), d = try table.number(r, "head_dim")
            let batch = try table.number(r, "batch"), tokens = try table.number(r, "tokens")
            let context = try table.number(r, "context"), seconds = try table.number(r, "seconds")
            guard seconds > 0 else { throw InputError(file: path, location: "line \(table.lines[r])", "seconds: expected a time > 0") }
            let held = KernelProfiles.isHeldOut("attention|\(table.lines[r])")
            let cached = context - tokens
            if table.text(r, "phase") == "prefill" {
                let pairs = tokens * cached + tokens * (tokens + 1) / 2
                prefill.append((batch * 4 * d * heads * pairs, seconds, held))
            } else {
                decode.append((2 * batch * context * kv * d * 2, seconds, held))
            }
        }
        func fitAndCheck(_ s: [(Double, Double, Bool)]) throws -> (LinearTimingModel, ErrorSummary) {
            let train = s.filter { !$0.2 }, test = s.filter { $0.2 }
            let m = try LinearTimingModel.fit(units: train.map(\.0), seconds: train.map(\.1))
            return (m, ErrorSummary(predicted: test.map { m.seconds($0.0) }, measured: test.map(\.1)))
        }
        let (p, pe) = try fitAndCheck(prefill), (dm, de) = try fitAndCheck(decode)

        let gemmPath = "\(folder)/gemm.csv"
        let g = try ProfileTable(path: gemmPath, required: ["tp", "tokens", "in", "out", "seconds"])
        var predicted: [Double] = [], measured: [Double] = []
        for r in g.rows.indices {
            let t = try g.number(r, "tokens"), k = try g.number(r, "in"), n = try g.number(r, "out") / g.number(r, "tp")
            predicted.append(gemm.seconds(flops: 2 * t * k * n, bytes: (k * n + t * k + t * n) * 2))
            measured.append(try g.number(r, "seconds"))
        }
        return AttentionFit(prefill: p, decode: dm, prefillHeldOutError: pe, decodeHeldOutError: de,
                            gemmCheck: ErrorSummary(predicted: predicted, measured: measured),
                            source: label)
    }
}
