/// The memory tiers of one server: each GPU's HBM, the host DRAM and NVMe.
/// A reference type: every instance on the server draws on the same tiers.
public final class NodeMemory {
    public private(set) var hbm: [MemoryTier]
    public var dram: MemoryTier
    public var nvme: MemoryTier

    init(node: Int, spec: NodeSpec, accelerator: Accelerator) {
        hbm = (0..<spec.gpus).map { MemoryTier(name: "node\(node).gpu\($0).hbm", capacity: accelerator.memoryBytes) }
        dram = MemoryTier(name: "node\(node).dram", capacity: spec.hostMemoryBytes)
        nvme = MemoryTier(name: "node\(node).nvme", capacity: spec.nvmeBytes)
    }

    /// Reserves on one GPU's HBM; false when it does not fit.
    public func reserveHBM(slot: Int, _ bytes: Double, for use: MemoryUse) -> Bool {
        hbm[slot].reserve(bytes, for: use)
    }

    public func releaseHBM(slot: Int, _ bytes: Double, from use: MemoryUse) {
        hbm[slot].release(bytes, from: use)
    }
}
