import Foundation
import Serving
import SimCore

/// Latency statistics in milliseconds, named as `vllm bench serve` names them: mean_ms, median_ms,
/// std_ms, and one p<q>_ms per percentile the scenario asks for (`run.percentiles`, vLLM's
/// --metric-percentiles; default 90 and 99).
public struct LatencyStats: Encodable {
    public let mean_ms: Double?
    public let median_ms: Double?
    /// Population standard deviation (vLLM's std_*_ms, numpy's std).
    public let std_ms: Double?
    /// (percentile, value in ms), in the order asked for.
    public let percentiles: [(percentile: Double, ms: Double?)]

    public var p90_ms: Double? { value(at: 90) }
    public var p99_ms: Double? { value(at: 99) }
    public func value(at percentile: Double) -> Double? { percentiles.first { $0.percentile == percentile }?.ms ?? nil }

    /// The summary key of a percentile: 99 → p99_ms, 99.9 → p99.9_ms (vLLM's spelling).
    public static func key(_ percentile: Double) -> String {
        "p" + (percentile == percentile.rounded() ? String(Int(percentile)) : String(percentile)) + "_ms"
    }

    /// Latency samples: seconds, or spans of simulated time in nanoseconds.
    enum Samples {
        case seconds(SortedRuns<Double>)
        case nanoseconds(SortedRuns<Int64>)

        static func seconds(_ values: [Double]) -> Samples { .seconds(SortedRuns(values)) }
        static func nanoseconds(_ spans: [Int64]) -> Samples { .nanoseconds(SortedRuns(spans)) }
    }

    init(_ samples: consuming Samples, percentiles: [Double]) {
        let s = switch consume samples {
        case .seconds(var runs): SampleSummary(sorted: runs.takeSorted())
        // Sorted as integers, then read as seconds: a span's seconds never decrease as it grows,
        // so they come out sorted, as sorting them would leave them, with fewer passes (see
        // RadixSort), and no array of seconds.
        case .nanoseconds(var runs): SampleSummary(sortedNanoseconds: runs.takeSorted())
        }
        self.init(mean: s.mean, std: s.standardDeviation, median: s.quantile(0.5),
                  percentiles: percentiles.map { ($0, s.quantile($0 / 100)) })
    }

    /// The statistics of each set of samples, in the order given, and of `gaps`, summarized on as
    /// many threads as there are cores. Each set's runs are merged in place and let go once
    /// summarized (no copy). The gaps go first: their summary, a sort of every distinct gap, is
    /// the longest (left for last, it ran alone on one core at the end of a ten-million-request run).
    static func summarizing(_ sets: consuming [Samples], andGaps gaps: CountedValues,
                            percentiles: [Double]) -> (sets: [LatencyStats], gaps: LatencyStats) {
        let n = sets.count
        let inputs = Locked(sets), gaps = Locked(gaps), results = Locked([LatencyStats?](repeating: nil, count: n + 1))
        DispatchQueue.concurrentPerform(iterations: n + 1) { task in
            let stats: LatencyStats
            if task == 0 {
                stats = LatencyStats(nanoseconds: gaps.value, percentiles: percentiles)
            } else {
                // Moved out, so that this thread's copy is the only one and merges in place.
                let samples = inputs.update { sets in
                    defer { sets[task - 1] = .seconds(SortedRuns()) }
                    return sets[task - 1]
                }
                stats = LatencyStats(samples, percentiles: percentiles)
            }
            results.update { $0[task] = stats }
        }
        let all = results.value.map { $0! }
        return (Array(all[1...]), all[0])
    }

    /// From exact counts of nanosecond values.
    init(nanoseconds c: CountedValues, percentiles: [Double]) {
        let s = c.summary(quantiles: [0.5] + percentiles.map { $0 / 100 })
        let q = s.quantiles.map { $0 / 1e9 }
        self.init(mean: s.mean / 1e9, std: s.std / 1e9, median: q[0],
                  percentiles: Array(zip(percentiles, q.dropFirst())))
    }

