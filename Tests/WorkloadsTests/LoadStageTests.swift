import Foundation
import TestSupport
import SimCore
import Testing
@testable import Workloads

@Suite("Load stages")
struct LoadStageTests {
    /// Nearly regular gaps (gamma, cv 0.001): 2 req/s for 5.25 s gives arrivals at 0.5 … 5.0 (10); the
    /// gap that crosses 5.25 restarts there at 10 req/s: 5.35 … 6.15 (9) before the ramp ends at 6.2.
    @Test func aRampRestartsAtEachStageAndEndsWithTheLast() throws {
        let source = SyntheticSource(arrivals: .gamma(rate: 1, cv: 0.001),
                                     stages: [LoadStage(rate: 2, duration: 5.25), LoadStage(rate: 10, duration: 0.95)],
                                     lengths: .independent(prompt: .fixed(10), output: .fixed(10)), count: .max, seed: 1)
        var times: [Double] = []
        while let r = source.next() { times.append(r.arrival.seconds) }
        let first: [Double] = (1...10).map { (k: Int) -> Double in 0.5 * Double(k) }
        let second: [Double] = (1...9).map { (k: Int) -> Double in 5.25 + 0.1 * Double(k) }
        let expected = first + second
        #expect(times.count == 19)
        #expect(zip(times, expected).allSatisfy { abs($0 - $1) < 0.01 }, "\(times)")
        #expect(source.next() == nil)
    }
}

@Suite("Mooncake hash ids")
struct MooncakeHashIDTests {
    /// One id per 512 prompt tokens, the last block holding the rest: 1,100 tokens are 512 + 512 + 76;
    /// equal leading ids give equal leading segments.
    @Test func hashIDsBecomePrefixSegments() throws {
        let path = Scratch.path("mooncake.jsonl")
        try """
            {"timestamp": 0, "input_length": 1100, "output_length": 5, "hash_ids": [7, 8, 9]}
            {"timestamp": 10, "input_length": 600, "output_length": 5, "hash_ids": [7, 10]}
            {"timestamp": 20, "input_length": 600, "output_length": 5}
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let rows = try TraceReader(path: path).readAll()
        #expect(rows[0].prefix.map(\.tokens) == [512, 512, 76] && rows[1].prefix.map(\.tokens) == [512, 88])
        #expect(rows[0].prefix[0] == rows[1].prefix[0] && rows[0].prefix[1] != rows[1].prefix[1])
        #expect(rows[2].prefix.isEmpty)
    }

    @Test func idsThatDoNotMatchTheLengthAreRefused() throws {
        let path = Scratch.path("mooncake.jsonl")
        try #"{"timestamp": 0, "input_length": 1100, "output_length": 5, "hash_ids": [7]}"#
            .write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: InputError.self) { _ = try TraceReader(path: path).readAll() }
    }
}

@Suite("Shared-prefix chats")
struct SharedPrefixChatTests {
    /// One prompt, 3-turn chats: 100 + 10 = 110 tokens; then + 20 (answer) + 10 (follow-up) = 140; then 170;
    /// then a new chat of 110. Each turn's prompt starts with the whole previous prompt.
    @Test func eachTurnExtendsTheExchange() throws {
        let source = SharedPrefixSource(arrivals: .poisson(rate: 1), groups: 1, promptsPerGroup: 1, systemTokens: 100,
                                        questionTokens: 10, turns: 3, output: .fixed(20), count: 4, seed: 1)
        var requests: [Request] = []
        while let r = source.next() { requests.append(r) }
        #expect(requests.map(\.promptTokens) == [110, 140, 170, 110])
        #expect(Array(requests[1].prefix.prefix(2)) == requests[0].prefix)
        #expect(Array(requests[2].prefix.prefix(4)) == requests[1].prefix)
        #expect(requests[3].prefix[0] == requests[0].prefix[0] && requests[3].prefix[1] != requests[0].prefix[1],
                "a new chat: the same system prompt, a new question")
    }
}
