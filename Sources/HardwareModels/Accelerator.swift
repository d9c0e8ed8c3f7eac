/// One GPU model's datasheet figures.
public struct Accelerator: Sendable, Equatable, Codable {
    public let name: String
    /// HBM (or GDDR) capacity in bytes.
    public let memoryBytes: Double
    /// Peak memory bandwidth, bytes/s.
    public let memoryBandwidth: Double
    /// Peak dense FP16/BF16 tensor throughput, FLOP/s (no sparsity).
    public let fp16Flops: Double
    /// Per-GPU, per-direction bandwidth of the link used for tensor-parallel
    /// collectives inside a node (NVLink where present, else PCIe), bytes/s.
    public let intraNodeLinkBandwidth: Double
    /// Per-direction host link (PCIe) bandwidth, bytes/s; swap traffic uses it.
    public let hostLinkBandwidth: Double
    /// Where the figures come from.
    public let source: String
}

private let GB = 1e9
private let GiB = 1_073_741_824.0
private let TFLOPS = 1e12

/// Accelerators known by name in scenarios.
///
/// Dense (non-sparse) FP16 tensor figures. NVLink figures are per GPU, per
/// direction (half the bidirectional totals NVIDIA quotes). PCIe Gen4 x16 is
/// 32 GB/s a direction, Gen5 x16 64 GB/s (PCI-SIG base specifications).
public enum AcceleratorCatalog {
    public static let all: [Accelerator] = [
        Accelerator(name: "A100-40GB", memoryBytes: 40 * GiB, memoryBandwidth: 1555 * GB,
                    fp16Flops: 312 * TFLOPS, intraNodeLinkBandwidth: 300 * GB, hostLinkBandwidth: 32 * GB,
                    source: "NVIDIA A100 Tensor Core GPU datasheet (SXM4 40GB): 312 TFLOPS FP16, 1,555 GB/s, NVLink 600 GB/s"),
        Accelerator(name: "A100-80GB", memoryBytes: 80 * GiB, memoryBandwidth: 2039 * GB,
                    fp16Flops: 312 * TFLOPS, intraNodeLinkBandwidth: 300 * GB, hostLinkBandwidth: 32 * GB,
                    source: "NVIDIA A100 Tensor Core GPU datasheet (SXM4 80GB): 312 TFLOPS FP16, 2,039 GB/s, NVLink 600 GB/s"),
        Accelerator(name: "H100-SXM-80GB", memoryBytes: 80 * GiB, memoryBandwidth: 3350 * GB,
                    fp16Flops: 989.4 * TFLOPS, intraNodeLinkBandwidth: 450 * GB, hostLinkBandwidth: 64 * GB,
                    source: "NVIDIA H100 Tensor Core GPU datasheet (SXM5): 989 TFLOPS dense BF16, 3.35 TB/s, NVLink 900 GB/s, PCIe Gen5"),
        Accelerator(name: "H200", memoryBytes: 141 * GB, memoryBandwidth: 4800 * GB,
                    fp16Flops: 989.4 * TFLOPS, intraNodeLinkBandwidth: 450 * GB, hostLinkBandwidth: 64 * GB,
                    source: "NVIDIA H200 Tensor Core GPU datasheet (SXM): 141 GB HBM3e, 4.8 TB/s, 989 TFLOPS dense BF16, NVLink 900 GB/s"),
        Accelerator(name: "A40", memoryBytes: 48 * GiB, memoryBandwidth: 696 * GB,
                    fp16Flops: 149.7 * TFLOPS, intraNodeLinkBandwidth: 32 * GB, hostLinkBandwidth: 32 * GB,
                    source: "NVIDIA A40 datasheet: 48 GB GDDR6, 696 GB/s, 149.7 TFLOPS FP16 dense, PCIe Gen4 x16 "
                        + "(NVLink bridge pairs not modelled)"),
        Accelerator(name: "L40S", memoryBytes: 48 * GiB, memoryBandwidth: 864 * GB,
                    fp16Flops: 362.05 * TFLOPS, intraNodeLinkBandwidth: 32 * GB, hostLinkBandwidth: 32 * GB,
                    source: "NVIDIA L40S datasheet: 48 GB GDDR6, 864 GB/s, 362.05 TFLOPS FP16 dense, PCIe Gen4 x16, no NVLink"),
        Accelerator(name: "A10", memoryBytes: 24 * GiB, memoryBandwidth: 600 * GB,
                    fp16Flops: 125 * TFLOPS, intraNodeLinkBandwidth: 32 * GB, hostLinkBandwidth: 32 * GB,
                    source: "NVIDIA A10 Tensor Core GPU datasheet: 24 GB GDDR6, 600 GB/s, 125 TFLOPS FP16 dense, PCIe Gen4 x16"),
    ]

    public static func named(_ name: String) -> Accelerator? { all.first { $0.name == name } }
}
