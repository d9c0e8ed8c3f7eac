import HardwareModels
import Policies
import Serving

/// Every scenario field: its path, type, default and meaning. The loader
/// rejects any key not listed here, and `simrun schema` prints this table, so
/// the documentation and the accepted input cannot drift apart.
public enum ScenarioSchema {
    struct Field {
        let path: String
        let type: String
        let defaultValue: String
        let summary: String
        /// The values a string field takes, where the set is closed (the JSON Schema's enum).
        var values: [String] = []
        /// Besides `values`, the path of a `.json` file (a model config or an engine profile).
        var orJSONFile = false
        /// A regular expression a string field matches.
        var pattern: String?
    }

    /// The largest whole number a field of type "integer ≥ n" takes (the loader refuses more).
    static let wholeNumberLimit = 1 << 40

    static let fields: [Field] = [
        Field(path: "name", type: "string", defaultValue: "required",
              summary: "Scenario name; also the default output folder results/<name>/. Letters, digits, '-', '_', '.'.",
              pattern: "^(?!\\.{1,2}$)[A-Za-z0-9._-]+$"),
        Field(path: "description", type: "string", defaultValue: "none", summary: "Free text for people."),
        Field(path: "$schema", type: "string", defaultValue: "none",
              summary: "The JSON Schema an editor checks this file against (scenarios/scenario.schema.json); simrun ignores it."),
        Field(path: "seed", type: "integer in 0...18446744073709551615", defaultValue: "1",
              summary: "Seed of every random stream; `--seed` overrides it."),
        Field(path: "instances", type: "array", defaultValue: "required",
              summary: "Groups of identical instances (model replicas)."),
        Field(path: "instances[].count", type: "integer in 1...100000", defaultValue: "1", summary: "Instances in this group."),
        Field(path: "instances[].gpu", type: "string", defaultValue: "required",
              summary: "Accelerator: " + AcceleratorCatalog.all.map(\.name).joined(separator: ", ") + ".",
              values: AcceleratorCatalog.all.map(\.name)),
        Field(path: "instances[].model", type: "string", defaultValue: "required",
              summary: "Model: the path of a Hugging Face config.json (" + ModelArchitecture.supportedModelTypes.joined(separator: ", ")
                + "), or one of: " + ModelCatalog.all.map(\.name).joined(separator: ", ") + ".",
              values: ModelCatalog.all.map(\.name), orJSONFile: true),
        Field(path: "instances[].weight_dtype", type: "string", defaultValue: "the checkpoint's",
              summary: "bf16, fp16 or fp8 (FP8 weights: half the bytes, GEMMs at the GPU's FP8 peak; needs FP8 tensor cores).",
              values: ["bf16", "fp16", "fp8"]),
        Field(path: "instances[].kv_cache_dtype", type: "string", defaultValue: "auto",
              summary: "auto (the activations' type) or fp8 (vLLM's kv_cache_dtype): bytes per cached K/V element.",
              values: ["auto", "fp8"]),
        Field(path: "instances[].expert_skew", type: "number in 0...10", defaultValue: "0",
              summary: "Mixture of experts: expert i is routed to in proportion to i^-skew (0: uniform); sets how many "
                + "distinct experts' weights a batch reads."),
        Field(path: "instances[].tp", type: "integer ≥ 1", defaultValue: "1",
              summary: "Tensor-parallel degree; must divide the model's attention heads."),
        Field(path: "instances[].pp", type: "integer ≥ 1", defaultValue: "1", summary: "Pipeline-parallel degree."),
        Field(path: "instances[].dp", type: "integer in 1...1024", defaultValue: "1",
              summary: "Mixture of experts: attention data-parallel ranks, each on tp GPUs with its share of the batch; an "
                + "instance spans dp × tp × pp GPUs. max_num_seqs and max_num_batched_tokens are per rank (vLLM's)."),
        Field(path: "instances[].ep", type: "integer ≥ 1", defaultValue: "1",
              summary: "Mixture of experts: expert-parallel groups over the dp × tp GPUs of a stage (a divisor of it; "
                + "dp × tp is vLLM's --enable-expert-parallel); each MoE layer adds a dispatch and a combine all-to-all."),
        Field(path: "instances[].expert_histogram", type: "list of ≥ 1 numbers ≥ 0", defaultValue: "none",
              summary: "Mixture of experts: measured tokens per expert (one count per expert, in expert order), used instead "
                + "of expert_skew. Without it, expert_skew's popularity ranks go to experts by a draw from the seed."),
        Field(path: "instances[].role", type: "string", defaultValue: "colocated",
              summary: "colocated (prefill and decode), prefill (hands requests to decode instances) or decode.",
              values: InstanceRole.allCases.map(\.rawValue)),
        Field(path: "instances[].placement", type: "string", defaultValue: "packed",
              summary: "packed (an instance's GPUs on as few servers as possible) or stage_per_server (each pipeline stage "
                + "on its own server, the first with room: a prefill and a decode group placed this way share each stage's "
                + "server, so their KV moves over NVLink; DistServe's low node affinity).",
              values: ["packed", "stage_per_server"]),
        Field(path: "instances[].max_num_seqs", type: "integer ≥ 1", defaultValue: "scheduler's",
              summary: "This group's batch-size cap (a decode instance's largest batch, DistServe's decode L_m)."),
        Field(path: "instances[].max_num_batched_tokens", type: "integer ≥ 1", defaultValue: "scheduler's",
              summary: "This group's token budget per step (DistServe's prefill L_m: prompts batch up to it, a "
                + "longer prompt runs alone on a prefill instance)."),
        Field(path: "instances[].engine", type: "string", defaultValue: "vllm-v1",
              summary: "The serving stack the instances model: host time per step and whether it overlaps the GPU, "
                + "CUDA graphs, all-reduce by message size. The path of a profile file, or one of: "
                + EngineCatalog.all.map(\.name).joined(separator: ", ") + " (Sources/HardwareModels/Resources/engines).",
              values: EngineCatalog.all.map(\.name), orJSONFile: true),
        Field(path: "instances[].engine_overrides", type: "object", defaultValue: "none",
              summary: "Any field of the engine profile, for this group."),
        Field(path: "instances[].engine_overrides.host_fixed_ms", type: "number in 0...10000", defaultValue: "profile",
              summary: "Host time of every step, ms."),
        Field(path: "instances[].engine_overrides.host_per_sequence_us", type: "number in 0...1000000", defaultValue: "profile",
              summary: "Host time per scheduled sequence, µs."),
        Field(path: "instances[].engine_overrides.host_per_token_us", type: "number in 0...1000000", defaultValue: "profile",
              summary: "Host time per scheduled token, µs."),
        Field(path: "instances[].engine_overrides.overlap_host", type: "boolean", defaultValue: "profile",
              summary: "Host work overlaps the previous step's GPU work: a step costs max(host, GPU)."),
        Field(path: "instances[].engine_overrides.cuda_graph_batches", type: "string", defaultValue: "profile",
              summary: "none, decode (decode-only batches run as graphs) or any (any batch up to the largest size).",
              values: EngineProfile.GraphBatches.allCases.map(\.rawValue)),
        Field(path: "instances[].engine_overrides.cuda_graph_sizes", type: "list of ≥ 1 integers ≥ 1", defaultValue: "profile",
              summary: "Captured batch sizes (tokens), increasing; a graph batch is padded to the next one."),
        Field(path: "instances[].engine_overrides.cuda_graph_padding", type: "boolean", defaultValue: "profile",
              summary: "Pad a batch between two captured sizes up to a graph (false: it runs eagerly)."),
        Field(path: "instances[].engine_overrides.all_reduce_small", type: "string", defaultValue: "profile",
              summary: "All-reduce up to all_reduce_small_max_bytes: vllm_custom, sglang_custom, trtllm, nccl or vidur_nccl.",
              values: EngineProfile.AllReduceChoice.known),
        Field(path: "instances[].engine_overrides.all_reduce_small_max_bytes", type: "number in 0...1000000000000",
              defaultValue: "profile", summary: "Largest message (bytes) the small all-reduce takes."),
        Field(path: "instances[].engine_overrides.all_reduce_large", type: "string", defaultValue: "profile",
              summary: "All-reduce beyond that size (nccl, vidur_nccl, …).",
              values: EngineProfile.AllReduceChoice.known),
        Field(path: "instances[].engine_overrides.attention_backend", type: "string", defaultValue: "profile",
              summary: "The attention kernels' name (recorded only)."),
        Field(path: "instances[].engine_overrides.kernel_tables", type: "string", defaultValue: "profile",
              summary: "Measured kernel timings to use where the GPU has them: vllm-0.14 (GEMMs and attention measured "
                + "inside vLLM 0.14), vidur-2024 (standalone GEMM profiles, own FlashAttention measurements) or none "
                + "(no kernels: a step costs its host time alone, for token-accounting studies).",
              values: EngineProfile.KernelTables.allCases.map(\.rawValue)),
        Field(path: "instances[].engine_overrides.kv_memory", type: "string", defaultValue: "profile",
              summary: "How the memory left for the KV cache is computed: estimate, or vllm-v1 (vLLM V1's profile run: "
                + "CUDA's total × gpu_memory_utilization − weights − peak of forward and sampler − memory outside torch).",
              values: EngineProfile.KVMemory.Method.allCases.map(\.rawValue)),
        Field(path: "instances[].engine_overrides.sampler_logit_copies", type: "number in 0...1000", defaultValue: "profile",
              summary: "vllm-v1: FP32 copies of max_num_seqs × vocabulary logits alive at the sampler's peak."),
        Field(path: "instances[].engine_overrides.non_torch_gib_single_gpu", type: "number in 0...1000", defaultValue: "profile",
              summary: "vllm-v1: GiB per GPU outside torch's allocator (CUDA context growth) on a one-GPU instance."),
        Field(path: "instances[].engine_overrides.non_torch_gib_multi_gpu", type: "number in 0...1000", defaultValue: "profile",
              summary: "vllm-v1: the same with peers (NCCL and custom all-reduce buffers)."),
        Field(path: "instances[].engine_overrides.prefix_caching", type: "boolean", defaultValue: "profile",
              summary: "Automatic prefix caching (vLLM V1, SGLang: on): prompts reuse the cached blocks they share."),
        Field(path: "instances[].engine_overrides.warmup_s", type: "number in 0...3600", defaultValue: "profile",
              summary: "Seconds an added instance warms up after loading its weights, before it takes requests."),
        Field(path: "instances[].engine_overrides.init_s", type: "number in 0...3600", defaultValue: "profile",
              summary: "Seconds a cold-started engine process takes before it loads weights (a pre-initialised standby skips it)."),
        Field(path: "instances[].engine_overrides.scheduling", type: "string", defaultValue: "profile",
              summary: "With chunked prefill off: v0 (a step is all prefills, waiting prompts first, or all decodes) or "
                + "v1 (decodes and whole prompts share one token budget).",
              values: EngineProfile.Scheduling.allCases.map(\.rawValue)),
        Field(path: "controller", type: "object", defaultValue: "none",
              summary: "A cluster controller: a policy that runs every period and on events, and acts by migrating, "
                + "adding and draining instances."),
        Field(path: "controller.policy", type: "string", defaultValue: "required",
              summary: "llumnix: Llumnix's global scheduler (every period, instances below the freeness threshold, or "
                + "that preempted, each move one request to a partner above it, the most loaded with the freest); "
                + "elastic_moe: ElasticMoE's coordinator (rescale the serving MoE instance's DP and EP at fixed steps, or "
                + "when SLO attainment over a window falls below the target); none: no controller (to switch one off with --set).",
              values: PolicyRegistry.controllers.map(\.name)),
        Field(path: "controller.period_s", type: "number in 0.001...1000000", defaultValue: "0.05",
              summary: "Seconds between the controller's rounds (Llumnix's polling interval)."),
        Field(path: "controller.threshold", type: "number", defaultValue: "3",
              summary: "llumnix: the freeness (decode steps before the KV blocks run out) below which an instance "
                + "migrates requests out and above which it takes them (migrate_out_threshold)."),
        Field(path: "controller.pairing", type: "string", defaultValue: "defrag",
              summary: "llumnix: defrag (keep every pair) or balanced (only pairs a migration balances).",
              values: LlumnixController.Pairing.allCases.map(\.rawValue)),
        Field(path: "controller.pick", type: "string", defaultValue: "shortest_running",
              summary: "llumnix: the request a source moves: shortest_running, longest_running or last_running.",
              values: LlumnixController.Pick.allCases.map(\.rawValue)),
        Field(path: "controller.migration", type: "string", defaultValue: "live",
              summary: "llumnix: live (in stages while the request decodes, paused only for the last: at most 3 stages, "
                + "the last once 16 blocks or fewer remain), blocking (one copy, the request paused throughout) or none "
                + "(no migration: INFaaS++).",
              values: LlumnixController.Migration.allCases.map(\.rawValue)),
        Field(path: "controller.max_instances", type: "integer in 1...100000", defaultValue: "none (no scaling)",
              summary: "llumnix: autoscale up to this many instances (like the first group's; started from NVMe, with "
                + "their load and warm-up time), on the average freeness every scale_interval_s."),
        Field(path: "controller.min_instances", type: "integer ≥ 1", defaultValue: "1",
              summary: "llumnix: never drain below this many instances."),
        Field(path: "controller.scale_up", type: "number", defaultValue: "10",
              summary: "llumnix: start an instance when the average freeness is below this."),
        Field(path: "controller.scale_down", type: "number > scale_up", defaultValue: "60",
              summary: "llumnix: drain the instance running fewest requests when the others' average freeness is above this."),
        Field(path: "controller.scale_interval_s", type: "number in 0.001...1000000", defaultValue: "10",
              summary: "llumnix: seconds between scaling decisions."),
        Field(path: "controller.scaling_method", type: "string", defaultValue: "elastic",
              summary: "elastic_moe: elastic (ElasticMoE: prepare beside the serving layout, weights peer to peer, only "
                + "moved experts copied, zero-copy reuse, warm up, take over every request in place), cold_restart (stop, "
                + "boot the new layout: downtime), extravagant (boot it on other GPUs, then switch), concurrent (boot it on "
                + "the same GPUs plus new ones; cut the KV cache beforehand so both fit) or horizontal (add a replica).",
              values: ScalingMethod.allCases.map(\.rawValue)),
        Field(path: "controller.weights_from", type: "string", defaultValue: "nvme",
              summary: "elastic_moe: where a booted layout (the baselines, or elastic without zero_copy) loads its weights: "
                + "nvme or host_memory (staged in the server's DRAM).",
              values: ["nvme", "host_memory"]),
        Field(path: "controller.pre_initialized", type: "boolean", defaultValue: "true",
              summary: "elastic: a standby engine process is ready (false: a cold start of the engine's init_s)."),
        Field(path: "controller.peer_to_peer", type: "boolean", defaultValue: "true",
              summary: "elastic: new GPUs take weights and moved experts from peers' HBM (false: from the server's NVMe, or its DRAM "
                + "with weights_from: host_memory)."),
        Field(path: "controller.zero_copy", type: "boolean", defaultValue: "true",
              summary: "elastic: weights and KV on GPUs that stay are reused in place (false: the instance restarts, as cold_restart)."),
        Field(path: "controller.ipc_allocator", type: "boolean", defaultValue: "true",
              summary: "elastic: tensors are remapped in place (false: GPUs that stay copy the experts they keep into new "
                + "buffers, holding both until switch-over)."),
        Field(path: "controller.steps", type: "array", defaultValue: "none",
              summary: "elastic_moe: fixed scale steps, in time order or not."),
        Field(path: "controller.steps[].at_s", type: "number ≥ 0", defaultValue: "required",
              summary: "elastic_moe: when the step is taken (at the first controller round from then), s."),
        Field(path: "controller.steps[].dp", type: "integer in 1...1024", defaultValue: "required",
              summary: "elastic_moe: the DP degree to move to (EP follows as dp × tp when it was dp × tp)."),
        Field(path: "controller.max_dp", type: "integer in 1...1024", defaultValue: "none (no SLO rule)",
              summary: "elastic_moe: scale on SLO attainment (slo.ttft_s and slo.tpot_s, both required) up to this DP degree."),
        Field(path: "controller.min_dp", type: "integer ≥ 1", defaultValue: "1",
              summary: "elastic_moe: never scale below this DP degree."),
        Field(path: "controller.slo_target", type: "number in (0, 1]", defaultValue: "0.9",
              summary: "elastic_moe: scale up when fewer than this share of the window's requests met both SLOs."),
        Field(path: "controller.window_s", type: "number in 0.001...1000000", defaultValue: "30",
              summary: "elastic_moe: the sliding window of finished requests (at least 20) the attainment is taken over."),
        Field(path: "controller.idle_load", type: "number in [0, 1]", defaultValue: "0.3",
              summary: "elastic_moe: scale down when attainment is met, nothing queues and the load (the larger of the KV "
                + "cache's share in use and the batch's share of max_num_seqs) is below this."),
        Field(path: "router", type: "string", defaultValue: "round_robin",
              summary: "How new requests pick an instance: round_robin, least_outstanding_tokens, llumnix_load (highest "
                + "freeness: Llumnix's dispatch) or shortest_queue (fewest waiting + running: DistServe's prefill dispatch).",
              values: PolicyRegistry.routers.map(\.name)),
        Field(path: "scheduler", type: "object", defaultValue: "all defaults", summary: "Batch scheduler of every instance."),
        Field(path: "scheduler.policy", type: "string", defaultValue: "fcfs",
              summary: "fcfs (= aggressive): vLLM continuous batching, admit while blocks are free; conservative: reserve "
                + "prompt + max_output_tokens per request; past_future: admit while the predicted peak KV fits.",
              values: PolicyRegistry.schedulers.map(\.name)),
        Field(path: "scheduler.queue_timeout_s", type: "number > 0", defaultValue: "none",
              summary: "Abort a request not yet scheduled this long after arriving (LightLLM's SLA abort); counted as "
                + "dropped: queue_timeout. A closed-loop client then sends its next request."),
        Field(path: "scheduler.max_output_tokens", type: "integer in 1...10000000", defaultValue: "4096",
              summary: "The system's maximum output length: what conservative reserves and where Past-Future's "
                + "predicted lengths stop. Schedulers never see a request's true length."),
        Field(path: "scheduler.history_window", type: "integer in 1...1000000", defaultValue: "200",
              summary: "Past-Future: finished output lengths remembered (the LightLLM server's window)."),
        Field(path: "scheduler.history_prior", type: "integer in 1...10000000", defaultValue: "max_output_tokens",
              summary: "Past-Future: the value the window starts half filled with."),
        Field(path: "scheduler.future_samples", type: "integer in 1...100", defaultValue: "5",
              summary: "Past-Future: most sampled futures per round (min(this, 200/batch + 1)); the worst decides."),
        Field(path: "scheduler.reserve", type: "number in [0, 1)", defaultValue: "0.05",
              summary: "Past-Future: share of KV capacity kept free."),
        Field(path: "scheduler.max_model_len", type: "integer in 1...100000000", defaultValue: "the model's context",
              summary: "Longest context per request (vLLM's max_model_len): a longer prompt is dropped at arrival "
                + "(exceeds_context); generation stops when the context reaches it. May exceed the model's context, as "
                + "LightLLM's max_req_total_len and vLLM's VLLM_ALLOW_LONG_MAX_MODEL_LEN allow."),
        Field(path: "scheduler.admission_interval_steps", type: "integer in 1...1000000", defaultValue: "1",
              summary: "New requests are considered every this many steps, or at once when nothing runs (vLLM: 1; "
                + "LightLLM's max_wait_tokens: 2). Every step counts, a prefill-only one too: the Past-Future behaviour "
                + "study's 10 decode steps between prefill rounds are 11."),
        Field(path: "scheduler.max_prefill_tokens_per_round", type: "integer in 1...100000000", defaultValue: "none",
              summary: "Most prompt tokens one admission round takes in (the Past-Future behaviour study: 32768)."),
        Field(path: "scheduler.max_num_seqs", type: "integer ≥ 1", defaultValue: "256",
              summary: "Most requests in one batch (vLLM max_num_seqs)."),
        Field(path: "scheduler.max_num_batched_tokens", type: "integer ≥ 1", defaultValue: "8192",
              summary: "Most tokens computed in one iteration (vLLM max_num_batched_tokens)."),
        Field(path: "scheduler.chunked_prefill", type: "boolean", defaultValue: "true",
              summary: "Split long prompts across iterations and mix them with decodes."),
        Field(path: "scheduler.preemption", type: "string", defaultValue: "recompute",
              summary: "When blocks run out: recompute (free, recompute later) or swap (to host DRAM over PCIe).",
              values: PreemptionMode.allCases.map(\.rawValue)),
        Field(path: "scheduler.watermark", type: "number in [0, 1)", defaultValue: "0.01",
              summary: "Share of KV blocks kept free when admitting new requests."),
        Field(path: "scheduler.max_preemptions", type: "integer ≥ 0", defaultValue: "8",
              summary: "A request preempted more often is dropped (bounds overload work)."),
        Field(path: "scheduler.block_size", type: "integer ≥ 1", defaultValue: "16", summary: "Tokens per KV block."),
        Field(path: "scheduler.num_gpu_blocks", type: "integer in 1...100000000", defaultValue: "from memory",
              summary: "KV blocks per instance, as a server log reports them (vLLM's num_gpu_blocks_override); "
                + "the weights must still fit."),
        Field(path: "scheduler.gpu_memory_utilization", type: "number in (0, 1]", defaultValue: "0.9",
              summary: "Share of each GPU's memory for weights, activations and KV cache."),
        Field(path: "scheduler.swap_space_gib", type: "number in 0...1000000", defaultValue: "4",
              summary: "Host DRAM per GPU for swapped KV blocks."),
        Field(path: "topology", type: "object", defaultValue: "per-GPU server defaults",
              summary: "The servers instances run on; each field overrides the default server of every GPU kind "
                + "(DGX A100/H100/H200; AWS g6e for L40S, g5 for A10). Nodes are added as instances need GPUs."),
        Field(path: "topology.gpus_per_node", type: "integer in 1...64", defaultValue: "8 (A10: 4)",
              summary: "GPUs per server. An instance never straddles servers unless it needs more GPUs than one has."),
        Field(path: "topology.max_nodes", type: "integer ≥ 1", defaultValue: "unlimited",
              summary: "Most servers; instances that do not fit are an error."),
        Field(path: "topology.host_memory_gib", type: "number > 0", defaultValue: "1024 (H100/H200: 2048)",
              summary: "Host DRAM per server; holds every GPU's swap space."),
        Field(path: "topology.nvme_tib", type: "number > 0", defaultValue: "by server", summary: "NVMe capacity per server."),
        Field(path: "topology.nics_per_node", type: "integer in 1...64", defaultValue: "8 (L40S: 4, A10: 1)",
              summary: "Network interfaces per server; GPU i sends through NIC i mod nics_per_node."),
        Field(path: "topology.nic_gbps", type: "number > 0", defaultValue: "200 (H100/H200: 400)",
              summary: "Bandwidth of one NIC in Gbit/s, each direction."),
        Field(path: "topology.link_efficiency", type: "number in (0, 1]", defaultValue: "0.76",
              summary: "Achieved share of every link's datasheet bandwidth (measured NVLink send/recv: 0.76–0.77)."),
        Field(path: "scheduler.swap_nvme_gib", type: "number in 0...1000000", defaultValue: "0 (off)",
              summary: "NVMe space per GPU for swapped KV once host swap space (or the server's DRAM) is full."),
        Field(path: "scheduler.priorities", type: "boolean", defaultValue: "true",
              summary: "Treat high-priority requests first (queue order, preemption, Llumnix's headroom); false: the "
                + "classes are only reported (Llumnix-base)."),
        Field(path: "scheduler.priority_headroom_slowdown", type: "number in (0, 10]", defaultValue: "none",
              summary: "Llumnix's profiled headroom, instead of priority_headroom_blocks: each group's KV capacity less the "
                + "most KV a decode batch (512-token requests) holds while its step stays within this share of one request's."),
        Field(path: "scheduler.priority_headroom_blocks", type: "integer in 0...100000000", defaultValue: "0",
              summary: "Llumnix: KV blocks its freeness sets aside on an instance serving high-priority requests (their "
                + "profiled headroom), so normal requests go and move elsewhere; 0: no headroom (Llumnix-base)."),
        Field(path: "scheduler.kv_offloading_gib", type: "number in 0...1000000", defaultValue: "0 (off)",
              summary: "Host DRAM per instance for prefix-cache blocks (vLLM's kv_offloading_size, LMCache's CPU "
                + "backend): prompt blocks are stored there as they are computed, and a prompt loads the leading blocks "
                + "the GPU cache lacks over PCIe instead of recomputing them. Needs prefix_caching."),
        Field(path: "workload", type: "object", defaultValue: "required", summary: "Where requests come from."),
        Field(path: "workload.arrivals", type: "object", defaultValue: "required", summary: "Arrival process."),
        Field(path: "workload.arrivals.process", type: "string", defaultValue: "required",
              summary: "poisson, gamma (bursty when cv > 1), trace (replay a trace's timestamps and lengths) or "
                + "closed_loop (clients that each send the next request when the last one ends).",
              values: ["poisson", "gamma", "trace", "closed_loop"]),
        Field(path: "workload.arrivals.clients", type: "integer in 1...1000000", defaultValue: "required for closed_loop",
              summary: "Concurrent clients of a closed loop; all send their first request at time 0."),
        Field(path: "workload.arrivals.think_time_s", type: "number ≥ 0", defaultValue: "0",
              summary: "Closed loop: pause between a reply and the client's next request."),
        Field(path: "workload.arrivals.rate", type: "number > 0", defaultValue: "required for poisson/gamma",
              summary: "Mean arrival rate, requests/s."),
        Field(path: "workload.arrivals.cv", type: "number > 0", defaultValue: "required for gamma",
              summary: "Coefficient of variation of inter-arrival gaps."),
        Field(path: "workload.arrivals.stages", type: "non-empty array", defaultValue: "none",
              summary: "Poisson or gamma: a load ramp of {rate, duration_s} stages run one after another instead of rate; "
                + "the workload ends with the last stage (num_requests, if given, caps it). summary.json reports each stage."),
        Field(path: "workload.arrivals.stages[].rate", type: "number > 0", defaultValue: "required",
              summary: "Requests per second during the stage."),
        Field(path: "workload.arrivals.stages[].duration_s", type: "number > 0", defaultValue: "required",
              summary: "How long the stage lasts, seconds."),
        Field(path: "workload.arrivals.path", type: "string", defaultValue: "required for trace",
              summary: "Trace file, relative to the scenario file."),
        Field(path: "workload.arrivals.format", type: "string", defaultValue: "detected",
              summary: "azure, mooncake or arrived_at_csv; detected from the first line when absent.",
              values: ["azure", "mooncake", "arrived_at_csv"]),
        Field(path: "workload.arrivals.rate_scale", type: "number > 0", defaultValue: "1",
              summary: "Replay speed: 2 halves every gap (twice the request rate)."),
        Field(path: "workload.lengths", type: "object", defaultValue: "required unless process is trace",
              summary: "Prompt and output lengths: prompt + output distributions, or from_trace."),
        Field(path: "workload.lengths.from_trace", type: "string", defaultValue: "none",
              summary: "A trace or length-only CSV; (prompt, output) pairs are drawn from its rows together."),
    ] + distributionFields("prompt") + distributionFields("output") + [
        Field(path: "workload.num_requests", type: "integer in 1...100000000", defaultValue: "required unless process is trace",
              summary: "Requests to generate; for a trace, the most rows to replay (all by default). Every request's "
                + "record stays in memory for exact percentiles, which bounds a run."),
        Field(path: "workload.shared_prefix", type: "object", defaultValue: "none",
              summary: "Poisson or gamma arrivals of prompts that share system prompts (inference-perf's shared prefix): "
                + "groups × prompts_per_group prompts, each a group's system prompt plus its own question, drawn "
                + "uniformly; output lengths from workload.lengths.output. Replaces workload.lengths.prompt."),
        Field(path: "workload.shared_prefix.groups", type: "integer in 1...1000000", defaultValue: "required",
              summary: "System prompts."),
        Field(path: "workload.shared_prefix.prompts_per_group", type: "integer in 1...1000000", defaultValue: "required",
              summary: "Questions per system prompt (groups × prompts_per_group ≤ 100000000)."),
        Field(path: "workload.shared_prefix.system_tokens", type: "integer in 0...10000000", defaultValue: "required",
              summary: "Tokens of each system prompt."),
        Field(path: "workload.shared_prefix.question_tokens", type: "integer in 1...10000000", defaultValue: "required",
              summary: "Tokens of each question (and of each follow-up)."),
        Field(path: "workload.shared_prefix.turns", type: "integer in 1...10000", defaultValue: "1",
              summary: "Turns of a chat: a prompt drawn again continues its chat (the exchange so far plus a follow-up "
                + "question) until it has had this many turns, then starts over."),
        Field(path: "workload.high_priority_share", type: "number in [0, 1]", defaultValue: "0",
              summary: "Share of requests in the high of two priority classes (drawn per request): queued ahead of normal "
                + "requests, preempted last, and given headroom by Llumnix's freeness; summary.json reports each class."),
        Field(path: "workload.client_timeout_s", type: "number in (0, 1e9]", defaultValue: "none",
              summary: "A client gives up on a request not finished this long after sending it: the engine aborts it "
                + "(its blocks freed) and it counts as dropped (client_timeout), outside every latency metric."),
        Field(path: "slo", type: "object", defaultValue: "none",
              summary: "Service-level objectives; each given bound is checked per request."),
        Field(path: "slo.ttft_s", type: "number > 0", defaultValue: "none", summary: "Bound on time to first token, s."),
        Field(path: "slo.tpot_s", type: "number > 0", defaultValue: "none",
              summary: "Bound on a request's time per output token (excluding the first), s."),
        Field(path: "slo.e2el_s", type: "number > 0", defaultValue: "none", summary: "Bound on end-to-end latency, s."),
        Field(path: "slo.max_itl_s", type: "number > 0", defaultValue: "none",
              summary: "Bound on a request's worst gap between consecutive tokens (the Past-Future paper's SLA), s."),
        Field(path: "run", type: "object", defaultValue: "all defaults", summary: "How the simulation runs."),
        Field(path: "run.horizon_s", type: "number > 0", defaultValue: "none",
              summary: "Stop at this simulated time; requests still in flight are reported as unfinished."),
        Field(path: "run.max_events", type: "integer ≥ 1", defaultValue: "none", summary: "Stop after this many events."),
        Field(path: "run.sample_interval_s", type: "0 or number ≥ 0.001", defaultValue: "1",
              summary: "Simulated seconds between timeseries.csv rows; 0 turns sampling off."),
        Field(path: "run.percentiles", type: "list of 1–20 numbers in (0, 100)", defaultValue: "[90, 99]",
              summary: "Latency percentiles reported beside mean, median and std (p<q>_ms in summary.json, "
                + "p<q>_ttft_ms in exports; vLLM's --metric-percentiles)."),
        Field(path: "run.check_invariants", type: "boolean", defaultValue: "false",
              summary: "Check KV accounting after every iteration (slower); violations fail the run."),
    ]

