import Foundation
import SimCore

/// How a mixture-of-experts layer's tokens choose experts: each expert's share of routed
/// tokens (the shares sum to 1). Uniform; Zipf, with the popularity ranks given to experts by a
/// seeded draw (which experts are hot is not known in advance, and placement then decides how
/// unevenly the groups are loaded); or a measured histogram of tokens per expert.
public struct ExpertRouting: Sendable, Equatable {
    public let shares: [Double]

    public static func uniform(experts: Int) -> ExpertRouting {
        ExpertRouting(shares: Array(repeating: 1 / Double(experts), count: experts))
    }

    /// Expert ranked i (from 1) takes a share ∝ i^−skew; the ranks are a seeded shuffle of the experts.
    public static func zipf(experts: Int, skew: Double, seed: UInt64) -> ExpertRouting {
        guard skew > 0 else { return .uniform(experts: experts) }
        let weights = (1...experts).map { pow(Double($0), -skew) }
        let total = weights.reduce(0, +)
        var order = Array(0..<experts)
        let stream = RandomStream(name: "expert-popularity", scenarioSeed: seed)
        for i in stride(from: experts - 1, to: 0, by: -1) { order.swapAt(i, stream.uniformInt(0...i)) }
        var shares = Array(repeating: 0.0, count: experts)
        for (rank, expert) in order.enumerated() { shares[expert] = weights[rank] / total }
        return ExpertRouting(shares: shares)
    }

    /// Tokens (or any counts) per expert, in expert order; nil when not one non-negative count per expert with a positive total.
    public static func histogram(_ counts: [Double], experts: Int) -> ExpertRouting? {
        let total = counts.reduce(0, +)
        guard counts.count == experts, counts.allSatisfy({ $0 >= 0 && $0.isFinite }), total > 0, total.isFinite else { return nil }
        return ExpertRouting(shares: counts.map { $0 / total })
    }
}

/// Which expert-parallel group holds each routed expert: explicit state that scaling changes.
/// Group g is a set of dp·tp/ep GPUs of every pipeline stage (see ParallelLayout).
public struct ExpertPlacement: Sendable, Equatable {
    /// The group of each expert.
    public private(set) var group: [Int]
    public let groups: Int

    public init(group: [Int], groups: Int) {
        precondition(groups >= 1 && group.allSatisfy { (0..<groups).contains($0) })
        self.group = group
        self.groups = groups
    }

    /// Experts split into `groups` contiguous runs, the first E mod groups one longer (vLLM's
    /// default expert map, fused_moe determine_expert_map).
    public static func balanced(experts: Int, groups: Int) -> ExpertPlacement {
        let base = experts / groups, longer = experts % groups
        return ExpertPlacement(group: (0..<experts).map { e in
            e < longer * (base + 1) ? e / (base + 1) : longer + (e - longer * (base + 1)) / max(1, base)
        }, groups: groups)
    }

    /// Experts per group.
    public var counts: [Int] {
        var c = Array(repeating: 0, count: groups)
        for g in group { c[g] += 1 }
        return c
    }

    /// One expert changing owner.
    public struct Move: Sendable, Equatable {
        public let expert: Int, from: Int, to: Int
    }

    /// The placement over `newGroups` groups that moves the fewest experts: each group keeps up to
    /// its balanced count of the experts it holds (lowest ids first), and the rest go, in expert
    /// order, to the groups with room. Groups 0..<min(old, new) are the same GPUs before and after.
    public func rebalanced(to newGroups: Int) -> (placement: ExpertPlacement, moves: [Move]) {
        let e = group.count
        let target = (0..<newGroups).map { g in e / newGroups + (g < e % newGroups ? 1 : 0) }
        var kept = Array(repeating: 0, count: newGroups)
        var next = group, homeless: [Int] = []
        for (x, g) in group.enumerated() {
            if g < newGroups, kept[g] < target[g] { kept[g] += 1 } else { homeless.append(x) }
        }
        var moves: [Move] = []
        var g = 0
        for x in homeless {
            while kept[g] >= target[g] { g += 1 }
            kept[g] += 1
            next[x] = g
            moves.append(Move(expert: x, from: group[x], to: g))
        }
        return (ExpertPlacement(group: next, groups: newGroups), moves)
    }
}
