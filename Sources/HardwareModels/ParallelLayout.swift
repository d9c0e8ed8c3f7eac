/// How one model replica is spread over GPUs: tensor parallelism splits every
/// layer across `tp` GPUs; pipeline parallelism splits the layers into `pp`
/// stages. A mixture-of-experts model may also run attention data-parallel,
/// `dp` copies each on `tp` GPUs taking its own share of the batch, and spread
/// its experts over `ep` groups of those same dp × tp GPUs (expert parallelism;
/// each expert split over the dp·tp/ep GPUs of its group). The layout vLLM and
/// SGLang use for DeepSeek and Qwen MoE models is ep = dp × tp.
///
/// GPUs are numbered stage-major, then by data-parallel rank, then by tensor
/// rank: GPU i is stage i / (dp·tp), DP rank i / tp mod dp, TP rank i mod tp.
public struct ParallelLayout: Sendable, Equatable, CustomStringConvertible {
    public let tp: Int
    public let pp: Int
    public let dp: Int
    public let ep: Int

    public init(tp: Int = 1, pp: Int = 1, dp: Int = 1, ep: Int = 1) {
        precondition(tp >= 1 && pp >= 1 && dp >= 1 && ep >= 1 && (dp * tp) % ep == 0)
        self.tp = tp
        self.pp = pp
        self.dp = dp
        self.ep = ep
    }

    public var gpus: Int { dp * tp * pp }
    /// GPUs of one pipeline stage.
    public var gpusPerStage: Int { dp * tp }
    /// GPUs each expert is split over.
    public var expertTP: Int { dp * tp / ep }
    public var description: String {
        dp == 1 && ep == 1 ? "TP\(tp)×PP\(pp)" : "DP\(dp)×TP\(tp)×EP\(ep)" + (pp > 1 ? "×PP\(pp)" : "")
    }
}
