import Foundation
import SimCore

/// What a serving stack adds to, or hides from, the kernels of a step: host time
/// (scheduling, input preparation, sampling, detokenisation), whether that host
/// work overlaps the GPU's previous step, CUDA graphs (decode batches padded to a
/// captured size), and which all-reduce runs at which message size.
///
/// Profiles are data (`Resources/engines/NAME.json`, every number with its
/// source); a scenario names one per instance and may override any field.
public struct EngineProfile: Sendable, Equatable {
    public var name: String
    public var description: String
    /// Host seconds of one step: fixed, per scheduled sequence, per scheduled token.
    public var hostFixed: Double
    public var hostPerSequence: Double
    public var hostPerToken: Double
    /// The host prepares step n+1 while the GPU runs step n (vLLM V1 async
    /// scheduling, SGLang's overlap scheduler): a step costs max(host, GPU), not the sum.
    public var overlapsHost: Bool
    public var cudaGraphs: CUDAGraphs
    public var allReduce: AllReduceChoice
    /// The attention kernels the engine runs (for the record; `kernelTables` decides the timings).
    public var attentionBackend: String
    /// Which measured kernel timings apply on GPUs that have them.
    public var kernelTables: KernelTables = .standalone
    /// How the engine decides how much memory is left for the KV cache.
    public var kvMemory = KVMemory()
    /// Automatic prefix caching: a prompt reuses the KV blocks of any cached prompt it starts with.
    public var prefixCaching = false
    /// How a step is formed when chunked prefill is off (with it on, both engines mix decodes
    /// and prefill chunks under one token budget).
    public var scheduling = Scheduling.v1
    /// Seconds an instance warms up (graph capture, first passes) after its weights are loaded,
    /// before it takes requests.
    public var warmup = 0.0
    /// Seconds a new engine process takes before it can take weights (workers, communication
    /// groups, memory profiling): a cold start, which a pre-initialised standby skips. 0 where
    /// no measurement is known.
    public var initialization = 0.0

    public enum Scheduling: String, Sendable, CaseIterable {
        /// vLLM V0: a step is either all prefills (waiting prompts first, whole) or all decodes.
        case v0
        /// vLLM V1: one token budget shared by decodes and whole prompts in the same step.
        case v1
    }
    /// Where each number comes from, by field.
    public var sources: [String: String]

    public enum KernelTables: String, Sendable, CaseIterable {
        /// GEMMs and attention measured inside vLLM 0.14 (AIConfigurator's perf database).
        case inEngine = "vllm-0.14"
        /// GEMMs from Vidur's standalone 2024 profiles, attention from this project's own
        /// FlashAttention measurements: the 2023–24 stacks.
        case standalone = "vidur-2024"
        /// No kernels: a step costs its host time alone. For token-accounting studies, where
        /// every step must cost the same (the Past-Future behaviour study).
        case none
    }

    /// The memory a server keeps out of the KV cache besides the weights (see KVCacheSizing).
    public struct KVMemory: Sendable, Equatable {
        public enum Method: String, Sendable, CaseIterable {
            /// One layer's live tensors at the token cap plus FP32 logits split over TP (simrun's first estimate).
            case estimate
            /// vLLM V1's profile run: gmu × CUDA's total − weights − peak of (forward at the token cap,
            /// sampler over max_num_seqs full-vocabulary logits) − memory outside torch (NCCL buffers).
            case vllmV1 = "vllm-v1"
        }
        public var method = Method.estimate
        /// FP32 copies of the [max_num_seqs × vocabulary] logits alive at the sampler's peak (vllm-v1).
        public var samplerLogitCopies = 0.0
        /// Bytes per GPU outside torch's allocator that the profile run adds, alone and with peers (vllm-v1).
        public var nonTorchSingleGPU = 0.0
        public var nonTorchMultiGPU = 0.0

