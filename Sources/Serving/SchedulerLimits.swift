import SimCore

/// How a victim of preemption gives up its KV cache.
public enum PreemptionMode: String, Sendable, CaseIterable {
    /// Free the blocks; the request recomputes its whole context when resumed.
    case recompute
    /// Copy the blocks to host DRAM over PCIe and back when resumed; when host
    /// swap space is full, to NVMe if `nvmeSwapBytesPerGPU` allows, else fall
    /// back to recompute.
    case swap
}

/// The knobs of continuous batching on one instance. Defaults follow vLLM's
/// engine arguments (`max_num_seqs` 256, `max_num_batched_tokens` 8192 with
/// chunked prefill, `block_size` 16, `gpu_memory_utilization` 0.9,
/// `swap_space` 4 GiB per GPU, a 1% block watermark for admission).
public struct SchedulerLimits: Sendable, Equatable {
    public var maxSequences = 256
    /// Longest context (prompt + output) a request may reach (vLLM's `max_model_len`): a longer
    /// prompt is rejected at arrival, and generation stops when the context reaches it.
    public var maxModelLen = Int.max
    public var maxBatchedTokens = 8192
    public var chunkedPrefill = true
    public var preemption = PreemptionMode.recompute
    /// Share of blocks kept free when admitting new requests, so running
    /// requests can grow a little before anything is preempted.
    public var watermark = 0.01
    /// A request preempted more often than this is dropped, which bounds the
    /// work an overloaded instance can waste on preempt/readmit cycles.
    public var maxPreemptions = 8
    public var blockTokens = 16
    public var memoryUtilization = 0.9
    /// KV blocks per instance as a server log reports them (vLLM's
    /// num_gpu_blocks_override); nil: computed from memory.
    public var gpuBlocksOverride: Int?
    public var swapSpaceBytesPerGPU = 4 * 1_073_741_824.0
    /// A request still waiting for its first iteration this long after arriving
    /// is aborted (LightLLM's `router_sla_abort_ttft`); nil: never.
    public var queueTimeout: SimTime?
    /// NVMe space per GPU for swapped KV once host swap space is full (0: none).
    public var nvmeSwapBytesPerGPU = 0.0
    /// Host DRAM per instance for prefix-cache blocks offloaded from the GPU (vLLM's
    /// `kv_offloading_size`; 0: none). Needs prefix caching.
    public var kvOffloadBytes = 0.0
    /// KV blocks Llumnix's freeness sets aside on an instance serving high-priority requests, so their
    /// batch stays small and their decode fast (its profiled headroom; 0: priorities get none).
    public var priorityHeadroomBlocks = 0
    /// Whether the instance treats high-priority requests differently (false: Llumnix-base, the classes
    /// only reported).
    public var honorsPriorities = true

    public init() {}
}
