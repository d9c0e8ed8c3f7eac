import Foundation
import HardwareModels
import Policies
import Serving
import SimCore
import Workloads

/// Service-level objectives; a nil bound is not checked.
public struct SLOs: Sendable {
    var ttft: Double?
    var tpot: Double?
    var e2el: Double?
    /// Bound on the worst inter-token gap of a request.
    var maxITL: Double?
    public var isEmpty: Bool { ttft == nil && tpot == nil && e2el == nil && maxITL == nil }
}

/// A validated scenario, ready to build a cluster from. Every check that can
/// fail on user input happens in `init`, before anything runs or is written.
public struct SimulationPlan {
    /// The scenario file, for messages.
    public let file: String
    public let name: String
    let seed: UInt64
    public let specs: [InstanceSpec]
    /// Whether any instance keeps prefix-cache blocks in host DRAM.
    var offloadsPrefixes: Bool { specs.contains { $0.engine.prefixCaching && $0.limits.kvOffloadBytes > 0 } }
    let routerName: String
    /// The cluster controller and its options (nil: none).
    let controller: (name: String, options: PolicyRegistry.ControllerOptions)?
    let schedulerName: String
    let schedulerOptions: SchedulerOptions
    public let slos: SLOs
    let stop: StopConditions
    let sampleInterval: SimTime?
    public let checkInvariants: Bool
    /// Latency percentiles reported beside the median (`run.percentiles`).
    public let percentiles: [Double]
    let topology: Topology
    /// The field that sets the gaps between arrivals, named when they overflow the clock.
    let arrivalField: String
    /// How long a client waits before it gives up on a request (nil: forever).
    let clientTimeout: SimTime?
    /// A ramp's load stages (empty: none), reported one by one in the summary.
    let stages: [LoadStage]
    /// Requests the workload will send, when the scenario says (for progress).
    let expectedRequests: Int?
    /// Files the workload reads (traces, length tables), resolved.
    public let inputFiles: [String]
    /// The replayed trace and its format, when the workload is one.
    let replay: (path: String, format: TraceFormat?)?
    private let makeSource: () throws -> RequestSource
    /// The scenario as run: the file with its `--set` overrides applied (nil when built from a decoded scenario).
    var resolvedScenario: JSONValue?

    /// Loads a scenario file, applies `--set` overrides and validates the result.
    public init(scenarioPath: String, seed: UInt64? = nil, overrides: [String] = []) throws {
        let tree = try ScenarioLoader.resolvedTree(scenarioPath, overrides: overrides)
        try self.init(ScenarioLoader.decode(tree, file: scenarioPath), file: scenarioPath, seedOverride: seed)
        resolvedScenario = tree
    }

    /// What ran, for a results folder to describe itself: simrun's version, the seed, the scenario
    /// with its overrides, and every engine profile, model and accelerator the instances used with
    /// their sources, and where each GPU's kernel timings come from.
    func provenance(costModels: [String: String]) -> JSONValue {
        func sorted(_ pairs: [String: JSONValue]) -> JSONValue { .object(pairs.keys.sorted().map { .init($0, pairs[$0]!) }) }
        var engines: [String: JSONValue] = [:], models: [String: JSONValue] = [:], gpus: [String: JSONValue] = [:]
        for s in specs {
            engines[s.engine.name] = s.engine.json
            models[s.model.name] = .string(s.model.source)
            gpus[s.accelerator.name] = .string(s.accelerator.source)
        }
        return .object([
            .init("simrun_version", .string(SimRunVersion.current)), .init("simrun_commit", .string(SimRunVersion.commit)),
            .init("seed", .number(String(seed))),
            .init("scenario", resolvedScenario ?? .null), .init("effective", effectiveSettings),
            .init("engines", sorted(engines)), .init("models", sorted(models)),
            .init("accelerators", sorted(gpus)), .init("kernel_timings", sorted(costModels.mapValues { .string($0) })),
        ])
    }