        public init(method: Method = .estimate, samplerLogitCopies: Double = 0, nonTorchSingleGPU: Double = 0,
                    nonTorchMultiGPU: Double = 0) {
            self.method = method
            self.samplerLogitCopies = samplerLogitCopies
            self.nonTorchSingleGPU = nonTorchSingleGPU
            self.nonTorchMultiGPU = nonTorchMultiGPU
        }
    }

    public enum GraphBatches: String, Sendable, CaseIterable {
        /// No CUDA graphs: every kernel is launched from the host.
        case none
        /// Decode-only batches run as captured graphs (SGLang, TensorRT-LLM, vLLM V0).
        case decode
        /// Any batch of at most the largest captured size (vLLM V1's piecewise graphs).
        case any
    }

    public struct CUDAGraphs: Sendable, Equatable {
        public var batches: GraphBatches
        /// Captured token counts, ascending; a batch runs at the smallest one that holds it.
        public var sizes: [Int]
        /// Whether a batch between two captured sizes is padded up to a graph (else it runs eagerly).
        public var padding = true

        /// The token count a batch of `tokens` runs at, and whether it runs as a graph.
        public func padded(tokens: Int, decodeOnly: Bool) -> (tokens: Int, graph: Bool) {
            guard batches == .any || (batches == .decode && decodeOnly) else { return (tokens, false) }
            // The first size that holds the batch, by bisection (a prefill step's batch, larger than
            // every size, had been compared with each of vLLM's 67).
            var low = 0, high = sizes.count
            while low < high {
                let mid = (low + high) / 2
                if sizes[mid] >= tokens { high = mid } else { low = mid + 1 }
            }
            guard low < sizes.count, padding || sizes[low] == tokens else { return (tokens, false) }
            return (sizes[low], true)
        }
    }

    /// The all-reduce implementation by message size: `small` up to `maxSmallBytes`
    /// (a custom one-shot/two-shot kernel inside a node), `large` beyond (NCCL).
    public struct AllReduceChoice: Sendable, Equatable {
        public var small: String
        public var maxSmallBytes: Double
        public var large: String

        /// The fitted collective to use; custom kernels have a graph and an eager variant.
        public func implementation(bytes: Double, graph: Bool) -> String {
            let base = bytes <= maxSmallBytes ? small : large
            return Self.hasGraphVariant.contains(base) ? base + (graph ? "_graph" : "_eager") : base
        }

        public static let hasGraphVariant: Set<String> = ["vllm_custom", "sglang_custom"]
        /// Implementations with fitted timings (see DeviceProfile.collectives).
        public static let known = ["vidur_nccl", "nccl", "vllm_custom", "sglang_custom", "trtllm"]
    }

    /// Host seconds of a step with `sequences` sequences and `tokens` tokens.
    public func hostSeconds(sequences: Int, tokens: Int) -> Double {
        hostFixed + hostPerSequence * Double(sequences) + hostPerToken * Double(tokens)
    }

    /// The step's time from its host and GPU parts.
    public func stepSeconds(host: Double, gpu: Double) -> Double { overlapsHost ? max(host, gpu) : host + gpu }
}

extension EngineProfile {
    /// Every field a profile file (or a scenario's `engine_overrides`) may set.
    public static let fields = ["name", "description", "host_fixed_ms", "host_per_sequence_us", "host_per_token_us",
                                "overlap_host", "cuda_graph_batches", "cuda_graph_sizes", "cuda_graph_padding", "all_reduce_small",
                                "all_reduce_small_max_bytes", "all_reduce_large", "attention_backend", "kernel_tables", "kv_memory",
                                "sampler_logit_copies", "non_torch_gib_single_gpu", "non_torch_gib_multi_gpu", "scheduling", "prefix_caching", "warmup_s", "init_s", "sources"]

