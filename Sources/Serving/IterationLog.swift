import HardwareModels
import SimCore

/// One forward pass as it ran: when it started, on which instance, what it computed, how long it
/// took and of what, and the KV blocks in use. The model FLOPs and bytes it moved give MFU and MBU.
public struct IterationRecord: Sendable {
    public let start: SimTime
    public let instance: Int
    public let batch: BatchShape
    /// Seconds the step held the instance (every pipeline stage; time-sharing included).
    public let duration: Double
    public let parts: CostModel.Breakdown
    public let kvBlocksUsed: Int
    public let kvBlocksTotal: Int
    public let flops: Double
    public let bytes: Double
}

/// The iterations of a run, every `every`-th of each instance (1: all), so a long run stays usable.
public final class IterationLog {
    public let every: Int
    public private(set) var records: [IterationRecord] = []
    private var seen: [Int] = []

    public init(every: Int = 1) {
        precondition(every >= 1)
        self.every = every
    }

    func record(_ inst: Instance, start: SimTime, duration: Double) {
        while seen.count <= inst.index { seen.append(0) }
        seen[inst.index] += 1
        guard (seen[inst.index] - 1) % every == 0 else { return }
        records.append(IterationRecord(start: start, instance: inst.index, batch: inst.batchShape, duration: duration,
                                       parts: inst.lastStep, kvBlocksUsed: inst.blocksInUse, kvBlocksTotal: inst.gpuBlocks.capacity,
                                       flops: inst.costModel.modelFLOPs(inst.batchShape),
                                       bytes: inst.costModel.memoryBytes(inst.batchShape)))
    }
}
