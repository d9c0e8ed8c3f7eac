import SimCore

/// Prompts that share system prompts, as inference-perf's shared-prefix workload builds them:
/// `groups` system prompts of `systemTokens` tokens, each followed by one of `promptsPerGroup`
/// questions of `questionTokens` tokens. Each request asks one of the groups × promptsPerGroup
/// prompts, drawn uniformly, so both system prompts and whole prompts repeat.
///
/// With `turns` > 1 each prompt is a chat: the next time it is drawn, its prompt is the whole
/// exchange so far (system prompt, questions and answers) plus a follow-up question of
/// `questionTokens` tokens; after `turns` turns the chat starts over.
public final class SharedPrefixSource: RequestSource {
    private let arrivals: SyntheticSource
    private let groups: Int
    private let promptsPerGroup: Int
    private let systemTokens: Int
    private let questionTokens: Int
    private let turns: Int
    private let pick: RandomStream
    /// Per prompt: the exchange so far, its turns taken, and how many chats it has started.
    private var chats: [(history: [PrefixSegment], turn: Int, round: UInt64)]

    public init(arrivals process: ArrivalProcess, stages: [LoadStage] = [], groups: Int, promptsPerGroup: Int,
                systemTokens: Int, questionTokens: Int, turns: Int = 1, output: LengthDistribution, count: Int, seed: UInt64) {
        precondition(groups >= 1 && promptsPerGroup >= 1 && systemTokens >= 0 && questionTokens >= 1 && turns >= 1)
        arrivals = SyntheticSource(arrivals: process, stages: stages,
                                   lengths: .independent(prompt: .fixed(systemTokens + questionTokens), output: output),
                                   count: count, seed: seed)
        self.groups = groups
        self.promptsPerGroup = promptsPerGroup
        self.systemTokens = systemTokens
        self.questionTokens = questionTokens
        self.turns = turns
        pick = RandomStream(name: "workload.shared_prefix", scenarioSeed: seed)
        chats = turns > 1 ? Array(repeating: ([], 0, 0), count: groups * promptsPerGroup) : []
    }

    /// A content id for part `part` of turn `turn` of chat `round` of prompt `prompt` (group's system prompt: part 0).
    private func id(_ values: UInt64...) -> UInt64 {
        values.reduce(0x7368_6172_6564) { StableHash.mix($0 ^ $1) }
    }

    public func next() -> Request? {
        guard let r = arrivals.next() else { return nil }
        let prompt = pick.uniformInt(0...(groups * promptsPerGroup - 1))
        let group = prompt / promptsPerGroup
        var segments: [PrefixSegment] = []
        if turns > 1, chats[prompt].turn > 0 {
            segments = chats[prompt].history
        } else if systemTokens > 0 {
            segments.append(PrefixSegment(id: id(0, UInt64(group)), tokens: systemTokens))
        }
        let turn = turns > 1 ? chats[prompt].turn : 0
        let round = turns > 1 ? chats[prompt].round : 0
        segments.append(PrefixSegment(id: id(1, UInt64(prompt), round, UInt64(turn)), tokens: questionTokens))
        if turns > 1 {
            if turn + 1 < turns {
                chats[prompt] = (segments + [PrefixSegment(id: id(2, UInt64(prompt), round, UInt64(turn)), tokens: r.outputTokens)],
                                 turn + 1, round)
            } else {
                chats[prompt] = ([], 0, round + 1)
            }
        }
        return Request(id: r.id, arrival: r.arrival, promptTokens: segments.reduce(0) { $0 + $1.tokens },
                       outputTokens: r.outputTokens, prefix: segments)
    }
}