    private init(mean: Double, std: Double, median: Double, percentiles: [(Double, Double)]) {
        func ms(_ x: Double) -> Double? { x.isNaN ? nil : x * 1000 }
        mean_ms = ms(mean)
        median_ms = ms(median)
        std_ms = ms(std)
        self.percentiles = percentiles.map { ($0.0, ms($0.1)) }
    }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ s: String) { stringValue = s }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        for (key, v) in [("mean_ms", mean_ms), ("median_ms", median_ms), ("std_ms", std_ms)]
            + percentiles.map({ (Self.key($0.percentile), $0.ms) }) {
            if let v { try c.encode(v, forKey: Key(key)) } else { try c.encodeNil(forKey: Key(key)) }
        }
    }
}

/// Whether a request met each SLO that is set (nil where unset).
struct SLOVerdict {
    public let ttft: Bool?
    public let tpot: Bool?
    public let e2el: Bool?
    public let maxITL: Bool?
    /// Met every SLO that is set; false when the request did not finish.
    public let all: Bool

    init(_ r: RequestRecord, _ slos: SLOs) {
        func check(_ bound: Double?, _ value: Double?) -> Bool? {
            bound.map { b in r.finished && (value.map { $0 <= b } ?? true) }
        }
        ttft = check(slos.ttft, r.ttft)
        tpot = check(slos.tpot, r.tpot)
        e2el = check(slos.e2el, r.e2el)
        maxITL = check(slos.maxITL, r.outputTokens > 1 ? r.maxInterTokenGap.seconds : 0)
        all = r.finished && ttft != false && tpot != false && e2el != false && maxITL != false
    }
}

/// The figures of one run. Everything here is a function of the scenario and
/// seed only (no wall-clock figures), so summary.json is byte-stable.
public struct RunSummary: Encodable {
    /// The whole-number fields (counts) by their dotted names in summary.json: exports write them as
    /// integers, and 0 where a run has none. A test checks this list against the fields' types.
    static let counts: Set<String> = ["seed", "events", "requests_arrived", "requests_completed", "requests_dropped",
                                      "requests_unfinished", "requests_length_capped", "total_input_tokens",
                                      "total_output_tokens", "preemptions", "migrations", "migrations_aborted", "instances",
                                      "nodes", "prefix_cache_hit_tokens", "prefix_cache_offload_hit_tokens"]

    static func isCount(_ name: String) -> Bool {
        counts.contains(name) || name.hasPrefix("dropped_by_reason.") || name.hasPrefix("by_priority.") && name.hasSuffix("requests")
            || name.hasPrefix("by_priority.") && name.hasSuffix("completed")
    }

    public let scenario: String
    public let seed: UInt64
    public let stop_reason: String
    public let simulated_seconds: Double
    public let events: Int
    public let requests_arrived: Int
    public let requests_completed: Int
    public let requests_dropped: Int
    public let requests_unfinished: Int
    /// Finished requests whose output max_model_len cut short.
    public let requests_length_capped: Int
    public let dropped_by_reason: [String: Int]
    /// Arrived requests per second from the first arrival to the last (the load offered).
    public let offered_rate: Double?
    public let request_throughput: Double
    public let output_throughput: Double
    public let total_token_throughput: Double
    /// Prompt and output tokens of the completed requests (vLLM's totals).
    public let total_input_tokens: Int
    public let total_output_tokens: Int
    /// Arrival to first scheduling, over requests that were scheduled.
    public let queueing: LatencyStats
    public let ttft: LatencyStats
    public let tpot: LatencyStats
    public let itl: LatencyStats
    public let e2el: LatencyStats
    public let slo: SLOReport?
    public let kv_utilization_mean: Double
    public let kv_utilization_per_instance: [Double]
    public let preemptions: Int
    /// Preemptions (evictions) per arrived request.
    public let preemptions_per_request: Double
    public let migrations: Int
    /// Moves between colocated instances (not hand-offs): time each request was paused by its move
    /// (a live migration's last stage, a blocking migration's whole copy), and moves that did not
    /// complete (aborted, or a last stage the destination could not take). Absent without moves.
    public let migration_downtime: LatencyStats?
    /// Per priority class, when any request was high priority: finished requests and their latencies.
    public let by_priority: [String: ClassReport]?
    /// Instance-hours and GPU-hours held: from the start (or when an instance was requested) to its
    /// removal (or the end of the run), starting and draining time included.
    public let instance_hours: Double
    public let gpu_hours: Double
    /// Instances started, drained or removed during the run (absent when none was): when each phase began, s.
    public let instance_phases: [PhaseReport]?
    /// Rescales of an instance's layout (absent when none was made): method, layouts, phase times,
    /// downtime, bytes moved, experts moved, the peak HBM over the GPUs involved, and any failure.
    public let scaling: [ScalingReport]?
    public let migrations_aborted: Int?
    /// Over finished requests whose KV moved (absent when none did): the share of their total
    /// end-to-end latency their prefilled KV spent waiting for a decode instance, and moving.
    public let kv_wait_share: Double?
    public let kv_transfer_share: Double?
    public let instances: Int
    /// Per run of consecutive instances of one spec: what a replica holds, GiB over its GPUs.
    public let memory_per_replica: [MemoryReport]
    public let nodes: Int
    /// Per accelerator in the run: "fitted (...)" or "datasheet roofline".
    public let cost_model: [String: String]
    /// Per load stage of a ramp (absent without stages): the requests that arrived in it.
    public let stages: [StageReport]?
    /// Automatic prefix caching (absent when no prompt was looked up): prompt tokens found in
    /// the cache over prompt tokens looked up, and the tokens found.
    public let prefix_cache_hit_rate: Double?
    public let prefix_cache_hit_tokens: Int?
    /// Prompt tokens loaded from offloaded blocks in host DRAM instead of recomputed (absent
    /// without `kv_offloading_gib`).
    public let prefix_cache_offload_hit_tokens: Int?

