/// The shape of a decoder-only transformer, dense or mixture-of-experts.
public struct ModelArchitecture: Sendable, Equatable, Codable {
    public let name: String
    public let layers: Int
    public let hidden: Int
    public let heads: Int
    public let kvHeads: Int
    /// Intermediate size of one expert's (or the dense) MLP.
    public let ffn: Int
    public let vocabulary: Int
    /// 1 for a dense model.
    public let experts: Int
    /// Experts each token is routed to (1 for a dense model).
    public let expertsPerToken: Int
    /// Gated MLPs (SwiGLU) have three weight matrices, plain ones two.
    public let gatedMLP: Bool
    /// Whether the output projection shares the embedding matrix.
    public let tiedEmbeddings: Bool
    public let bytesPerParameter: Double
    public let maxContext: Int
    public let source: String

    public var headDim: Int { hidden / heads }
    /// Width of K (or V) per token per layer.
    public var kvWidth: Int { kvHeads * headDim }

    /// Parameters of Q, K, V and O projections in one layer.
    public var attentionParametersPerLayer: Double {
        Double(hidden) * Double(hidden + 2 * kvWidth) + Double(hidden) * Double(hidden)
    }
    /// Parameters of one expert's MLP (or the dense MLP).
    public var mlpParametersPerExpert: Double { Double(gatedMLP ? 3 : 2) * Double(hidden) * Double(ffn) }
    public var embeddingParameters: Double { Double(vocabulary) * Double(hidden) * (tiedEmbeddings ? 1 : 2) }
    /// All parameters (norms and biases are below 0.1% and left out).
    public var parameters: Double {
        Double(layers) * (attentionParametersPerLayer + Double(experts) * mlpParametersPerExpert
                          + (experts > 1 ? Double(hidden * experts) : 0))
            + embeddingParameters
    }
    public var weightBytes: Double { parameters * bytesPerParameter }
    /// KV-cache bytes one token occupies across all layers.
    public var kvBytesPerToken: Double { 2 * Double(layers) * Double(kvWidth) * bytesPerParameter }
}

/// Models known by name in scenarios, from each model's published configuration
/// (Hugging Face config.json of the named checkpoint). All FP16/BF16.
public enum ModelCatalog {
    public static let all: [ModelArchitecture] = [
        llama("Llama-2-7B", layers: 32, hidden: 4096, heads: 32, kvHeads: 32, ffn: 11008, vocab: 32000, ctx: 4096,
              source: "meta-llama/Llama-2-7b-hf config.json"),
        llama("Llama-2-13B", layers: 40, hidden: 5120, heads: 40, kvHeads: 40, ffn: 13824, vocab: 32000, ctx: 4096,
              source: "meta-llama/Llama-2-13b-hf config.json"),
        llama("Llama-2-70B", layers: 80, hidden: 8192, heads: 64, kvHeads: 8, ffn: 28672, vocab: 32000, ctx: 4096,
              source: "meta-llama/Llama-2-70b-hf config.json"),
        llama("Llama-3-8B", layers: 32, hidden: 4096, heads: 32, kvHeads: 8, ffn: 14336, vocab: 128256, ctx: 8192,
              source: "meta-llama/Meta-Llama-3-8B config.json"),
        llama("Llama-3-70B", layers: 80, hidden: 8192, heads: 64, kvHeads: 8, ffn: 28672, vocab: 128256, ctx: 8192,
              source: "meta-llama/Meta-Llama-3-70B config.json"),
        opt("OPT-13B", layers: 40, hidden: 5120, heads: 40, ffn: 20480, source: "facebook/opt-13b config.json"),
        opt("OPT-66B", layers: 64, hidden: 9216, heads: 72, ffn: 36864, source: "facebook/opt-66b config.json"),
        opt("OPT-175B", layers: 96, hidden: 12288, heads: 96, ffn: 49152,
            source: "Zhang et al., OPT (2022), Table 1"),
        ModelArchitecture(name: "Mixtral-8x7B", layers: 32, hidden: 4096, heads: 32, kvHeads: 8, ffn: 14336,
                          vocabulary: 32000, experts: 8, expertsPerToken: 2, gatedMLP: true, tiedEmbeddings: false,
                          bytesPerParameter: 2, maxContext: 32768, source: "mistralai/Mixtral-8x7B-v0.1 config.json"),
    ]

    public static func named(_ name: String) -> ModelArchitecture? { all.first { $0.name == name } }

    private static func llama(_ name: String, layers: Int, hidden: Int, heads: Int, kvHeads: Int, ffn: Int,
                              vocab: Int, ctx: Int, source: String) -> ModelArchitecture {
        ModelArchitecture(name: name, layers: layers, hidden: hidden, heads: heads, kvHeads: kvHeads, ffn: ffn,
                          vocabulary: vocab, experts: 1, expertsPerToken: 1, gatedMLP: true, tiedEmbeddings: false,
                          bytesPerParameter: 2, maxContext: ctx, source: source)
    }

    private static func opt(_ name: String, layers: Int, hidden: Int, heads: Int, ffn: Int,
                            source: String) -> ModelArchitecture {
        ModelArchitecture(name: name, layers: layers, hidden: hidden, heads: heads, kvHeads: heads, ffn: ffn,
                          vocabulary: 50272, experts: 1, expertsPerToken: 1, gatedMLP: false, tiedEmbeddings: true,
                          bytesPerParameter: 2, maxContext: 2048, source: source)
    }
}
