import Foundation
import SimCore
import Workloads

/// The workload section of a scenario, validated: how to make a run's request
/// source, which field sets its arrival gaps, and which files it reads.
struct WorkloadPlan {
    /// Per-request records stay in memory for exact percentiles; beyond this a run cannot finish on any machine we know.
    static let maxRequests = 100_000_000

    private(set) var makeSource: () throws -> RequestSource = { throw InputError(file: "", "no workload") }
    private(set) var arrivalField = ""
    /// Files the workload reads (traces, length tables), resolved.
    private(set) var files: [String] = []
    /// The replayed trace and its format, when the workload is one.
    private(set) var replay: (path: String, format: TraceFormat?)?
    /// The load stages of a ramp (empty: none).
    private(set) var stages: [LoadStage] = []
    private let fail: (String, String) -> InputError
    private let resolve: (String) -> String

    init(_ w: Scenario.WorkloadSection, seed: UInt64, fail: @escaping (String, String) -> InputError,
         resolve: @escaping (String) -> String) throws {
        self.fail = fail
        self.resolve = resolve
        let a = w.arrivals
        let count = w.num_requests
        if let count, !(1...Self.maxRequests).contains(count) {
            throw fail("workload.num_requests", "expected a whole number from 1 to \(Self.maxRequests), found \(count)")
        }
        if w.shared_prefix != nil, a.process != "poisson", a.process != "gamma" {
            throw fail("workload.shared_prefix", "shared prefixes need process poisson or gamma, found '\(a.process)'")
        }
        if let list = a.stages {
            guard a.process == "poisson" || a.process == "gamma" else {
                throw fail("workload.arrivals.stages", "stages need process poisson or gamma, found '\(a.process)'")
            }
            guard !list.isEmpty, list.count <= 10_000 else {
                throw fail("workload.arrivals.stages", "expected 1 to 10000 stages, found \(list.count)")
            }
            guard a.rate == nil else { throw fail("workload.arrivals.stages", "give either rate or stages, not both") }
            for (i, s) in list.enumerated() {
                guard s.rate.isFinite, s.rate > 0 else {
                    throw fail("workload.arrivals.stages[\(i)].rate", "expected a number > 0, found \(s.rate)")
                }
                guard s.duration_s.isFinite, s.duration_s > 0, s.duration_s <= 1e9 else {
                    throw fail("workload.arrivals.stages[\(i)].duration_s", "expected a number > 0 and at most 1e9, found \(s.duration_s)")
                }
            }
            stages = list.map { LoadStage(rate: $0.rate, duration: $0.duration_s) }
        }
        func rate() throws -> Double {
            if let first = stages.first { return first.rate }
            guard let r = a.rate else { throw fail("workload.arrivals.rate", "required field is missing") }
            guard r.isFinite, r > 0 else { throw fail("workload.arrivals.rate", "expected a number > 0, found \(r)") }
            return r
        }
        let process: ArrivalProcess
        switch a.process {
        case "poisson":
            process = .poisson(rate: try rate())
        case "gamma":
            guard let cv = a.cv else { throw fail("workload.arrivals.cv", "required field is missing") }
            guard cv.isFinite, cv > 0 else { throw fail("workload.arrivals.cv", "expected a number > 0, found \(cv)") }
            process = .gamma(rate: try rate(), cv: cv)
        case "closed_loop":
            guard let clients = a.clients else { throw fail("workload.arrivals.clients", "required field is missing") }
            guard (1...1_000_000).contains(clients) else {
                throw fail("workload.arrivals.clients", "expected a whole number from 1 to 1000000, found \(clients)")
            }
            let think = a.think_time_s ?? 0
            guard think.isFinite, think >= 0 else {
                throw fail("workload.arrivals.think_time_s", "expected a number ≥ 0, found \(think)")
            }
            guard let count else { throw fail("workload.num_requests", "required field is missing") }
            let lengths = try lengthModel(w.lengths)
            arrivalField = "workload.arrivals.think_time_s"
            replay = nil
            makeSource = { ClosedLoopSource(clients: clients, thinkTime: .seconds(think), lengths: lengths, count: count, seed: seed) }
            return
        case "trace":
            guard let p = a.path else { throw fail("workload.arrivals.path", "required field is missing") }
            var format: TraceFormat?
            if let f = a.format {
                guard let tf = TraceFormat(rawValue: f), tf != .lengthsCSV else {
                    throw fail("workload.arrivals.format", "expected azure, mooncake or arrived_at_csv, found '\(f)'")
                }
                format = tf
            }
            let scale = a.rate_scale ?? 1
            guard scale.isFinite, scale > 0 else {
                throw fail("workload.arrivals.rate_scale", "expected a number > 0, found \(scale)")
            }
            guard w.lengths == nil else {
                throw fail("workload.lengths", "a replayed trace supplies its own lengths; remove this field")
            }
            let path = try file(p, field: "workload.arrivals.path")
            guard try TraceReplaySource(reader: TraceReader(path: path, format: format)).next() != nil else {
                throw fail("workload.arrivals.path", "the trace '\(p)' has no data rows")
            }
            arrivalField = "workload.arrivals.rate_scale"
            replay = (path, format)
            makeSource = { try TraceReplaySource(reader: TraceReader(path: path, format: format), rateScale: scale,
                                                 limit: count ?? .max) }
            return
        default:
            throw fail("workload.arrivals.process", "expected poisson, gamma, trace or closed_loop, found '\(a.process)'")
        }
        guard let count = count ?? (stages.isEmpty ? nil : Self.maxRequests) else {
            throw fail("workload.num_requests", "required field is missing")
        }
        if let sp = w.shared_prefix {
            let at = "workload.shared_prefix"
            guard (1...1_000_000).contains(sp.groups) else { throw fail("\(at).groups", "expected 1 to 1000000, found \(sp.groups)") }
            guard (1...1_000_000).contains(sp.prompts_per_group), sp.groups * sp.prompts_per_group <= 100_000_000 else {
                throw fail("\(at).prompts_per_group", "expected 1 to 1000000, and groups × prompts_per_group ≤ 100000000")
            }
            guard (0...10_000_000).contains(sp.system_tokens) else {
                throw fail("\(at).system_tokens", "expected 0 to 10000000, found \(sp.system_tokens)")
            }
            guard (1...10_000_000).contains(sp.question_tokens) else {
                throw fail("\(at).question_tokens", "expected 1 to 10000000, found \(sp.question_tokens)")
            }
            let turns = sp.turns ?? 1
            guard (1...10_000).contains(turns) else { throw fail("\(at).turns", "expected 1 to 10000, found \(turns)") }
            guard w.lengths?.prompt == nil, w.lengths?.from_trace == nil else {
                throw fail("workload.lengths", "a shared-prefix workload sets the prompt; give only lengths.output")
            }
            guard let o = w.lengths?.output else { throw fail("workload.lengths.output", "required field is missing") }
            let output = try distribution(o, "workload.lengths.output")
            arrivalField = stages.isEmpty ? "workload.arrivals.rate" : "workload.arrivals.stages"
            replay = nil
            let ramp = stages
            makeSource = { SharedPrefixSource(arrivals: process, stages: ramp, groups: sp.groups, promptsPerGroup: sp.prompts_per_group,
                                              systemTokens: sp.system_tokens, questionTokens: sp.question_tokens, turns: turns,
                                              output: output,
                                              count: count, seed: seed) }
            return
        }
        let lengths = try lengthModel(w.lengths)
        arrivalField = stages.isEmpty ? "workload.arrivals.rate" : "workload.arrivals.stages"
        replay = nil
        let ramp = stages
        makeSource = { SyntheticSource(arrivals: process, stages: ramp, lengths: lengths, count: count, seed: seed) }
    }

