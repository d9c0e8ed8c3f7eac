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
        #expect(SVGChart.logTicks(3, 4000) == [1, 10, 100, 1000, 10000])
        #expect(SVGChart.logTicks(20, 900) == [10, 20, 50, 100, 200, 500, 1000, 2000, 5000])
    }

    @Test func axesNameTheirUnits() {
        #expect(Plots.axisLabel("ttft.p99_ms") == "TTFT p99 (ms)" && Plots.axisLabel("e2el.median_ms") == "E2E latency p50 (ms)")
        #expect(Plots.axisLabel("workload.arrivals.rate") == "workload.arrivals.rate (req/s)")
        #expect(Plots.axisLabel("slo.attainment") == "slo.attainment (share of requests)")
        #expect(Plots.axisLabel("output_throughput") == "output_throughput (tok/s)" && Plots.axisLabel("instances[0].tp") == "instances[0].tp (GPUs)")
    }

    /// A chart's axes turn logarithmic when the data span two decades, a legend label of any length
    /// stays on the canvas, and bands, error bars and SLO lines are drawn where asked.
    @Test func chartsFitTheirLegendAndChooseTheirAxes() throws {
        let long = String(repeating: "policy = a-very-long-policy-name, ", count: 3)
        var chart = SVGChart(title: "t", xLabel: "x (ms)", yLabel: "y", series: [
            .init(name: long, points: [.init(x: 1, y: 1, low: 0.5, high: 1.5), .init(x: 1000, y: 2, low: 1, high: 3)], color: 0),
            .init(name: "b", points: [.init(x: 10, y: 1), .init(x: 100, y: 3)], color: 1, dash: 1),
        ])
        chart.thresholds = [.init(.x, 500, "SLO")]
        let svg = chart.render()
        let width = try #require(Double(svg.split(separator: "width=\"")[1].prefix { $0 != "\"" }))
        let legendX = try #require(Double(svg.split(separator: "class=\"legend\" x=\"")[1].prefix { $0 != "\"" }))
        #expect(legendX + Double(long.count) * 6.5 <= width, "the legend leaves the canvas")
        #expect(svg.contains("x (ms), log scale") && !svg.contains("y, log scale"))
        #expect(svg.contains("class=\"band\"") && svg.contains("class=\"threshold\"") && svg.contains("stroke-dasharray=\"7,4\""))
        chart.xScale = .linear
        #expect(!chart.render().contains("log scale"))
        chart.categories = ["a", "b"]
        chart.series = [.init(name: "c", points: [.init(x: 0, y: 1, low: 0, high: 2), .init(x: 1, y: 2)], color: 0)]
        let categorical = chart.render()
        #expect(categorical.contains("class=\"errorbar\"") && categorical.contains(">a</text>") && !categorical.contains("<polyline"))
    }

    /// A run that ended before any request finished or any sample was taken still draws, with log axes
    /// asked for: a log axis over no data stays linear rather than crashing.
    @Test func aRunWithNothingFinishedDrawsOnLogAxes() throws {
        let dir = tempDir()
        let scenario = try writeScenario(#"{"name": "e", "instances": [{"gpu": "A100-80GB", "model": "Llama-2-7B"}], "#
            + #""workload": {"arrivals": {"process": "poisson", "rate": 1}, "lengths": {"prompt": {"dist": "fixed", "value": 100}, "#
            + #""output": {"dist": "fixed", "value": 10}}, "num_requests": 5}, "run": {"horizon_s": 0.0001}}"#, in: dir)
        #expect(try runSimrun([scenario, "--out", "r"], cwd: dir).status == 0)
        let plot = try runSimrun(["plot", "r", "--log-x", "--log-y", "--out", "f"], cwd: dir)
        #expect(plot.status == 0, "\(plot.stderr)")
        let svg = try String(contentsOf: dir.appendingPathComponent("f/ttft-cdf.svg"), encoding: .utf8)
        #expect(svg.hasPrefix(SVGChart.signature) && !svg.contains("log scale"))
    }

    /// Every kind of figure from small runs and a small sweep, each the same bytes when drawn again.
    @Test func everyKindOfFigureIsDrawnTheSameTwice() throws {
        let dir = tempDir()
        let scenario = try writeScenario(smallScenario, in: dir)
        for (name, rate) in [("light", "2"), ("heavy", "12")] {
            #expect(try runSimrun([scenario, "--set", "workload.arrivals.rate=\(rate)", "--out", dir.appendingPathComponent(name).path],
                                  cwd: dir).status == 0)
        }
        let runFigures = ["ttft-cdf.svg", "tpot-cdf.svg", "e2el-cdf.svg", "queue-over-time.svg", "kv-over-time.svg", "instances-over-time.svg"]
        let sweep = dir.appendingPathComponent("s.json")
        try """
            {"name": "p", "scenario": "\(scenario)", "grid": {"router": ["round_robin", "least_outstanding_tokens"],
             "scheduler.policy": ["fcfs", "conservative"], "workload.arrivals.rate": [2, 8]},
             "zip": {"workload.num_requests": [60], "instances[0].max_num_seqs": [64]}, "repetitions": 2}
            """.write(to: sweep, atomically: true, encoding: .utf8)
        let db = dir.appendingPathComponent("p.sqlite").path
        #expect(try runSimrun(["sweep", sweep.path, "--db", db], cwd: dir).status == 0)
        let sweepFigures = ["p-e2el_median_ms-vs-workload_arrivals_rate.svg", "p-tpot_mean_ms-vs-router.svg"]

        func draw(into out: String) throws -> [String: String] {
            let runs = try runSimrun(["plot", "light", "heavy", "--out", out], cwd: dir)
            let numeric = try runSimrun(["plot", db, "--x", "workload.arrivals.rate", "--series", "router", "--style", "scheduler.policy",
                                         "--y", "e2el.median_ms", "--out", out], cwd: dir)
            let categorical = try runSimrun(["plot", db, "--x", "router", "--series", "scheduler.policy", "--y", "tpot.mean_ms", "--out", out],
                                            cwd: dir)
            for r in [runs, numeric, categorical] { #expect(r.status == 0, "\(r.stderr)") }
            return try Dictionary(uniqueKeysWithValues: (runFigures + sweepFigures).map {
                ($0, try String(contentsOf: dir.appendingPathComponent("\(out)/\($0)"), encoding: .utf8))
            })
        }
        let first = try draw(into: "a"), second = try draw(into: "b")
        #expect(first == second)
        #expect(try draw(into: "a") == first, "redrawing over simrun's own figures")
        for (file, svg) in first {
            #expect(svg.hasPrefix(SVGChart.signature + "<svg"), "\(file)")
        }
        // Two runs overlaid, with the SLO the scenario sets; the sweep's lines by colour and dash, with bands.
        #expect(first["ttft-cdf.svg"]!.components(separatedBy: "class=\"series\"").count == 3)
        #expect(first["ttft-cdf.svg"]!.contains("SLO TTFT 500 ms") && first["ttft-cdf.svg"]!.contains("TTFT (ms)"))
        #expect(first["queue-over-time.svg"]!.contains("heavy, running (batch)") && first["queue-over-time.svg"]!.contains("simulated time (s)"))
        let numeric = first[sweepFigures[0]]!
        #expect(numeric.components(separatedBy: "class=\"series\"").count == 5 && numeric.contains("class=\"band\""))
        #expect(numeric.contains("router = round_robin, policy = conservative") && numeric.contains("stroke-dasharray"))
        #expect(numeric.contains("E2E latency p50 (ms)") && numeric.contains("(req/s)"))
        #expect(first[sweepFigures[1]]!.contains("class=\"errorbar\"") && first[sweepFigures[1]]!.contains(">round_robin</text>"))
        // A field of an instance group, by the path syntax of --set and sweeps.
        let byGroupField = try runSimrun(["plot", db, "--x", "workload.arrivals.rate", "--series", "instances[0].max_num_seqs",
                                          "--y", "slo.attainment", "--out", "c"], cwd: dir)
        #expect(byGroupField.status == 0, "\(byGroupField.stderr)")
        let svg = try String(contentsOf: dir.appendingPathComponent("c/p-slo_attainment-vs-workload_arrivals_rate.svg"), encoding: .utf8)
        #expect(svg.contains("max_num_seqs = 64") && svg.contains("slo.attainment (share of requests)"))

        for (args, mention) in [(["plot", db], "--x"), (["plot", db, "--x", "workload.arrivals.rate", "--y", "nope"], "nope"),
                                (["plot", "missing-folder"], "missing-folder"), (["plot", "light", db], "p.sqlite"),
                                (["plot", db, "light"], "light")] {
            let bad = try runSimrun(args, cwd: dir)
            #expect(bad.status == 2 && bad.stderr.contains(mention) && bad.stderr.split(separator: "\n").count == 1,
                    "\(bad.stderr)")
        }
    }
}
