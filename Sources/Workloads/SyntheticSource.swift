import SimCore

/// Requests with generated arrival times and lengths.
public final class SyntheticSource: RequestSource {
    private let arrivals: ArrivalProcess
    private let lengths: LengthModel
    private let count: Int
    private let arrivalStream: RandomStream
    private let promptStream: RandomStream
    private let outputStream: RandomStream
    private var produced = 0
    private var clock = 0.0

    /// - Parameter seed: the scenario seed; each quantity draws from its own named stream.
    public init(arrivals: ArrivalProcess, lengths: LengthModel, count: Int, seed: UInt64) {
        self.arrivals = arrivals
        self.lengths = lengths
        self.count = count
        arrivalStream = RandomStream(name: "workload.arrivals", scenarioSeed: seed)
        promptStream = RandomStream(name: "workload.prompt_tokens", scenarioSeed: seed)
        outputStream = RandomStream(name: "workload.output_tokens", scenarioSeed: seed)
    }

    public func next() -> Request? {
        guard produced < count else { return nil }
        // The first request arrives one gap after time zero, like every other.
        clock += arrivals.nextGap(arrivalStream)
        let (p, o) = lengths.sample(prompt: promptStream, output: outputStream)
        defer { produced += 1 }
        return Request(id: produced, arrival: .seconds(clock), promptTokens: p, outputTokens: o)
    }
}
