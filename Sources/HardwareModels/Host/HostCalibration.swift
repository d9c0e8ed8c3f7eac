import Foundation
import SimCore

/// This machine's CPU described as a device: measured peaks, a fitted GEMM
/// model and fitted attention/memory efficiencies, in the same form as a GPU's
/// profile, so the simulator can predict a model running here.
public struct HostDevice: Sendable, Equatable, Codable {
    public let accelerator: Accelerator
    public let profile: DeviceProfile
    public let efficiency: EfficiencyFactors
    public let cpu: String
    public let blasCore: String
    public let threads: Int
}

/// Runs real kernels on the CPU (`simrun calibrate --host`) and fits them.
public enum HostCalibration {
    /// A small decoder-only model in FP32, the shape the validation runs.
    public static let validationModel = ModelArchitecture(
        name: "host-decoder", layers: 4, hidden: 512, heads: 8, kvHeads: 8, ffn: 1408, vocabulary: 8192, experts: 1,
        expertsPerToken: 1, gatedMLP: true, tiedEmbeddings: false, bytesPerParameter: 4, maxContext: 4096,
        source: "synthetic (random FP32 weights)")

    /// The reduced model of quick mode.
    static let smallModel = ModelArchitecture(
        name: "host-decoder-small", layers: 2, hidden: 256, heads: 4, kvHeads: 4, ffn: 704, vocabulary: 2048,
        experts: 1, expertsPerToken: 1, gatedMLP: true, tiedEmbeddings: false, bytesPerParameter: 4,
        maxContext: 4096, source: "synthetic (random FP32 weights)")

    /// - Parameter quick: a reduced set of small shapes (seconds, for tests).
    public static func run(quick: Bool, threads: Int) throws -> HostDevice {
        let blas = try OpenBLAS(threads: threads)
        let kernels = HostKernels(blas: blas)
        let repeats = quick ? 2 : 5
        let bandwidth = HostKernels.copyBandwidth(bytes: quick ? 8 << 20 : 256 << 20, repeats: repeats)

        // GEMMs of the shapes a layer uses, over a range of token counts.
        var samples: [GEMMSample] = []
        for h in quick ? [256] : [256, 512, 1024, 2048] {
            let f = (h * 8 / 3 + 63) / 64 * 64
            for (op, k, n) in KernelProfiles.layerGEMMs(hidden: h, heads: max(1, h / 64), kvHeads: max(1, h / 64), ffn: f, gated: true) {
                // A forward pass streams each layer's own weights, so rotate
                // through copies that together exceed the last-level cache.
                let copies = max(2, (quick ? 8 : 96) * 1_048_576 / (k * n * 4))
                let weights = (0..<copies).map { HostBuffer(count: k * n, seed: UInt32(4 + $0)).values }
                for tokens in quick ? [1, 16, 128] : [1, 4, 16, 64, 256, 1024] {
                    let a = HostBuffer(count: tokens * k, seed: 3).values
                    var c = [Float](repeating: 0, count: tokens * n)
                    var next = 0
                    let seconds = Stopwatch.median(repeats: max(repeats, copies)) {
                        blas.sgemm(m: tokens, n: n, k: k, a: a, b: weights[next], c: &c)
                        next = (next + 1) % copies
                    }
                    let key = "host|\(h)|\(op)|\(tokens)"
                    samples.append(GEMMSample(flops: 2 * Double(tokens * k * n), bytes: Double(k * n + tokens * (k + n)) * 4,
                                              seconds: seconds, op: op, heldOut: KernelProfiles.isHeldOut(key)))
                }
            }
        }
        let peak = samples.map { $0.flops / $0.seconds }.max()!
        let training = samples.filter { !$0.heldOut }
        let gemm = try GEMMTimingModel.fit(training.isEmpty ? samples : training, ridge: peak / bandwidth)
        let held = samples.filter(\.heldOut)
        var errors: [String: ErrorSummary] = [:]
        if !held.isEmpty {
            errors["all"] = ErrorSummary(predicted: held.map { gemm.seconds(flops: $0.flops, bytes: $0.bytes) },
                                         measured: held.map(\.seconds))
        }

        // Attention: how far below peak compute (prefill) and copy bandwidth
        // (decode) the real kernel runs, each the median ratio over shapes.
        let heads = 8, dim = 64
        var prefillRatios: [Double] = [], decodeRatios: [Double] = []
        for (tokens, cached) in quick ? [(64, 0), (1, 256)] : [(128, 0), (512, 0), (1024, 0), (1, 512), (1, 2048), (1, 8192)] {
            let context = cached + tokens, width = heads * dim
            let q = HostBuffer(count: tokens * width).values
            let k = HostBuffer(count: context * width, seed: 2).values, v = HostBuffer(count: context * width, seed: 3).values
            var out = [Float](repeating: 0, count: tokens * width), s = [Float](repeating: 0, count: tokens * context)
            let seconds = Stopwatch.median(repeats: repeats) {
                kernels.attention(q: q, qStride: width, keys: k, values: v, tokens: tokens, context: context,
                                  heads: heads, dim: dim, out: &out, scores: &s)
            }
            if tokens > 1 {
                let pairs = Double(tokens) * Double(cached) + Double(tokens) * Double(tokens + 1) / 2
                prefillRatios.append(4 * Double(dim * heads) * pairs / peak / seconds)
            } else {
                decodeRatios.append(Double(context * 2 * width * 4) / bandwidth / seconds)
            }
        }
        // Elementwise work of the real decoder against the cost model's bytes.
        let probe = CPUDecoder(shape: quick ? smallModel : validationModel, kernels: kernels)
        var elementwiseRatios: [Double] = []
        for tokens in quick ? [16, 64] : [16, 128, 1024] {
            let seconds = probe.timeElementwise(tokens: tokens, repeats: repeats)
            let m = probe.shape
            let bytes = Double(tokens) * Double(8 * m.hidden + 3 * m.ffn) * m.bytesPerParameter
            elementwiseRatios.append(bytes / bandwidth / seconds)
        }
        var efficiency = EfficiencyFactors()
        efficiency.elementwise = SampleSummary(elementwiseRatios).quantile(0.5)
        efficiency.gemmCompute = 1
        efficiency.attentionCompute = SampleSummary(prefillRatios).quantile(0.5)
        efficiency.memoryBandwidth = min(1, SampleSummary(decodeRatios).quantile(0.5))

        let cpu = HostMachine.current.cpuName
        let accelerator = Accelerator(
            name: "host-cpu", memoryBytes: Double(ProcessInfo.processInfo.physicalMemory), memoryBandwidth: bandwidth,
            fp16Flops: peak, intraNodeLinkBandwidth: bandwidth, hostLinkBandwidth: bandwidth,
            source: "measured by simrun calibrate --host: \(cpu), OpenBLAS \(blas.coreName), \(threads) threads; "
                + "FP32 (the 'fp16Flops' field holds the FP32 sgemm peak)")
        let profile = DeviceProfile(accelerator: "host-cpu", gemm: gemm, allReduce: nil, sources: ["host kernels"],
                                    fittedSamples: training.count, gemmHeldOutError: errors, allReduceHeldOutError: nil)
        return HostDevice(accelerator: accelerator, profile: profile, efficiency: efficiency, cpu: cpu,
                          blasCore: blas.coreName, threads: threads)
    }

