import SimCore

/// Requests with generated arrival times and lengths.
public final class SyntheticSource: RequestSource {
    private let arrivals: ArrivalProcess
    private var current: ArrivalProcess
    private let lengths: LengthModel
    private let count: Int
    private let arrivalStream: RandomStream
    private let promptStream: RandomStream
    private let outputStream: RandomStream
    private var produced = 0
    private var clock = 0.0
    /// Load stages (empty: one stage at the process's rate, forever), and the current one and its end.
    private let stages: [LoadStage]
    private var stage = 0
    private var stageEnd = Double.infinity

    /// - Parameter seed: the scenario seed; each quantity draws from its own named stream.
    /// - Parameter stages: a ramp of rates, one after another; the source ends with the last stage.
    public init(arrivals: ArrivalProcess, stages: [LoadStage] = [], lengths: LengthModel, count: Int, seed: UInt64) {
        self.arrivals = arrivals
        current = stages.first.map { arrivals.at(rate: $0.rate) } ?? arrivals
        self.stages = stages
        stageEnd = stages.first?.duration ?? .infinity
        self.lengths = lengths
        self.count = count
        arrivalStream = RandomStream(name: "workload.arrivals", scenarioSeed: seed)
        promptStream = RandomStream(name: "workload.prompt_tokens", scenarioSeed: seed)
        outputStream = RandomStream(name: "workload.output_tokens", scenarioSeed: seed)
    }

    public func next() -> Request? {
        guard produced < count else { return nil }
        // The first request arrives one gap after time zero, like every other. A gap that crosses
        // into the next stage restarts there at that stage's rate (exact for Poisson arrivals).
        var gap = current.nextGap(arrivalStream)
        while clock + gap >= stageEnd {
            stage += 1
            guard stage < stages.count else { produced = count; return nil }
            clock = stageEnd
            stageEnd += stages[stage].duration
            current = arrivals.at(rate: stages[stage].rate)
            gap = current.nextGap(arrivalStream)
        }
        clock += gap
        let (p, o) = lengths.sample(prompt: promptStream, output: outputStream)
        defer { produced += 1 }
        return Request(id: produced, arrival: .seconds(clock), promptTokens: p, outputTokens: o)
    }
}