    public struct ClassReport: Encodable {
        public let requests: Int
        public let completed: Int
        public let ttft: LatencyStats
        public let tpot: LatencyStats
        public let e2el: LatencyStats
    }

    public struct PhaseReport: Encodable {
        public let instance: Int
        public let requested_s: Double?
        public let initialized_s: Double?
        public let weights_loaded_s: Double?
        public let ready_s: Double?
        public let drain_started_s: Double?
        public let removed_s: Double?
    }

    public struct MemoryReport: Encodable {
        /// The first and last instance it describes.
        public let instances: [Int]
        public let gpus: Int
        public let weights_gib: Double
        public let activations_gib: Double
        public let kv_cache_gib: Double
        public let kv_blocks: Int
    }

    public struct ScalingReport: Encodable {
        public let method: String
        public let instance: Int
        public let successor: Int?
        public let from: String
        public let to: String
        public let start_s: Double
        public let warmup_start_s: Double?
        public let ready_s: Double?
        public let end_s: Double?
        /// From the decision to the new layout taking requests.
        public let scale_s: Double?
        public let downtime_s: Double
        public let peer_gib: Double
        public let storage_gib: Double
        public let experts_moved: Int
        public let peak_hbm_gib: Double
        public let peak_device_hbm_gib: Double
        public let failure: String?

        init(_ r: ScalingRecord) {
            method = r.method.rawValue
            instance = r.instance
            successor = r.successor
            from = r.from.description
            to = r.to.description
            start_s = r.start.seconds
            warmup_start_s = r.warmupStart?.seconds
            ready_s = r.ready?.seconds
            end_s = r.end?.seconds
            scale_s = r.ready.map { ($0 - r.start).seconds }
            downtime_s = r.downtime.seconds
            peer_gib = r.peerBytes / 1_073_741_824
            storage_gib = r.storageBytes / 1_073_741_824
            experts_moved = r.expertsMoved
            peak_hbm_gib = r.peakHBMBytes / 1_073_741_824
            peak_device_hbm_gib = r.peakDeviceHBMBytes / 1_073_741_824
            failure = r.failure
        }
    }

    public struct StageReport: Encodable {
        public let stage: Int
        public let rate: Double
        public let start_s: Double
        public let end_s: Double
        /// Requests that arrived in the stage and ended (finished or dropped).
        public let requests_ended: Int
        public let requests_completed: Int
        /// Completed requests per second of the stage's length.
        public let request_throughput: Double
        public let ttft: LatencyStats
        public let tpot: LatencyStats
        public let e2el: LatencyStats
    }

