import Foundation
import SimCore

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
    /// Bytes of one weight (2 for BF16, 1 for FP8 weights).
    public private(set) var bytesPerParameter: Double
    /// Bytes of one activation element (the checkpoint's dtype; FP8 deployments keep BF16 activations).
    public private(set) var activationBytes: Double
    /// Bytes of one KV-cache element (the activation dtype, or 1 with an FP8 KV cache).
    public private(set) var kvBytesPerElement: Double
    public let maxContext: Int
    public let source: String
    /// Width of one attention head; hidden / heads for most models, wider in Qwen3.
    public let headDim: Int

    public init(name: String, layers: Int, hidden: Int, heads: Int, kvHeads: Int, ffn: Int, vocabulary: Int,
                experts: Int, expertsPerToken: Int, gatedMLP: Bool, tiedEmbeddings: Bool, bytesPerParameter: Double,
                maxContext: Int, source: String, headDim: Int? = nil) {
        self.name = name
        self.layers = layers
        self.hidden = hidden
        self.heads = heads
        self.kvHeads = kvHeads
        self.ffn = ffn
        self.vocabulary = vocabulary
        self.experts = experts
        self.expertsPerToken = expertsPerToken
        self.gatedMLP = gatedMLP
        self.tiedEmbeddings = tiedEmbeddings
        self.bytesPerParameter = bytesPerParameter
        activationBytes = bytesPerParameter
        kvBytesPerElement = bytesPerParameter
        self.maxContext = maxContext
        self.source = source
        self.headDim = headDim ?? hidden / heads
    }

    /// Width of Q (and of the attention output) per token per layer.
    public var qWidth: Int { heads * headDim }
    /// Width of K (or V) per token per layer.
    public var kvWidth: Int { kvHeads * headDim }

    /// Parameters of Q, K, V and O projections in one layer.
    public var attentionParametersPerLayer: Double {
        Double(hidden) * Double(qWidth + 2 * kvWidth) + Double(qWidth) * Double(hidden)
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
    public var kvBytesPerToken: Double { 2 * Double(layers) * Double(kvWidth) * kvBytesPerElement }

    /// Data types a deployment chooses: weights as in the checkpoint or FP8, the KV cache as the activations or FP8.
    public enum DType: String, Sendable, CaseIterable {
        case bf16, fp16, fp8
        public var bytes: Double { self == .fp8 ? 1 : 2 }
    }

    /// The model deployed with these weight and KV-cache types (nil keeps the checkpoint's).
    public func deployed(weights: DType?, kvCache: DType?) -> ModelArchitecture {
        var m = self
        if let weights { m.bytesPerParameter = weights.bytes }
        if let kvCache { m.kvBytesPerElement = kvCache.bytes }
        return m
    }

    /// KV heads each GPU holds under tensor parallelism: split while there are enough,
    /// replicated once TP exceeds them (vLLM's max(1, kv_heads // tp)).
    public func kvHeadsPerGPU(tp: Int) -> Int { max(1, kvHeads / tp) }

    /// KV-cache bytes one token occupies on all GPUs of an instance with this TP, replicas included.
    public func kvBytesPerToken(tp: Int) -> Double {
        2 * Double(layers) * Double(kvHeadsPerGPU(tp: tp) * tp * headDim) * kvBytesPerElement
    }
}

/// Models known by name in scenarios: the config.json files bundled in
/// `Resources/models` (listed with their sources in its index.json). A scenario
/// may also name any config.json file by path.
public enum ModelCatalog {
    public static let all: [ModelArchitecture] = {
        guard let folder = Bundle.module.url(forResource: "models", withExtension: nil),
              let index = try? JSONValue.read(file: folder.appendingPathComponent("index.json").path, what: "model index"),
              let entries = index.elements
        else { return [] }
        return entries.compactMap { e in
            guard let name = e["name"]?.string, let source = e["source"]?.string else { return nil }
            let path = folder.appendingPathComponent(name + ".json").path
            guard let config = try? JSONValue.read(file: path, what: "model config") else { return nil }
            return try? ModelArchitecture(huggingFaceConfig: config, name: name, source: source, file: path)
        }
    }()

    public static func named(_ name: String) -> ModelArchitecture? { all.first { $0.name == name } }
}
