import ArgumentParser
import Dispatch
import Experiments
import Foundation
import SimCore

/// `simrun goodput`: DistServe's goodput of a scenario, the highest request rate at which at
/// least a target share of requests meets every SLO the scenario sets, and per GPU.
struct Goodput: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Find the highest rate at which the target share of requests meets every SLO (DistServe's goodput).",
        discussion: """
            Each probe is a full simulation of the scenario at one rate, with its seed: the result is the same on \
            any machine. Probes run three at a time on all cores. Attainment is the share of arrived requests that \
            finished and met every SLO in `slo` (summary.json's slo.attainment). A Poisson or gamma workload varies \
            workload.arrivals.rate; a trace varies workload.arrivals.rate_scale (the trace replayed that many times \
            as fast), and the result is a scale.
            """)

    @Argument(help: "The scenario JSON file (arrivals poisson, gamma or trace, and an slo).") var scenario: String
    @Option(help: "Target attainment, percent of requests meeting every SLO.") var attainment = 90.0
    @Option(help: "Stop when the bracket around the goodput is narrower than this share of its upper end.")
    var tolerance = 0.02
    @Option(help: "Give up looking above this rate (req/s).") var maxRate = 100_000.0
    @Option(help: "Write every probe (rate, attainments) to this CSV: new, or one simrun wrote.") var out: String?
    @Option(help: "Seed for every random stream, overriding the scenario's.") var seed: UInt64?
    @Option(name: .customLong("set"), help: "Override a scenario field: path=value (repeatable).")
    var overrides: [String] = []

    func run() throws {
        func fail(_ option: String, _ message: String) -> InputError { InputError(file: scenario, location: option, message) }
        guard attainment > 0, attainment <= 100 else { throw fail("--attainment", "expected a percentage in (0, 100], found \(attainment)") }
        guard tolerance > 0, tolerance < 1 else { throw fail("--tolerance", "expected a number in (0, 1), found \(tolerance)") }
        guard maxRate > 0, maxRate.isFinite else { throw fail("--max-rate", "expected a rate > 0, found \(maxRate)") }
        let plan = try SimulationPlan(scenarioPath: scenario, seed: seed, overrides: overrides)
        let (knob, start, unit) = try GoodputSearch.knob(scenario, overrides: overrides)
        guard !plan.slos.isEmpty else { throw fail("slo", "goodput needs at least one SLO (ttft_s, tpot_s, e2el_s or max_itl_s)") }
        if let out {
            try OutputFile.check(out, option: "--out", inputs: [scenario] + plan.inputFiles, kind: "goodput probe table") {
                $0.starts(with: Data((GoodputSearch.Probe.header + "\n").utf8))
            }
        }
        let tree = try ScenarioLoader.resolvedTree(scenario, overrides: overrides)
        let (file, seed) = (scenario, seed)
        let result = try GoodputSearch.find(start: start, target: attainment / 100, tolerance: tolerance, maxRate: maxRate) {
            try GoodputSearch.probe(tree, file: file, seed: seed, rate: $0, knob: knob)
        }
        let gpus = plan.specs.reduce(0) { $0 + $1.layout.gpus }
        print(knob.hasSuffix("scale") ? "    scale  attainment    ttft    tpot" : "     rate  attainment    ttft    tpot")
        for p in result.probes {
            func pct(_ v: Double?) -> String { v.map { String(format: "%6.1f%%", $0 * 100) } ?? "      –" }
            print(String(format: "%9.4g  %9.1f%%  ", p.rate, p.attainment * 100) + pct(p.ttft) + "  " + pct(p.tpot))
        }
        if result.reachedMax {
            print(String(format: "goodput: at least %.4g ", result.goodput) + unit
                  + String(format: " (every probe up to --max-rate met %.0f%%)", attainment))
        } else if knob.hasSuffix("scale") {
            print(String(format: "goodput: %.4g ", result.goodput) + unit
                  + String(format: " at ≥ %.0f%% attainment (bracket %.4g–%.4g) on %d GPUs", attainment, result.goodput, result.failing, gpus))
        } else {
            print(String(format: "goodput: %.4g req/s at ≥ %.0f%% attainment (bracket %.4g–%.4g), %.4g req/s per GPU over %d GPUs",
                         result.goodput, attainment, result.goodput, result.failing, result.goodput / Double(gpus), gpus))
        }
        if let out {
            try OutputFile.replace(out) { tmp in
                let csv = try CSVWriter(path: tmp, header: GoodputSearch.Probe.header.split(separator: ",").map(String.init))
                for p in result.probes {
                    csv.field(p.rate); csv.field(p.attainment)
                    if let t = p.ttft { csv.field(t) } else { csv.emptyField() }
                    if let t = p.tpot { csv.field(t) } else { csv.emptyField() }
                    csv.field(p.arrived); csv.field(p.completed); csv.field(p.attainment >= attainment / 100 ? 1 : 0)
                    csv.endRow()
                }
                try csv.close()
            }
            print("wrote \(result.probes.count) probes to \(out)")
        }
    }
}
