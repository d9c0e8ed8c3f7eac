/// How long one iteration (forward pass) of a batch takes for a model on a
/// parallel layout of accelerators.
///
/// A step is the GPU's kernels plus what the serving stack adds (the engine
/// profile): host time, serial with the kernels or overlapped with them; CUDA
/// graphs, which pad a batch to a captured size; and the all-reduce the engine
/// picks for the message size.
///
/// Each operator is a roofline: the slower of its compute time at the achieved
/// FLOP rate and its memory time at the achieved bandwidth. Where the GPU has a
/// fitted `DeviceProfile` (see `simrun calibrate`), GEMMs and all-reduces use
/// the fitted timing models instead of datasheet peaks × efficiency factors;
/// other operators keep the roofline. Tensor parallelism
/// divides weights and heads by `tp` and adds two all-reduces per layer;
/// pipeline parallelism splits the layers over `pp` stages and adds a hand-off
/// between stages: the breakdown is a batch crossing all of them (the instance
/// keeps `pp` micro-batches in flight, see `Serving.Pipeline`).
public struct CostModel: Sendable {
    public let model: ModelArchitecture
    public let accelerator: Accelerator
    public let layout: ParallelLayout
    public let efficiency: EfficiencyFactors
    public let engine: EngineProfile
    /// Fitted timings for this GPU, or nil for the datasheet roofline.
    public let profile: DeviceProfile?

    private let flops: Double
    private let bandwidth: Double
    private let linkBandwidth: Double
    /// The fitted all-reduce for (small message?, graph?), resolved once: the step loop does no name lookups.
    private let collectives: [AllReduceTimingModel?]
    /// The fitted GEMMs for BF16 and FP8 weights and the attention kernels that apply (engine tables or standalone).
    private let gemmBF16: GEMMTimingModel?
    private let gemmFP8: GEMMTimingModel?
    private let inEngineAttention: EngineKernels?
    /// Skewed routing's per-expert chances, computed once (empty: uniform).
    private let expertPicks: [Double]

    public init(model: ModelArchitecture, accelerator: Accelerator, layout: ParallelLayout,
                efficiency: EfficiencyFactors = .init(), engine: EngineProfile = EngineCatalog.distServe2023,
                timings: TimingSource = .bundledProfile) {
        self.model = model
        self.accelerator = accelerator
        self.layout = layout
        self.efficiency = efficiency
        self.engine = engine
        switch timings {
        case .bundledProfile: profile = DeviceProfileSet.bundled.profile(for: accelerator.name)
        case .roofline: profile = nil
        case .profile(let p): profile = p
        }
        flops = accelerator.fp16Flops * efficiency.gemmCompute
        bandwidth = accelerator.memoryBandwidth * efficiency.memoryBandwidth
        linkBandwidth = accelerator.intraNodeLinkBandwidth * efficiency.linkBandwidth
        let choice = engine.allReduce, fitted = profile
        let tables = engine.kernelTables == .inEngine ? profile?.engineKernels : nil
        gemmBF16 = tables?.gemm["bf16"] ?? profile?.gemm
        gemmFP8 = tables?.gemm["fp8"]
        inEngineAttention = tables
        expertPicks = model.expertPickChances
        collectives = [(false, false), (false, true), (true, false), (true, true)].map { small, graph in
            fitted.flatMap { $0.allReduce(choice.implementation(bytes: small ? 0 : .infinity, graph: graph)) ?? $0.allReduce }
        }
    }

    /// Where GEMM and all-reduce timings come from.
    public enum TimingSource: Sendable {
        /// The fitted profile shipped for this GPU, if any; else the roofline.
        case bundledProfile
        /// Datasheet peaks × efficiency factors only.
        case roofline
        case profile(DeviceProfile)
    }

    /// Seconds for one iteration of `batch`, host time included.
    public func iterationTime(_ batch: BatchShape) -> Double {
        guard !batch.isEmpty else { return 0 }
        return breakdown(batch).total
    }

