import SimCore

/// Prompts that share system prompts, as inference-perf's shared-prefix workload builds them:
/// `groups` system prompts of `systemTokens` tokens, each followed by one of `promptsPerGroup`
/// questions of `questionTokens` tokens. Each request asks one of the groups × promptsPerGroup
/// prompts, drawn uniformly, so both system prompts and whole prompts repeat.
public final class SharedPrefixSource: RequestSource {
    private let arrivals: SyntheticSource
    private let groups: Int
    private let promptsPerGroup: Int
    private let systemTokens: Int
    private let questionTokens: Int
    private let pick: RandomStream

    public init(arrivals process: ArrivalProcess, stages: [LoadStage] = [], groups: Int, promptsPerGroup: Int,
                systemTokens: Int, questionTokens: Int, output: LengthDistribution, count: Int, seed: UInt64) {
        precondition(groups >= 1 && promptsPerGroup >= 1 && systemTokens >= 0 && questionTokens >= 1)
        arrivals = SyntheticSource(arrivals: process, stages: stages,
                                   lengths: .independent(prompt: .fixed(systemTokens + questionTokens), output: output),
                                   count: count, seed: seed)
        self.groups = groups
        self.promptsPerGroup = promptsPerGroup
        self.systemTokens = systemTokens
        self.questionTokens = questionTokens
        pick = RandomStream(name: "workload.shared_prefix", scenarioSeed: seed)
    }

    public func next() -> Request? {
        guard let r = arrivals.next() else { return nil }
        let prompt = pick.uniformInt(0...(groups * promptsPerGroup - 1))
        let group = prompt / promptsPerGroup
        var segments: [PrefixSegment] = []
        if systemTokens > 0 { segments.append(PrefixSegment(id: StableHash.mix(UInt64(group) &* 2 &+ 1), tokens: systemTokens)) }
        segments.append(PrefixSegment(id: StableHash.mix(UInt64(prompt) &* 2 &+ 2), tokens: questionTokens))
        return Request(id: r.id, arrival: r.arrival, promptTokens: r.promptTokens, outputTokens: r.outputTokens,
                       prefix: segments)
    }
}