    public struct SLOReport: Encodable {
        public let ttft_s: Double?
        public let tpot_s: Double?
        public let e2el_s: Double?
        public let max_itl_s: Double?
        public let ttft_attainment: Double?
        public let tpot_attainment: Double?
        public let e2el_attainment: Double?
        public let max_itl_attainment: Double?
        /// Share of arrived requests that finished and met every set SLO.
        public let attainment: Double
        /// Requests/s that met every set SLO (vLLM's request goodput).
        public let request_goodput: Double
        /// Output tokens/s of the requests that met every set SLO (the
        /// Past-Future paper's goodput).
        public let token_goodput: Double
    }

    init(plan: SimulationPlan, cluster: Cluster, tally: inout RequestTally, stop: StopReason) {
        func stats(_ samples: LatencyStats.Samples) -> LatencyStats { LatencyStats(samples, percentiles: plan.percentiles) }
        let duration = cluster.loop.now.seconds
        scenario = plan.name
        seed = plan.seed
        stop_reason = stop.rawValue
        simulated_seconds = duration
        events = cluster.loop.eventsProcessed
        requests_arrived = cluster.arrived
        requests_completed = tally.all.completed
        requests_dropped = tally.ended - tally.all.completed
        requests_unfinished = cluster.arrived - tally.ended
        requests_length_capped = cluster.lengthCapped
        dropped_by_reason = tally.droppedByReason
        let perSecond = duration > 0 ? 1 / duration : 0
        request_throughput = Double(tally.all.completed) * perSecond
        output_throughput = Double(tally.outputTokens) * perSecond
        total_token_throughput = Double(tally.outputTokens + tally.inputTokens) * perSecond
        total_input_tokens = tally.inputTokens
        total_output_tokens = tally.outputTokens
        offered_rate = tally.lastArrival > tally.firstArrival
            ? Double(tally.ended - 1) / (tally.lastArrival - tally.firstArrival).seconds : nil
        let (queued, first, perToken, whole) = tally.takeLatencies()
        let summarized = LatencyStats.summarizing([.nanoseconds(consume queued), .nanoseconds(consume first),
                                                   .seconds(consume perToken), .nanoseconds(consume whole)],
                                                  andGaps: cluster.finishedInterTokenGaps(), percentiles: plan.percentiles)
        (queueing, ttft, tpot, e2el) = (summarized.sets[0], summarized.sets[1], summarized.sets[2], summarized.sets[3])
        itl = summarized.gaps
        let looked = cluster.instances.reduce(0) { $0 + $1.prefixLookedUpTokens }
        let hits = cluster.instances.reduce(0) { $0 + $1.prefixHitTokens }
        prefix_cache_hit_rate = looked > 0 ? Double(hits) / Double(looked) : nil
        prefix_cache_hit_tokens = looked > 0 ? hits : nil
        prefix_cache_offload_hit_tokens = plan.offloadsPrefixes ? cluster.instances.reduce(0) { $0 + $1.offloadHitTokens } : nil
        var start = 0.0
        stages = plan.stages.isEmpty ? nil : zip(plan.stages, tally.stages).enumerated().map { i, stage in
            let (s, l) = stage
            let from = start, to = start + s.duration
            start = to
            return StageReport(stage: i + 1, rate: s.rate, start_s: from, end_s: to, requests_ended: l.ended,
                               requests_completed: l.completed, request_throughput: Double(l.completed) / s.duration,
                               ttft: stats(.nanoseconds(l.ttft)), tpot: stats(.seconds(l.tpot)), e2el: stats(.nanoseconds(l.e2el)))
        }
        if plan.slos.isEmpty {
            slo = nil
        } else {
            let n = Double(max(1, cluster.arrived))
            // The share of arrived requests meeting an SLO that is set (nil where unset or no request ended).
            func share(_ bound: Double?, _ count: Int) -> Double? { bound == nil || tally.ended == 0 ? nil : Double(count) / n }
            let met = tally.met
            slo = SLOReport(ttft_s: plan.slos.ttft, tpot_s: plan.slos.tpot, e2el_s: plan.slos.e2el,
                            max_itl_s: plan.slos.maxITL, ttft_attainment: share(plan.slos.ttft, met.ttft),
                            tpot_attainment: share(plan.slos.tpot, met.tpot), e2el_attainment: share(plan.slos.e2el, met.e2el),
                            max_itl_attainment: share(plan.slos.maxITL, met.maxITL),
                            attainment: Double(met.all) / n, request_goodput: Double(met.all) * perSecond,
                            token_goodput: Double(tally.goodTokens) * perSecond)
        }
        kv_utilization_per_instance = cluster.kvUtilization()
        kv_utilization_mean = kv_utilization_per_instance.reduce(0, +) / Double(max(1, kv_utilization_per_instance.count))
        preemptions = cluster.totalPreemptions
        preemptions_per_request = Double(cluster.totalPreemptions) / Double(max(1, cluster.arrived))
        migrations = cluster.migrations
        let moves = cluster.migrationRecords.filter { $0.kind != .handOff }
        migration_downtime = moves.isEmpty ? nil : stats(.seconds(moves.filter { $0.outcome == .committed }.map(\.downtime.seconds)))
        migrations_aborted = moves.isEmpty ? nil : moves.filter { $0.outcome != .committed }.count
        if let classes = tally.byPriority {
            func report(_ l: RequestTally.Latencies) -> ClassReport {
                ClassReport(requests: l.ended, completed: l.completed, ttft: stats(.nanoseconds(l.ttft)), tpot: stats(.seconds(l.tpot)), e2el: stats(.nanoseconds(l.e2el)))
            }
            by_priority = ["high": report(classes.high), "normal": report(classes.normal)]
        } else {
            by_priority = nil
        }
        let held = cluster.instances.map { inst in
            ((inst.lifecycle.removed ?? cluster.loop.now) - (inst.lifecycle.requested ?? .zero)).seconds / 3600
        }
        instance_hours = held.reduce(0, +)
        gpu_hours = zip(held, cluster.instances).reduce(0) { $0 + $1.0 * Double($1.1.gpus.count) }
        let changed = cluster.instances.filter { $0.lifecycle.requested != nil || $0.lifecycle.drainStarted != nil || $0.lifecycle.removed != nil }
        instance_phases = changed.isEmpty ? nil : changed.map { inst in
            let l = inst.lifecycle
            return PhaseReport(instance: inst.index, requested_s: l.requested?.seconds, initialized_s: l.initialized?.seconds,
                               weights_loaded_s: l.weightsLoaded?.seconds,
                               ready_s: l.ready?.seconds, drain_started_s: l.drainStarted?.seconds, removed_s: l.removed?.seconds)
        }
        scaling = cluster.scalingRecords.isEmpty ? nil : cluster.scalingRecords.map(ScalingReport.init)
        kv_wait_share = tally.movedLatency > 0 ? tally.movedWait / tally.movedLatency : nil
        kv_transfer_share = tally.movedLatency > 0 ? tally.movedTransfer / tally.movedLatency : nil
        instances = cluster.instances.count
        var memory: [MemoryReport] = []
        for inst in cluster.instances {
            let m = inst.memoryPerGPU, gpus = Double(inst.gpus.count), gib = 1_073_741_824.0
            let report = MemoryReport(instances: [inst.index, inst.index], gpus: inst.gpus.count, weights_gib: m.weights * gpus / gib,
                                      activations_gib: m.activations * gpus / gib, kv_cache_gib: m.kvCache * gpus / gib,
                                      kv_blocks: inst.gpuBlocks.capacity)
            if let last = memory.last, last.gpus == report.gpus, last.weights_gib == report.weights_gib,
               last.activations_gib == report.activations_gib, last.kv_blocks == report.kv_blocks, last.instances[1] == inst.index - 1 {
                memory[memory.count - 1] = MemoryReport(instances: [last.instances[0], inst.index], gpus: last.gpus,
                                                        weights_gib: last.weights_gib, activations_gib: last.activations_gib,
                                                        kv_cache_gib: last.kv_cache_gib, kv_blocks: last.kv_blocks)
            } else {
                memory.append(report)
            }
        }
        memory_per_replica = memory
        nodes = cluster.topology.nodes.count
        var models: [String: String] = [:]
        for inst in cluster.instances {
            let source = inst.costModel.profile.map { p in
                p.transferredFrom.map { "transferred from \($0) (memory terms scaled by bandwidth; simrun calibrate)" }
                    ?? "fitted (\(p.sources.count) measurement files; simrun calibrate)"
            }
            models[inst.spec.accelerator.name] = source ?? "datasheet roofline (no measurements for this GPU)"
        }
        cost_model = models
    }
}
