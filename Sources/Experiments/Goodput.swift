import Dispatch
import Foundation
import SimCore

/// The goodput search: bracket the rate by factors of 8 (three probes a round: r, 2r, 4r),
/// then narrow the bracket in quarters (three probes a round) until it is narrower than the
/// tolerance. The lower end only rises and the upper end only falls; the probes of a round
/// are fixed before any runs, so the result does not depend on how many run at once.
public enum GoodputSearch {
    /// The field a goodput search varies for this scenario's arrivals, its starting value and its unit:
    /// the rate of a Poisson or gamma process, or the replay speed of a trace.
    public static func knob(_ scenario: String, overrides: [String]) throws -> (field: String, start: Double, unit: String) {
        func fail(_ field: String, _ message: String) -> InputError { InputError(file: scenario, location: field, message) }
        let arrivals = try ScenarioLoader.load(scenario, overrides: overrides).workload.arrivals
        switch arrivals.process {
        case "poisson" where arrivals.stages == nil, "gamma" where arrivals.stages == nil:
            guard let rate = arrivals.rate else { throw fail("workload.arrivals.rate", "goodput varies the rate: expected a rate") }
            return ("workload.arrivals.rate", rate, "req/s")
        case "trace":
            return ("workload.arrivals.rate_scale", arrivals.rate_scale ?? 1, "× the trace's rate")
        default:
            throw fail("workload.arrivals", "goodput varies the rate: expected process poisson or gamma (without stages) or trace")
        }
    }

    public struct Probe: Equatable, Sendable {
        public static let header = "rate,attainment,ttft_attainment,tpot_attainment,requests_arrived,requests_completed,meets_target"
        public let rate: Double
        public let attainment: Double
        public let ttft: Double?
        public let tpot: Double?
        public let arrived: Int
        public let completed: Int
    }

    public struct Outcome {
        /// The highest probed rate that met the target below every failing one (0 if none did).
        public let goodput: Double
        /// The lowest probed rate that missed it (`goodput` when none did).
        public let failing: Double
        /// Every probe, by rate.
        public let probes: [Probe]
        /// Every probe met the target up to the rate limit.
        public let reachedMax: Bool
    }

    public static func find(start: Double, target: Double, tolerance: Double, maxRate: Double,
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
    public static func probe(_ tree: JSONValue, file: String, seed: UInt64?, rate: Double,
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
