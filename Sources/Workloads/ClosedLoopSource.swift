import SimCore

/// A fixed population of clients, each sending its next request when the
/// previous one ends (plus a think time): the closed-loop load of the
/// Past-Future paper. Load adapts to the server, so overload shows as long
/// latencies rather than an ever-growing queue.
public final class ClosedLoopSource: RequestSource {
    private let lengths: LengthModel
    private let count: Int
    private let thinkTime: SimTime
    private let promptStream: RandomStream
    private let outputStream: RandomStream
    /// When each idle client will send, earliest first.
    private var ready: [SimTime]
    private var produced = 0

    public init(clients: Int, thinkTime: SimTime = .zero, lengths: LengthModel, count: Int, seed: UInt64) {
        precondition(clients >= 1)
        self.lengths = lengths
        self.count = count
        self.thinkTime = thinkTime
        promptStream = RandomStream(name: "workload.prompt_tokens", scenarioSeed: seed)
        outputStream = RandomStream(name: "workload.output_tokens", scenarioSeed: seed)
        ready = Array(repeating: .zero, count: clients)
    }

    public var isExhausted: Bool { produced >= count }
    public var isOpenLoop: Bool { false }

    public func next() -> Request? {
        guard produced < count, !ready.isEmpty else { return nil }
        let at = ready.removeFirst()
        let (p, o) = lengths.sample(prompt: promptStream, output: outputStream)
        defer { produced += 1 }
        return Request(id: produced, arrival: at, promptTokens: p, outputTokens: o)
    }

    public func requestEnded(id: Int, at time: SimTime) {
        let t = time + thinkTime
        ready.insert(t, at: ready.firstIndex { $0 > t } ?? ready.count)
    }
}