    /// A profile from its JSON file; each problem names the file and field.
    public init(json: JSONValue, file: String) throws {
        self.init(name: "", description: "", hostFixed: 0, hostPerSequence: 0, hostPerToken: 0, overlapsHost: false,
                  cudaGraphs: CUDAGraphs(batches: .none, sizes: []),
                  allReduce: AllReduceChoice(small: "nccl", maxSmallBytes: 0, large: "nccl"),
                  attentionBackend: "", sources: [:])
        guard json.members != nil else { throw InputError(file: file, "expected a JSON object (an engine profile)") }
        for key in ["name", "host_fixed_ms", "overlap_host", "cuda_graph_batches", "all_reduce_large"] where json[key] == nil {
            throw InputError(file: file, location: key, "required field is missing")
        }
        try apply(json, file: file, at: "")
    }

    /// Sets every field `json` gives (a profile file, or a scenario's overrides at `prefix`).
    public mutating func apply(_ json: JSONValue, file: String, at prefix: String) throws {
        guard let members = json.members else {
            throw InputError(file: file, location: prefix, "expected an object of engine profile fields")
        }
        for m in members.sorted(by: { $0.key < $1.key }) {
            let at = prefix.isEmpty ? m.key : "\(prefix).\(m.key)"
            func fail(_ message: String) -> InputError { InputError(file: file, location: at, message) }
            func number(_ range: ClosedRange<Double>) throws -> Double {
                guard let v = m.value.double, range.contains(v) else {
                    throw fail("expected a number from \(range.lowerBound) to \(range.upperBound), found \(m.value.shortText)")
                }
                return v
            }
            func text() throws -> String {
                guard let s = m.value.string else { throw fail("expected a string, found \(m.value.shortText)") }
                return s
            }
            func collective() throws -> String {
                let s = try text()
                guard AllReduceChoice.known.contains(s) else {
                    throw fail("unknown all-reduce '\(s)'; expected one of: \(AllReduceChoice.known.joined(separator: ", "))")
                }
                return s
            }
            switch m.key {
            case "name": name = try text()
            case "description": description = try text()
            case "attention_backend": attentionBackend = try text()
            case "kernel_tables":
                guard let k = KernelTables(rawValue: try text()) else {
                    throw fail("expected \(KernelTables.allCases.map(\.rawValue).joined(separator: " or ")), found \(m.value.shortText)")
                }
                kernelTables = k
            case "host_fixed_ms": hostFixed = try number(0...10_000) / 1e3
            case "host_per_sequence_us": hostPerSequence = try number(0...1e6) / 1e6
            case "host_per_token_us": hostPerToken = try number(0...1e6) / 1e6
            case "overlap_host":
                guard let b = m.value.bool else { throw fail("expected true or false, found \(m.value.shortText)") }
                overlapsHost = b
            case "cuda_graph_batches":
                guard let b = GraphBatches(rawValue: try text()) else {
                    throw fail("expected none, decode or any, found \(m.value.shortText)")
                }
                cudaGraphs.batches = b
            case "cuda_graph_sizes":
                guard let list = m.value.elements, list.count <= 10_000 else { throw fail("expected a list of batch sizes") }
                let sizes = try list.map { v -> Int in
                    guard let n = v.integer(in: 1...1_000_000) else { throw fail("expected whole numbers from 1 to 1000000, found \(v.shortText)") }
                    return n
                }
                guard sizes == sizes.sorted(), Set(sizes).count == sizes.count else {
                    throw fail("expected batch sizes in increasing order, without repeats")
                }
                cudaGraphs.sizes = sizes
            case "cuda_graph_padding":
                guard let b = m.value.bool else { throw fail("expected true or false, found \(m.value.shortText)") }
                cudaGraphs.padding = b
            case "all_reduce_small": allReduce.small = try collective()
            case "all_reduce_small_max_bytes": allReduce.maxSmallBytes = try number(0...1e12)
            case "all_reduce_large": allReduce.large = try collective()
            case "kv_memory":
                guard let k = KVMemory.Method(rawValue: try text()) else {
                    throw fail("expected \(KVMemory.Method.allCases.map(\.rawValue).joined(separator: " or ")), found \(m.value.shortText)")
                }
                kvMemory.method = k
            case "prefix_caching":
                guard let b = m.value.bool else { throw fail("expected true or false, found \(m.value.shortText)") }
                prefixCaching = b
            case "scheduling":
                guard let v = Scheduling(rawValue: try text()) else { throw fail("expected v0 or v1, found \(m.value.shortText)") }
                scheduling = v
            case "warmup_s": warmup = try number(0...3600)
            case "init_s": initialization = try number(0...3600)
            case "sampler_logit_copies": kvMemory.samplerLogitCopies = try number(0...1000)
            case "non_torch_gib_single_gpu": kvMemory.nonTorchSingleGPU = try number(0...1000) * 1_073_741_824
            case "non_torch_gib_multi_gpu": kvMemory.nonTorchMultiGPU = try number(0...1000) * 1_073_741_824
            case "sources":
                guard let s = m.value.members else { throw fail("expected an object of field → source") }
                for source in s {
                    guard let text = source.value.string else { throw fail("expected text for \(source.key)") }
                    sources[source.key] = text
                }
            default:
                throw fail("unknown field; expected one of: \(Self.fields.joined(separator: ", "))")
            }
        }
    }
}

