import Foundation
import SimCore

/// Reads a model's shape from its Hugging Face `config.json`: the dense Llama,
/// Mistral, Qwen2, Qwen3 and OPT families, the Mixtral and Qwen3-MoE mixtures of
/// experts, and DeepSeek-V2/V3 (latent attention, shared experts, dense first
/// layers, FP8 checkpoints). Every problem is an InputError naming the file and field.
extension ModelArchitecture {
    public static let supportedModelTypes = ["llama", "mistral", "qwen2", "qwen3", "opt", "mixtral", "qwen3_moe",
                                             "deepseek_v2", "deepseek_v3"]

    public init(huggingFaceConfig config: JSONValue, name: String, source: String, file: String) throws {
        func fail(_ field: String, _ message: String) -> InputError { InputError(file: file, location: field, message) }
        func int(_ field: String, default value: Int? = nil) throws -> Int {
            guard let v = config[field] else {
                if let value { return value }
                throw fail(field, "required field is missing")
            }
            guard let n = v.integer(in: 1...100_000_000) else {
                throw fail(field, "expected a whole number from 1 to 100000000, found \(v.shortText)")
            }
            return n
        }
        guard config.members != nil else { throw InputError(file: file, "expected a JSON object (a config.json)") }
        guard let type = config["model_type"]?.string else { throw fail("model_type", "required field is missing") }
        guard Self.supportedModelTypes.contains(type) else {
            throw fail("model_type", "unsupported model type '\(type)'; expected one of: "
                       + Self.supportedModelTypes.joined(separator: ", "))
        }
        let hidden = try int("hidden_size")
        let heads = try int("num_attention_heads")
        let layers = try int("num_hidden_layers")
        let kvHeads = try int("num_key_value_heads", default: heads)
        guard heads % kvHeads == 0 else {
            throw fail("num_key_value_heads", "expected a divisor of num_attention_heads (\(heads)), found \(kvHeads)")
        }
        let deepSeek = type.hasPrefix("deepseek")
        var latent: LatentAttention?
        if deepSeek {
            // q_lora_rank is null in the smaller models, whose queries are projected directly.
            let qRank = config["q_lora_rank"] == nil || config["q_lora_rank"] == .null ? 0 : try int("q_lora_rank")
            latent = LatentAttention(kvRank: try int("kv_lora_rank"), qRank: qRank,
                                     nopeDim: try int("qk_nope_head_dim"), ropeDim: try int("qk_rope_head_dim"),
                                     valueDim: try int("v_head_dim"))
            if let f = config["moe_layer_freq"], f.integer(in: 1...1) == nil {
                throw fail("moe_layer_freq", "only 1 (every layer after first_k_dense_replace) is supported, found \(f.shortText)")
            }
        }
        let headDim = try latent.map { $0.nopeDim + $0.ropeDim } ?? int("head_dim", default: hidden / heads)
        let moe = type == "mixtral" || type == "qwen3_moe" || deepSeek
        let ffn = type == "opt" ? try int("ffn_dim")
            : type == "qwen3_moe" || deepSeek ? try int("moe_intermediate_size") : try int("intermediate_size")
        let experts = type == "mixtral" ? try int("num_local_experts") : type == "qwen3_moe" ? try int("num_experts")
            : deepSeek ? try int("n_routed_experts") : 1
        let perToken = moe ? try int("num_experts_per_tok") : 1
        guard perToken <= experts else {
            throw fail("num_experts_per_tok", "expected at most the \(experts) experts, found \(perToken)")
        }
        var tied = type == "opt"
        if let t = config["tie_word_embeddings"] {
            guard let b = t.bool else { throw fail("tie_word_embeddings", "expected true or false, found \(t.shortText)") }
            tied = b
        }
        var bytes = 2.0
        if let d = config["torch_dtype"] ?? config["dtype"] {
            switch d.string {
            case "float16", "bfloat16": bytes = 2
            case "float32": bytes = 4
            default: throw fail("torch_dtype", "expected float16, bfloat16 or float32, found \(d.shortText)")
            }
        }
        self.init(name: name, layers: layers, hidden: hidden, heads: heads, kvHeads: latent == nil ? kvHeads : heads, ffn: ffn,
                  vocabulary: try int("vocab_size"), experts: experts, expertsPerToken: perToken, gatedMLP: type != "opt",
                  tiedEmbeddings: tied, bytesPerParameter: bytes, maxContext: try int("max_position_embeddings"),
                  source: source, headDim: headDim)
        if deepSeek {
            latentAttention = latent
            sharedExperts = try config["n_shared_experts"] == nil ? 0 : int("n_shared_experts")
            denseLayers = try config["first_k_dense_replace"] == nil ? 0 : int("first_k_dense_replace")
            guard denseLayers < layers else {
                throw fail("first_k_dense_replace", "expected fewer than the \(layers) layers, found \(denseLayers)")
            }
            denseFFN = try int("intermediate_size")
        }
        // A checkpoint stored in FP8 (DeepSeek-V3's block-scaled weights) keeps BF16 activations.
        if let q = config["quantization_config"] {
            guard q["quant_method"]?.string == "fp8" else {
                throw fail("quantization_config.quant_method", "only fp8 checkpoints are supported, found "
                           + (q["quant_method"]?.shortText ?? "none"))
            }
            self = deployed(weights: .fp8, kvCache: nil)
        }
    }

    /// A model from a config.json file; its name is the file's name without `.json`
    /// (or its parent folder's, for a file named config.json).
    public init(configFile path: String) throws {
        let url = URL(fileURLWithPath: path)
        let name = url.lastPathComponent == "config.json" ? url.deletingLastPathComponent().lastPathComponent
            : url.deletingPathExtension().lastPathComponent
        try self.init(huggingFaceConfig: JSONValue.read(file: path, what: "model config"), name: name,
                      source: path, file: path)
    }
}
