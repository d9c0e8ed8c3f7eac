import Foundation
import SimCore
import Testing
import Workloads
@testable import Experiments

@Suite("Goodput search")
struct GoodputTests {
    /// Attainment that falls from 100% to 0 at a threshold rate.
    private func step(at threshold: Double, log: Locked<[Double]>) -> @Sendable (Double) throws -> GoodputSearch.Probe {
        { rate in
            log.update { $0.append(rate) }
            return GoodputSearch.Probe(rate: rate, attainment: rate < threshold ? 1 : 0, ttft: nil, tpot: nil, arrived: 1, completed: 1)
        }
    }

    /// From a start of 1 req/s, a threshold of 37.3: the bracket goes up by 8s (1, 2, 4; 8, 16, 32; 64 fails),
    /// then narrows in quarters until it is within 2% of its upper end, its lower end only rising and its
    /// upper end only falling; the same probes come out twice.
    @Test func bisectionBracketsTheThresholdWithinItsTolerance() throws {
        let log = Locked<[Double]>([])
        let a = try GoodputSearch.find(start: 1, target: 0.9, tolerance: 0.02, maxRate: 1e4, probe: step(at: 37.3, log: log))
        #expect(a.goodput < 37.3 && a.failing >= 37.3 && a.failing - a.goodput <= 0.02 * a.failing)
        let bracketing: Set<Double> = [1, 2, 4, 8, 16, 32, 64, 128, 256]
        #expect(Set(log.value).isSuperset(of: bracketing) && log.value.count == Set(log.value).count)
        #expect(log.value.filter { !bracketing.contains($0) }.allSatisfy { $0 > 32 && $0 < 64 })
        let b = try GoodputSearch.find(start: 1, target: 0.9, tolerance: 0.02, maxRate: 1e4, probe: step(at: 37.3, log: Locked([])))
        #expect(a.probes == b.probes && a.goodput == b.goodput)
        // Every probe at or below the result met the target; every one at or above the failing end missed it.
        #expect(a.probes.allSatisfy { ($0.rate <= a.goodput) == ($0.attainment >= 0.9) })
    }

    /// A threshold below the start: the search steps down by 8s; none met: goodput 0.
    @Test func aStartAboveTheThresholdSearchesDownAndNothingMeansZero() throws {
        let below = try GoodputSearch.find(start: 100, target: 0.9, tolerance: 0.05, maxRate: 1e4, probe: step(at: 3, log: Locked([])))
        #expect(below.goodput < 3 && below.failing >= 3 && below.failing - below.goodput <= 0.05 * below.failing)
        let never = try GoodputSearch.find(start: 1, target: 0.9, tolerance: 0.05, maxRate: 1e4, probe: step(at: 0, log: Locked([])))
        #expect(never.goodput == 0)
        let always = try GoodputSearch.find(start: 1, target: 0.9, tolerance: 0.05, maxRate: 100, probe: step(at: 1e9, log: Locked([])))
        #expect(always.reachedMax && always.goodput == 64)
    }

