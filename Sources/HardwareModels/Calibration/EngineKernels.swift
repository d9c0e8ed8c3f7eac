import Foundation
import SimCore

/// Kernel timings measured inside a serving engine rather than in a standalone
/// profiler: AIConfigurator's perf database, collected in vLLM 0.14.0 (the GEMMs
/// vLLM selects: torch/cuBLAS BF16 and CUTLASS per-tensor FP8; FlashAttention
/// prefill and decode). Fitted per GPU, one shape in five held out.
public struct EngineKernels: Sendable, Equatable, Codable {
    /// GEMM timing by weight dtype (`bf16`, `fp8`).
    public let gemm: [String: GEMMTimingModel]
    public let gemmHeldOutError: [String: ErrorSummary]
    public let prefillAttention: AttentionTimingModel
    public let decodeAttention: AttentionTimingModel
    public let prefillHeldOutError: ErrorSummary
    public let decodeHeldOutError: ErrorSummary
    public let source: String

    /// The names `EngineProfile.kernelTables` may give.
    /// The narrowest GEMM (n and k) the fit covers.
    public static let minimumWidth = 256.0
}

/// Attention time as a linear function of what its kernels do, fitted by
/// weighted least squares (weights 1/t²):
///
///     t = launch + perFlop·F + perByte·B + s·(perSequenceHead·h + perSequence + perSequenceKVHead·kv)
///
/// with F the causal attention FLOPs, B the bytes of queries, keys, values and
/// outputs moved (for decode, mostly the KV cache read), s the sequences, h and
/// kv the query and KV heads per GPU. The per-sequence terms stand for the
/// thread blocks a FlashAttention kernel launches per (sequence, head): small
/// batches leave the GPU part idle, which a pure FLOPs/bytes line misses.
public struct AttentionTimingModel: Sendable, Equatable, Codable {
    public let launch: Double
    public let perFlop: Double
    public let perByte: Double
    public let perSequenceHead: Double
    public let perSequence: Double
    public let perSequenceKVHead: Double

    public struct Work: Sendable, Equatable {
        public var flops: Double
        public var bytes: Double
        public var sequences: Double
        public var heads: Double
        public var kvHeads: Double

        var features: [Double] { [1, flops, bytes, sequences * heads, sequences, sequences * kvHeads] }
    }

    /// The time without the per-kernel launch cost when the kernel runs inside a captured CUDA graph.
    public func seconds(inGraph: Bool, _ w: Work) -> Double { seconds(w) - (inGraph ? launch : 0) }

    public func seconds(_ w: Work) -> Double {
        // Never below the launch: the fit is linear and a tiny batch must not go negative.
        max(launch, launch + perFlop * w.flops + perByte * w.bytes
            + w.sequences * (perSequenceHead * w.heads + perSequence + perSequenceKVHead * w.kvHeads))
    }

    public static func fit(_ samples: [(work: Work, seconds: Double)]) throws -> AttentionTimingModel {
        let c = try LeastSquares.fit(rows: samples.map(\.work.features), y: samples.map(\.seconds),
                                     weights: samples.map { 1 / ($0.seconds * $0.seconds) }).coefficients
        return AttentionTimingModel(launch: c[0], perFlop: c[1], perByte: c[2], perSequenceHead: c[3], perSequence: c[4],
                                    perSequenceKVHead: c[5])
    }

    /// The work of `sequences` sequences each computing `newTokens` tokens after
    /// `cachedTokens` cached ones (BF16 activations; KV elements of `kvBytes`).
    public static func work(sequences: Double, newTokens: Double, cachedTokens: Double, heads: Double, kvHeads: Double,
                            headDim: Double, kvBytes: Double = 2) -> Work {
        let pairs = newTokens * cachedTokens + newTokens * (newTokens + 1) / 2
        return Work(flops: 4 * headDim * heads * sequences * pairs,
                    bytes: sequences * (newTokens * (2 * heads + 2 * kvHeads) * headDim * 2
                                        + cachedTokens * 2 * kvHeads * headDim * kvBytes),
                    sequences: sequences, heads: heads, kvHeads: kvHeads)
    }
}