    private static func distributionFields(_ which: String) -> [Field] {
        let p = "workload.lengths.\(which)"
        return [
            Field(path: p, type: "object", defaultValue: "required without from_trace",
                  summary: "Distribution of \(which) lengths in tokens (draws are whole numbers ≥ 1)."),
            Field(path: "\(p).dist", type: "string", defaultValue: "required",
                  summary: "fixed (value), uniform (min, max), lognormal (mean, sigma, min, max), zipf (mean, max: a power law "
                    + "on 1...max with that mean, Llumnix's generated lengths) or empirical (path).",
                  values: ["fixed", "uniform", "lognormal", "zipf", "empirical"]),
            Field(path: "\(p).value", type: "integer in 1...10000000", defaultValue: "required for fixed", summary: "The fixed length."),
            Field(path: "\(p).min", type: "integer in 1...10000000", defaultValue: "required for uniform; 1 for lognormal",
                  summary: "Smallest length."),
            Field(path: "\(p).max", type: "integer in 1...10000000", defaultValue: "required for uniform and zipf; 1000000 for lognormal",
                  summary: "Largest length (≥ min)."),
            Field(path: "\(p).mean", type: "number > 0", defaultValue: "required for lognormal and zipf", summary: "Mean length."),
            Field(path: "\(p).sigma", type: "number ≥ 0", defaultValue: "required for lognormal",
                  summary: "Standard deviation of log(length)."),
            Field(path: "\(p).path", type: "string", defaultValue: "required for empirical",
                  summary: "A trace or length-only CSV whose \(which) column is sampled."),
        ]
    }

    static func field(_ path: String) -> Field? { fields.first { $0.path == path } }

    /// The keys allowed in the object at `path` ("" for the top level).
    static func keys(under path: String) -> [String] {
        let prefix = path.isEmpty ? "" : path + "."
        return fields.compactMap { f -> String? in
            guard f.path.hasPrefix(prefix) else { return nil }
            let rest = f.path.dropFirst(prefix.count)
            guard !rest.contains("."), !rest.hasPrefix("[") else { return nil }
            return rest.hasSuffix("[]") ? String(rest.dropLast(2)) : String(rest)
        }
    }

    /// The schema as a Markdown table.
    public static var markdownTable: String {
        var s = "| field | type | default | meaning |\n|---|---|---|---|\n"
        for f in fields { s += "| `\(f.path)` | \(f.type) | \(f.defaultValue) | \(f.summary) |\n" }
        return s
    }
}
