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
/// pipeline parallelism runs the stages one after another for a batch (no
/// micro-batch overlap yet) and adds a hand-off between stages.
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
        let tp = Double(layout.tp)
        let bpp = model.activationBytes
        let h = Double(model.hidden)
        let decodeOnly = batch.prefillTokens == 0
        // A captured graph runs at its captured size: the padding costs like real tokens.
        let (padded, graph) = engine.cudaGraphs.padded(tokens: batch.totalTokens, decodeOnly: decodeOnly)
        let t = Double(padded)
        let layers = Double(model.layers)
        var b = Breakdown()
        b.graph = graph
        b.overlapsHost = engine.overlapsHost

        // GEMMs of one layer: QKV, O, MLP in (up and gate), MLP out (down).
        let q = Double(model.qWidth)
        // K and V heads are replicated once TP exceeds them: every GPU computes its own.
        let kvPerGPU = Double(model.kvHeadsPerGPU(tp: layout.tp) * model.headDim)
        let qkvOut = q + 2 * kvPerGPU * tp
        let ffn = Double(model.ffn)
        let mlpIn = (model.gatedMLP ? 2 : 1) * ffn
        var perLayer = gemm(tokens: t, inputs: h, outputs: qkvOut, tp: tp)
        perLayer += gemm(tokens: t, inputs: q, outputs: h, tp: tp)
        if model.experts == 1 {
            perLayer += gemm(tokens: t, inputs: h, outputs: mlpIn, tp: tp)
            perLayer += gemm(tokens: t, inputs: ffn, outputs: h, tp: tp)
        } else {
            // Each token visits k experts; the weights read are those of the
            // experts touched, at most all of them.
            let routed = t * Double(model.expertsPerToken)
            let touched = min(Double(model.experts), routed)
            perLayer += touched * gemm(tokens: routed / touched, inputs: h, outputs: mlpIn, tp: tp)
            perLayer += touched * gemm(tokens: routed / touched, inputs: ffn, outputs: h, tp: tp)
        }
        b.gemm = layers * perLayer

        b.attention = layers * (prefillAttention(batch, tp: tp) + decodeAttention(batch, tp: tp))

        // Norms, residual adds and the MLP activation: pure memory traffic.
        let activeFFN = ffn * Double(model.expertsPerToken)
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
                                  outputs: Double(model.vocabulary), tp: tp)
        b.host = engine.hostSeconds(sequences: batch.sequences, tokens: batch.totalTokens)
        return b
    }

    /// One GEMM of `tokens`×`inputs` by `inputs`×`outputs`, weights split over `tp` GPUs.
    /// FP8 weights halve the weight bytes and run at the FP8 tensor peak: the fitted BF16
    /// model sees the work scaled by the BF16/FP8 peak ratio (same achieved fraction assumed).
    private func gemm(tokens: Double, inputs: Double, outputs: Double, tp: Double) -> Double {
        guard tokens > 0 else { return 0 }
        let fp8 = model.bytesPerParameter == 1 && accelerator.fp8Flops != nil
        let work = 2 * tokens * inputs * outputs / tp * (fp8 ? accelerator.fp16Flops / accelerator.fp8Flops! : 1)
        let bytes = inputs * outputs / tp * model.bytesPerParameter + (tokens * inputs + tokens * outputs / tp) * model.activationBytes
        if let fitted = profile?.gemm { return fitted.seconds(flops: work, bytes: bytes) }
        return max(work / flops, bytes / bandwidth)
    }

    private func prefillAttention(_ batch: BatchShape, tp: Double) -> Double {
        guard batch.prefillTokens > 0 else { return 0 }
        let headsPerGPU = Double(model.heads) / tp
        let work = 4 * Double(model.headDim) * headsPerGPU * batch.prefillAttentionPairs
        if let fitted = profile?.attention?.prefill { return fitted.seconds(work) }
        let kvWidth = Double(model.kvHeadsPerGPU(tp: layout.tp) * model.headDim)
        let bytes = (Double(batch.prefillTokens) * (2 * Double(model.qWidth) / tp + 2 * kvWidth)
                     ) * model.activationBytes + Double(batch.prefillCachedTokens) * 2 * kvWidth * model.kvBytesPerElement
        return max(work / (accelerator.fp16Flops * efficiency.attentionCompute), bytes / bandwidth)
    }

    private func decodeAttention(_ batch: BatchShape, tp: Double) -> Double {
        guard batch.decodeTokens > 0 else { return 0 }
        let kvPerGPU = Double(model.kvHeadsPerGPU(tp: layout.tp) * model.headDim)
        if let fitted = profile?.attention?.decode {
            let kvBytes = Double(batch.decodeContextTokens) * 2 * kvPerGPU * model.kvBytesPerElement
            return fitted.seconds(kvBytes)
        }
        let headsPerGPU = Double(model.heads) / tp
        let work = 4 * Double(model.headDim) * headsPerGPU * Double(batch.decodeContextTokens)
        let bytes = Double(batch.decodeContextTokens) * 2 * kvPerGPU * model.kvBytesPerElement
            + Double(batch.decodeTokens) * 2 * Double(model.qWidth) / tp * model.activationBytes
        return max(work / (accelerator.fp16Flops * efficiency.attentionCompute), bytes / bandwidth)
    }
}
