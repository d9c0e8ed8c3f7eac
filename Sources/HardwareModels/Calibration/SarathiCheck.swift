import SimCore

/// The step-time model against Sarathi-Serve's measured prefill batches (Yi-34B, TP2,
/// A100 80GB PCIe, a 2024 vLLM-based engine), never fitted: predicted with the
/// `vllm-v0` profile on the A100-80GB (SXM) entry, whose peak FLOP/s the PCIe card shares.
public enum SarathiCheck {
    public struct Row: Sendable {
        public let tokens: Int
        public let measured: Double
        public let predicted: Double
    }

    public static func prefill(path: String) throws -> [Row] {
        let t = try ProfileTable(path: path, required: ["batch_num_prefill_tokens", "batch_num_decode_tokens", "batch_size",
                                                         "batch_execution_time"])
        guard let model = ModelCatalog.named("Yi-34B"), let gpu = AcceleratorCatalog.named("A100-80GB"),
              let engine = EngineCatalog.named("vllm-v0") else { return [] }
        let cost = CostModel(model: model, accelerator: gpu, layout: ParallelLayout(tp: 2), engine: engine)
        return try t.rows.indices.map { r in
            let tokens = try t.number(r, "batch_num_prefill_tokens"), seconds = try t.number(r, "batch_execution_time")
            guard tokens >= 1, tokens <= 1e6, tokens == tokens.rounded(), try t.number(r, "batch_num_decode_tokens") == 0,
                  try t.number(r, "batch_size") == 1, seconds > 0 else {
                throw InputError(file: path, location: "line \(t.lines[r])", "expected one prefill of whole tokens, no decodes, a time > 0")
            }
            var batch = BatchShape()
            batch.addPrefill(tokens: Int(tokens), cached: 0, samples: true)
            return Row(tokens: Int(tokens), measured: seconds, predicted: cost.iterationTime(batch))
        }
    }
}