    /// One validation shape: measured and predicted seconds of a forward pass.
    public struct Validation: Sendable {
        public let batch: Int
        public let tokens: Int
        public let cached: Int
        public let measured: Double
        public let predicted: Double
        public var error: Double { predicted / measured - 1 }
    }

    /// Runs the real decoder for several prefill and decode shapes and sets
    /// each measured time beside the simulator's prediction for this device.
    public static func validate(_ device: HostDevice, quick: Bool) throws -> [Validation] {
        let blas = try OpenBLAS(threads: device.threads)
        let model = quick ? smallModel : validationModel
        let decoder = CPUDecoder(shape: model, kernels: HostKernels(blas: blas))
        // The CPU decoder has no serving framework around it: kernels only.
        let cost = CostModel(model: model, accelerator: device.accelerator, layout: ParallelLayout(),
                             efficiency: device.efficiency, engine: EngineCatalog.kernelsOnly,
                             timings: .profile(device.profile))
        let shapes: [(batch: Int, tokens: Int, cached: Int)] = quick
            ? [(1, 32, 0), (4, 1, 64)]
            : [(1, 128, 0), (4, 128, 0), (1, 512, 0), (8, 64, 0), (1, 1, 256), (8, 1, 256), (32, 1, 128), (64, 1, 512)]
        return shapes.map { s in
            var batch = BatchShape()
            for _ in 0..<s.batch {
                if s.tokens == 1 && s.cached > 0 { batch.addDecode(context: s.cached) }
                else { batch.addPrefill(tokens: s.tokens, cached: s.cached, samples: true) }
            }
            let measured = decoder.time(batch: s.batch, tokens: s.tokens, cached: s.cached, repeats: quick ? 2 : 5)
            return Validation(batch: s.batch, tokens: s.tokens, cached: s.cached, measured: measured,
                              predicted: cost.iterationTime(batch))
        }
    }
}