    /// Per-operator seconds of one iteration, summed over all layers.
    public struct Breakdown: Sendable {
        public var gemm = 0.0
        public var attention = 0.0
        public var elementwise = 0.0
        public var allReduce = 0.0
        public var pipelineHandoff = 0.0
        public var outputProjection = 0.0
        /// Host seconds of the step (scheduling, input preparation, sampling).
        public var host = 0.0
        /// Whether the host work hides behind the GPU's (see EngineProfile.overlapsHost).
        public var overlapsHost = false
        /// Whether the step ran as a captured CUDA graph (padded to a captured size).
        public var graph = false
        public var gpu: Double { gemm + attention + elementwise + allReduce + pipelineHandoff + outputProjection }
        public var total: Double { overlapsHost ? max(host, gpu) : host + gpu }
    }

    public func breakdown(_ batch: BatchShape) -> Breakdown {
        guard engine.kernelTables != .none else {
            var b = Breakdown()
            b.host = engine.hostSeconds(sequences: batch.sequences, tokens: batch.totalTokens)
            return b
        }
        let tp = Double(layout.tp)
        let bpp = model.activationBytes
        let decodeOnly = batch.prefillTokens == 0
        // A captured graph runs at its captured size: the padding costs like real tokens.
        let (padded, graph) = engine.cudaGraphs.padded(tokens: batch.totalTokens, decodeOnly: decodeOnly)
        let t = Double(padded)
        let layers = Double(model.layers)
        var b = Breakdown()
        b.graph = graph
        b.overlapsHost = engine.overlapsHost

        // GEMMs of every layer: the attention projections, then the MLP: dense, or the routed
        // experts (each token visits k; the weights read are those of the experts touched, at
        // most all of them) plus the shared experts every token runs.
        let h = Double(model.hidden)
        let ffn = Double(model.ffn), mlpWidth = Double(model.gatedMLP ? 2 : 1)
        let attention = attentionProjections(tokens: t, tp: tp, graph: graph)
        /// A layer's GEMMs so far, plus `copies` MLPs of `ffn` over `tokens` tokens.
        func plusMLP(_ layer: Double, tokens: Double, ffn: Double, copies: Double = 1) -> Double {
            var x = layer
            x += copies * gemm(tokens: tokens, inputs: h, outputs: mlpWidth * ffn, tp: tp, graph: graph)
            x += copies * gemm(tokens: tokens, inputs: ffn, outputs: h, tp: tp, graph: graph)
            return x
        }
        var moeLayer = attention
        if model.moeLayers > 0 {
            // Each token visits k experts; the weights read are those of the distinct experts touched.
            let routed = t * Double(model.expertsPerToken)
            let touched = model.expectedExpertsTouched(tokens: t, chances: expertPicks)
            moeLayer = plusMLP(attention, tokens: routed / touched, ffn: ffn, copies: touched)
            if model.sharedExperts > 0 { moeLayer = plusMLP(moeLayer, tokens: t, ffn: Double(model.sharedExperts) * ffn) }
        }
        let denseLayers = model.layers - model.moeLayers
        let denseLayer = denseLayers == 0 ? 0 : plusMLP(attention, tokens: t, ffn: model.experts > 1 ? Double(model.denseFFN) : ffn)
        b.gemm = Double(denseLayers) * denseLayer + Double(model.moeLayers) * moeLayer

        b.attention = layers * (prefillAttention(batch, tp: tp, graph: graph) + decodeAttention(batch, tp: tp, graph: graph))

        // Norms, residual adds and the MLP activation: pure memory traffic.
        let activeFFN = ffn * Double(model.expertsPerToken + model.sharedExperts)
        let elementBytes = t * (8 * h + 3 * activeFFN / tp) * bpp
        b.elementwise = layers * elementBytes / (accelerator.memoryBandwidth * efficiency.elementwise)

        if layout.tp > 1 {
            let message = t * h * bpp
            let small = message <= engine.allReduce.maxSmallBytes
            if let fitted = collectives[(small ? 2 : 0) + (graph ? 1 : 0)] {
                b.allReduce = layers * 2 * fitted.seconds(bytes: message, gpus: layout.tp)
            } else {
                let ring = 2 * (tp - 1) / tp * message / linkBandwidth
                b.allReduce = layers * 2 * (ring + efficiency.collectiveLatency)
            }
        }
        if layout.pp > 1 {
            let message = t * h * bpp
            b.pipelineHandoff = Double(layout.pp - 1) * (message / linkBandwidth + efficiency.collectiveLatency)
        }
        b.outputProjection = gemm(tokens: decodeOnly ? t : Double(batch.sampledSequences), inputs: h,
                                  outputs: Double(model.vocabulary), tp: tp, graph: graph)
        b.host = engine.hostSeconds(sequences: batch.sequences, tokens: batch.totalTokens)
        return b
    }