    /// Through the executable on a small scenario: the same report twice, a goodput between probes
    /// that met and missed the target, and the probe table as CSV.
    @Test func theCommandIsDeterministic() throws {
        let dir = tempDir()
        let scenario = try writeScenario(smallScenario.replacingOccurrences(of: #""num_requests": 300"#, with: #""num_requests": 150"#),
                                         in: dir)
        let a = try runSimrun(["goodput", scenario, "--tolerance", "0.1", "--out", "p.csv"], cwd: dir)
        let b = try runSimrun(["goodput", scenario, "--tolerance", "0.1", "--out", "p.csv"], cwd: dir)
        #expect(a.status == 0 && a.stdout == b.stdout, "\(a.stderr)")
        #expect(a.stdout.contains("goodput: ") && a.stdout.contains("per GPU over 2 GPUs"))
        let csv = try String(contentsOfFile: dir.appendingPathComponent("p.csv").path, encoding: .utf8)
        #expect(csv.hasPrefix(GoodputSearch.Probe.header + "\n") && csv.contains(",1\n") && csv.contains(",0\n"))
    }

    /// A trace's goodput is a rate scale: the Azure conversation trace (first 400 requests) on one instance.
    @Test func aTraceVariesItsRateScale() throws {
        let dir = tempDir()
        let trace = repoRoot.appendingPathComponent("scenarios/data/azure_conv_2023.csv").path
        let scenario = try writeScenario("""
            {"name": "t", "instances": [{"gpu": "A100-80GB", "model": "Llama-2-7B"}],
             "workload": {"arrivals": {"process": "trace", "path": "\(trace)"}, "num_requests": 400},
             "slo": {"ttft_s": 1, "tpot_s": 0.1}, "run": {"sample_interval_s": 0}}
            """, in: dir)
        let r = try runSimrun(["goodput", scenario, "--tolerance", "0.1"], cwd: dir)
        #expect(r.status == 0 && r.stdout.contains("    scale  attainment") && r.stdout.contains("× the trace's rate at ≥ 90%"),
                "\(r.stderr)")
        // A search over a trace varies its rate_scale too, and reports req/s: the scale × the trace's mean rate.
        try #"{"scenario": "scenario.json", "gpus": [{"gpu": "A100-80GB", "count": 1}], "tp": [1], "layouts": ["colocated"], "tolerance": 0.1}"#
            .write(to: dir.appendingPathComponent("s.json"), atomically: true, encoding: .utf8)
        let found = try runSimrun(["search", "s.json", "--out", "found"], cwd: dir)
        #expect(found.status == 0, "\(found.stderr)")
        let row = try String(contentsOfFile: dir.appendingPathComponent("found/search.csv").path, encoding: .utf8)
            .split(separator: "\n")[1].split(separator: ",", omittingEmptySubsequences: false)
        let goodput = try #require(Double(row[5]))
        let best = try JSONValue.read(file: dir.appendingPathComponent("found/best.json").path, what: "best")
        let scale = try #require(best["workload"]?["arrivals"]?["rate_scale"]?.double)
        let times = try TraceReader(path: trace, format: nil).readAll().compactMap(\.timestamp)
        let meanRate = Double(times.count - 1) / (times.max()! - times.min()!)
        #expect(goodput > 0 && abs(goodput - scale * meanRate) < 1e-6 * goodput, "\(goodput) vs \(scale) × \(meanRate)")
    }
}

