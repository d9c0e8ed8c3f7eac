import Foundation
import SimCore

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
///
/// A mixture-of-experts model with attention data parallelism or expert
/// parallelism (`layout.dp`, `layout.ep`) runs attention, dense and shared
/// layers per DP rank on its share of the batch, and its routed experts per EP
/// group on the tokens routed there from every rank: each group computes the
/// experts it holds (`placement`) on their expected tokens (`routing`), the
/// busiest group setting the pace, and every MoE layer adds a dispatch and a
/// combine all-to-all over the links (NVLink, or the NICs for what leaves the
/// server).
public final class CostModel: Sendable {
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
    /// The fitted all-reduce for (small message?, graph?), resolved once, down to the ring size of
    /// the layout's tensor parallelism: the step loop does no name lookups.
    private let collectives: [AllReduceTimingModel?]
    /// The fitted GEMMs for BF16 and FP8 weights and the attention kernels that apply (engine tables or standalone).
    private let gemmBF16: GEMMTimingModel?
    private let gemmFP8: GEMMTimingModel?
    /// (The two attention fits on their own: reading one out of the optional tables copied the
    /// tables' dictionaries and strings at every step.)
    private let inEnginePrefillAttention: AttentionTimingModel?
    private let inEngineDecodeAttention: AttentionTimingModel?
    /// What the fitted decode attention reads of the model, per GPU under the layout's tensor
    /// parallelism, worked out once: query heads, head size, KV width (heads × size) and heads, the
    /// width each new token's query, key and value take, and the flops per token attended. (A
    /// step had divided for them, and read them out of the model, every time.)
    private let decodeShape: (heads: Double, d: Double, kvPerGPU: Double, kvHeads: Double, newTokenWidth: Double,
                              flopsPerToken: Double)
    /// Skewed routing's per-expert chances, computed once (empty: uniform).
    private let expertPicks: [Double]
    /// Under data or expert parallelism: each EP group's share of routed tokens and its experts' pick chances.
    private let expertGroups: [(share: Double, chances: [Double])]
    /// What leaves the instance's servers (nil: all its GPUs on one server).
    public let scaleOut: ScaleOut?
    /// Decode-only steps' costs by their sequences (per rank), but for the attention, computed once,
    /// when the model is made, for the sizes asked for (see `init`). All the rest of such a step's
    /// cost depends on its size alone, and a decode stretch's size changes as requests join and
    /// finish: a full breakdown then was a twentieth of a large run. Written only by `init`, so
    /// replicas on other threads may share it without a lock (which a table filled as sizes came
    /// up needed: two atomic operations per step).
    nonisolated(unsafe) private var decodeSteps: [Breakdown] = []
    private static let decodeStepsKept = 1024
    /// For those sizes, the terms of the fitted in-engine decode attention that the size alone sets
    /// (see `decodeStep`), where that fit times a decode step's attention (no latent attention, no
    /// data parallelism); empty otherwise. Written only by `init`, as `decodeSteps` is.
    nonisolated(unsafe) private var decodeAttentionTerms: [DecodeAttentionTerms] = []
    /// Whether `decodeStep` takes the kept sizes' path.
    var keepsDecodeAttentionTerms: Bool { !decodeAttentionTerms.isEmpty }

    /// What the in-engine decode attention of `n` sequences costs apart from their context: the
    /// bytes their new tokens' queries, keys and values move, and their per-sequence terms, each
    /// computed as `decodeAttention` computes it, so that a step's time is the same to the bit.
    struct DecodeAttentionTerms {
        var newTokenBytes: Double
        var perSequence: Double
    }

    /// Where an instance's GPUs sit, as far as its step time cares.
    public struct ScaleOut: Sendable, Equatable {
        /// Mean share of its stage's other GPUs a GPU reaches inside its server.
        public var localShare: Double
        /// Pipeline stage boundaries whose two stages are on different servers.
        public var crossingBoundaries: Int
        /// Achieved per-GPU bandwidth (bytes/s) and latency (s) between servers.
        public var bandwidth: Double
        public var latency: Double

        public init(localShare: Double, crossingBoundaries: Int, bandwidth: Double, latency: Double) {
            self.localShare = localShare
            self.crossingBoundaries = crossingBoundaries
            self.bandwidth = bandwidth
            self.latency = latency
        }
    }

