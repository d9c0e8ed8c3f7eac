import Foundation
import Testing
@testable import Experiments

/// SplitMix64: a tiny seeded generator, so every mutation can be replayed from its seed.
struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
    mutating func pick<T>(_ xs: [T]) -> T { xs[below(xs.count)] }
}

/// Seeded mutations of the shipped scenarios and traces, run through the executable:
/// whatever the input, simrun ends with status 0 or 2 (one error line), never a signal.
@Suite("Fuzzing the inputs")
struct FuzzTests {
    static let batches = 8
    static let runsPerBatch = 40

    static let numbers = ["-1", "0", "1e309", "1e-320", "9223372036854775807", "18446744073709551616", "2.5", "-0",
                          "1e19", "\"x\"", "null", "true", "[]", "{}", "NaN", "100000", "1e-9"]
    static let strings = ["\"\"", "\".\"", "\"..\"", "\"/\"", "\"../../etc/passwd\"", "\"fcfs\"", "\"trace\"", "\"closed_loop\"",
                          "5", "\"H100-SXM-80GB\"", "\"Llama-2-70B\"", "\"swap\"", "\"prefill\"", "\"decode\"", "\"data\""]
    static let fields = ["-1", "0", "1e400", "abc", "", "99999999999", "1.5", "\"", "2023-02-30 00:00:00", "9e18"]

    /// Scenarios a user gets, and the small one the tests use.
    static let scenarios: [String] = {
        var names = ["quickstart.json", "azure-conv-4x.json"]
        names += ((try? FileManager.default.contentsOfDirectory(atPath: repoRoot.appendingPathComponent("scenarios/past-future").path)) ?? [])
            .sorted().map { "past-future/" + $0 }
        return names.compactMap { try? String(contentsOf: repoRoot.appendingPathComponent("scenarios/" + $0), encoding: .utf8) }
            + [smallScenario]
    }()

    static func mutate(json text: String, _ rng: inout SplitMix) -> String {
        var s = Array(text)
        for _ in 0..<(1 + rng.below(3)) {
            guard !s.isEmpty else { break }
            let i = rng.below(s.count)
            switch rng.below(6) {
            case 0, 1:  // a number or a string token replaced
                let digits = s.indices.filter { s[$0].isNumber && ($0 == 0 || !s[$0 - 1].isNumber && s[$0 - 1] != ".") }
                let quotes = s.indices.filter { s[$0] == ":" }
                if rng.below(2) == 0, let start = digits.isEmpty ? nil : rng.pick(digits) {
                    var end = start
                    while end < s.count, s[end].isNumber || ".eE+-".contains(s[end]) { end += 1 }
                    s.replaceSubrange(start..<end, with: rng.pick(numbers))
                } else if let colon = quotes.isEmpty ? nil : rng.pick(quotes),
                          let open = s[colon...].firstIndex(of: "\""), let close = s[(open + 1)...].firstIndex(of: "\"") {
                    s.replaceSubrange(open...close, with: rng.pick(strings))
                }
            case 2: s.removeSubrange(i..<min(s.count, i + 1 + rng.below(10)))
            case 3: s.insert(rng.pick(Array("{}[],:\"0123456789.-eE \n\\")), at: i)
            case 4:
                let lines = String(s).split(separator: "\n", omittingEmptySubsequences: false)
                let k = rng.below(lines.count)
                s = Array((lines[..<k] + [lines[k]] + lines[k...]).joined(separator: "\n"))
            default: s.removeSubrange(i...)
            }
        }
        return String(s)
    }

    static func mutate(trace text: String, _ rng: inout SplitMix) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for _ in 0..<(1 + rng.below(3)) {
            let k = rng.below(lines.count)
            switch rng.below(5) {
            case 0, 1:
                var f = lines[k].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                if !f.isEmpty { f[rng.below(f.count)] = rng.pick(fields) }
                lines[k] = f.joined(separator: ",")
            case 2: lines.swapAt(k, rng.below(lines.count))
            case 3: lines[k].insert(rng.pick(Array(",\"x0 -")), at: lines[k].index(lines[k].startIndex, offsetBy: rng.below(lines[k].count + 1)))
            default: lines = Array(lines[..<max(1, k)])
            }
        }
        return lines.joined(separator: "\n")
    }

    /// The head of a shipped trace, small enough to replay in a moment.
    static func head(_ name: String, lines: Int = 60) -> String {
        let text = (try? String(contentsOf: repoRoot.appendingPathComponent("scenarios/data/" + name), encoding: .utf8)) ?? ""
        return text.split(separator: "\n", omittingEmptySubsequences: false).prefix(lines).joined(separator: "\n") + "\n"
    }

    @Test(arguments: 0..<batches)
    func mutatedInputsEndInStatus0Or2(batch: Int) throws {
        let dir = tempDir()
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("data"), withIntermediateDirectories: true)
        let traces = ["azure_conv_2023.csv": Self.head("azure_conv_2023.csv"), "sharegpt_lengths_5k.csv": Self.head("sharegpt_lengths_5k.csv")]
        for (name, text) in traces { try text.write(to: dir.appendingPathComponent("data/" + name), atomically: false, encoding: .utf8) }
        let replay = #"{"name": "replay", "instances": [{"gpu": "A100-80GB", "model": "Llama-2-7B", "count": 2}],"#
            + #" "workload": {"arrivals": {"process": "trace", "path": "t.csv"}}}"#
        try replay.write(to: dir.appendingPathComponent("replay.json"), atomically: false, encoding: .utf8)
        var failures: [String] = []
        var statuses: [Int32: Int] = [:]
        for i in 0..<Self.runsPerBatch {
            let seed = UInt64(batch * Self.runsPerBatch + i)
            var rng = SplitMix(state: seed)
            let scenario: String
            if i % 2 == 0 {
                scenario = "m\(i).json"
                try Self.mutate(json: rng.pick(Self.scenarios), &rng)
                    .write(to: dir.appendingPathComponent(scenario), atomically: false, encoding: .utf8)
            } else {
                scenario = "replay.json"
                let base = rng.below(2) == 0 ? traces["azure_conv_2023.csv"]! : traceRows(goodRows)
                try Self.mutate(trace: base, &rng).write(to: dir.appendingPathComponent("t.csv"), atomically: false, encoding: .utf8)
            }
            let r = try runSimrun([scenario, "--out", "o\(i)", "--set", "run.max_events=5000"], cwd: dir, timeout: 60)
            statuses[r.status, default: 0] += 1
            let oneLine = r.stderr.hasPrefix("error: ") && r.stderr.split(separator: "\n").count == 1
            if r.signalled || !(r.status == 0 || (r.status == 2 && oneLine)) {
                failures.append("seed \(seed): \(r.signalled ? "signal \(r.status)" : "status \(r.status)"): \(r.stderr.prefix(300))")
            }
        }
        print("fuzz batch \(batch): \(Self.runsPerBatch) runs, exit statuses \(statuses.sorted { $0.key < $1.key })")
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }
}
