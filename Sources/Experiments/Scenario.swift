import SimCore

/// A scenario file as written: plain JSON, snake_case keys. Every field and its
/// default is documented in ScenarioSchema (printed by `simrun schema`).
struct Scenario: Decodable {
    var name: String
    var description: String?
    var seed: UInt64?
    var instances: [InstanceGroup]
    var router: String?
    var controller: ControllerSection?
    var scheduler: SchedulerSection?
    var topology: TopologySection?
    var workload: WorkloadSection
    var slo: SLOSection?
    var run: RunSection?

    struct InstanceGroup: Decodable {
        var count: Int?
        var gpu: String
        var model: String
        var tp: Int?
        var pp: Int?
        var dp: Int?
        var ep: Int?
        var expert_histogram: [Double]?
        var role: String?
        var engine: String?
        var engine_overrides: EngineOverrides?
        var weight_dtype: String?
        var kv_cache_dtype: String?
        var expert_skew: Double?
        var max_num_seqs: Int?
        var max_num_batched_tokens: Int?
        var placement: String?
    }

    /// Any field of an engine profile, set for one instance group.
    struct EngineOverrides: Decodable {
        var host_fixed_ms: Double?
        var host_per_sequence_us: Double?
        var host_per_token_us: Double?
        var overlap_host: Bool?
        var cuda_graph_batches: String?
        var cuda_graph_sizes: [Int]?
        var cuda_graph_padding: Bool?
        var all_reduce_small: String?
        var all_reduce_small_max_bytes: Double?
        var all_reduce_large: String?
        var attention_backend: String?
        var kernel_tables: String?
        var kv_memory: String?
        var sampler_logit_copies: Double?
        var non_torch_gib_single_gpu: Double?
        var non_torch_gib_multi_gpu: Double?
        var scheduling: String?
        var prefix_caching: Bool?
        var warmup_s: Double?
        var init_s: Double?

        /// The overrides as profile fields, for EngineProfile.apply.
        var json: JSONValue {
            func n(_ x: Double?) -> JSONValue? { x.map { .number($0.description) } }
            let fields: [(String, JSONValue?)] = [
                ("host_fixed_ms", n(host_fixed_ms)), ("host_per_sequence_us", n(host_per_sequence_us)),
                ("host_per_token_us", n(host_per_token_us)), ("overlap_host", overlap_host.map { .bool($0) }),
                ("cuda_graph_batches", cuda_graph_batches.map { .string($0) }),
                ("cuda_graph_sizes", cuda_graph_sizes.map { .array($0.map { .number(String($0)) }) }),
                ("cuda_graph_padding", cuda_graph_padding.map { .bool($0) }),
                ("all_reduce_small", all_reduce_small.map { .string($0) }),
                ("all_reduce_small_max_bytes", n(all_reduce_small_max_bytes)),
                ("all_reduce_large", all_reduce_large.map { .string($0) }),
                ("attention_backend", attention_backend.map { .string($0) }),
                ("kernel_tables", kernel_tables.map { .string($0) }),
                ("kv_memory", kv_memory.map { .string($0) }),
                ("sampler_logit_copies", n(sampler_logit_copies)),
                ("non_torch_gib_single_gpu", n(non_torch_gib_single_gpu)),
                ("non_torch_gib_multi_gpu", n(non_torch_gib_multi_gpu)),
                ("scheduling", scheduling.map { .string($0) }),
                ("prefix_caching", prefix_caching.map { .bool($0) }),
                ("warmup_s", n(warmup_s)),
                ("init_s", n(init_s)),
            ]
            return .object(fields.compactMap { k, v in v.map { JSONValue.Member(k, $0) } })
        }
    }

    struct ControllerSection: Decodable {
        var policy: String
        var period_s: Double?
        var threshold: Double?
        var pairing: String?
        var pick: String?
        var migration: String?
        var max_instances: Int?
        var min_instances: Int?
        var scale_up: Double?
        var scale_down: Double?
        var scale_interval_s: Double?
        var scaling_method: String?
        var weights_from: String?
        var pre_initialized: Bool?
        var peer_to_peer: Bool?
        var zero_copy: Bool?
        var ipc_allocator: Bool?
        var steps: [ScaleStep]?
        var max_dp: Int?
        var min_dp: Int?
        var slo_target: Double?
        var window_s: Double?
        var idle_load: Double?
    }

    struct ScaleStep: Decodable {
        var at_s: Double
        var dp: Int
    }

    struct SchedulerSection: Decodable {
        var policy: String?
        var max_num_seqs: Int?
        var max_model_len: Int?
        var admission_interval_steps: Int?
        var max_prefill_tokens_per_round: Int?
        var max_num_batched_tokens: Int?
        var chunked_prefill: Bool?
        var preemption: String?
        var watermark: Double?
        var max_preemptions: Int?
        var block_size: Int?
        var num_gpu_blocks: Int?
        var gpu_memory_utilization: Double?
        var swap_space_gib: Double?
        var swap_nvme_gib: Double?
        var kv_offloading_gib: Double?
        var priority_headroom_blocks: Int?
        var priority_headroom_slowdown: Double?
        var priorities: Bool?
        var max_output_tokens: Int?
        var queue_timeout_s: Double?
        var history_window: Int?
        var history_prior: Int?
        var future_samples: Int?
        var reserve: Double?
    }

    struct TopologySection: Decodable {
        var gpus_per_node: Int?
        var max_nodes: Int?
        var host_memory_gib: Double?
        var nvme_tib: Double?
        var nics_per_node: Int?
        var nic_gbps: Double?
        var link_efficiency: Double?
    }

    struct WorkloadSection: Decodable {
        var arrivals: Arrivals
        var lengths: Lengths?
        var num_requests: Int?
        var client_timeout_s: Double?
        var shared_prefix: SharedPrefix?
        var high_priority_share: Double?
    }

    struct SharedPrefix: Decodable {
        var groups: Int
        var prompts_per_group: Int
        var system_tokens: Int
        var question_tokens: Int
        var turns: Int?
    }

    struct Arrivals: Decodable {
        var process: String
        var rate: Double?
        var cv: Double?
        var path: String?
        var format: String?
        var rate_scale: Double?
        var clients: Int?
        var think_time_s: Double?
        var stages: [Stage]?
    }

    struct Stage: Decodable {
        var rate: Double
        var duration_s: Double
    }

    struct Lengths: Decodable {
        var prompt: Distribution?
        var output: Distribution?
        var from_trace: String?
    }

    struct Distribution: Decodable {
        var dist: String
        var value: Int?
        var min: Int?
        var max: Int?
        var mean: Double?
        var sigma: Double?
        var path: String?
    }

    struct SLOSection: Decodable {
        var ttft_s: Double?
        var tpot_s: Double?
        var e2el_s: Double?
        var max_itl_s: Double?
    }

    struct RunSection: Decodable {
        var horizon_s: Double?
        var max_events: Int?
        var sample_interval_s: Double?
        var check_invariants: Bool?
        var percentiles: [Double]?
    }
}
