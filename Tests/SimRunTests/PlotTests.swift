import Foundation
import Testing
@testable import Experiments

@Suite("Plots")
struct PlotTests {
    @Test func aCDFRisesToOne() {
        let points = Plots.cdf((0..<1000).map { Double(($0 * 7919) % 1000) })
        #expect(points.count <= 402 && points.last?.y == 1)
        #expect(zip(points, points.dropFirst()).allSatisfy { $0.x <= $1.x && $0.y <= $1.y })
    }

    @Test func ticksAreRoundAndCoverTheRange() {
        #expect(SVGChart.ticks(0, 1300) == [0, 500, 1000])
        #expect(SVGChart.ticks(0.1, 0.9).first! >= 0.1 && SVGChart.ticks(0.1, 0.9).count >= 4)
    }

    @Test func aRunAndASweepGiveTheirCharts() throws {
        let dir = tempDir()
        let scenario = try writeScenario(smallScenario, in: dir)
        #expect(try runSimrun([scenario, "--out", dir.appendingPathComponent("run").path], cwd: dir).status == 0)
        let run = try runSimrun(["plot", dir.appendingPathComponent("run").path], cwd: dir)
        #expect(run.status == 0, "\(run.stderr)")
        let ttft = try String(contentsOf: dir.appendingPathComponent("run/ttft-cdf.svg"), encoding: .utf8)
        #expect(ttft.hasPrefix(SVGChart.signature + "<svg") && ttft.components(separatedBy: "class=\"series\"").count == 2)

        let sweep = dir.appendingPathComponent("s.json")
        try """
            {"name": "p", "scenario": "\(scenario)", "grid": {"router": ["round_robin", "least_outstanding_tokens"],
             "workload.arrivals.rate": [2, 8]}, "zip": {"workload.num_requests": [60]}}
            """.write(to: sweep, atomically: true, encoding: .utf8)
        let db = dir.appendingPathComponent("p.sqlite").path
        #expect(try runSimrun(["sweep", sweep.path, "--db", db], cwd: dir).status == 0)
        let plot = try runSimrun(["plot", db, "--x", "workload.arrivals.rate", "--series", "router", "--y", "e2el.median_ms",
                                  "--out", dir.appendingPathComponent("plots").path], cwd: dir)
        #expect(plot.status == 0, "\(plot.stderr)")
        let svg = try String(contentsOf: dir.appendingPathComponent("plots/p-e2el_median_ms-vs-workload_arrivals_rate.svg"),
                             encoding: .utf8)
        #expect(svg.components(separatedBy: "class=\"series\"").count == 3)
        #expect(svg.contains("router = round_robin") && svg.contains("router = least_outstanding_tokens"))

        for (args, mention) in [(["plot", db], "--x"), (["plot", db, "--x", "workload.arrivals.rate", "--y", "nope"], "nope"),
                                (["plot", "missing-folder"], "missing-folder")] {
            let bad = try runSimrun(args, cwd: dir)
            #expect(bad.status == 2 && bad.stderr.contains(mention) && bad.stderr.split(separator: "\n").count == 1,
                    "\(bad.stderr)")
        }
    }
}