    /// Resolves a file named in the scenario; a missing one is reported at the field that names it.
    private mutating func file(_ name: String, field: String) throws -> String {
        let path = resolve(name)
        switch FileSystem.kind(of: path) {
        case .missing: throw fail(field, "no such file '\(name)' (looked for \(path))")
        case .directory: throw fail(field, "'\(name)' is a folder; expected a trace or length file")
        default: break
        }
        files.append(path)
        return path
    }

    private mutating func lengthModel(_ lengths: Scenario.Lengths?) throws -> LengthModel {
        guard let l = lengths else { throw fail("workload.lengths", "required field is missing") }
        if let t = l.from_trace {
            guard l.prompt == nil, l.output == nil else {
                throw fail("workload.lengths", "give either from_trace or prompt and output, not both")
            }
            return .empirical(from: try TraceReader(path: file(t, field: "workload.lengths.from_trace")).readAll())
        }
        guard let p = l.prompt else { throw fail("workload.lengths.prompt", "required field is missing") }
        guard let o = l.output else { throw fail("workload.lengths.output", "required field is missing") }
        return .independent(prompt: try distribution(p, "workload.lengths.prompt"),
                            output: try distribution(o, "workload.lengths.output"))
    }

    private mutating func distribution(_ d: Scenario.Distribution, _ at: String) throws -> LengthDistribution {
        func required<T>(_ v: T?, _ field: String) throws -> T {
            guard let v else { throw fail("\(at).\(field)", "required field is missing for dist '\(d.dist)'") }
            return v
        }
        /// Lengths beyond ten million tokens exceed every model's context by far.
        func length(_ v: Int, _ field: String) throws -> Int {
            guard v >= 1, v <= 10_000_000 else {
                throw fail("\(at).\(field)", "expected a token count from 1 to 10000000, found \(v)")
            }
            return v
        }
        switch d.dist {
        case "fixed":
            return .fixed(try length(required(d.value, "value"), "value"))
        case "uniform":
            let lo = try length(required(d.min, "min"), "min")
            let hi = try length(required(d.max, "max"), "max")
            guard hi >= lo else { throw fail("\(at).max", "expected a value ≥ min (\(lo)), found \(hi)") }
            return .uniform(min: lo, max: hi)
        case "lognormal":
            let mean = try required(d.mean, "mean")
            guard mean.isFinite, mean > 0 else { throw fail("\(at).mean", "expected a number > 0, found \(mean)") }
            let sigma = try required(d.sigma, "sigma")
            guard sigma.isFinite, sigma >= 0 else { throw fail("\(at).sigma", "expected a number ≥ 0, found \(sigma)") }
            let lo = try length(d.min ?? 1, "min")
            let hi = try length(d.max ?? 1_000_000, "max")
            guard hi >= lo else { throw fail("\(at).max", "expected a value ≥ min (\(lo)), found \(hi)") }
            return .lognormal(mean: mean, sigma: sigma, min: lo, max: hi)
        case "zipf":
            let mean = try required(d.mean, "mean")
            let hi = try length(required(d.max, "max"), "max")
            guard hi <= 1_000_000 else { throw fail("\(at).max", "expected at most 1000000 for zipf, found \(hi)") }
            guard mean.isFinite, let z = LengthDistribution.zipf(mean: mean, max: hi) else {
                throw fail("\(at).mean", "expected a mean from 1 to (max + 1) / 2 = \(Double(hi + 1) / 2), found \(mean)")
            }
            return z
        case "empirical":
            let rows = try TraceReader(path: file(required(d.path, "path"), field: "\(at).path")).readAll()
            return .empirical(at.hasSuffix("prompt") ? rows.map(\.promptTokens) : rows.map(\.outputTokens))
        default:
            throw fail("\(at).dist", "expected fixed, uniform, lognormal, zipf or empirical, found '\(d.dist)'")
        }
    }
}
