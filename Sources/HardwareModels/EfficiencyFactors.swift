/// The fractions of datasheet peaks that real kernels reach, and the fixed costs
/// a roofline leaves out. Every default is derived from a measurement shipped in
/// ../shared/data/profiles; the calibration issue replaces them with fitted values.
public struct EfficiencyFactors: Sendable, Equatable, Codable {
    /// Achieved / peak FLOP/s for large GEMMs. Vidur mlp.csv, Llama-2-7B TP1,
    /// mlp_up_proj median at 4,096 tokens: 222 TFLOP/s on A100 (0.71 of 312),
    /// 745 TFLOP/s on H100 (0.75 of 989). Mean of the two.
    public var gemmCompute = 0.73
    /// Achieved / peak FLOP/s for attention; taken equal to GEMMs until
    /// attention kernels are fitted.
    public var attentionCompute = 0.73
    /// Achieved / peak memory bandwidth for weight and KV streaming. Vidur
    /// mlp.csv, Llama-2-7B TP1, mlp_up_proj median at 1 token (180 MB of
    /// weights): 1.55 TB/s on A100-80GB (0.76 of 2.039), 2.82 TB/s on H100
    /// (0.84 of 3.35). Mean of the two.
    public var memoryBandwidth = 0.80
    /// Achieved / peak memory bandwidth of elementwise operators (norms,
    /// activations, residual adds); taken equal to `memoryBandwidth` on GPUs,
    /// fitted on the host, where the activation's exponentials cost more than
    /// its memory traffic.
    public var elementwise = 0.80
    /// Achieved / peak link bandwidth for collectives and transfers. Vidur
    /// send_recv.csv at 64 MiB inside a DGX: 228 GB/s of 300 on A100 (0.76),
    /// 348 GB/s of 450 on H100 (0.77).
    public var linkBandwidth = 0.76
    /// Latency of one small collective or point-to-point message, seconds. Vidur
    /// network profile a100_dgx all_reduce.csv: 0.03 ms mean at 2 KiB.
    public var collectiveLatency = 30e-6


    public init() {}
}
