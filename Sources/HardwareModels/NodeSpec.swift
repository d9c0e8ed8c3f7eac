/// One server: how many GPUs it holds, its host DRAM and NVMe tiers, and its
/// network interfaces. Bandwidths are bytes/s a direction; latencies seconds.
public struct NodeSpec: Sendable, Equatable {
    public var gpus: Int
    public var hostMemoryBytes: Double
    /// Host DRAM bandwidth shared by every transfer to or from host memory.
    public var hostMemoryBandwidth: Double
    public var nvmeBytes: Double
    public var nvmeReadBandwidth: Double
    public var nvmeWriteBandwidth: Double
    public var nics: Int
    public var nicBandwidth: Double
    /// One-way latency of a small GPU-to-GPU message inside the node.
    public var peerLatency: Double
    /// One-way latency of a small message between nodes.
    public var networkLatency: Double
    /// Latency of a host transfer (PCIe) or an NVMe access.
    public var hostLatency: Double
    public var source: String

    /// The usual server for an accelerator. Vidur's send_recv profiles give the
    /// latencies (median at 2 KiB): NVLink 8 µs (A100 DGX) and 5 µs (H100 DGX),
    /// across nodes 24 µs and 17 µs. PCIe/NVMe latency is taken as 10 µs (an
    /// NVMe 4 KiB read is ~10 µs by drive datasheets; a PCIe DMA is shorter).
    public static func defaults(for accelerator: Accelerator) -> NodeSpec {
        let GB = 1e9, GiB = 1_073_741_824.0, TB = 1e12
        // Typical PCIe Gen4 enterprise NVMe drive: 7.0 GB/s read, 3.8 GB/s write
        // (Samsung PM1733 datasheet).
        let drive = (read: 7.0 * GB, write: 3.8 * GB)
        switch accelerator.name {
        case "A100-40GB", "A100-80GB":
            return NodeSpec(gpus: 8, hostMemoryBytes: 1024 * GiB, hostMemoryBandwidth: 409.6 * GB,
                            nvmeBytes: 15.36 * TB, nvmeReadBandwidth: 4 * drive.read, nvmeWriteBandwidth: 4 * drive.write,
                            nics: 8, nicBandwidth: 25 * GB, peerLatency: 8e-6, networkLatency: 24e-6, hostLatency: 10e-6,
                            source: "DGX A100 datasheet: 8 GPUs, 1 TB DRAM (2× EPYC 7742, 8 channels DDR4-3200 each), "
                                + "4× 3.84 TB NVMe, 8× 200 Gb/s HDR InfiniBand")
        case "H100-SXM-80GB", "H200", "B200", "H20", "MI300X":
            return NodeSpec(gpus: 8, hostMemoryBytes: 2048 * GiB, hostMemoryBandwidth: 614.4 * GB,
                            nvmeBytes: 30.72 * TB, nvmeReadBandwidth: 8 * drive.read, nvmeWriteBandwidth: 8 * drive.write,
                            nics: 8, nicBandwidth: 50 * GB, peerLatency: 5e-6, networkLatency: 17e-6, hostLatency: 10e-6,
                            source: "DGX H100/H200 datasheets: 8 GPUs, 2 TB DRAM (2× Xeon 8480C, 8 channels DDR5-4800 "
                                + "each), 8× 3.84 TB NVMe, 8× 400 Gb/s ConnectX-7 (B200, H20 and MI300X servers taken as alike)")
        case "L40S":
            return NodeSpec(gpus: 8, hostMemoryBytes: 1536 * GiB, hostMemoryBandwidth: 409.6 * GB,
                            nvmeBytes: 7.6 * TB, nvmeReadBandwidth: 2 * drive.read, nvmeWriteBandwidth: 2 * drive.write,
                            nics: 4, nicBandwidth: 12.5 * GB, peerLatency: 10e-6, networkLatency: 24e-6, hostLatency: 10e-6,
                            source: "AWS g6e.48xlarge: 8× L40S, 1,536 GiB memory, 7.6 TB NVMe, 400 Gb/s network "
                                + "(DRAM bandwidth and NIC split assumed)")
        case "Ascend-910C":
            // ElasticMoE's CloudMatrix384 node. The Unified Bus joins every NPU of the supernode at
            // nearly the same bandwidth inside and across servers: modelled as one UB port per NPU
            // as its "NIC".
            return NodeSpec(gpus: 16, hostMemoryBytes: 1536 * GiB, hostMemoryBandwidth: 4 * 8 * 25.6 * GB,
                            nvmeBytes: 15.36 * TB, nvmeReadBandwidth: 4 * drive.read, nvmeWriteBandwidth: 4 * drive.write,
                            nics: 16, nicBandwidth: 196 * GB, peerLatency: 0.5e-6, networkLatency: 5.5e-6, hostLatency: 10e-6,
                            source: "ElasticMoE (arXiv 2510.02613) §7.1: 16 Ascend 910C NPUs and 4 Kunpeng 920 CPUs with 1.5 TB "
                                + "per node of CloudMatrix384; UB 196 GB/s per die, 0.5 µs inside a server and 5.5 µs across "
                                + "(Ascend/msmodeling tensor_cast/device.py A3_INTERCONNECT). Assumed, no public figure found: "
                                + "DRAM 4 sockets × 8 channels DDR4-3200, NVMe as 4 PCIe Gen4 drives")
        default:
            return NodeSpec(gpus: 4, hostMemoryBytes: 192 * GiB, hostMemoryBandwidth: 204.8 * GB,
                            nvmeBytes: 3.8 * TB, nvmeReadBandwidth: drive.read, nvmeWriteBandwidth: drive.write,
                            nics: 1, nicBandwidth: 5 * GB, peerLatency: 10e-6, networkLatency: 24e-6, hostLatency: 10e-6,
                            source: "AWS g5.12xlarge: 4× A10G, 192 GiB memory, 3.8 TB NVMe, 40 Gb/s network "
                                + "(DRAM bandwidth assumed)")
        }
    }
}