    /// - Parameter keepingDecodeStepsUpTo: for a model that times every step of an instance, the
    ///   decode steps of up to this many sequences per rank (and fewer than 1,024) whose cost is
    ///   computed once here rather than at each such step (0: none; the instance passes its cap on
    ///   sequences).
    public init(model: ModelArchitecture, accelerator: Accelerator, layout: ParallelLayout,
                efficiency: EfficiencyFactors = .init(), engine: EngineProfile = EngineCatalog.distServe2023,
                timings: TimingSource = .bundledProfile, routing: ExpertRouting? = nil,
                placement: ExpertPlacement? = nil, scaleOut: ScaleOut? = nil, keepingDecodeStepsUpTo: Int = 0) {
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
        inEnginePrefillAttention = tables?.prefillAttention
        inEngineDecodeAttention = tables?.decodeAttention
        let heads = Double(model.heads) / Double(layout.tp), d = Double(model.headDim)
        let kvPerGPU = Double(model.kvHeadsPerGPU(tp: layout.tp) * model.headDim)
        decodeShape = (heads, d, kvPerGPU, kvPerGPU / d, heads + kvPerGPU / d, 4 * d * heads)
        expertPicks = routing.map { r in r.shares.map { min(1, Double(model.expertsPerToken) * $0) } } ?? model.expertPickChances
        self.scaleOut = scaleOut
        if model.moeLayers > 0, layout.dp > 1 || layout.ep > 1 {
            let shares = routing?.shares ?? ExpertRouting.zipf(experts: model.experts, skew: model.expertSkew, seed: 0).shares
            let owners = placement ?? .balanced(experts: model.experts, groups: layout.ep)
            let k = Double(model.expertsPerToken)
            expertGroups = (0..<layout.ep).map { g in
                let mine = shares.indices.filter { owners.group[$0] == g }
                return (mine.reduce(0) { $0 + shares[$1] }, mine.map { min(1, k * shares[$0]) })
            }
        } else {
            expertGroups = []
        }
        collectives = [(false, false), (false, true), (true, false), (true, true)].map { small, graph in
            fitted.flatMap { $0.allReduce(choice.implementation(bytes: small ? 0 : .infinity, graph: graph)) ?? $0.allReduce }?
                .keepingOnlyRing(for: layout.tp)
        }
        if engine.kernelTables != .none, keepingDecodeStepsUpTo > 0 {
            decodeSteps = (0...min(keepingDecodeStepsUpTo, Self.decodeStepsKept - 1)).map { n in
                var shape = BatchShape()
                shape.addDecodes(n, context: 0)
                return breakdown(share: shape)
            }
            if let fitted = inEngineDecodeAttention, model.latentAttention == nil, layout.dp == 1 {
                let m = decodeShape
                decodeAttentionTerms = decodeSteps.indices.map { n in
                    let sequences = Double(n)
                    return DecodeAttentionTerms(newTokenBytes: sequences * 2 * m.newTokenWidth * m.d * 2,
                                                perSequence: sequences * (fitted.perSequenceHead * m.heads + fitted.perSequence
                                                                          + fitted.perSequenceKVHead * m.kvHeads))
                }
            }
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
    public struct Breakdown: Sendable, Equatable {
        public var gemm = 0.0
        public var attention = 0.0
        public var elementwise = 0.0
        public var allReduce = 0.0
        public var pipelineHandoff = 0.0
        public var outputProjection = 0.0
        /// Expert parallelism's dispatch and combine.
        public var allToAll = 0.0
        /// Host seconds of the step (scheduling, input preparation, sampling).
        public var host = 0.0
        /// Whether the host work hides behind the GPU's (see EngineProfile.overlapsHost).
        public var overlapsHost = false
        /// Whether the step ran as a captured CUDA graph (padded to a captured size).
        public var graph = false
        public var gpu: Double { gemm + attention + elementwise + allReduce + pipelineHandoff + outputProjection + allToAll }
        public init() {}
        public var total: Double { overlapsHost ? max(host, gpu) : host + gpu }
    }

    /// Every layer's attention over `batch` (a rank's share).
    private func attentionSeconds(_ batch: BatchShape, graph: Bool) -> Double {
        let tp = Double(layout.tp)
        return Double(model.layers) * (prefillAttention(batch, tp: tp, graph: graph) + decodeAttention(batch, tp: tp, graph: graph))
    }

    /// `breakdown` of a step in which `sequences` sequences decode a token each, over `context`
    /// tokens of context in all: a decode stretch's step, nearly every step of a large run. A size
    /// kept with its attention's terms takes the kept cost and works out only the attention's
    /// context terms (no shape, and nothing asked again that the size settles: 2.7% fewer of the
    /// simulation thread's instructions on a 7B cluster); otherwise a shape built afresh here goes
    /// the general way (a copy of the instance's `batchShape` taken in wide loads had waited for
    /// the narrow stores that had just written it).
    public func decodeStep(sequences n: Int, context: Int) -> Breakdown {
        guard n > 0, n < decodeAttentionTerms.count, let fitted = inEngineDecodeAttention else {
            var shape = BatchShape()
            shape.addDecodes(n, context: context)
            return breakdown(shape)
        }
        // `decodeAttention`'s in-engine fit and `AttentionTimingModel.seconds`, term by term in their order.
        let m = decodeShape, terms = decodeAttentionTerms[n], c = Double(context)
        let flops = m.flopsPerToken * (c + Double(n))
        let bytes = c * 2 * m.kvPerGPU * model.kvBytesPerElement + terms.newTokenBytes
        var b = decodeSteps[n]
        let seconds = max(fitted.launch, fitted.launch + fitted.perFlop * flops + fitted.perByte * bytes + terms.perSequence)
        b.attention = Double(model.layers) * (seconds - (b.graph ? fitted.launch : 0))
        return b
    }

    public func breakdown(_ whole: BatchShape) -> Breakdown {
        // Under attention data parallelism every rank runs the busiest rank's share (vLLM pads
        // the ranks to the same size); the routed experts see all ranks' tokens.
        layout.dp > 1 ? breakdown(rank: whole.share(of: layout.dp)) : breakdown(rank: whole)
    }

    /// The breakdown of `batch`, a rank's share (read where it lies, not copied: see `decodeStep`).
    @inline(__always) private func breakdown(rank batch: BatchShape) -> Breakdown {
        guard engine.kernelTables != .none else {
            var b = Breakdown()
            b.host = engine.hostSeconds(sequences: batch.sequences, tokens: batch.totalTokens)
            return b
        }
        let n = batch.decodeTokens
        guard batch.prefillTokens == 0, batch.prefillSequences == 0, n < decodeSteps.count else { return breakdown(share: batch) }
        var b = decodeSteps[n]
        // Every layer's decode attention (`attentionSeconds`, whose prefill part is none here).
        b.attention = Double(model.layers) * decodeAttention(batch, tp: Double(layout.tp), graph: b.graph)
        assert(b == breakdown(share: batch), "a decode step's cost depends on more than its size and context")
        return b
    }

    /// `breakdown(whole)` for a step the scheduler formed: a step that prefills takes the terms
    /// its size alone sets from `sizes`, which works them out the first time a size comes up.
    public func breakdown(_ whole: BatchShape, sizes: StepSizeTerms) -> Breakdown {
        let rank = layout.dp > 1 ? whole.share(of: layout.dp) : whole
        guard engine.kernelTables != .none, rank.prefillTokens > 0 else { return breakdown(rank: rank) }
        return breakdown(share: rank, size: sizes.terms(tokens: rank.totalTokens, of: self))
    }

    /// What a step costs that depends on its size alone (a rank's tokens, and whether it only
    /// decodes): the CUDA graph it runs as, its GEMMs, its elementwise work and its collectives.
    /// Kept by size (`StepSizeTerms`), they leave a prefill step about half the cost model's
    /// instructions (409 against 778 on stress-10m-256x7b).
    public struct SizeTerms: Sendable {
        var padded = 0
        var graph = false
        var gemm = 0.0, elementwise = 0.0, allReduce = 0.0, pipelineHandoff = 0.0, allToAll = 0.0
    }

    /// The terms of a step of `tokens` tokens (a rank's) that prefills unless `decodeOnly`.
    func sizeTerms(tokens: Int, decodeOnly: Bool) -> SizeTerms {
        let tp = Double(layout.tp)
        let bpp = model.activationBytes
        // A captured graph runs at its captured size: the padding costs like real tokens.
        let (padded, graph) = engine.cudaGraphs.padded(tokens: tokens, decodeOnly: decodeOnly)
        let t = Double(padded)
        let layers = Double(model.layers)
        var s = SizeTerms(padded: padded, graph: graph)

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
        if !expertGroups.isEmpty {
            let experts = routedExperts(tokens: t * Double(layout.dp), graph: graph)
            moeLayer = attention + experts.gemm
            if model.sharedExperts > 0 { moeLayer = plusMLP(moeLayer, tokens: t, ffn: Double(model.sharedExperts) * ffn) }
            s.allToAll = Double(model.moeLayers) * experts.exchange
        } else if model.moeLayers > 0 {
            // Each token visits k experts; the weights read are those of the distinct experts touched.
            let routed = t * Double(model.expertsPerToken)
            let touched = model.expectedExpertsTouched(tokens: t, chances: expertPicks)
            moeLayer = plusMLP(attention, tokens: routed / touched, ffn: ffn, copies: touched)
            if model.sharedExperts > 0 { moeLayer = plusMLP(moeLayer, tokens: t, ffn: Double(model.sharedExperts) * ffn) }
        }
        let denseLayers = model.layers - model.moeLayers
        let denseLayer = denseLayers == 0 ? 0 : plusMLP(attention, tokens: t, ffn: model.experts > 1 ? Double(model.denseFFN) : ffn)
        s.gemm = Double(denseLayers) * denseLayer + Double(model.moeLayers) * moeLayer

        // Norms, residual adds and the MLP activation: pure memory traffic.
        let activeFFN = ffn * Double(model.expertsPerToken + model.sharedExperts)
        let elementBytes = t * (8 * h + 3 * activeFFN / tp) * bpp
        s.elementwise = layers * elementBytes / (accelerator.memoryBandwidth * efficiency.elementwise)

        if layout.tp > 1 {
            let message = t * h * bpp
            let small = message <= engine.allReduce.maxSmallBytes
            // Two per layer; one in a layer whose experts exchange tokens by all-to-all instead.
            let reduces = expertGroups.isEmpty ? layers * 2 : layers * 2 - Double(model.moeLayers)
            if let fitted = collectives[(small ? 2 : 0) + (graph ? 1 : 0)] {
                s.allReduce = reduces * fitted.seconds(bytes: message, gpus: layout.tp)
            } else {
                let ring = 2 * (tp - 1) / tp * message / linkBandwidth
                s.allReduce = reduces * (ring + efficiency.collectiveLatency)
            }
        }
        if layout.pp > 1 {
            let message = t * h * bpp
            let across = scaleOut?.crossingBoundaries ?? 0
            s.pipelineHandoff = Double(layout.pp - 1 - across) * (message / linkBandwidth + efficiency.collectiveLatency)
            if let net = scaleOut, across > 0 {
                s.pipelineHandoff += Double(across) * (message / net.bandwidth + net.latency)
            }
        }
        return s
    }

    /// The breakdown of `batch`, a rank's share, computed in full.
    private func breakdown(share batch: BatchShape) -> Breakdown {
        breakdown(share: batch, size: sizeTerms(tokens: batch.totalTokens, decodeOnly: batch.prefillTokens == 0))
    }

    /// The breakdown of `batch`, a rank's share whose size sets `size`: those terms, and the
    /// attention, output projection and host time its requests set.
    private func breakdown(share batch: BatchShape, size: SizeTerms) -> Breakdown {
        let decodeOnly = batch.prefillTokens == 0
        var b = Breakdown()
        (b.graph, b.overlapsHost) = (size.graph, engine.overlapsHost)
        (b.gemm, b.elementwise, b.allReduce, b.pipelineHandoff, b.allToAll) =
            (size.gemm, size.elementwise, size.allReduce, size.pipelineHandoff, size.allToAll)
        b.attention = attentionSeconds(batch, graph: size.graph)
        b.outputProjection = gemm(tokens: decodeOnly ? Double(size.padded) : Double(batch.sampledSequences), inputs: Double(model.hidden),
                                  outputs: Double(model.vocabulary), tp: Double(layout.tp), graph: size.graph)
        b.host = engine.hostSeconds(sequences: batch.sequences, tokens: batch.totalTokens)
        return b
    }

    /// One MoE layer's routed experts over `tokens` tokens of all DP ranks. Group g receives its
    /// share of the t·k routed tokens, and, as routing is random, more on a bad step: its load is
    /// taken as the mean plus the expected largest of `ep` normal deviations times the binomial
    /// spread. It computes each expert it holds that some token picked (the distinct experts
    /// touched read their weights), split over the group's expertTP GPUs; the busiest group sets
    /// the pace. Dispatch and combine each move every routed token's hidden vector that leaves
    /// its GPU's group: a GPU sends its tokens' copies and receives its group's load; the larger
    /// sets the time, over NVLink inside the server and the NIC for the share beyond it.
    private func routedExperts(tokens t: Double, graph: Bool) -> (gemm: Double, exchange: Double) {
        let h = Double(model.hidden), ffn = Double(model.ffn), mlpWidth = Double(model.gatedMLP ? 2 : 1)
        let routed = t * Double(model.expertsPerToken), etp = Double(layout.expertTP)
        let z = expectedMaxOfNormals(layout.ep)
        var slowest = 0.0, heaviest = 0.0
        for g in expertGroups {
            let load = routed * g.share + z * (routed * g.share * (1 - g.share)).squareRoot()
            heaviest = max(heaviest, load)
            let touched = g.chances.reduce(0) { $0 + (1 - pow(1 - $1, t)) }
            guard touched > 0 else { continue }
            let perExpert = load / touched
            slowest = max(slowest, touched * (gemm(tokens: perExpert, inputs: h, outputs: mlpWidth * ffn, tp: etp, graph: graph)
                                              + gemm(tokens: perExpert, inputs: ffn, outputs: h, tp: etp, graph: graph)))
        }
        guard layout.ep > 1 else { return (slowest, 0) }
        let leaving = 1 - 1 / Double(layout.ep)
        let sent = routed / Double(layout.gpusPerStage) * leaving, received = heaviest * leaving
        let bytes = max(sent, received) * h * model.activationBytes
        let local = scaleOut?.localShare ?? 1
        var seconds = bytes * local / linkBandwidth + efficiency.collectiveLatency
        if let net = scaleOut, local < 1 { seconds = max(seconds, bytes * (1 - local) / net.bandwidth + net.latency) }
        return (slowest, 2 * seconds)
    }

    /// Model FLOPs of a batch, as MFU counts them: 2 per active weight per token (attention, dense
    /// and shared layers, and the k routed experts a token visits), the output projection for the
    /// sampled sequences, and attention's score and value products (4 · head width · heads per
    /// query–key pair, every layer).
    public func modelFLOPs(_ batch: BatchShape) -> Double {
        let experts = Double(model.moeLayers * model.expertsPerToken) * model.mlpParametersPerExpert
        let perToken = model.parameters - model.routedExpertParameters - model.embeddingParameters + experts
        let pairs = batch.prefillAttentionPairs + Double(batch.decodeContextTokens + batch.decodeTokens)
        return 2 * perToken * Double(batch.totalTokens) + 2 * Double(batch.sampledSequences * model.vocabulary * model.hidden)
            + 4 * Double(model.headDim * model.heads * model.layers) * pairs
    }

    /// Bytes a batch must move at least, as MBU counts them: every weight once (the distinct
    /// experts touched, for a mixture of experts), and the KV cache it reads and writes.
    public func memoryBytes(_ batch: BatchShape) -> Double {
        var weights = model.weightBytes
        if model.moeLayers > 0 {
            let touched = model.expectedExpertsTouched(tokens: Double(batch.totalTokens), chances: expertPicks)
            weights -= Double(model.moeLayers) * (Double(model.experts) - touched) * model.expertBytesPerLayer
        }
        let kv = Double(batch.decodeContextTokens + batch.prefillCachedTokens + batch.totalTokens) * model.kvBytesPerToken(tp: layout.tp)
        return weights + kv
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
        if let fitted = inEnginePrefillAttention {
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

    @inline(__always) private func decodeAttention(_ batch: BatchShape, tp: Double, graph: Bool) -> Double {
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
        if let fitted = inEngineDecodeAttention {
            // As the fit counts it: each new token attends to its context and itself.
            let m = decodeShape, sequences = Double(batch.decodeTokens), context = Double(batch.decodeContextTokens)
            return fitted.seconds(inGraph: graph, .init(flops: m.flopsPerToken * (context + sequences),
                                        bytes: context * 2 * m.kvPerGPU * model.kvBytesPerElement
                                          + sequences * 2 * m.newTokenWidth * m.d * 2,
                                        sequences: sequences, heads: m.heads, kvHeads: m.kvHeads))
        }
        let kvPerGPU = decodeShape.kvPerGPU
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
