import SimCore

/// How long one micro-batch holds each pipeline stage. The layers split evenly over the
/// stages, so each holds it for its share of the GPU time; the first also runs the step's
/// host work (scheduling, input preparation), serial with its kernels or hidden behind them.
public struct StageTimes: Sendable, Equatable {
    public var first: SimTime
    public var rest: SimTime

    public init(first: SimTime, rest: SimTime) {
        self.first = first
        self.rest = rest
    }

    /// Splits a step over `stages` stages. With one stage, `first` is the whole step (and `rest`,
    /// which no stage takes, zero: every step converts its times).
    public init(host: Double, gpu: Double, overlapsHost: Bool, stages: Int) {
        let stageGPU = gpu / Double(stages)
        first = .seconds(overlapsHost ? max(host, stageGPU) : host + stageGPU)
        rest = stages > 1 ? .seconds(stageGPU) : .zero
    }
}

/// The stages of a pipeline-parallel instance. Each stage works on one micro-batch at a time,
/// in the order they entered, so up to `stages` micro-batches are in flight (vLLM keeps one per
/// virtual engine): throughput scales with the stages while each batch crosses all of them.
struct Pipeline {
    /// When each stage finishes the last micro-batch given to it: the first, and the others (none
    /// without pipeline parallelism, whose steps then touch no array).
    private var firstFree = SimTime.zero
    private var laterFree: [SimTime]
    /// A formed micro-batch waits (for its swap traffic) to enter: nothing may enter before it.
    private var held = false

    init(stages: Int) {
        laterFree = Array(repeating: .zero, count: stages - 1)
    }

    /// Whether a new micro-batch could enter the first stage at `now`.
    func acceptsBatch(at now: SimTime) -> Bool { !held && firstFree <= now }

    /// Keeps the first stage for a formed micro-batch that cannot enter yet.
    mutating func hold() { held = true }

    /// Runs a micro-batch through every stage from `now`. Returns when it leaves the last
    /// stage (its tokens are sampled) and when the first stage is free again.
    @inline(__always)
    mutating func run(from now: SimTime, _ times: StageTimes) -> (done: SimTime, firstStageFree: SimTime) {
        held = false
        var t = max(now, firstFree) + times.first
        firstFree = t
        for k in laterFree.indices {
            t = max(t, laterFree[k]) + times.rest
            laterFree[k] = t
        }
        return (t, firstFree)
    }
}