    /// The attention projections of one layer for `tokens` tokens. Ordinary attention: QKV
    /// (K and V replicated once TP exceeds their heads) and O. Latent attention, as vLLM runs
    /// it: the query's low-rank projection and the latent-and-RoPE-key projection replicated on
    /// every GPU, the up-projections to the heads (query; key and value) and O split over TP.
    private func attentionProjections(tokens t: Double, tp: Double, graph: Bool) -> Double {
        let h = Double(model.hidden), q = Double(model.qWidth), out = Double(model.attentionOutputWidth)
        guard let a = model.latentAttention else {
            let qkv = q + 2 * Double(model.kvHeadsPerGPU(tp: layout.tp) * model.headDim) * tp
            return gemm(tokens: t, inputs: h, outputs: qkv, tp: tp, graph: graph)
                + gemm(tokens: t, inputs: out, outputs: h, tp: tp, graph: graph)
        }
        let query = a.qRank > 0
            ? gemm(tokens: t, inputs: h, outputs: Double(a.qRank), tp: 1, graph: graph)
                + gemm(tokens: t, inputs: Double(a.qRank), outputs: q, tp: tp, graph: graph)
            : gemm(tokens: t, inputs: h, outputs: q, tp: tp, graph: graph)
        return query + gemm(tokens: t, inputs: h, outputs: Double(a.kvRank + a.ropeDim), tp: 1, graph: graph)
            + gemm(tokens: t, inputs: Double(a.kvRank), outputs: Double(model.heads * (a.nopeDim + a.valueDim)), tp: tp, graph: graph)
            + gemm(tokens: t, inputs: out, outputs: h, tp: tp, graph: graph)
    }

    /// One GEMM of `tokens`×`inputs` by `inputs`×`outputs`, weights split over `tp` GPUs. Inside a
    /// captured CUDA graph the fitted per-kernel launch cost is not paid (the same for attention).
    /// FP8 weights halve the weight bytes and run at the FP8 tensor peak: with a fitted FP8
    /// model that is measured; else the BF16 model sees the work scaled by the BF16/FP8 peak
    /// ratio (same achieved fraction assumed).
    private func gemm(tokens: Double, inputs: Double, outputs: Double, tp: Double, graph: Bool) -> Double {
        guard tokens > 0 else { return 0 }
        let fp8 = model.bytesPerParameter == 1 && accelerator.fp8Flops != nil
        let bytes = inputs * outputs / tp * model.bytesPerParameter + (tokens * inputs + tokens * outputs / tp) * model.activationBytes
        if fp8, let fitted = gemmFP8 {
            return fitted.seconds(flops: 2 * tokens * inputs * outputs / tp, bytes: bytes) - (graph ? fitted.launch : 0)
        }
        let work = 2 * tokens * inputs * outputs / tp * (fp8 ? accelerator.fp16Flops / accelerator.fp8Flops! : 1)
        if let fitted = gemmBF16 { return fitted.seconds(flops: work, bytes: bytes) - (graph ? fitted.launch : 0) }
        return max(work / flops, bytes / bandwidth)
    }