    /// What the run used once every default was applied: each group of alike consecutive instances
    /// (layout, engine, scheduler limits, KV blocks), the policies, the stop rules, SLOs and percentiles.
    var effectiveSettings: JSONValue {
        func n(_ v: Double) -> JSONValue { JSONValue.number(v) }
        func i(_ v: Int) -> JSONValue { .number(String(v)) }
        func group(_ s: InstanceSpec) -> [JSONValue.Member] {
            let l = s.limits
            var m: [JSONValue.Member] = [
                .init("gpu", .string(s.accelerator.name)), .init("model", .string(s.model.name)),
                .init("tp", i(s.layout.tp)), .init("pp", i(s.layout.pp)), .init("dp", i(s.layout.dp)), .init("ep", i(s.layout.ep)),
                .init("role", .string(s.role.rawValue)), .init("engine", .string(s.engine.name)),
                .init("placement", .string(s.stagePerServer ? "stage_per_server" : "packed")),
                .init("max_num_seqs", i(l.maxSequences)), .init("max_num_batched_tokens", i(l.maxBatchedTokens)),
                .init("max_model_len", l.maxModelLen == .max ? .null : i(l.maxModelLen)),
                .init("chunked_prefill", .bool(l.chunkedPrefill)), .init("preemption", .string(l.preemption.rawValue)),
                .init("max_preemptions", i(l.maxPreemptions)), .init("block_size", i(l.blockTokens)),
                .init("gpu_memory_utilization", n(l.memoryUtilization)),
                .init("swap_space_gib", n(l.swapSpaceBytesPerGPU / 1_073_741_824)),
                .init("kv_offloading_gib", n(l.kvOffloadBytes / 1_073_741_824)),
                .init("prefix_caching", .bool(s.engine.prefixCaching)),
            ]
            if let blocks = try? s.kvSizing().blocks { m.append(.init("kv_blocks", i(blocks))) }
            return m
        }
        var groups: [(count: Int, members: [JSONValue.Member])] = []
        for s in specs {
            let g = group(s)
            if let last = groups.last, JSONValue.object(last.members).canonicalText == JSONValue.object(g).canonicalText {
                groups[groups.count - 1].count += 1
            } else {
                groups.append((1, g))
            }
        }
        return .object([
            .init("seed", .number(String(seed))),
            .init("instances", .array(groups.map { .object([.init("count", i($0.count))] + $0.members) })),
            .init("router", .string(routerName)), .init("scheduler_policy", .string(schedulerName)),
            .init("controller", controller.map { .string($0.name) } ?? .null),
            .init("horizon_s", stop.horizon.map { n($0.seconds) } ?? .null), .init("max_events", stop.maxEvents.map(i) ?? .null),
            .init("sample_interval_s", sampleInterval.map { n($0.seconds) } ?? .null),
            .init("slo", .object([("ttft_s", slos.ttft), ("tpot_s", slos.tpot), ("e2el_s", slos.e2el), ("max_itl_s", slos.maxITL)]
                .compactMap { k, v in v.map { .init(k, n($0)) } })),
            .init("percentiles", .array(percentiles.map(n))),
        ])
    }

