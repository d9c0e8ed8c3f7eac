import Foundation
import HardwareModels
import Policies
import Serving
import SimCore
import Workloads

/// Service-level objectives; a nil bound is not checked.
struct SLOs: Sendable {
    var ttft: Double?
    var tpot: Double?
    var e2el: Double?
    /// Bound on the worst inter-token gap of a request.
    var maxITL: Double?
    var isEmpty: Bool { ttft == nil && tpot == nil && e2el == nil && maxITL == nil }
}

/// A validated scenario, ready to build a cluster from. Every check that can
/// fail on user input happens in `init`, before anything runs or is written.
struct SimulationPlan {
    let name: String
    let seed: UInt64
    let specs: [InstanceSpec]
    let routerName: String
    let schedulerName: String
    let schedulerOptions: SchedulerOptions
    let slos: SLOs
    let stop: StopConditions
    let sampleInterval: SimTime?
    let checkInvariants: Bool
    let topology: Topology
    private let makeSource: () throws -> RequestSource

    init(_ s: Scenario, file: String, seedOverride: UInt64? = nil) throws {
        func fail(_ location: String, _ message: String) -> InputError {
            InputError(file: file, location: location, message)
        }
        let baseDir = URL(fileURLWithPath: file).deletingLastPathComponent().path
        func resolve(_ p: String) -> String { p.hasPrefix("/") ? p : baseDir + "/" + p }

        guard !s.name.isEmpty, s.name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }),
              s.name != ".", s.name != ".."
        else { throw fail("name", "expected letters, digits, '-', '_' or '.', found '\(s.name)'") }
        name = s.name
        seed = seedOverride ?? s.seed ?? 1

        // Scheduler limits, shared by every instance.
        let sched = s.scheduler
        var limits = SchedulerLimits()
        func positive(_ v: Int?, _ field: String, min lower: Int = 1, max upper: Int = 1 << 40) throws -> Int? {
            guard let v else { return nil }
            guard v >= lower, v <= upper else {
                throw fail(field, "expected a whole number from \(lower) to \(upper), found \(v)")
            }
            return v
        }
        func number(_ v: Double?, _ field: String, _ ok: (Double) -> Bool, _ expected: String) throws -> Double? {
            guard let v else { return nil }
            guard v.isFinite, ok(v) else { throw fail(field, "expected \(expected), found \(v)") }
            return v
        }
        schedulerName = sched?.policy ?? "fcfs"
        var options = SchedulerOptions()
        options.seed = seedOverride ?? s.seed ?? 1
        options.maxOutputTokens = try positive(sched?.max_output_tokens, "scheduler.max_output_tokens", max: 10_000_000)
            ?? options.maxOutputTokens
        options.historyWindow = try positive(sched?.history_window, "scheduler.history_window", max: 1_000_000)
            ?? options.historyWindow
        options.historyPrior = try positive(sched?.history_prior, "scheduler.history_prior", max: 10_000_000)
        options.futureSamples = try positive(sched?.future_samples, "scheduler.future_samples", max: 100) ?? options.futureSamples
        options.reserve = try number(sched?.reserve, "scheduler.reserve", { $0 >= 0 && $0 < 1 }, "a number in [0, 1)")
            ?? options.reserve
        schedulerOptions = options
        guard PolicyRegistry.scheduler(named: schedulerName) != nil else {
            throw fail("scheduler.policy", "unknown policy '\(schedulerName)'; expected one of: "
                       + PolicyRegistry.schedulers.map(\.name).joined(separator: ", "))
        }
        limits.maxSequences = try positive(sched?.max_num_seqs, "scheduler.max_num_seqs") ?? limits.maxSequences
        limits.maxBatchedTokens = try positive(sched?.max_num_batched_tokens, "scheduler.max_num_batched_tokens")
            ?? limits.maxBatchedTokens
        limits.chunkedPrefill = sched?.chunked_prefill ?? limits.chunkedPrefill
        limits.queueTimeout = try number(sched?.queue_timeout_s, "scheduler.queue_timeout_s", { $0 > 0 }, "a number > 0")
            .map(SimTime.seconds)
        if let p = sched?.preemption {
            guard let mode = PreemptionMode(rawValue: p) else {
                throw fail("scheduler.preemption", "expected recompute or swap, found '\(p)'")
            }
            limits.preemption = mode
        }
        limits.watermark = try number(sched?.watermark, "scheduler.watermark", { $0 >= 0 && $0 < 1 },
                                      "a number in [0, 1)") ?? limits.watermark
        limits.maxPreemptions = try positive(sched?.max_preemptions, "scheduler.max_preemptions", min: 0)
            ?? limits.maxPreemptions
        limits.blockTokens = try positive(sched?.block_size, "scheduler.block_size") ?? limits.blockTokens
        limits.memoryUtilization = try number(sched?.gpu_memory_utilization, "scheduler.gpu_memory_utilization",
                                              { $0 > 0 && $0 <= 1 }, "a number in (0, 1]") ?? limits.memoryUtilization
        if let gib = try number(sched?.swap_space_gib, "scheduler.swap_space_gib", { $0 >= 0 && $0 <= 1e6 },
                                "a number from 0 to 1000000") {
            limits.swapSpaceBytesPerGPU = gib * 1_073_741_824
        }
        if let gib = try number(sched?.swap_nvme_gib, "scheduler.swap_nvme_gib", { $0 >= 0 && $0 <= 1e6 },
                                "a number from 0 to 1000000") {
            limits.nvmeSwapBytesPerGPU = gib * 1_073_741_824
        }

        // Instances.
        guard !s.instances.isEmpty else { throw fail("instances", "expected at least one instance group") }
        var specs: [InstanceSpec] = []
        for (i, g) in s.instances.enumerated() {
            let at = "instances[\(i)]"
            guard let gpu = AcceleratorCatalog.named(g.gpu) else {
                throw fail("\(at).gpu", "unknown GPU '\(g.gpu)'; expected one of: "
                           + AcceleratorCatalog.all.map(\.name).joined(separator: ", "))
            }
            guard let model = ModelCatalog.named(g.model) else {
                throw fail("\(at).model", "unknown model '\(g.model)'; expected one of: "
                           + ModelCatalog.all.map(\.name).joined(separator: ", "))
            }
            let count = try positive(g.count, "\(at).count", max: 100_000) ?? 1
            let tp = try positive(g.tp, "\(at).tp") ?? 1
            let pp = try positive(g.pp, "\(at).pp") ?? 1
            guard model.heads % tp == 0 else {
                throw fail("\(at).tp", "expected a divisor of \(model.name)'s \(model.heads) attention heads, found \(tp)")
            }
            guard pp <= model.layers else { throw fail("\(at).pp", "expected at most \(model.layers) stages, found \(pp)") }
            let roleName = g.role ?? "colocated"
            guard let role = InstanceRole(rawValue: roleName) else {
                throw fail("\(at).role", "expected colocated, prefill or decode, found '\(roleName)'")
            }
            var efficiency = EfficiencyFactors()
            if let ms = try number(g.step_overhead_ms, "\(at).step_overhead_ms", { $0 >= 0 && $0 <= 10_000 },
                                   "a number from 0 to 10000") {
                efficiency.stepOverhead = ms / 1000
            }
            let spec = InstanceSpec(model: model, accelerator: gpu, layout: ParallelLayout(tp: tp, pp: pp),
                                    role: role, limits: limits, efficiency: efficiency)
            do { _ = try spec.kvSizing() } catch let e as KVCacheSizingError {
                throw fail(at, e.description)
            }
            specs += Array(repeating: spec, count: count)
        }
        guard specs.contains(where: { $0.role != .decode }) else {
            throw fail("instances", "expected at least one colocated or prefill instance to take new requests")
        }
        if specs.contains(where: { $0.role == .prefill }), !specs.contains(where: { $0.role == .decode }) {
            throw fail("instances", "prefill instances need at least one decode instance to hand requests to")
        }
        self.specs = specs
        topology = try Self.topology(s.topology, specs: specs, limits: limits, fail: fail)

        routerName = s.router ?? "round_robin"
        guard PolicyRegistry.router(named: routerName) != nil else {
            throw fail("router", "unknown router '\(routerName)'; expected one of: "
                       + PolicyRegistry.routers.map(\.name).joined(separator: ", "))
        }

        // SLOs and run options.
        let isPositive: (Double) -> Bool = { $0 > 0 }
        slos = SLOs(ttft: try number(s.slo?.ttft_s, "slo.ttft_s", isPositive, "a number > 0"),
                    tpot: try number(s.slo?.tpot_s, "slo.tpot_s", isPositive, "a number > 0"),
                    e2el: try number(s.slo?.e2el_s, "slo.e2el_s", isPositive, "a number > 0"),
                    maxITL: try number(s.slo?.max_itl_s, "slo.max_itl_s", isPositive, "a number > 0"))
        let horizon = try number(s.run?.horizon_s, "run.horizon_s", isPositive, "a number > 0")
        let maxEvents = try positive(s.run?.max_events, "run.max_events")
        stop = StopConditions(horizon: horizon.map(SimTime.seconds), maxEvents: maxEvents)
        let interval = try number(s.run?.sample_interval_s, "run.sample_interval_s", { $0 == 0 || $0 >= 0.001 },
                                  "0 (off) or at least 0.001") ?? 1
        sampleInterval = interval > 0 ? .seconds(interval) : nil
        checkInvariants = s.run?.check_invariants ?? false

        makeSource = try Self.workload(s.workload, seed: seed, fail: fail, resolve: resolve)
    }

    private static func topology(_ t: Scenario.TopologySection?, specs: [InstanceSpec], limits: SchedulerLimits,
                                 fail: (String, String) -> InputError) throws -> Topology {
        func check<T: Comparable>(_ v: T?, _ field: String, _ range: ClosedRange<T>) throws -> T? {
            guard let v else { return nil }
            guard range.contains(v) else { throw fail("topology.\(field)", "expected a value in \(range), found \(v)") }
            return v
        }
        let gpus = try check(t?.gpus_per_node, "gpus_per_node", 1...64)
        let maxNodes = try check(t?.max_nodes, "max_nodes", 1...1_000_000)
        let dram = try check(t?.host_memory_gib, "host_memory_gib", 1e-3...1e9)
        let nvme = try check(t?.nvme_tib, "nvme_tib", 1e-6...1e9)
        let nics = try check(t?.nics_per_node, "nics_per_node", 1...64)
        let nic = try check(t?.nic_gbps, "nic_gbps", 1e-3...1e9)
        let efficiency = try check(t?.link_efficiency, "link_efficiency", 1e-3...1) ?? EfficiencyFactors().linkBandwidth
        var nodeSpecs: [String: NodeSpec] = [:]
        for spec in specs where nodeSpecs[spec.accelerator.name] == nil {
            var n = NodeSpec.defaults(for: spec.accelerator)
            if let gpus { n.gpus = gpus }
            if let dram { n.hostMemoryBytes = dram * 1_073_741_824 }
            if let nvme { n.nvmeBytes = nvme * 1_099_511_627_776 }
            if let nics { n.nics = nics }
            if let nic { n.nicBandwidth = nic * 1e9 / 8 }
            // Every GPU's swap space lives in its server's DRAM.
            if Double(n.gpus) * limits.swapSpaceBytesPerGPU > n.hostMemoryBytes {
                throw fail("scheduler.swap_space_gib", "\(n.gpus) GPUs × \(limits.swapSpaceBytesPerGPU / 1_073_741_824) GiB "
                           + "of swap space exceed a \(spec.accelerator.name) server's \(n.hostMemoryBytes / 1_073_741_824) GiB of host memory")
            }
            if Double(n.gpus) * limits.nvmeSwapBytesPerGPU > n.nvmeBytes {
                throw fail("scheduler.swap_nvme_gib", "\(n.gpus) GPUs × \(limits.nvmeSwapBytesPerGPU / 1_073_741_824) GiB "
                           + "of NVMe swap exceed a \(spec.accelerator.name) server's \(n.nvmeBytes / 1_073_741_824) GiB of NVMe")
            }
            nodeSpecs[spec.accelerator.name] = n
        }
        let topology = Topology(nodeSpecs: nodeSpecs, maxNodes: maxNodes, linkEfficiency: efficiency)
        var probe = topology
        for (i, spec) in specs.enumerated() where probe.allocate(spec.layout.gpus, of: spec.accelerator) == nil {
            throw fail("topology.max_nodes", "instance \(i + 1) of \(specs.count) (\(spec.layout.gpus) × \(spec.accelerator.name)) "
                       + "does not fit in \(maxNodes ?? 0) servers")
        }
        return topology
    }

    private static func workload(_ w: Scenario.WorkloadSection, seed: UInt64,
                                 fail: (String, String) -> InputError,
                                 resolve: (String) -> String) throws -> () throws -> RequestSource {
        let a = w.arrivals
        let count = w.num_requests
        if let count, count < 1 { throw fail("workload.num_requests", "expected a whole number ≥ 1, found \(count)") }
        func rate() throws -> Double {
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
            let lengths = try lengthModel(w.lengths, fail: fail, resolve: resolve)
            return { ClosedLoopSource(clients: clients, thinkTime: .seconds(think), lengths: lengths, count: count, seed: seed) }
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
            let path = resolve(p)
            _ = try TraceReplaySource(reader: TraceReader(path: path, format: format), rateScale: scale)
            return { try TraceReplaySource(reader: TraceReader(path: path, format: format), rateScale: scale,
                                           limit: count ?? .max) }
        default:
            throw fail("workload.arrivals.process", "expected poisson, gamma, trace or closed_loop, found '\(a.process)'")
        }
        guard let count else { throw fail("workload.num_requests", "required field is missing") }
        let lengths = try lengthModel(w.lengths, fail: fail, resolve: resolve)
        return { SyntheticSource(arrivals: process, lengths: lengths, count: count, seed: seed) }
    }

    private static func lengthModel(_ lengths: Scenario.Lengths?, fail: (String, String) -> InputError,
                                    resolve: (String) -> String) throws -> LengthModel {
        guard let l = lengths else { throw fail("workload.lengths", "required field is missing") }
        if let t = l.from_trace {
            guard l.prompt == nil, l.output == nil else {
                throw fail("workload.lengths", "give either from_trace or prompt and output, not both")
            }
            return .empirical(from: try TraceReader(path: resolve(t)).readAll())
        }
        guard let p = l.prompt else { throw fail("workload.lengths.prompt", "required field is missing") }
        guard let o = l.output else { throw fail("workload.lengths.output", "required field is missing") }
        return .independent(prompt: try distribution(p, "workload.lengths.prompt", fail: fail, resolve: resolve),
                            output: try distribution(o, "workload.lengths.output", fail: fail, resolve: resolve))
    }

    private static func distribution(_ d: Scenario.Distribution, _ at: String,
                                     fail: (String, String) -> InputError,
                                     resolve: (String) -> String) throws -> LengthDistribution {
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
        case "empirical":
            let rows = try TraceReader(path: resolve(try required(d.path, "path"))).readAll()
            return .empirical(at.hasSuffix("prompt") ? rows.map(\.promptTokens) : rows.map(\.outputTokens))
        default:
            throw fail("\(at).dist", "expected fixed, uniform, lognormal or empirical, found '\(d.dist)'")
        }
    }

    /// A fresh cluster for one run.
    func makeCluster() throws -> Cluster {
        let schedulerName = schedulerName, options = schedulerOptions
        let cluster = try Cluster(instances: specs, router: PolicyRegistry.router(named: routerName)!,
                                  source: makeSource(), sampleInterval: sampleInterval, topology: topology,
                                  makeScheduler: { _, i in PolicyRegistry.scheduler(named: schedulerName, options: options, instance: i)! })
        cluster.checkInvariants = checkInvariants
        return cluster
    }
}
