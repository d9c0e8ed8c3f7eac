import SimCore

/// Readers for the measured kernel timings shipped in ../shared/data/profiles.
public enum KernelProfiles {
    /// The four GEMMs of a transformer layer as Vidur's profiler names them,
    /// with their (input, output) widths before tensor-parallel splitting.
    static func layerGEMMs(hidden h: Int, heads: Int, kvHeads: Int, ffn: Int, gated: Bool) -> [(String, Int, Int)] {
        let headDim = h / heads
        return [("attn_pre_proj", h, h + 2 * kvHeads * headDim), ("attn_post_proj", h, h),
                ("mlp_up_proj", h, (gated ? 2 : 1) * ffn), ("mlp_down_proj", ffn, h)]
    }

    /// GEMM samples from a Vidur `mlp.csv` (times in ms, medians). FLOPs and
    /// bytes are counted exactly as CostModel counts them, with the output
    /// dimension split over the tensor-parallel workers.
    public static func vidurGEMMs(path: String, bytesPerParameter: Double = 2) throws -> [GEMMSample] {
        let shape = ["n_head", "n_kv_head", "n_embd", "n_expanded_embd", "use_gated_mlp", "num_tokens",
                     "num_tensor_parallel_workers"]
        let ops = ["attn_pre_proj", "attn_post_proj", "mlp_up_proj", "mlp_down_proj"]
        let table = try ProfileTable(path: path, required: shape + ops.map { "time_stats.\($0).median" })
        var samples: [GEMMSample] = []
        for row in table.rows.indices {
            let tokens = try table.number(row, "num_tokens"), tp = try table.number(row, "num_tensor_parallel_workers")
            let heads = Int(try table.number(row, "n_head")), kv = Int(try table.number(row, "n_kv_head"))
            let h = Int(try table.number(row, "n_embd")), ffn = Int(try table.number(row, "n_expanded_embd"))
            guard tokens >= 1, tp >= 1, heads >= 1, h >= heads else {
                throw InputError(file: path, location: "line \(table.lines[row])", "expected positive shapes and counts")
            }
            let gated = table.text(row, "use_gated_mlp") == "True"
            for (op, input, output) in layerGEMMs(hidden: h, heads: heads, kvHeads: kv, ffn: ffn, gated: gated) {
                let ms = try table.number(row, "time_stats.\(op).median")
                guard ms > 0 else {
                    throw InputError(file: path, location: "line \(table.lines[row])", "time_stats.\(op).median: expected a time > 0")
                }
                let i = Double(input), o = Double(output) / tp
                let key = "\(stableName(path))|\(Int(tokens))|\(Int(tp))|\(op)"
                samples.append(GEMMSample(flops: 2 * tokens * i * o, bytes: (i * o + tokens * i + tokens * o) * bytesPerParameter,
                                          seconds: ms * 1e-3, op: op, heldOut: isHeldOut(key)))
            }
        }
        return samples
    }

    /// All-reduce samples from a Vidur `all_reduce.csv` (times in ms, sizes in
    /// bytes): rank 0's rows of rings that stay inside one node, as tensor
    /// parallelism does (rows with fewer devices per node span nodes).
    public static func vidurAllReduce(path: String) throws -> [CollectiveSample] {
        let table = try ProfileTable(path: path, required: ["time_stats.all_reduce.median", "num_workers", "size", "rank",
                                                             "devices_per_node"])
        var samples: [CollectiveSample] = []
        for row in table.rows.indices where table.text(row, "rank") == "0"
            && table.text(row, "devices_per_node") == table.text(row, "num_workers") {
            let ms = try table.number(row, "time_stats.all_reduce.median")
            let n = Int(try table.number(row, "num_workers")), size = try table.number(row, "size")
            guard ms > 0, n >= 2, size > 0 else {
                throw InputError(file: path, location: "line \(table.lines[row])", "expected a time > 0, ≥ 2 workers and a size > 0")
            }
            samples.append(CollectiveSample(bytes: size, gpus: n, seconds: ms * 1e-3,
                                            heldOut: isHeldOut("\(stableName(path))|\(n)|\(Int(size))|\(table.lines[row])")))
        }
        return samples
    }

    /// The last four components of a path (gpu/org/model/file): the same
    /// wherever the data folder sits.
    static func stableName(_ path: String) -> String {
        path.split(separator: "/").suffix(4).joined(separator: "/")
    }

    /// One row in five is held out of every fit, chosen by a stable hash so the
    /// split is the same on every machine and independent of file order.
    static func isHeldOut(_ key: String) -> Bool { StableHash.hash(key) % 5 == 0 }
}