@Suite("Placement search")
struct SearchTests {
    /// Two A100s for Llama-2-7B: colocated TP1 × 2 and TP2 × 1, prefill TP1 + decode TP1, and Algorithm 1's
    /// placement for 4 req/s (which may exceed the budget: it is sized by the rate). Llama-2-70B
    /// at TP1 does not fit and is skipped, not fatal; the ranking follows goodput per GPU, and the winner is
    /// written as a scenario that runs.
    @Test func searchRanksEveryLayoutAndSkipsWhatDoesNotFit() throws {
        let dir = tempDir()
        _ = try writeScenario(smallScenario.replacingOccurrences(of: #""num_requests": 300"#, with: #""num_requests": 120"#), in: dir)
        try #"{"scenario": "scenario.json", "gpus": [{"gpu": "A100-80GB", "count": 2}], "tp": [1, 2], "tolerance": 0.1, "target_rate": 4}"#
            .write(to: dir.appendingPathComponent("s.json"), atomically: true, encoding: .utf8)
        let r = try runSimrun(["search", "s.json", "--out", "found"], cwd: dir)
        #expect(r.status == 0, "\(r.stderr)")
        let csv = try String(contentsOfFile: dir.appendingPathComponent("found/search.csv").path, encoding: .utf8)
        let rows = csv.split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        #expect(rows.count == 4)
        // Algorithm 1: the best prefill and decode shapes measured alone, replicated for 4 req/s, measured whole.
        #expect(rows.contains { $0[3].contains("(Algorithm 1 for 4 req/s; prefill alone ") && Double($0[5])! > 0 })
        let perGPU = rows.map { Double($0[6])! }
        #expect(perGPU == perGPU.sorted(by: >) && perGPU.allSatisfy { $0 > 0 })
        #expect(rows.contains { $0[3] == "prefill 1 × TP1 + decode 1 × TP1" } && rows.contains { $0[3] == "colocated 1 × TP2" })
        let best = dir.appendingPathComponent("found/best.json").path
        #expect(try runSimrun(["run", best, "--out", "best-run"], cwd: dir).status == 0)
        // The same search twice: the same table.
        let again = try runSimrun(["search", "s.json", "--out", "found"], cwd: dir)
        #expect(again.stdout == r.stdout)

        // Algorithm 2: with PP2 on 4 GPUs, one prefill and one decode pipeline sharing each stage's server.
        try #"{"scenario": "scenario.json", "gpus": [{"gpu": "A100-80GB", "count": 4}], "tp": [1], "pp": [2], "layouts": ["disaggregated", "stage_per_server"], "tolerance": 0.2}"#
            .write(to: dir.appendingPathComponent("s.json"), atomically: true, encoding: .utf8)
        let low = try runSimrun(["search", "s.json", "--out", "low"], cwd: dir)
        #expect(low.status == 0, "\(low.stderr)")
        let lowRows = try String(contentsOfFile: dir.appendingPathComponent("low/search.csv").path, encoding: .utf8)
            .split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        #expect(lowRows.count == 2 && lowRows.contains { $0[3].contains("(Algorithm 2: stage k of both on server k)") && Double($0[5])! > 0 })

        // Priced: an H100 at 100 times an A100's price ranks second though it serves more per GPU.
        try #"{"scenario": "scenario.json", "gpus": [{"gpu": "H100-SXM-80GB", "count": 1, "price_per_hour": 100}, {"gpu": "A100-80GB", "count": 1, "price_per_hour": 1}], "tp": [1], "layouts": ["colocated"], "tolerance": 0.1}"#
            .write(to: dir.appendingPathComponent("s.json"), atomically: true, encoding: .utf8)
        let priced = try runSimrun(["search", "s.json", "--out", "priced"], cwd: dir)
        #expect(priced.status == 0, "\(priced.stderr)")
        let pricedRows = try String(contentsOfFile: dir.appendingPathComponent("priced/search.csv").path, encoding: .utf8)
            .split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        #expect(pricedRows.map { String($0[2]) } == ["A100-80GB", "H100-SXM-80GB"])
        #expect(Double(pricedRows[0][8])! < Double(pricedRows[1][8])! && Double(pricedRows[0][6])! < Double(pricedRows[1][6])!)

        let big = smallScenario.replacingOccurrences(of: #""model": "Llama-2-7B""#, with: #""model": "Llama-2-70B""#)
        _ = try writeScenario(big.replacingOccurrences(of: #""num_requests": 300"#, with: #""num_requests": 60"#), in: dir)
        try #"{"scenario": "scenario.json", "gpus": [{"gpu": "A100-80GB", "count": 2}], "tp": [1, 2], "layouts": ["colocated"], "tolerance": 0.2}"#
            .write(to: dir.appendingPathComponent("s.json"), atomically: true, encoding: .utf8)
        let skipped = try runSimrun(["search", "s.json", "--out", "found70"], cwd: dir)
        #expect(skipped.status == 0, "\(skipped.stderr)")
        let table = try String(contentsOfFile: dir.appendingPathComponent("found70/search.csv").path, encoding: .utf8)
        #expect(table.contains("colocated 2 × TP1") && table.contains("skipped: ") && table.contains("does not fit"))
    }
}
