/// What occupies memory, for accounting and reports.
public enum MemoryUse: String, Sendable, CaseIterable, Codable {
    case weights, activations, kvCache = "kv_cache", swappedKV = "swapped_kv", stagedWeights = "staged_weights"
    /// Prefix-cache blocks offloaded to host DRAM (reserved whole when the instance starts).
    case offloadedKV = "offloaded_kv"
}

/// One memory tier (a GPU's HBM, a server's DRAM or NVMe) with a capacity
/// check on every reservation: use never goes negative or past capacity.
public struct MemoryTier: Sendable, Equatable {
    public let name: String
    public let capacity: Double
    public private(set) var used: [MemoryUse: Double] = [:]

    public init(name: String, capacity: Double) {
        precondition(capacity >= 0)
        self.name = name
        self.capacity = capacity
    }

    public var totalUsed: Double { MemoryUse.allCases.reduce(0) { $0 + (used[$1] ?? 0) } }
    public var free: Double { capacity - totalUsed }

    /// Reserves `bytes` for `use`; returns false, changing nothing, when they do not fit.
    public mutating func reserve(_ bytes: Double, for use: MemoryUse) -> Bool {
        precondition(bytes >= 0)
        guard bytes <= free else { return false }
        used[use, default: 0] += bytes
        return true
    }

    public mutating func release(_ bytes: Double, from use: MemoryUse) {
        let held = used[use] ?? 0
        // Bytes are sums of the same block sizes, so release matches reserve
        // up to rounding; anything beyond that is an accounting bug.
        precondition(bytes <= held * (1 + 1e-9) + 1e-6, "\(name): releasing \(bytes) B of \(use.rawValue), \(held) B held")
        used[use] = max(0, held - bytes)
    }
}