extension EngineKernels {
    /// Fits the tables in `folder` (gemm.csv and attention.csv as
    /// tools/aiconfigurator_kernels.py writes them) for one GPU (`system`, e.g.
    /// h100_sxm); nil when the tables hold no rows for it. The held-out rows are
    /// chosen by shape, so repeated measurements of one shape stay together.
    public static func fit(folder: String, system: String, label: String, ridge: Double) throws -> EngineKernels? {
        let gemmPath = "\(folder)/gemm.csv", attentionPath = "\(folder)/attention.csv"
        guard FileManager.default.fileExists(atPath: gemmPath), FileManager.default.fileExists(atPath: attentionPath) else {
            return nil
        }
        let g = try ProfileTable(path: gemmPath, required: ["system", "dtype", "m", "n", "k", "latency_ms"])
        var byType: [String: [GEMMSample]] = [:]
        for r in g.rows.indices where g.text(r, "system") == system {
            // The table sweeps widths from 32; a transformer's GEMMs split over up to 8 GPUs are at
            // least 256 wide (the KV projection of 8 KV heads of 128 at TP8), and the fit covers those.
            guard try g.number(r, "n") >= minimumWidth, try g.number(r, "k") >= minimumWidth else { continue }
            let dtype = String(g.text(r, "dtype"))
            let weightBytes: Double
            switch dtype {
            case "bf16": weightBytes = 2
            case "fp8": weightBytes = 1
            default: throw InputError(file: gemmPath, location: "line \(g.lines[r])", "dtype: expected bf16 or fp8")
            }
            let m = try g.number(r, "m"), n = try g.number(r, "n"), k = try g.number(r, "k")
            let seconds = try g.number(r, "latency_ms") / 1e3
            guard [m, n, k].allSatisfy({ $0 >= 1 && $0 <= 1e9 && $0 == $0.rounded() }), seconds > 0 else {
                throw InputError(file: gemmPath, location: "line \(g.lines[r])",
                                 "expected whole m, n, k from 1 to 1e9 and a latency > 0")
            }
            byType[dtype, default: []].append(GEMMSample(
                flops: 2 * m * n * k, bytes: n * k * weightBytes + (m * k + m * n) * 2, seconds: seconds, op: dtype,
                heldOut: KernelProfiles.isHeldOut("gemm|\(system)|\(dtype)|\(Int(m))|\(Int(n))|\(Int(k))")))
        }
        guard !byType.isEmpty else { return nil }
        var gemm: [String: GEMMTimingModel] = [:], gemmErrors: [String: ErrorSummary] = [:]
        for (dtype, samples) in byType {
            // FP8 tensor cores run at twice the BF16 rate: the first regime guess moves accordingly.
            let model = try GEMMTimingModel.fit(samples.filter { !$0.heldOut }, ridge: ridge * (dtype == "fp8" ? 2 : 1))
            let held = samples.filter(\.heldOut)
            gemm[dtype] = model
            gemmErrors[dtype] = ErrorSummary(predicted: held.map { model.seconds(flops: $0.flops, bytes: $0.bytes) },
                                             measured: held.map(\.seconds))
        }

        let a = try ProfileTable(path: attentionPath, required: ["system", "phase", "batch", "new_tokens", "cached_tokens",
                                                                  "heads", "kv_heads", "head_dim", "latency_ms"])
        var phases: [String: [(work: AttentionTimingModel.Work, seconds: Double, heldOut: Bool)]] = [:]
        for r in a.rows.indices where a.text(r, "system") == system {
            let phase = String(a.text(r, "phase"))
            guard phase == "prefill" || phase == "decode" else {
                throw InputError(file: attentionPath, location: "line \(a.lines[r])", "phase: expected prefill or decode")
            }
            let values = try ["batch", "new_tokens", "cached_tokens", "heads", "kv_heads", "head_dim", "latency_ms"]
                .map { try a.number(r, $0) }
            guard values[0] >= 1, values[1] >= 1, values[2] >= 0, values[3] >= 1, values[4] >= 1, values[5] >= 1,
                  values.prefix(6).allSatisfy({ $0 <= 1e9 && $0 == $0.rounded() }), values[6] > 0 else {
                throw InputError(file: attentionPath, location: "line \(a.lines[r])",
                                 "expected whole batch, new_tokens, heads, kv_heads, head_dim from 1 to 1e9, cached_tokens ≥ 0, latency > 0")
            }
            let key = "attention|\(system)|\(phase)|" + values.prefix(5).map { String(Int($0)) }.joined(separator: "|")
            phases[phase, default: []].append((
                AttentionTimingModel.work(sequences: values[0], newTokens: values[1], cachedTokens: values[2],
                                          heads: values[3], kvHeads: values[4], headDim: values[5]),
                values[6] / 1e3, KernelProfiles.isHeldOut(key)))
        }
        func fitPhase(_ name: String) throws -> (AttentionTimingModel, ErrorSummary) {
            let rows = phases[name] ?? []
            guard rows.count >= 12 else {
                throw InputError(file: attentionPath, "\(system): expected at least 12 \(name) rows, found \(rows.count)")
            }
            let model = try AttentionTimingModel.fit(rows.filter { !$0.heldOut }.map { ($0.work, $0.seconds) })
            let held = rows.filter(\.heldOut)
            return (model, ErrorSummary(predicted: held.map { model.seconds($0.work) }, measured: held.map(\.seconds)))
        }
        let (prefill, prefillError) = try fitPhase("prefill"), (decode, decodeError) = try fitPhase("decode")
        return EngineKernels(gemm: gemm, gemmHeldOutError: gemmErrors, prefillAttention: prefill, decodeAttention: decode,
                             prefillHeldOutError: prefillError, decodeHeldOutError: decodeError, source: label)
    }
}
