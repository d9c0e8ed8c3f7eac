/// How one model replica is spread over GPUs: tensor parallelism splits every
/// layer across `tp` GPUs; pipeline parallelism splits the layers into `pp` stages.
public struct ParallelLayout: Sendable, Equatable, CustomStringConvertible {
    public let tp: Int
    public let pp: Int

    public init(tp: Int = 1, pp: Int = 1) {
        precondition(tp >= 1 && pp >= 1)
        self.tp = tp
        self.pp = pp
    }

    public var gpus: Int { tp * pp }
    public var description: String { "TP\(tp)×PP\(pp)" }
}
