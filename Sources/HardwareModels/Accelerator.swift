import Foundation
import SimCore

/// One GPU model's datasheet figures.
public struct Accelerator: Sendable, Equatable, Codable {
    public let name: String
    /// HBM (or GDDR) capacity in bytes, as the driver reports it (nvidia-smi).
    public let memoryBytes: Double
    /// The total CUDA reports to a serving process (torch.cuda.mem_get_info), which vLLM
    /// sizes its KV cache against; nil where no log gives it (then `memoryBytes`).
    public var cudaMemoryBytes: Double? = nil
    /// Peak memory bandwidth, bytes/s.
    public let memoryBandwidth: Double
    /// Peak dense FP16/BF16 tensor throughput, FLOP/s (no sparsity).
    public let fp16Flops: Double
    /// Peak dense FP8 tensor throughput, FLOP/s; nil where the GPU has no FP8 tensor cores.
    public var fp8Flops: Double? = nil
    /// Per-GPU, per-direction bandwidth of the link used for tensor-parallel
    /// collectives inside a node (NVLink where present, else PCIe), bytes/s.
    public let intraNodeLinkBandwidth: Double
    /// Per-direction host link (PCIe) bandwidth, bytes/s; swap traffic uses it.
    public let hostLinkBandwidth: Double
    /// Where the figures come from.
    public let source: String
    /// The usual server for this accelerator (its hardware file's `server`).
    public var server: NodeSpec? = nil
}

extension Accelerator {
    /// An accelerator from its hardware file (see Resources/accelerators/README.md).
    public init(hardwareFile json: JSONValue, file: String) throws {
        func fail(_ field: String, _ message: String) -> InputError { InputError(file: file, location: field, message) }
        func number(_ field: String, required: Bool = true) throws -> Double? {
            guard let v = json[field] else {
                if required { throw fail(field, "required field is missing") }
                return nil
            }
            guard let d = v.double, d > 0, d < 1e9 else { throw fail(field, "expected a number > 0, found \(v.shortText)") }
            return d
        }
        guard json.members != nil else { throw InputError(file: file, "expected a JSON object (a hardware file)") }
        guard let name = json["name"]?.string, !name.isEmpty else { throw fail("name", "expected the accelerator's name") }
        let allowed = ["name", "memory_mib", "marketing_memory", "memory_bandwidth_gbs", "bf16_tflops", "fp8_tflops",
                       "nvlink_gbs", "pcie_gbs", "cuda_memory_gib", "server", "source"]
        if let unknown = json.members?.map(\.key).sorted().first(where: { !allowed.contains($0) }) {
            throw fail(unknown, "unknown field; expected one of: \(allowed.joined(separator: ", "))")
        }
        let pcie = try number("pcie_gbs")! * 1e9
        let nvlink = try number("nvlink_gbs", required: false)
        self.init(name: name, memoryBytes: try number("memory_mib")! * 1_048_576,
                  memoryBandwidth: try number("memory_bandwidth_gbs")! * 1e9, fp16Flops: try number("bf16_tflops")! * 1e12,
                  // Vendors quote NVLink for both directions together.
                  intraNodeLinkBandwidth: nvlink.map { $0 / 2 * 1e9 } ?? pcie, hostLinkBandwidth: pcie,
                  source: json["source"]?.string ?? file)
        fp8Flops = try number("fp8_tflops", required: false).map { $0 * 1e12 }
        cudaMemoryBytes = try number("cuda_memory_gib", required: false).map { $0 * 1_073_741_824 }
        if let s = json["server"] { server = try NodeSpec(hardwareFile: s, file: file) }
    }
}

/// Accelerators known by name in scenarios: the hardware files bundled in
/// `Resources/accelerators`, each with its sources.
public enum AcceleratorCatalog {
    public static let all: [Accelerator] = BundledFiles.load("accelerators") { try Accelerator(hardwareFile: $0, file: $1) }

    public static func named(_ name: String) -> Accelerator? { all.first { $0.name == name } }
}
