import ArgumentParser
import Dispatch
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
        let arrivals = try ScenarioLoader.load(scenario, overrides: overrides).workload.arrivals
        let knob: String, start: Double, unit: String
        switch arrivals.process {
        case "poisson", "gamma" where arrivals.stages == nil:
            guard let rate = arrivals.rate else { throw fail("workload.arrivals.rate", "goodput varies the rate: expected a rate") }
            (knob, start, unit) = ("workload.arrivals.rate", rate, "req/s")
        case "trace":
            (knob, start, unit) = ("workload.arrivals.rate_scale", arrivals.rate_scale ?? 1, "× the trace's rate")
        default:
            throw fail("workload.arrivals", "goodput varies the rate: expected process poisson or gamma (without stages) or trace")
        }
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

/// The goodput search: bracket the rate by factors of 8 (three probes a round: r, 2r, 4r),
/// then narrow the bracket in quarters (three probes a round) until it is narrower than the
/// tolerance. The lower end only rises and the upper end only falls; the probes of a round
/// are fixed before any runs, so the result does not depend on how many run at once.
enum GoodputSearch {
    struct Probe: Equatable, Sendable {
        static let header = "rate,attainment,ttft_attainment,tpot_attainment,requests_arrived,requests_completed,meets_target"
        let rate: Double
        let attainment: Double
        let ttft: Double?
        let tpot: Double?
        let arrived: Int
        let completed: Int
    }

    struct Outcome {
        /// The highest probed rate that met the target below every failing one (0 if none did).
        let goodput: Double
        /// The lowest probed rate that missed it (`goodput` when none did).
        let failing: Double
        /// Every probe, by rate.
        let probes: [Probe]
        /// Every probe met the target up to the rate limit.
        let reachedMax: Bool
    }

    static func find(start: Double, target: Double, tolerance: Double, maxRate: Double,
                     probe: @escaping @Sendable (Double) throws -> Probe) throws -> Outcome {
        var probes: [Probe] = []
        func meets(_ p: Probe) -> Bool { p.attainment >= target }
        /// Runs a round; returns its lowest failing rate (or `otherwise`) and the highest rate below that meeting the target.
        func round(_ rates: [Double], otherwise: Double) throws -> (fail: Double, meet: Double?) {
            let done = try runAll(rates, probe)
            probes += done
            let fail = done.first { !meets($0) }?.rate ?? otherwise
            return (fail, done.last { meets($0) && $0.rate < fail }?.rate)
        }
        func outcome(_ lo: Double, _ hi: Double, reachedMax: Bool = false) -> Outcome {
            Outcome(goodput: lo, failing: hi, probes: probes.sorted { $0.rate < $1.rate }, reachedMax: reachedMax)
        }
        // Up by factors of 8 until a probe misses the target.
        var r = min(start, maxRate), lo = 0.0, hi = Double.infinity
        while hi == .infinity {
            let rates = [r, 2 * r, 4 * r].filter { $0 <= maxRate }
            let (fail, meet) = try round(rates, otherwise: .infinity)
            if fail == .infinity {
                guard rates.count == 3, 8 * r <= maxRate else { return outcome(rates.last!, rates.last!, reachedMax: true) }
                lo = rates.last!
                r *= 8
            } else {
                hi = fail
                lo = meet ?? lo
            }
        }
        // Down by factors of 8 while even the lowest probe misses it.
        while lo == 0 {
            guard hi > 1e-6 else { return outcome(0, hi) }
            let (fail, meet) = try round([hi / 8, hi / 4, hi / 2], otherwise: hi)
            hi = fail
            lo = meet ?? 0
        }
        // Three probes at the quarters of the bracket each round.
        while hi - lo > tolerance * hi {
            let (fail, meet) = try round((1...3).map { lo + (hi - lo) * Double($0) / 4 }, otherwise: hi)
            hi = fail
            lo = meet ?? lo
        }
        return outcome(lo, hi)
    }

    /// One probe: the scenario with `knob` (the arrival rate, or a trace's rate scale) at `rate`, simulated once.
    static func probe(_ tree: JSONValue, file: String, seed: UInt64?, rate: Double,
                      knob: String = "workload.arrivals.rate") throws -> Probe {
        let atRate = try ScenarioLoader.resolved(tree, settings: ["\(knob)=\(rate)"], file: file)
        let s = try Runner.run(SimulationPlan(ScenarioLoader.decode(atRate, file: file), file: file, seedOverride: seed)).summary
        return Probe(rate: rate, attainment: s.slo?.attainment ?? 0, ttft: s.slo?.ttft_attainment, tpot: s.slo?.tpot_attainment,
                     arrived: s.requests_arrived, completed: s.requests_completed)
    }

    /// Runs the probes of one round at once (up to the cores), results in the order given.
    private static func runAll(_ rates: [Double], _ probe: @escaping @Sendable (Double) throws -> Probe) throws -> [Probe] {
        let results = Locked([Result<Probe, Error>?](repeating: nil, count: rates.count))
        DispatchQueue.concurrentPerform(iterations: rates.count) { i in
            let r = Result { try probe(rates[i]) }
            results.update { $0[i] = r }
        }
        return try results.value.map { try $0!.get() }
    }
}
