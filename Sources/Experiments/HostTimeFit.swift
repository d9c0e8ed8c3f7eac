import Foundation
import HardwareModels
import SimCore

/// Fits an engine profile's host time (fixed per step, and per scheduled
/// sequence) to measured serving runs: the two numbers that minimise the mean
/// |log(predicted / measured)| of TPOT, found on a grid and refined by a Nelder–Mead
/// simplex, within physical bounds. Deterministic: the same runs give
/// the same numbers.
public enum HostTimeFit {
    public struct Parameters: Equatable, Sendable {
        public var fixedMs: Double
        public var perSequenceUs: Double
    }

    static let fixedRange = 0.0...20.0
    static let perSequenceRange = 0.0...200.0

    /// The engine profile each measured backend is modelled with.
    public static let engines = ["vllm": "vllm-v1", "sglang": "sglang", "trtllm": "trtllm"]

    public static func overrides(_ run: MeasuredRun, _ p: Parameters?) -> [JSONValue.Member] {
        var members: [JSONValue.Member] = [.init("engine", .string(run.engine ?? engines[run.backend] ?? EngineCatalog.defaultName))]
        if let p {
            members.append(.init("engine_overrides", .object([
                .init("host_fixed_ms", .number(p.fixedMs.description)),
                .init("host_per_sequence_us", .number(p.perSequenceUs.description)),
            ])))
        }
        return members
    }

    /// Mean |log(predicted/measured)| of TPOT with these parameters.
    static func loss(_ runs: [MeasuredRun], _ p: Parameters) throws -> Double {
        let rows = try RunsCheck.simulate(runs) { overrides($0, p) }
        let logs = rows.map { abs(log($0.predicted.tpotMs / $0.run.tpotMs)) }.filter(\.isFinite)
        return logs.isEmpty ? .infinity : logs.reduce(0, +) / Double(logs.count)
    }

    public static func fit(_ runs: [MeasuredRun]) throws -> Parameters {
        var best = Parameters(fixedMs: 0, perSequenceUs: 0)
        var bestLoss = Double.infinity
        for f in [0.0, 1, 2, 4, 8] {
            for s in [0.0, 10, 30, 80] {
                let p = Parameters(fixedMs: f, perSequenceUs: s)
                let l = try loss(runs, p)
                if l < bestLoss { best = p; bestLoss = l }
            }
        }
        // Nelder–Mead from the grid's best: the two numbers trade off along a ridge
        // (more fixed time, less per sequence), which one-at-a-time searches crawl along.
        func clamp(_ x: [Double]) -> [Double] {
            [min(max(x[0], fixedRange.lowerBound), fixedRange.upperBound),
             min(max(x[1], perSequenceRange.lowerBound), perSequenceRange.upperBound)]
        }
        func f(_ x: [Double]) throws -> Double { try loss(runs, Parameters(fixedMs: x[0], perSequenceUs: x[1])) }
        var simplex = [[best.fixedMs, best.perSequenceUs], clamp([best.fixedMs + 0.5, best.perSequenceUs]),
                       clamp([best.fixedMs, best.perSequenceUs + 10])]
        var values = try simplex.map(f)
        for _ in 0..<30 {
            let order = values.indices.sorted { values[$0] < values[$1] }
            simplex = order.map { simplex[$0] }
            values = order.map { values[$0] }
            let centroid = [(simplex[0][0] + simplex[1][0]) / 2, (simplex[0][1] + simplex[1][1]) / 2]
            func toward(_ t: Double) -> [Double] {
                clamp([centroid[0] + t * (simplex[2][0] - centroid[0]), centroid[1] + t * (simplex[2][1] - centroid[1])])
            }
            let reflected = toward(-1), fr = try f(reflected)
            if fr < values[0] {
                let expanded = toward(-2), fe = try f(expanded)
                (simplex[2], values[2]) = fe < fr ? (expanded, fe) : (reflected, fr)
            } else if fr < values[1] {
                (simplex[2], values[2]) = (reflected, fr)
            } else {
                let contracted = toward(0.5), fc = try f(contracted)
                if fc < values[2] {
                    (simplex[2], values[2]) = (contracted, fc)
                } else {
                    for i in 1...2 {
                        simplex[i] = [(simplex[0][0] + simplex[i][0]) / 2, (simplex[0][1] + simplex[i][1]) / 2]
                        values[i] = try f(simplex[i])
                    }
                }
            }
        }
        let i = values.indices.min { values[$0] < values[$1] }!
        best = Parameters(fixedMs: simplex[i][0], perSequenceUs: simplex[i][1])
        // Rounded to what the data can tell apart.
        return Parameters(fixedMs: (best.fixedMs * 100).rounded() / 100, perSequenceUs: best.perSequenceUs.rounded())
    }

    /// Leave one deployment out: each deployment's runs (one engine, GPU and model, every TP)
    /// predicted with parameters fitted on the other deployments of the same engine.
    public static func heldOut(_ runs: [MeasuredRun]) throws -> (rows: [RunsCheck.Row], fits: [String: Parameters]) {
        var rows: [RunsCheck.Row] = []
        var fits: [String: Parameters] = [:]
        for backend in Set(runs.map(\.backend)).sorted() {
            let mine = runs.filter { $0.backend == backend }
            let deployments = Set(mine.map(\.deployment)).sorted()
            guard deployments.count > 1 else { continue }
            for d in deployments {
                let p = try fit(mine.filter { $0.deployment != d })
                fits[d] = p
                rows += try RunsCheck.simulate(mine.filter { $0.deployment == d }) { overrides($0, p) }
            }
        }
        return (rows, fits)
    }
}