    init(_ s: Scenario, file: String, seedOverride: UInt64? = nil) throws {
        func fail(_ location: String, _ message: String) -> InputError {
            InputError(file: file, location: location, message)
        }
        let baseDir = URL(fileURLWithPath: file).deletingLastPathComponent().path
        func resolve(_ p: String) -> String { p.hasPrefix("/") ? p : baseDir + "/" + p }

        guard !s.name.isEmpty, s.name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }),
              s.name != ".", s.name != ".."
        else { throw fail("name", "expected letters, digits, '-', '_' or '.', found '\(s.name)'") }
        self.file = file
        name = s.name
        seed = seedOverride ?? s.seed ?? 1

        // Scheduler limits, shared by every instance.
        let sched = s.scheduler
        var limits = SchedulerLimits()
        func positive(_ v: Int?, _ field: String, min lower: Int = 1, max upper: Int = ScenarioSchema.wholeNumberLimit) throws -> Int? {
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
        options.admissionInterval = try positive(sched?.admission_interval_steps, "scheduler.admission_interval_steps", max: 1_000_000)
            ?? options.admissionInterval
        options.maxPrefillTokensPerRound = try positive(sched?.max_prefill_tokens_per_round,
                                                        "scheduler.max_prefill_tokens_per_round", max: 100_000_000)
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
        let maxModelLen = try positive(sched?.max_model_len, "scheduler.max_model_len", max: 100_000_000)
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
        limits.gpuBlocksOverride = try positive(sched?.num_gpu_blocks, "scheduler.num_gpu_blocks", max: 100_000_000)
        limits.memoryUtilization = try number(sched?.gpu_memory_utilization, "scheduler.gpu_memory_utilization",
                                              { $0 > 0 && $0 <= 1 }, "a number in (0, 1]") ?? limits.memoryUtilization
        if let gib = try number(sched?.swap_space_gib, "scheduler.swap_space_gib", { $0 >= 0 && $0 <= 1e6 },
                                "a number from 0 to 1000000") {
            limits.swapSpaceBytesPerGPU = gib * 1_073_741_824
        }
        limits.honorsPriorities = sched?.priorities ?? limits.honorsPriorities
        limits.priorityHeadroomBlocks = try positive(sched?.priority_headroom_blocks, "scheduler.priority_headroom_blocks",
                                                     min: 0, max: 100_000_000) ?? limits.priorityHeadroomBlocks
        let headroomSlowdown = try number(sched?.priority_headroom_slowdown, "scheduler.priority_headroom_slowdown",
                                          { $0 > 0 && $0 <= 10 }, "a number in (0, 10]")
        if headroomSlowdown != nil, sched?.priority_headroom_blocks != nil {
            throw fail("scheduler.priority_headroom_slowdown", "give priority_headroom_blocks or priority_headroom_slowdown, not both")
        }
        if let gib = try number(sched?.kv_offloading_gib, "scheduler.kv_offloading_gib", { $0 >= 0 && $0 <= 1e6 },
                                "a number from 0 to 1000000") {
            limits.kvOffloadBytes = gib * 1_073_741_824
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
            var model = try Self.model(g.model, field: "\(at).model", fail: fail, resolve: resolve)
            func dtype(_ text: String?, _ field: String, auto: Bool) throws -> ModelArchitecture.DType? {
                guard let text, !(auto && text == "auto") else { return nil }
                guard let d = ModelArchitecture.DType(rawValue: text) else {
                    throw fail("\(at).\(field)", "expected \(auto ? "auto, " : "")bf16, fp16 or fp8, found '\(text)'")
                }
                return d
            }
            let weights = try dtype(g.weight_dtype, "weight_dtype", auto: false)
            if weights == .fp8, gpu.fp8Flops == nil {
                throw fail("\(at).weight_dtype", "\(gpu.name) has no FP8 tensor cores; expected bf16 or fp16")
            }
            model = model.deployed(weights: weights, kvCache: try dtype(g.kv_cache_dtype, "kv_cache_dtype", auto: true))
            if let skew = try number(g.expert_skew, "\(at).expert_skew", { $0 >= 0 && $0 <= 10 }, "a number from 0 to 10") {
                guard model.experts > 1 else { throw fail("\(at).expert_skew", "\(model.name) has no experts") }
                model.expertSkew = skew
            }
            let count = try positive(g.count, "\(at).count", max: 100_000) ?? 1
            let tp = try positive(g.tp, "\(at).tp") ?? 1
            let pp = try positive(g.pp, "\(at).pp") ?? 1
            // vLLM's rule: attention heads split evenly; KV heads split evenly or replicated evenly.
            guard model.heads % tp == 0, model.kvHeads % tp == 0 || tp % model.kvHeads == 0 else {
                throw fail("\(at).tp", "expected a divisor of \(model.name)'s \(model.heads) attention heads that divides "
                           + "or is a multiple of its \(model.kvHeads) KV heads, found \(tp)")
            }
            guard pp <= model.layers else { throw fail("\(at).pp", "expected at most \(model.layers) stages, found \(pp)") }
            let dp = try positive(g.dp, "\(at).dp", max: 1024) ?? 1
            let ep = try positive(g.ep, "\(at).ep", max: 65536) ?? 1
            guard model.experts > 1 || dp == 1 else {
                throw fail("\(at).dp", "\(model.name) has no experts; expected 1 (use count for replicas of a dense model)")
            }
            guard model.experts > 1 || ep == 1 else { throw fail("\(at).ep", "\(model.name) has no experts; expected 1") }
            guard (dp * tp) % ep == 0, ep <= model.experts else {
                throw fail("\(at).ep", "expected a divisor of dp × tp = \(dp * tp) of at most \(model.experts) experts, found \(ep)")
            }
            var routing: ExpertRouting?
            if let counts = g.expert_histogram {
                guard let r = ExpertRouting.histogram(counts, experts: model.experts) else {
                    throw fail("\(at).expert_histogram", "expected \(model.experts) counts ≥ 0 (one per expert of \(model.name)) "
                               + "with a positive total, found \(counts.count)")
                }
                routing = r
            } else if dp > 1 || ep > 1 {
                routing = .zipf(experts: model.experts, skew: model.expertSkew, seed: seed)
            }
            let roleName = g.role ?? "colocated"
            guard let role = InstanceRole(rawValue: roleName) else {
                throw fail("\(at).role", "expected colocated, prefill or decode, found '\(roleName)'")
            }
            var engine = try Self.engine(g.engine ?? EngineCatalog.defaultName, field: "\(at).engine", fail: fail,
                                         resolve: resolve)
            if let overrides = g.engine_overrides {
                try engine.apply(overrides.json, file: file, at: "\(at).engine_overrides")
            }
            var groupLimits = limits
            groupLimits.maxModelLen = maxModelLen ?? model.maxContext
            // Caps are per data-parallel rank, as vLLM's flags: the instance schedules dp times them.
            groupLimits.maxSequences = dp * (try positive(g.max_num_seqs, "\(at).max_num_seqs") ?? limits.maxSequences)
            groupLimits.maxBatchedTokens = dp * (try positive(g.max_num_batched_tokens, "\(at).max_num_batched_tokens")
                ?? limits.maxBatchedTokens)
            var spec = InstanceSpec(model: model, accelerator: gpu, layout: ParallelLayout(tp: tp, pp: pp, dp: dp, ep: ep),
                                    role: role, limits: groupLimits, engine: engine)
            spec.expertRouting = routing
            switch g.placement ?? "packed" {
            case "packed": break
            case "stage_per_server": spec.stagePerServer = true
            case let other: throw fail("\(at).placement", "expected packed or stage_per_server, found '\(other)'")
            }
            let sizing: KVCacheSizing
            do { sizing = try spec.kvSizing() } catch let e as KVCacheSizingError {
                if case .blockTooLarge = e { throw fail("scheduler.block_size", e.description) }
                var infeasible = fail(at, e.description)
                infeasible.infeasible = true
                throw infeasible
            }
            if let slowdown = headroomSlowdown {
                let cost = CostModel(model: model, accelerator: gpu, layout: spec.layout, efficiency: spec.efficiency, engine: engine)
                spec.limits.priorityHeadroomBlocks = PriorityHeadroom.profiled(cost, capacity: sizing.blocks,
                                                                               blockTokens: limits.blockTokens, slowdown: slowdown)
            }
            if let blocks = limits.gpuBlocksOverride {
                let kvPerGPU = Double(blocks) * Double(limits.blockTokens) * model.kvBytesPerToken(tp: tp) / Double(dp * tp * pp)
                let need = sizing.weightBytesPerGPU + sizing.activationReserveBytesPerGPU + kvPerGPU
                guard need <= gpu.memoryBytes else {
                    throw fail("scheduler.num_gpu_blocks", String(format: "%d blocks need %.1f GiB per GPU with the weights and "
                               + "activations, more than the %.1f GiB of a %@", blocks, need / 1_073_741_824,
                               gpu.memoryBytes / 1_073_741_824, gpu.name))
                }
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

        if let c = s.controller, c.policy != "none" {
            guard PolicyRegistry.controller(named: c.policy) != nil else {
                throw fail("controller.policy", "unknown controller '\(c.policy)'; expected none or one of: "
                           + PolicyRegistry.controllers.map(\.name).joined(separator: ", "))
            }
            var o = PolicyRegistry.ControllerOptions()
            if let p = try number(c.period_s, "controller.period_s", { $0 >= 0.001 && $0 <= 1e6 }, "a number from 0.001 to 1000000") {
                o.period = .seconds(p)
            }
            o.threshold = try number(c.threshold, "controller.threshold", { abs($0) <= 1e9 }, "a number") ?? o.threshold
            if let name = c.pairing {
                guard let p = LlumnixController.Pairing(rawValue: name) else {
                    throw fail("controller.pairing", "expected defrag or balanced, found '\(name)'")
                }
                o.pairing = p
            }
            if let name = c.pick {
                guard let p = LlumnixController.Pick(rawValue: name) else {
                    throw fail("controller.pick", "expected " + LlumnixController.Pick.allCases.map(\.rawValue).joined(separator: ", ")
                               + ", found '\(name)'")
                }
                o.pick = p
            }
            if let name = c.migration {
                guard let m = LlumnixController.Migration(rawValue: name) else {
                    throw fail("controller.migration", "expected live, blocking or none, found '\(name)'")
                }
                o.migration = m
            }
            if let most = try positive(c.max_instances, "controller.max_instances", max: 100_000) {
                var sc = LlumnixController.Scaling(maxInstances: most)
                sc.minInstances = try positive(c.min_instances, "controller.min_instances", max: most) ?? sc.minInstances
                sc.up = try number(c.scale_up, "controller.scale_up", { abs($0) <= 1e9 }, "a number") ?? sc.up
                sc.down = try number(c.scale_down, "controller.scale_down", { $0 > sc.up && $0 <= 1e9 },
                                     "a number above scale_up (\(sc.up))") ?? sc.down
                if let i = try number(c.scale_interval_s, "controller.scale_interval_s", { $0 >= 0.001 && $0 <= 1e6 },
                                      "a number from 0.001 to 1000000") { sc.interval = .seconds(i) }
                o.scaling = sc
            } else if let field = [("min_instances", c.min_instances != nil), ("scale_up", c.scale_up != nil),
                                   ("scale_down", c.scale_down != nil), ("scale_interval_s", c.scale_interval_s != nil)]
                        .first(where: { $0.1 }) {
                throw fail("controller.\(field.0)", "scaling needs controller.max_instances")
            }
            try Self.elasticOptions(c, into: &o, slo: s.slo, fail: fail)
            if c.policy == "elastic_moe", let dense = specs.first(where: { $0.model.experts == 1 }) {
                throw fail("controller.policy", "elastic_moe rescales mixture-of-experts instances; \(dense.model.name) has no experts")
            }
            controller = (c.policy, o)
        } else {
            controller = nil
        }
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
        percentiles = s.run?.percentiles ?? [90, 99]
        guard (1...20).contains(percentiles.count), Set(percentiles).count == percentiles.count,
              percentiles.allSatisfy({ $0 > 0 && $0 < 100 }) else {
            throw fail("run.percentiles", "expected 1 to 20 different numbers between 0 and 100 (exclusive), e.g. [50, 90, 99, 99.9]")
        }
        clientTimeout = try number(s.workload.client_timeout_s, "workload.client_timeout_s", { $0 > 0 && $0 <= 1e9 },
                                   "a number > 0 and at most 1000000000")
            .map(SimTime.seconds)

        let workload = try WorkloadPlan(s.workload, seed: seed, fail: fail, resolve: resolve)
        expectedRequests = s.workload.num_requests
        if let share = try number(s.workload.high_priority_share, "workload.high_priority_share", { $0 >= 0 && $0 <= 1 },
                                  "a share from 0 to 1"), share > 0 {
            let (make, seed) = (workload.makeSource, seed)
            makeSource = { PrioritySource(try make(), highShare: share, seed: seed) }
        } else {
            makeSource = workload.makeSource
        }
        arrivalField = workload.arrivalField
        stages = workload.stages
        inputFiles = workload.files
        replay = workload.replay
    }

    /// A model by catalog name, or from a Hugging Face config.json named by path.
    static func model(_ name: String, field: String, fail: (String, String) -> InputError,
                              resolve: (String) -> String) throws -> ModelArchitecture {
        try entry(name, field: field, what: "model config", known: ModelCatalog.all.map(\.name), lookup: ModelCatalog.named,
                  fail: fail, resolve: resolve) { try ModelArchitecture(configFile: $0) }
    }

    /// An engine profile by catalog name, or from a profile file named by path.
    private static func engine(_ name: String, field: String, fail: (String, String) -> InputError,
                               resolve: (String) -> String) throws -> EngineProfile {
        try entry(name, field: field, what: "engine profile", known: EngineCatalog.all.map(\.name), lookup: EngineCatalog.named,
                  fail: fail, resolve: resolve) { try EngineProfile(json: JSONValue.read(file: $0, what: "engine profile"), file: $0) }
    }

    /// A catalog entry by name, or a `.json` file by path (relative to the scenario).
    private static func entry<T>(_ name: String, field: String, what: String, known: [String], lookup: (String) -> T?,
                                 fail: (String, String) -> InputError, resolve: (String) -> String,
                                 load: (String) throws -> T) throws -> T {
        if let e = lookup(name) { return e }
        guard name.hasSuffix(".json") else {
            throw fail(field, "unknown name '\(name)'; expected the path of a \(what) or one of: " + known.joined(separator: ", "))
        }
        let path = resolve(name)
        guard FileSystem.kind(of: path) != .missing else { throw fail(field, "no such \(what) '\(name)' (looked for \(path))") }
        return try load(path)
    }

    /// The elastic_moe controller's fields: method, ElasticMoE's components, fixed steps and the SLO rule.
    private static func elasticOptions(_ c: Scenario.ControllerSection, into o: inout PolicyRegistry.ControllerOptions,
                                       slo: Scenario.SLOSection?, fail: (String, String) -> InputError) throws {
        func check<T: Comparable>(_ v: T?, _ field: String, _ range: ClosedRange<T>) throws -> T? {
            guard let v else { return nil }
            guard range.contains(v) else { throw fail("controller.\(field)", "expected a value in \(range), found \(v)") }
            return v
        }
        let fields: [(String, Bool)] = [("scaling_method", c.scaling_method != nil), ("weights_from", c.weights_from != nil), ("pre_initialized", c.pre_initialized != nil),
            ("peer_to_peer", c.peer_to_peer != nil), ("zero_copy", c.zero_copy != nil), ("ipc_allocator", c.ipc_allocator != nil),
            ("steps", c.steps != nil), ("max_dp", c.max_dp != nil), ("min_dp", c.min_dp != nil), ("slo_target", c.slo_target != nil),
            ("window_s", c.window_s != nil), ("idle_load", c.idle_load != nil)]
        guard c.policy == "elastic_moe" else {
            if let f = fields.first(where: { $0.1 }) { throw fail("controller.\(f.0)", "only the elastic_moe controller takes it") }
            return
        }
        if let name = c.scaling_method {
            guard let m = ScalingMethod(rawValue: name) else {
                throw fail("controller.scaling_method", "expected " + ScalingMethod.allCases.map(\.rawValue).joined(separator: ", ")
                           + ", found '\(name)'")
            }
            o.scalingMethod = m
        }
        switch c.weights_from ?? "nvme" {
        case "nvme": o.weightsFrom = .nvme
        case "host_memory": o.weightsFrom = .hostMemory
        case let other: throw fail("controller.weights_from", "expected nvme or host_memory, found '\(other)'")
        }
        o.elastic.preInitialized = c.pre_initialized ?? true
        o.elastic.peerToPeer = c.peer_to_peer ?? true
        o.elastic.zeroCopy = c.zero_copy ?? true
        o.elastic.ipcAllocator = c.ipc_allocator ?? true
        for (i, step) in (c.steps ?? []).enumerated() {
            guard step.at_s.isFinite, step.at_s >= 0, step.at_s <= 1e9 else {
                throw fail("controller.steps[\(i)].at_s", "expected seconds from 0 to 1000000000, found \(step.at_s)")
            }
            guard (1...1024).contains(step.dp) else { throw fail("controller.steps[\(i)].dp", "expected 1 to 1024, found \(step.dp)") }
            o.steps.append((.seconds(step.at_s), step.dp))
        }
        if let most = try check(c.max_dp, "max_dp", 1...1024) {
            guard let ttft = slo?.ttft_s, let tpot = slo?.tpot_s, ttft > 0, tpot > 0 else {
                throw fail("controller.max_dp", "the SLO rule needs slo.ttft_s and slo.tpot_s")
            }
            var rule = ElasticScaler.Rule(ttft: ttft, tpot: tpot, maxDP: most)
            rule.minDP = try check(c.min_dp, "min_dp", 1...most) ?? rule.minDP
            rule.target = try check(c.slo_target, "slo_target", 1e-9...1) ?? rule.target
            if let w = try check(c.window_s, "window_s", 0.001...1e6) { rule.window = .seconds(w) }
            rule.idleLoad = try check(c.idle_load, "idle_load", 0...1) ?? rule.idleLoad
            o.sloRule = rule
        } else if let f = [("min_dp", c.min_dp != nil), ("slo_target", c.slo_target != nil), ("window_s", c.window_s != nil),
                           ("idle_load", c.idle_load != nil)].first(where: { $0.1 }) {
            throw fail("controller.\(f.0)", "the SLO rule needs controller.max_dp")
        }
        if o.steps.isEmpty, o.sloRule == nil {
            throw fail("controller", "elastic_moe needs steps or max_dp (the SLO rule)")
        }
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
            // Each instance on the server holds its offloaded blocks there too.
            let perServer = n.gpus / max(1, specs.filter { $0.accelerator.name == spec.accelerator.name }.map(\.layout.gpus).min() ?? 1)
            if Double(n.gpus) * limits.swapSpaceBytesPerGPU + Double(perServer) * limits.kvOffloadBytes > n.hostMemoryBytes {
                throw fail("scheduler.kv_offloading_gib", "\(perServer) instances × \(limits.kvOffloadBytes / 1_073_741_824) GiB of "
                           + "offloaded KV and \(n.gpus) GPUs × \(limits.swapSpaceBytesPerGPU / 1_073_741_824) GiB of swap space exceed "
                           + "a \(spec.accelerator.name) server's \(n.hostMemoryBytes / 1_073_741_824) GiB of host memory")
            }
            if Double(n.gpus) * limits.nvmeSwapBytesPerGPU > n.nvmeBytes {
                throw fail("scheduler.swap_nvme_gib", "\(n.gpus) GPUs × \(limits.nvmeSwapBytesPerGPU / 1_073_741_824) GiB "
                           + "of NVMe swap exceed a \(spec.accelerator.name) server's \(n.nvmeBytes / 1_073_741_824) GiB of NVMe")
            }
            nodeSpecs[spec.accelerator.name] = n
        }
        let topology = Topology(nodeSpecs: nodeSpecs, maxNodes: maxNodes, linkEfficiency: efficiency)
        var probe = topology
        for (i, spec) in specs.enumerated() where probe.allocate(for: spec) == nil {
            throw fail("topology.max_nodes", "instance \(i + 1) of \(specs.count) (\(spec.layout.gpus) × \(spec.accelerator.name)) "
                       + "does not fit in \(maxNodes ?? 0) servers")
        }
        return topology
    }

    /// A fresh cluster for one run.
    func makeCluster() throws -> Cluster {
        let schedulerName = schedulerName, options = schedulerOptions
        // An open-loop workload is drawn ahead on a thread of its own (the same requests, in order).
        let source = try makeSource()
        let cluster = try Cluster(instances: specs, router: PolicyRegistry.router(named: routerName)!,
                                  source: source.isOpenLoop ? PrefetchingSource(source) : source,
                                  sampleInterval: sampleInterval, topology: topology,
                                  makeScheduler: { _, i in PolicyRegistry.scheduler(named: schedulerName, options: options, instance: i)! })
        cluster.checkInvariants = checkInvariants
        if let (name, options) = controller { cluster.controller = PolicyRegistry.controller(named: name, options: options) }
        cluster.clientTimeout = clientTimeout
        return cluster
    }
}
