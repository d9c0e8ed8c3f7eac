import Foundation
import TestSupport
import SimCore
import Testing
@testable import Workloads

func writeTemp(_ name: String, _ text: String) throws -> String {
    let path = Scratch.path(name)
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// The repository's scenarios/data folder.
let sampleData = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("scenarios/data").path

@Suite("Trace readers")
struct TraceReaderTests {
    @Test func azureTimestampsBecomeSeconds() {
        let a = TraceReader.azureSeconds("2023-11-16 18:17:03.9799600")!
        let b = TraceReader.azureSeconds("2023-11-16 18:17:04.0319600")!
        #expect(abs((b - a) - 0.052) < 1e-6)
        #expect(TraceReader.azureSeconds("1970-01-02 00:00:00") == 86400)
        #expect(TraceReader.azureSeconds("2023-13-01 00:00:00") == nil)
        // Across midnight and a month end.
        #expect(TraceReader.azureSeconds("2024-03-01 00:00:01")! - TraceReader.azureSeconds("2024-02-29 23:59:59")! == 2)
    }

    @Test func readsEachFormat() throws {
        let azure = try TraceReader(path: writeTemp("a.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,374,44\n2023-11-16 18:15:50.0000000,10,2\n"))
        #expect(azure.format == .azure)
        let rows = try azure.readAll()
        #expect(rows.count == 2 && rows[0].promptTokens == 374 && rows[0].outputTokens == 44)
        let mooncake = try TraceReader(path: writeTemp("m.jsonl",
            "{\"timestamp\": 0, \"input_length\": 6758, \"output_length\": 500, \"hash_ids\": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]}\n{\"timestamp\": 1500, \"input_length\": 7, \"output_length\": 9, \"hash_ids\": []}\n"))
        #expect(mooncake.format == .mooncake)
        let m = try mooncake.readAll()
        #expect(m[1] == TraceRow(timestamp: 1.5, promptTokens: 7, outputTokens: 9))
        let timed = try TraceReader(path: writeTemp("t.csv", "arrived_at,num_prefill_tokens,num_decode_tokens\n0.0,374,44\n0.052,3180,8\n"))
        #expect(timed.format == .timedCSV)
        #expect(try timed.readAll()[1] == TraceRow(timestamp: 0.052, promptTokens: 3180, outputTokens: 8))
        let lengths = try TraceReader(path: writeTemp("l.csv", "num_prefill_tokens,num_decode_tokens,num_total_tokens,pd_ratio\n74,918,992,0.08\n"))
        #expect(lengths.format == .lengthsCSV)
        #expect(try lengths.readAll()[0].timestamp == nil)
    }

    /// Session ids: chat a's second turn (200 tokens) begins with its first prompt (100) and answer
    /// (50), then 50 new tokens; its third (120 tokens, history trimmed) keeps the first prompt and
    /// 20 tokens of the answer. Chat b shares nothing with a; a row without an id is on its own.
    @Test func sessionsMakeEachTurnExtendTheExchangeSoFar() throws {
        let rows = try TraceReader(path: writeTemp("s.csv", """
            arrived_at,session_id,num_prefill_tokens,num_decode_tokens
            0,a,100,50
            1,b,80,10
            2,a,200,20
            3,a,120,5
            4,,30,5
            """)).readAll()
        let (first, second, third) = (rows[0].prefix, rows[2].prefix, rows[3].prefix)
        #expect(first.map(\.tokens) == [100] && rows[1].prefix.map(\.tokens) == [80])
        #expect(rows[1].prefix[0].id != first[0].id)
        #expect(second.map(\.tokens) == [100, 50, 50] && second[0] == first[0])
        #expect(third.map(\.tokens) == [100, 20] && third[0] == first[0] && third[1].id == second[1].id)
        #expect(Set([second[1].id, second[2].id]).count == 2 && rows[4].prefix.isEmpty)
    }

    @Test func readsTheShippedSamples() throws {
        let conv = try TraceReader(path: sampleData + "/azure_conv_2023.csv").readAll()
        #expect(conv.count == 19366)
        let share = try TraceReader(path: sampleData + "/sharegpt_lengths_5k.csv").readAll()
        #expect(share.count == 5000)
    }

    @Test(arguments: [
        ("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.68,374,44\nnot a time,1,2\n", "line 3"),
        ("arrived_at,num_prefill_tokens,num_decode_tokens\n0.0,374\n", "line 2"),
        ("arrived_at,num_prefill_tokens,num_decode_tokens\n0.0,-5,3\n", "line 2"),
        ("arrived_at,num_prefill_tokens,num_decode_tokens\n0.0,5,0\n", "line 2"),
        ("arrived_at,num_prefill_tokens,num_decode_tokens\n0.0,5,x\n", "line 2"),
        ("{\"timestamp\": 0, \"input_length\": 5}\n", "line 1"),
        ("hello,world\n1,2\n", "line 1"),
    ])
    func malformedRowsNameTheFileAndLine(text: String, location: String) throws {
        let path = try writeTemp("bad.csv", text)
        do {
            _ = try TraceReader(path: path).readAll()
            Issue.record("accepted a malformed trace")
        } catch let e as InputError {
            #expect(e.file == path && e.location == location, "\(e)")
        }
    }

    @Test func missingFileIsAnInputError() {
        #expect(throws: InputError.self) { try TraceReader(path: "/nonexistent/trace.csv") }
    }
}

@Suite("Request sources")
struct RequestSourceTests {
    @Test func replayScalesTheRateAndStartsAtZero() throws {
        let path = try writeTemp("t.csv", "arrived_at,num_prefill_tokens,num_decode_tokens\n10,1,1\n12,2,2\n16,3,3\n")
        let src = try TraceReplaySource(reader: TraceReader(path: path), rateScale: 2)
        var arrivals: [Double] = []
        while let r = try src.next() { arrivals.append(r.arrival.seconds) }
        #expect(arrivals == [0, 1, 3])
        let limited = try TraceReplaySource(reader: TraceReader(path: path), limit: 2)
        var n = 0
        while try limited.next() != nil { n += 1 }
        #expect(n == 2)
    }

    @Test func replayRejectsTimeGoingBackwards() throws {
        let path = try writeTemp("t.csv", "arrived_at,num_prefill_tokens,num_decode_tokens\n5,1,1\n4,1,1\n")
        let src = try TraceReplaySource(reader: TraceReader(path: path))
        _ = try src.next()
        #expect(throws: InputError.self) { try src.next() }
    }

    @Test func poissonAndGammaHaveTheirRateAndBurstiness() {
        func gaps(_ p: ArrivalProcess) -> (mean: Double, cv: Double) {
            let src = SyntheticSource(arrivals: p, lengths: .independent(prompt: .fixed(1), output: .fixed(1)),
                                      count: 100_000, seed: 9)
            var last = 0.0
            var g: [Double] = []
            while let r = src.next() { g.append(r.arrival.seconds - last); last = r.arrival.seconds }
            let m = g.reduce(0, +) / Double(g.count)
            let v = g.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(g.count - 1)
            return (m, v.squareRoot() / m)
        }
        let poisson = gaps(.poisson(rate: 4))
        #expect(abs(poisson.mean - 0.25) < 0.005 && abs(poisson.cv - 1) < 0.03)
        let bursty = gaps(.gamma(rate: 4, cv: 3))
        #expect(abs(bursty.mean - 0.25) < 0.01 && abs(bursty.cv - 3) < 0.15)
    }

    @Test func lengthDistributionsStayInRange() {
        let s = RandomStream(name: "len", scenarioSeed: 2)
        let u = (0..<10_000).map { _ in LengthDistribution.uniform(min: 5, max: 9).sample(s) }
        #expect(u.min() == 5 && u.max() == 9)
        let ln = (0..<50_000).map { _ in LengthDistribution.lognormal(mean: 200, sigma: 0.5, min: 1, max: 100_000).sample(s) }
        #expect(abs(Double(ln.reduce(0, +)) / 50_000 / 200 - 1) < 0.02)
        let e = (0..<1000).map { _ in LengthDistribution.empirical([3, 7]).sample(s) }
        #expect(Set(e) == [3, 7])
    }

    @Test func sameSeedSameWorkload() {
        func draw(_ seed: UInt64) -> [Request] {
            let src = SyntheticSource(arrivals: .poisson(rate: 1),
                                      lengths: .independent(prompt: .uniform(min: 1, max: 100), output: .fixed(3)),
                                      count: 50, seed: seed)
            return (0..<50).map { _ in src.next()! }
        }
        #expect(draw(1) == draw(1))
        #expect(draw(1) != draw(2))
    }
}
