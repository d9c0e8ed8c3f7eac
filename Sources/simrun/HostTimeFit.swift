import Foundation
import HardwareModels
import SimCore

/// Fits an engine profile's host time (fixed per step, and per scheduled
/// sequence) to measured serving runs: the two numbers that minimise the mean
/// |log(predicted / measured)| of TPOT, found on a grid and refined by golden-
/// section search, each within physical bounds. Deterministic: the same runs give
/// the same numbers.
enum HostTimeFit {
    struct Parameters: Equatable, Sendable {
        var fixedMs: Double
        var perSequenceUs: Double
    }

    static let fixedRange = 0.0...20.0
    static let perSequenceRange = 0.0...200.0

    /// The engine profile each measured backend is modelled with.
    static let engines = ["vllm": "vllm-v1", "sglang": "sglang", "trtllm": "trtllm"]

    static func overrides(_ run: MeasuredRun, _ p: Parameters?) -> [JSONValue.Member] {
        var members: [JSONValue.Member] = [.init("engine", .string(engines[run.backend] ?? EngineCatalog.defaultName))]
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

    static func fit(_ runs: [MeasuredRun]) throws -> Parameters {
        var best = Parameters(fixedMs: 0, perSequenceUs: 0)
        var bestLoss = Double.infinity
        for f in [0.0, 1, 2, 3, 4, 6, 8, 12] {
            for s in [0.0, 10, 25, 50, 100] {
                let p = Parameters(fixedMs: f, perSequenceUs: s)
                let l = try loss(runs, p)
                if l < bestLoss { best = p; bestLoss = l }
            }
        }
        // Golden-section search along each parameter in turn, around the grid's best.
        for _ in 0..<2 {
            best.fixedMs = try golden(in: max(fixedRange.lowerBound, best.fixedMs - 1.5)...min(fixedRange.upperBound, best.fixedMs + 1.5)) {
                try loss(runs, Parameters(fixedMs: $0, perSequenceUs: best.perSequenceUs))
            }
            best.perSequenceUs = try golden(in: max(perSequenceRange.lowerBound, best.perSequenceUs - 15)...min(perSequenceRange.upperBound, best.perSequenceUs + 15)) {
                try loss(runs, Parameters(fixedMs: best.fixedMs, perSequenceUs: $0))
            }
        }
        // Rounded to what the data can tell apart.
        return Parameters(fixedMs: (best.fixedMs * 100).rounded() / 100, perSequenceUs: best.perSequenceUs.rounded())
    }

    private static func golden(in range: ClosedRange<Double>, _ f: (Double) throws -> Double) throws -> Double {
        let r = (5.0.squareRoot() - 1) / 2
        var a = range.lowerBound, b = range.upperBound
        var c = b - r * (b - a), d = a + r * (b - a)
        var fc = try f(c), fd = try f(d)
        for _ in 0..<10 {
            if fc < fd { b = d; d = c; fd = fc; c = b - r * (b - a); fc = try f(c) } else {
                a = c; c = d; fc = fd; d = a + r * (b - a); fd = try f(d)
            }
        }
        return (a + b) / 2
    }

    /// Leave one configuration out: each configuration's runs predicted with parameters
    /// fitted on the other configurations of the same backend.
    static func heldOut(_ runs: [MeasuredRun]) throws -> (rows: [RunsCheck.Row], fits: [String: Parameters]) {
        var rows: [RunsCheck.Row] = []
        var fits: [String: Parameters] = [:]
        for backend in Set(runs.map(\.backend)).sorted() {
            let mine = runs.filter { $0.backend == backend }
            let configurations = Set(mine.map(\.configuration)).sorted()
            guard configurations.count > 1 else { continue }
            for c in configurations {
                let p = try fit(mine.filter { $0.configuration != c })
                fits[c] = p
                rows += try RunsCheck.simulate(mine.filter { $0.configuration == c }) { overrides($0, p) }
            }
        }
        return (rows, fits)
    }
}
