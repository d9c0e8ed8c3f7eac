import Foundation
import SimCore

/// All-reduce timings measured inside the serving engines (AIConfigurator's
/// perf database: vLLM's and SGLang's custom all-reduce captured in a CUDA graph
/// and launched eagerly, TensorRT-LLM's kernels, NCCL), fitted per implementation
/// and GPU count with the same model as NCCL rings, one row in five held out.
public enum CollectiveFits {
    public struct Fit: Sendable, Equatable, Codable {
        public let model: AllReduceTimingModel
        public let heldOutError: ErrorSummary
        public let source: String
    }

    /// Fits for one GPU kind (`system` as the file names it, e.g. h100_sxm), by implementation.
    public static func fit(path: String, system: String, label: String) throws -> [String: Fit] {
        let table = try ProfileTable(path: path, required: ["system", "implementation", "version", "num_gpus", "bytes",
                                                             "latency_ms"])
        var samples: [String: [CollectiveSample]] = [:]
        var versions: [String: String] = [:]
        for r in table.rows.indices where table.text(r, "system") == system {
            let impl = String(table.text(r, "implementation"))
            let gpus = try table.number(r, "num_gpus"), seconds = try table.number(r, "latency_ms") / 1e3
            guard gpus >= 2, gpus == gpus.rounded(), gpus <= 1024, seconds > 0 else {
                throw InputError(file: path, location: "line \(table.lines[r])", "expected num_gpus ≥ 2 and a latency > 0")
            }
            samples[impl, default: []].append(CollectiveSample(
                bytes: try table.number(r, "bytes"), gpus: Int(gpus), seconds: seconds,
                heldOut: KernelProfiles.isHeldOut("\(impl)|\(table.lines[r])")))
            versions[impl] = String(table.text(r, "version"))
        }
        var fits: [String: Fit] = [:]
        for (impl, s) in samples {
            let model = try AllReduceTimingModel.fit(s.filter { !$0.heldOut })
            let held = s.filter(\.heldOut)
            fits[impl] = Fit(model: model,
                             heldOutError: ErrorSummary(predicted: held.map { model.seconds(bytes: $0.bytes, gpus: $0.gpus) },
                                                        measured: held.map(\.seconds)),
                             source: "\(label) (\(impl) \(versions[impl] ?? ""))")
        }
        return fits
    }
}