    private func prefillAttention(_ batch: BatchShape, tp: Double, graph: Bool) -> Double {
        guard batch.prefillTokens > 0 else { return 0 }
        if let a = model.latentAttention {
            // vLLM prefills latent attention as ordinary attention over up-projected keys and
            // values (query/key width nope + rope, value width valueDim); cached tokens are read
            // as latents. No kernel measurements: the roofline.
            let heads = Double(model.heads) / tp, qk = Double(a.nopeDim + a.ropeDim), v = Double(a.valueDim)
            let work = 2 * heads * (qk + v) * batch.prefillAttentionPairs
            let bytes = Double(batch.prefillTokens) * heads * (2 * qk + 2 * v) * model.activationBytes
                + Double(batch.prefillCachedTokens) * Double(model.kvElementsPerTokenLayer) * model.kvBytesPerElement
            return max(work / (accelerator.fp16Flops * efficiency.attentionCompute), bytes / bandwidth)
        }
        let headsPerGPU = Double(model.heads) / tp
        let work = 4 * Double(model.headDim) * headsPerGPU * batch.prefillAttentionPairs
        let kvHeads = Double(model.kvHeadsPerGPU(tp: layout.tp)), d = Double(model.headDim)
        if let fitted = inEngineAttention?.prefillAttention {
            let tokens = Double(batch.prefillTokens), cached = Double(batch.prefillCachedTokens)
            return fitted.seconds(inGraph: graph, .init(flops: work, bytes: tokens * (2 * headsPerGPU + 2 * kvHeads) * d * 2
                                          + cached * 2 * kvHeads * d * model.kvBytesPerElement,
                                        sequences: Double(batch.prefillSequences), heads: headsPerGPU, kvHeads: kvHeads))
        }
        if let fitted = profile?.attention?.prefill { return fitted.seconds(work) - (graph ? fitted.launch : 0) }
        let kvWidth = Double(model.kvHeadsPerGPU(tp: layout.tp) * model.headDim)
        let bytes = (Double(batch.prefillTokens) * (2 * Double(model.qWidth) / tp + 2 * kvWidth)
                     ) * model.activationBytes + Double(batch.prefillCachedTokens) * 2 * kvWidth * model.kvBytesPerElement
        return max(work / (accelerator.fp16Flops * efficiency.attentionCompute), bytes / bandwidth)
    }

    private func decodeAttention(_ batch: BatchShape, tp: Double, graph: Bool) -> Double {
        guard batch.decodeTokens > 0 else { return 0 }
        if let a = model.latentAttention {
            // Decode attends in the latent space (the up-projections absorbed into the query and
            // output): every head of a sequence reads the same cached latent and RoPE key, so the
            // cache is read once per sequence; scores over kvRank + ropeDim, values over kvRank.
            let heads = Double(model.heads) / tp, context = Double(batch.decodeContextTokens)
            let work = 2 * heads * Double(2 * a.kvRank + a.ropeDim) * context
            let bytes = context * Double(model.kvElementsPerTokenLayer) * model.kvBytesPerElement
                + Double(batch.decodeTokens) * heads * Double(2 * a.kvRank + a.ropeDim) * model.activationBytes
            return max(work / (accelerator.fp16Flops * efficiency.attentionCompute), bytes / bandwidth)
        }
        let kvPerGPU = Double(model.kvHeadsPerGPU(tp: layout.tp) * model.headDim)
        if let fitted = inEngineAttention?.decodeAttention {
            // As the fit counts it: each new token attends to its context and itself.
            let heads = Double(model.heads) / tp, d = Double(model.headDim), sequences = Double(batch.decodeTokens)
            let context = Double(batch.decodeContextTokens)
            return fitted.seconds(inGraph: graph, .init(flops: 4 * d * heads * (context + sequences),
                                        bytes: context * 2 * kvPerGPU * model.kvBytesPerElement
                                          + sequences * 2 * (heads + kvPerGPU / d) * d * 2,
                                        sequences: sequences, heads: heads, kvHeads: kvPerGPU / d))
        }
        if let fitted = profile?.attention?.decode {
            let kvBytes = Double(batch.decodeContextTokens) * 2 * kvPerGPU * model.kvBytesPerElement
            return fitted.seconds(kvBytes) - (graph ? fitted.launch : 0)
        }
        let headsPerGPU = Double(model.heads) / tp
        let work = 4 * Double(model.headDim) * headsPerGPU * Double(batch.decodeContextTokens)
        let bytes = Double(batch.decodeContextTokens) * 2 * kvPerGPU * model.kvBytesPerElement
            + Double(batch.decodeTokens) * 2 * Double(model.qWidth) / tp * model.activationBytes
        return max(work / (accelerator.fp16Flops * efficiency.attentionCompute), bytes / bandwidth)
    }
}
