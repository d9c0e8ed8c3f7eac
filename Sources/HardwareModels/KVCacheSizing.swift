/// How many KV-cache blocks an instance has: device memory × utilisation −
/// weights − what the engine keeps besides (`EngineProfile.KVMemory`), over
/// every GPU of the instance, in blocks of `blockTokens`.
public struct KVCacheSizing: Sendable, Equatable {
    public let blockTokens: Int
    public let blocks: Int
    public let weightBytesPerGPU: Double
    public let activationReserveBytesPerGPU: Double
    public let usableBytesPerGPU: Double

    public var tokens: Int { blocks * blockTokens }

    /// - Parameters:
    ///   - memoryUtilization: the share of device memory the server may use
    ///     (vLLM's `gpu_memory_utilization`, default 0.9).
    ///   - maxBatchedTokens, maxSequences: the scheduler's caps, which bound the
    ///     activations of one forward pass.
    ///   - blocksOverride: the block count a server reported, used as given once the weights fit.
    ///   - memory: how the engine accounts for what is not KV cache.
    public init(model: ModelArchitecture, accelerator: Accelerator, layout: ParallelLayout,
                blockTokens: Int, memoryUtilization: Double, maxBatchedTokens: Int, maxSequences: Int,
                blocksOverride: Int? = nil, memory: EngineProfile.KVMemory = .init()) throws {
        self.blockTokens = blockTokens
        let gpus = Double(layout.gpus)
        let tp = Double(layout.tp)
        weightBytesPerGPU = model.weightBytesPerGPU(layout)
        // Each data-parallel rank runs its share of the caps (the instance's caps are dp × a rank's).
        let dp = Double(layout.dp)
        let h = Double(model.hidden), tokens = Double(maxBatchedTokens) / dp, ffn = Double(model.ffn)
        switch memory.method {
        case .estimate:
            // The peak of one layer's live tensors (input, QKV, MLP intermediate) at
            // the token cap, plus FP32 logits for every sampled sequence.
            let mlp = Double((model.gatedMLP ? 2 : 1) * model.ffn * model.expertsPerToken)
            activationReserveBytesPerGPU = tokens * (4 * h + mlp) / tp * model.bytesPerParameter
                + Double(maxSequences) / dp * Double(model.vocabulary) / tp * 4
            usableBytesPerGPU = accelerator.memoryBytes * memoryUtilization
        case .vllmV1:
            // The profile run's forward pass at the token cap: the residual stream, its norm and the
            // attention output (whole on every GPU), QKV, and the MLP's widest point: gate/up and the
            // activation's output, or fused MoE's per-(token, expert) buffers (gate/up, activation, down).
            let perExpert = 3 * ffn / tp
            let mlpPeak = model.experts > 1 ? Double(model.expertsPerToken) * (perExpert + h) : perExpert
            let qkv = Double(model.qWidth) / tp + 2 * Double(model.kvHeadsPerGPU(tp: layout.tp) * model.headDim)
            let forward = tokens * (3 * h + qkv + mlpPeak) * model.activationBytes
            // The sampler's dummy run: full-vocabulary FP32 logits for max_num_seqs sequences on every GPU.
            let sampler = memory.samplerLogitCopies * Double(maxSequences) / dp * Double(model.vocabulary) * 4
            activationReserveBytesPerGPU = max(forward, sampler)
                + (layout.gpus > 1 ? memory.nonTorchMultiGPU : memory.nonTorchSingleGPU)
            usableBytesPerGPU = (accelerator.cudaMemoryBytes ?? accelerator.memoryBytes) * memoryUtilization
        }
        let free = usableBytesPerGPU - weightBytesPerGPU - activationReserveBytesPerGPU
        let blockBytes = Double(blockTokens) * model.kvBytesPerToken(tp: layout.tp)
        guard free > 0 else {
            throw KVCacheSizingError.doesNotFit(model: model.name, accelerator: accelerator.name, layout: layout,
                                                needGiB: (weightBytesPerGPU + activationReserveBytesPerGPU) / 1_073_741_824,
                                                haveGiB: usableBytesPerGPU / 1_073_741_824)
        }
        if let blocksOverride {
            blocks = blocksOverride
            return
        }
        guard free * gpus >= blockBytes else {
            throw KVCacheSizingError.blockTooLarge(blockTokens: blockTokens, blockGiB: blockBytes / 1_073_741_824,
                                                   freeGiB: free * gpus / 1_073_741_824)
        }
        blocks = Int(free * gpus / blockBytes)
    }
}

public enum KVCacheSizingError: Error, CustomStringConvertible, Equatable {
    case doesNotFit(model: String, accelerator: String, layout: ParallelLayout, needGiB: Double, haveGiB: Double)
    case blockTooLarge(blockTokens: Int, blockGiB: Double, freeGiB: Double)
    case offloadDoesNotFit(needGiB: Double, haveGiB: Double)

    public var description: String {
        switch self {
        case let .doesNotFit(model, accelerator, layout, need, have):
            let n = (need * 10).rounded() / 10, h = (have * 10).rounded() / 10
            return "\(model) does not fit on \(accelerator) at \(layout): needs \(n) GiB per GPU for weights and "
                + "activations (before any KV cache), but \(h) GiB is usable; raise tp/pp or pick a larger GPU"
        case let .blockTooLarge(tokens, block, free):
            return "one KV block of \(tokens) tokens takes \(String(format: "%.3g", block)) GiB, more than the "
                + "\(String(format: "%.3g", free)) GiB left for the KV cache; lower scheduler.block_size"
        case let .offloadDoesNotFit(need, have):
            return "scheduler.kv_offloading_gib: \(String(format: "%.3g", need)) GiB of offloaded KV does not fit "
                + "the \(String(format: "%.3g", have)) GiB of host memory left on the server"
        }
    }
}
