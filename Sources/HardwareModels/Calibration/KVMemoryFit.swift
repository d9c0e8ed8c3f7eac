import Foundation
import SimCore

/// The KV cache vLLM sized, from its server logs (calibration/vllm-logs): fits the
/// `vllm-v1` accounting's constants on the rows marked `fit` and predicts the
/// block count of every other row.
public enum KVMemoryFit {
    public struct Logged: Sendable {
        public let model: ModelArchitecture
        public let tp: Int
        public let memoryUtilization: Double
        public let maxSequences: Int
        public let maxBatchedTokens: Int
        /// The profile run's torch peak and memory outside torch, bytes (nil: not logged).
        public let torchPeak: Double?
        public let nonTorch: Double?
        public let blocks: Int
        public let fitted: Bool
        public let line: Int
    }

    public static func read(path: String) throws -> [Logged] {
        let t = try ProfileTable(path: path, required: ["model", "tp", "gpu_memory_utilization", "max_num_seqs",
                                                         "max_num_batched_tokens", "kv_cache_dtype", "torch_peak_gib",
                                                         "non_torch_gib", "gpu_blocks", "role"])
        return try t.rows.indices.map { r in
            func fail(_ message: String) -> InputError { InputError(file: path, location: "line \(t.lines[r])", message) }
            let name = String(t.text(r, "model"))
            guard var model = ModelCatalog.named(name) else { throw fail("model: unknown model '\(name)'") }
            guard let kv = ModelArchitecture.DType(rawValue: t.text(r, "kv_cache_dtype") == "auto" ? "bf16"
                                                   : String(t.text(r, "kv_cache_dtype"))) else {
                throw fail("kv_cache_dtype: expected auto or fp8")
            }
            model = model.deployed(weights: nil, kvCache: kv)
            func optional(_ column: String) throws -> Double? {
                t.text(r, column).isEmpty ? nil : try t.number(r, column) * 1_073_741_824
            }
            let tp = try t.number(r, "tp"), seqs = try t.number(r, "max_num_seqs")
            let tokens = try t.number(r, "max_num_batched_tokens"), blocks = try t.number(r, "gpu_blocks")
            guard [tp, seqs, tokens, blocks].allSatisfy({ $0 >= 1 && $0 <= 1e9 && $0 == $0.rounded() }) else {
                throw fail("expected whole numbers ≥ 1 for tp, max_num_seqs, max_num_batched_tokens, gpu_blocks")
            }
            return Logged(model: model, tp: Int(tp), memoryUtilization: try t.number(r, "gpu_memory_utilization"),
                          maxSequences: Int(seqs), maxBatchedTokens: Int(tokens), torchPeak: try optional("torch_peak_gib"),
                          nonTorch: try optional("non_torch_gib"), blocks: Int(blocks),
                          fitted: t.text(r, "role") == "fit", line: t.lines[r])
        }
    }

    /// The sampler's logit copies (its peak over the logits it holds, mean over the fit rows) and
    /// the memory outside torch alone and with peers (means over the fit rows of each kind).
    public static func fit(_ rows: [Logged]) throws -> EngineProfile.KVMemory {
        let fit = rows.filter(\.fitted)
        let copies = fit.compactMap { r in
            r.torchPeak.map { $0 / (Double(r.maxSequences) * Double(r.model.vocabulary) * 4) }
        }
        let single = fit.filter { $0.tp == 1 }.compactMap(\.nonTorch), multi = fit.filter { $0.tp > 1 }.compactMap(\.nonTorch)
        guard !copies.isEmpty, !single.isEmpty, !multi.isEmpty else {
            throw InputError(file: "KV log rows", "expected fit rows with torch_peak_gib and non_torch_gib at TP 1 and TP > 1")
        }
        func mean(_ x: [Double]) -> Double { x.reduce(0, +) / Double(x.count) }
        return .init(method: .vllmV1, samplerLogitCopies: mean(copies), nonTorchSingleGPU: mean(single),
                     nonTorchMultiGPU: mean(multi))
    }

    /// The blocks simrun computes for a logged deployment.
    public static func predictedBlocks(_ r: Logged, accelerator: Accelerator, memory: EngineProfile.KVMemory) throws -> Int {
        try KVCacheSizing(model: r.model, accelerator: accelerator, layout: ParallelLayout(tp: r.tp), blockTokens: 16,
                          memoryUtilization: r.memoryUtilization, maxBatchedTokens: r.maxBatchedTokens,
                          maxSequences: r.maxSequences, memory: memory).blocks
    }
}