extension EngineProfile {
    /// The profile as a file, fields in the order `fields` lists them.
    public var json: JSONValue {
        .object([
            .init("name", .string(name)), .init("description", .string(description)),
            .init("host_fixed_ms", .number(hostFixed * 1e3)), .init("host_per_sequence_us", .number(hostPerSequence * 1e6)),
            .init("host_per_token_us", .number(hostPerToken * 1e6)), .init("overlap_host", .bool(overlapsHost)),
            .init("cuda_graph_batches", .string(cudaGraphs.batches.rawValue)),
            .init("cuda_graph_sizes", .array(cudaGraphs.sizes.map { .number(String($0)) })),
            .init("cuda_graph_padding", .bool(cudaGraphs.padding)),
            .init("all_reduce_small", .string(allReduce.small)),
            .init("all_reduce_small_max_bytes", .number(allReduce.maxSmallBytes)),
            .init("all_reduce_large", .string(allReduce.large)), .init("attention_backend", .string(attentionBackend)),
            .init("kernel_tables", .string(kernelTables.rawValue)),
            .init("kv_memory", .string(kvMemory.method.rawValue)),
            .init("sampler_logit_copies", .number(kvMemory.samplerLogitCopies)),
            .init("non_torch_gib_single_gpu", .number(kvMemory.nonTorchSingleGPU / 1_073_741_824)),
            .init("non_torch_gib_multi_gpu", .number(kvMemory.nonTorchMultiGPU / 1_073_741_824)),
            .init("scheduling", .string(scheduling.rawValue)),
            .init("prefix_caching", .bool(prefixCaching)),
            .init("warmup_s", .number(warmup)),
            .init("init_s", .number(initialization)),
            .init("sources", .object(sources.keys.sorted().map { .init($0, .string(sources[$0]!)) })),
        ])
    }
}

/// The engine profiles shipped in `Resources/engines`, by name.
public enum EngineCatalog {
    public static let defaultName = "vllm-v1"

    public static let all: [EngineProfile] = BundledFiles.load("engines") { try EngineProfile(json: $0, file: $1) }

    public static func named(_ name: String) -> EngineProfile? { all.first { $0.name == name } }

    /// The profile of the 2023 stack DistServe measured: the defaults before engine profiles existed.
    public static var distServe2023: EngineProfile { named("distserve-2023")! }
    /// No host time, no graphs: the kernels alone, for kernel-level checks.
    public static var kernelsOnly: EngineProfile { named("kernels-only")! }
}
