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
    /// Width of one attention head's query and key; hidden / heads for most models, wider in
    /// Qwen3, no-RoPE + RoPE parts under multi-head latent attention.
    public let headDim: Int
    /// Multi-head latent attention (DeepSeek-V2/V3); nil for ordinary multi-head/grouped attention.
    public var latentAttention: LatentAttention? = nil
    /// Experts every token goes through besides its routed ones (DeepSeek's shared experts).
    public var sharedExperts = 0
    /// Leading layers with a dense MLP in a mixture-of-experts model, and that MLP's width.
    public var denseLayers = 0
    public var denseFFN = 0
    /// How unevenly tokens pick experts: expert i (from 1) is chosen in proportion to i^−skew;
    /// 0 is uniform routing. A deployment property (set by the scenario), not the checkpoint's.
    public var expertSkew = 0.0

    /// Expected distinct experts `tokens` tokens route to, each choosing `expertsPerToken`: under
    /// uniform routing E·(1 − (1 − k/E)^t); under skew, Σᵢ 1 − (1 − min(1, k·pᵢ))^t.
    /// `chances` are `expertPickChances`, passed in by callers that compute them once.
    public func expectedExpertsTouched(tokens t: Double, chances: [Double]? = nil) -> Double {
        let picks = chances ?? expertPickChances
        guard !picks.isEmpty else {
            let e = Double(experts)
            return e * (1 - pow(1 - Double(expertsPerToken) / e, t))
        }
        return picks.reduce(0) { $0 + (1 - pow(1 - $1, t)) }
    }

    /// Per expert under skewed routing, min(1, k·pᵢ): the chance one token picks it (empty when uniform).
    public var expertPickChances: [Double] {
        guard experts > 1, expertSkew > 0 else { return [] }
        let weights = (1...experts).map { pow(Double($0), -expertSkew) }
        let total = weights.reduce(0, +)
        return weights.map { min(1, Double(expertsPerToken) * $0 / total) }
    }

    /// DeepSeek's attention: keys and values are up-projected from one cached latent of
    /// `kvRank` (plus a shared RoPE key of `ropeDim`) per token and layer, so the KV cache holds
    /// kvRank + ropeDim elements per token and layer whatever the head count, on every TP rank.
    public struct LatentAttention: Sendable, Equatable, Codable {
        public let kvRank: Int
        /// Rank of the query's low-rank projection; 0 when queries are projected directly.
        public let qRank: Int
        public let nopeDim: Int
        public let ropeDim: Int
        public let valueDim: Int

        public init(kvRank: Int, qRank: Int, nopeDim: Int, ropeDim: Int, valueDim: Int) {
            self.kvRank = kvRank
            self.qRank = qRank
            self.nopeDim = nopeDim
            self.ropeDim = ropeDim
            self.valueDim = valueDim
        }
    }

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

    /// Width of Q per token per layer.
    public var qWidth: Int { heads * headDim }
    /// Width of the attention output (the O projection's input) per token per layer.
    public var attentionOutputWidth: Int { latentAttention.map { heads * $0.valueDim } ?? qWidth }
    /// Width of K (or V) per token per layer.
    public var kvWidth: Int { kvHeads * headDim }

    /// Parameters of the attention projections of one layer: Q, K, V and O; under latent
    /// attention, Q (directly or through its low rank), the latent and RoPE key, their
    /// up-projection to every head's key and value, and O.
    public var attentionParametersPerLayer: Double {
        let h = Double(hidden), n = Double(heads)
        guard let a = latentAttention else {
            return h * Double(qWidth + 2 * kvWidth) + Double(qWidth) * h
        }
        let q = a.qRank > 0 ? h * Double(a.qRank) + Double(a.qRank) * Double(qWidth) : h * Double(qWidth)
        return q + h * Double(a.kvRank + a.ropeDim) + Double(a.kvRank) * n * Double(a.nopeDim + a.valueDim)
            + Double(attentionOutputWidth) * h
    }
    /// Parameters of one expert's MLP (or the dense MLP).
    public var mlpParametersPerExpert: Double { Double(gatedMLP ? 3 : 2) * Double(hidden) * Double(ffn) }
    public var embeddingParameters: Double { Double(vocabulary) * Double(hidden) * (tiedEmbeddings ? 1 : 2) }
    /// Layers whose MLP is a mixture of experts (none in a dense model).
    public var moeLayers: Int { experts > 1 ? layers - denseLayers : 0 }
    /// All parameters (norms and biases are below 0.1% and left out): attention, dense MLPs,
    /// routed and shared experts with their router, embeddings.
    public var parameters: Double {
        let dense = experts > 1 ? Double(denseLayers) * Double(gatedMLP ? 3 : 2) * Double(hidden) * Double(denseFFN)
            : Double(layers) * mlpParametersPerExpert
        let moe = Double(moeLayers) * (Double(experts + sharedExperts) * mlpParametersPerExpert + Double(hidden * experts))
        return Double(layers) * attentionParametersPerLayer + dense + moe + embeddingParameters
    }
    public var weightBytes: Double { parameters * bytesPerParameter }
    /// Parameters of the routed experts (what expert parallelism spreads; the router stays with attention).
    public var routedExpertParameters: Double { Double(moeLayers * experts) * mlpParametersPerExpert }
    /// Bytes of one routed expert's weights in one layer.
    public var expertBytesPerLayer: Double { mlpParametersPerExpert * bytesPerParameter }

    /// Weight bytes each GPU holds: a 1/(tp·pp) share; under attention data parallelism the
    /// attention, dense and shared weights are whole on every DP rank and only the routed experts
    /// are spread over all dp·tp GPUs of a stage.
    public func weightBytesPerGPU(_ layout: ParallelLayout) -> Double {
        guard layout.dp > 1 else { return weightBytes / Double(layout.gpus) }
        let experts = routedExpertParameters
        return ((parameters - experts) / Double(layout.tp) + experts / Double(layout.gpusPerStage))
            / Double(layout.pp) * bytesPerParameter
    }
    /// KV-cache elements one token occupies in one layer (K and V, or the latent and RoPE key).
    public var kvElementsPerTokenLayer: Int { latentAttention.map { $0.kvRank + $0.ropeDim } ?? 2 * kvWidth }
    /// KV-cache bytes one token occupies across all layers.
    public var kvBytesPerToken: Double { Double(layers) * Double(kvElementsPerTokenLayer) * kvBytesPerElement }

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

    /// KV-cache bytes one token occupies on all GPUs of an instance with this TP, replicas included
    /// (a latent KV cache is whole on every rank).
    public func kvBytesPerToken(tp: Int) -> Double {
        guard latentAttention == nil else { return Double(tp) * kvBytesPerToken }
        return 2 * Double(layers) * Double(kvHeadsPerGPU(tp: tp) * tp * headDim) * kvBytesPerElement
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
