import SimCore

/// Conversations named by a trace's session ids. Each turn's prompt begins with the exchange so
/// far (the previous turn's prompt and its answer) and adds what is new, so a prefix cache can
/// reuse the earlier turns. A prompt shorter than the exchange so far (a client that trimmed its
/// history) keeps as much of it as fits.
struct ConversationSessions {
    /// Per session: the exchange so far, and the turns taken. Looked up by id, never iterated.
    private var sessions: [String: (history: [PrefixSegment], turn: UInt64)] = [:]

    /// What the prompt of `session`'s next turn is made of, and that turn recorded with its answer.
    mutating func nextTurn(of session: String, promptTokens: Int, outputTokens: Int) -> [PrefixSegment] {
        let (history, turn) = sessions[session] ?? ([], 0)
        let key = StableHash.hash(session, seed: 0x636f_6e76)
        var segments: [PrefixSegment] = []
        var used = 0
        for s in history where used < promptTokens {
            // A cut segment keeps its id: its leading blocks hash as before.
            let take = min(s.tokens, promptTokens - used)
            segments.append(PrefixSegment(id: s.id, tokens: take))
            used += take
        }
        if used < promptTokens {
            segments.append(PrefixSegment(id: StableHash.mix(key ^ StableHash.mix(2 * turn)), tokens: promptTokens - used))
        }
        let answer = PrefixSegment(id: StableHash.mix(key ^ StableHash.mix(2 * turn + 1)), tokens: outputTokens)
        sessions[session] = (segments + [answer], turn + 1)
        return segments
    }
}
