import Foundation
import SimCore

/// Fits device profiles to the measured timings in a profiles folder laid out
/// as ../shared/data/profiles (see its SOURCES.md).
public enum Calibration {
    /// Which Vidur profile folders describe which catalog accelerator, and the
    /// all-reduce topology measured on the same machines.
    static let vidurDevices: [(folder: String, accelerator: String, network: String?, layers: String?, own: String?,
                               engineSystem: String?)] = [
        ("a100", "A100-80GB", "a100_dgx", nil, nil, "a100_sxm"),
        ("a40", "A40", nil, nil, nil, nil),
        ("h100", "H100-SXM-80GB", "h100_dgx", "llmservingsim/H100", "h100-2026-11-23", "h100_sxm"),
    ]
    /// GPUs without measurements that share a measured GPU's compute die, clocks and NVLink and differ in
    /// memory (H200: H100's GH100 at the same clocks, HBM3e at 4.8 TB/s): they take its profile with
    /// memory-bound terms scaled by the ratio of datasheet bandwidths.
    static let transfers: [(accelerator: String, from: String)] = [("H200", "H100-SXM-80GB")]
    /// All-reduce timings measured inside the engines, under `ownMeasurements`.
    static let engineCollectives = "aiconfigurator/allreduce.csv"
    /// GEMM and attention timings measured inside vLLM, under `ownMeasurements`.
    static let engineKernelTables = "aiconfigurator"

    /// - Parameters:
    ///   - root: the shared measurements (laid out as ../shared/data/profiles).
    ///   - ownMeasurements: this repository's calibration/ folder of GPU timings.
    public static func fit(profilesFolder root: String, ownMeasurements: String) throws -> DeviceProfileSet {
        var profiles: [DeviceProfile] = []
        for device in vidurDevices {
            guard let accelerator = AcceleratorCatalog.named(device.accelerator) else { continue }
            let files = try mlpFiles(under: "\(root)/vidur/compute/\(device.folder)")
            guard !files.isEmpty else { continue }
            var samples: [GEMMSample] = []
            for f in files { samples += try KernelProfiles.vidurGEMMs(path: f) }
            let ridge = accelerator.fp16Flops / accelerator.memoryBandwidth
            let gemm = try GEMMTimingModel.fit(samples.filter { !$0.heldOut }, ridge: ridge)
            let held = samples.filter(\.heldOut)
            var errors: [String: ErrorSummary] = [:]
            for op in Set(held.map(\.op)).sorted() + ["all"] {
                let subset = op == "all" ? held : held.filter { $0.op == op }
                errors[op] = ErrorSummary(predicted: subset.map { gemm.seconds(flops: $0.flops, bytes: $0.bytes) },
                                          measured: subset.map(\.seconds))
            }
            var sources = files.map { KernelProfiles.stableName($0) }
            var allReduce: AllReduceTimingModel?
            var allReduceError: ErrorSummary?
            if let network = device.network {
                let path = "\(root)/vidur/network/\(network)/all_reduce.csv"
                if FileManager.default.fileExists(atPath: path) {
                    let c = try KernelProfiles.vidurAllReduce(path: path)
                    let model = try AllReduceTimingModel.fit(c.filter { !$0.heldOut })
                    let h = c.filter(\.heldOut)
                    allReduce = model
                    allReduceError = ErrorSummary(predicted: h.map { model.seconds(bytes: $0.bytes, gpus: $0.gpus) },
                                                  measured: h.map(\.seconds))
                    sources.append("network/\(network)/all_reduce.csv")
                }
            }
            var profile = DeviceProfile(accelerator: device.accelerator, gemm: gemm, allReduce: allReduce,
                                        sources: sources, fittedSamples: samples.count - held.count,
                                        gemmHeldOutError: errors, allReduceHeldOutError: allReduceError)
            if let own = device.own, FileManager.default.fileExists(atPath: "\(ownMeasurements)/\(own)/attention.csv") {
                let label = "calibration/\(own)/attention.csv"
                profile.attention = try GPUMeasurements.fit(folder: "\(ownMeasurements)/\(own)", label: label, gemm: gemm)
                profile.sources.append(label)
            }
            let collectives = "\(ownMeasurements)/\(engineCollectives)"
            if let system = device.engineSystem, FileManager.default.fileExists(atPath: collectives) {
                let label = "calibration/\(engineCollectives)"
                profile.collectives = try CollectiveFits.fit(path: collectives, system: system, label: label)
                profile.sources.append(label)
            }
            if let system = device.engineSystem,
               let kernels = try EngineKernels.fit(folder: "\(ownMeasurements)/\(engineKernelTables)", system: system,
                                                   label: "calibration/\(engineKernelTables)/{gemm,attention}.csv",
                                                   ridge: ridge) {
                profile.engineKernels = kernels
                profile.sources.append(kernels.source)
            }
            if let layers = device.layers,
               let check = try LayerCheck.evaluate(folder: "\(root)/\(layers)", gemm: gemm,
                                                   attention: profile.attention?.prefill) {
                profile.layerCheck = check
                profile.sources.append("\(layers)/meta-llama/*/tp*/layers.csv")
            }
            profiles.append(profile)
        }
        for t in transfers {
            guard let source = profiles.first(where: { $0.accelerator == t.from }),
                  let from = AcceleratorCatalog.named(t.from), let to = AcceleratorCatalog.named(t.accelerator) else { continue }
            profiles.append(source.transferred(to: t.accelerator, bandwidthRatio: from.memoryBandwidth / to.memoryBandwidth))
        }
        guard !profiles.isEmpty else {
            throw InputError(file: root, "no Vidur mlp.csv profiles found under vidur/compute/")
        }
        let runs = "\(root)/splitwise-sim/perf_model.csv"
        let endToEnd = FileManager.default.fileExists(atPath: runs)
            ? try EndToEndCheck.evaluate(path: runs, profiles: profiles) : []
        return DeviceProfileSet(generatedBy: "simrun calibrate (Vidur GEMM and all-reduce profiles; Splitwise "
                                + "end-to-end runs; 1 row in 5 held out)", profiles: profiles, endToEnd: endToEnd)
    }

    /// Every mlp.csv below a folder, in sorted order.
    static func mlpFiles(under folder: String) throws -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: folder) else { return [] }
        var files: [String] = []
        while let rel = walker.nextObject() as? String {
            if rel.hasSuffix("/mlp.csv") { files.append("\(folder)/\(rel)") }
        }
        return files.sorted()
    }
}
