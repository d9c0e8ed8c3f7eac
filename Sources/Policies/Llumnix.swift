import SimCore
import Serving

/// Llumnix's load metric (OSDI'24, `remaining_steps` in its artifact): an instance's freeness
/// F = (M − ΣV) / B, the decode steps it can run before its KV blocks run out. M − ΣV is the free
/// blocks above the watermark less the virtual usage of queued requests, B the requests it serves.
/// An empty instance is infinitely free; one being drained infinitely loaded (its fake request).
/// High-priority requests add the instance's headroom (`priorityHeadroomBlocks`) to the usage.
public enum Freeness {
    private static func headroom(_ inst: Instance) -> Int {
        let h = inst.limits.priorityHeadroomBlocks
        guard h > 0, inst.limits.honorsPriorities else { return 0 }
        return inst.runsHighPriorityRequest || inst.waiting.contains(where: \.highPriority) ? h : 0
    }

    /// The migration view: only the head-of-line queued request counts, with its whole demand,
    /// so an instance whose queue is blocked looks loaded and its running requests move away.
    public static func forMigration(_ inst: Instance) -> Double {
        guard inst.state == .active else { return -.infinity }
        let head = inst.waiting.first.map { inst.blocks(forTokens: $0.contextTokens) } ?? 0
        let requests = inst.runningCount + (inst.waiting.isEmpty ? 0 : 1)
        guard requests > 0 else { return .infinity }
        return Double(inst.availableBlocks - inst.watermarkBlocks - head - headroom(inst)) / Double(requests)
    }

    /// The dispatch view: every queued request counts with its whole demand.
    public static func forDispatch(_ inst: Instance) -> Double {
        guard inst.state == .active else { return -.infinity }
        let queued = inst.waiting.reduce(0) { $0 + inst.blocks(forTokens: $1.contextTokens) }
        let requests = inst.runningCount + inst.waiting.count
        guard requests > 0 else { return .infinity }
        return Double(inst.availableBlocks - inst.watermarkBlocks - queued - headroom(inst)) / Double(requests)
    }
}

/// Llumnix's dispatch (`load`): each new request to the accepting instance with the highest
/// freeness; ties go to the lowest index.
public struct FreenessRouter: Router {
    public init() {}

    public mutating func route(_ request: ServingRequest, among instances: [Instance]) -> Int? {
        var best: Int?, bestFreeness = -Double.infinity
        for (i, inst) in instances.enumerated() where inst.acceptsNewRequests {
            let f = Freeness.forDispatch(inst)
            if best == nil || f > bestFreeness { best = i; bestFreeness = f }
        }
        return best
    }

    /// The same instance as the scan above, from the cluster's tournament tree in O(log n): the
    /// highest freeness is the lowest negated one.
    public mutating func route(_ request: ServingRequest, among instances: [Instance], loads: LoadIndex) -> Int? {
        loads.ranking("llumnix_freeness") { $0.acceptsNewRequests ? -Freeness.forDispatch($0) : nil }.best(among: instances)
    }
}

/// Llumnix's global scheduler, rescheduling by migration: every polling interval, instances whose
/// freeness is below the threshold (or that preempted a request since the last round) are paired
/// with instances above it, the most loaded with the freest, and each source moves one request
/// to its partner with its KV cache.
public struct LlumnixController: ClusterController {
    /// How pairs are kept: every pair (`defrag`), or only those a migration balances (`balanced`:
    /// the destination stays above the threshold and the gap narrows without inverting).
    public enum Pairing: String, Sendable, CaseIterable { case defrag, balanced }
    /// Which running request a source gives up: the shortest (Llumnix's default), the longest,
    /// or the last admitted.
    public enum Pick: String, Sendable, CaseIterable {
        case shortestRunning = "shortest_running", longestRunning = "longest_running", lastRunning = "last_running"
    }

    /// How a request moves: in stages while it decodes (Llumnix), in one copy with it paused, or not
    /// at all (INFaaS++: freeness dispatch and scaling only).
    public enum Migration: String, Sendable, CaseIterable { case live, blocking, none }

    /// Llumnix's autoscaling on the cluster's average freeness: every `interval`, start an instance
    /// (like the first) when it is below `up`, drain the instance serving fewest requests when it would
    /// stay above `down` without it; between `minInstances` and `maxInstances`.
    public struct Scaling: Sendable {
        public var up = 10.0
        public var down = 60.0
        public var interval = SimTime.seconds(10)
        public var minInstances = 1
        public var maxInstances: Int
        public init(maxInstances: Int) { self.maxInstances = maxInstances }
    }

    public var period: SimTime?
    public var threshold: Double
    public var pairing: Pairing
    public var pick: Pick
    public var migration: Migration
    public var scaling: Scaling?
    /// Preemptions each instance had counted at the last round (sources when it grew).
    private var preemptionsSeen: [Int] = []
    private var lastScaling = SimTime.zero

    public init(period: SimTime = .seconds(0.05), threshold: Double = 3, pairing: Pairing = .defrag,
                pick: Pick = .shortestRunning, migration: Migration = .live, scaling: Scaling? = nil) {
        self.period = period
        self.threshold = threshold
        self.pairing = pairing
        self.pick = pick
        self.migration = migration
        self.scaling = scaling
    }

    public mutating func tick(_ plane: ControlPlane) {
        if let s = scaling, plane.now - lastScaling >= s.interval {
            lastScaling = plane.now
            scale(s, plane)
        }
        guard migration != .none else { return }
        let instances = plane.instances
        let freeness = instances.map(Freeness.forMigration)
        if preemptionsSeen.count < instances.count { preemptionsSeen += Array(repeating: 0, count: instances.count - preemptionsSeen.count) }
        var sources: [Int] = [], destinations: [Int] = []
        for (i, inst) in instances.enumerated() where (inst.state == .active || inst.state == .draining) && inst.role == .colocated {
            let preempted = inst.preemptionCount > preemptionsSeen[i]
            preemptionsSeen[i] = inst.preemptionCount
            if freeness[i] < threshold || preempted { sources.append(i) }
            else if inst.state == .active && freeness[i] > threshold { destinations.append(i) }
        }
        // The most loaded with the freest; ties by index, so the pairing is deterministic.
        sources.sort { freeness[$0] != freeness[$1] ? freeness[$0] < freeness[$1] : $0 < $1 }
        destinations.sort { freeness[$0] != freeness[$1] ? freeness[$0] > freeness[$1] : $0 < $1 }
        for (src, dst) in zip(sources, destinations) {
            guard let r = candidate(on: instances[src]) else { continue }
            if pairing == .balanced, !balances(r, from: instances[src], to: instances[dst], freeness: freeness) { continue }
            if migration == .live { plane.migrateLive(r, to: dst) } else { plane.migrate(r, to: dst) }
        }
    }

    /// One scaling decision. An empty instance counts as one request, so it adds its free blocks.
    private func scale(_ s: Scaling, _ plane: ControlPlane) {
        let serving = plane.instances.filter { $0.role == .colocated && ($0.state == .active || $0.state == .starting) }
        let active = serving.filter { $0.state == .active }
        guard !active.isEmpty, serving.count == active.count else { return }   // one start at a time
        func headroom(_ inst: Instance) -> Double {
            let head = inst.waiting.first.map { inst.blocks(forTokens: $0.contextTokens) } ?? 0
            return Double(inst.availableBlocks - inst.watermarkBlocks - head)
        }
        func freeness(_ inst: Instance) -> Double {
            headroom(inst) / Double(max(1, inst.runningCount + (inst.waiting.isEmpty ? 0 : 1)))
        }
        let average = active.reduce(0.0) { $0 + freeness($1) } / Double(active.count)
        if average < s.up, active.count < s.maxInstances {
            _ = try? plane.launch(active[0].spec)
            return
        }
        // The average over the others (Llumnix: "as if the last instance were removed"); the victim is the
        // instance running fewest requests, drained by migrating them away.
        guard active.count > s.minInstances,
              let victim = active.min(by: { ($0.runningCount, -$0.index) < ($1.runningCount, -$1.index) }) else { return }
        let without = active.filter { $0 !== victim }.reduce(0.0) { $0 + freeness($1) } / Double(active.count - 1)
        if without > s.down { plane.drain(victim.index) }
    }

    /// The running request a source gives up: decoding, not already leaving.
    private func candidate(on inst: Instance) -> ServingRequest? {
        let movable = inst.running.filter { $0.isDecoding && !$0.isMigrating }
        switch pick {
        case .shortestRunning: return movable.min { $0.contextTokens < $1.contextTokens }
        case .longestRunning: return movable.max { $0.contextTokens < $1.contextTokens }
        case .lastRunning: return movable.last
        }
    }

    /// Whether moving `r` keeps the destination above the threshold and narrows the freeness gap
    /// without inverting it.
    private func balances(_ r: ServingRequest, from src: Instance, to dst: Instance, freeness: [Double]) -> Bool {
        let before = freeness[dst.index] - freeness[src.index]
        let srcRequests = src.runningCount + (src.waiting.isEmpty ? 0 : 1)
        let dstRequests = dst.runningCount + (dst.waiting.isEmpty ? 0 : 1)
        func after(_ inst: Instance, blocks: Int, requests: Int) -> Double {
            requests > 0 ? Double(inst.availableBlocks - inst.watermarkBlocks - blocks) / Double(requests) : .infinity
        }
        let srcHead = src.waiting.first.map { src.blocks(forTokens: $0.contextTokens) } ?? 0
        let dstHead = dst.waiting.first.map { dst.blocks(forTokens: $0.contextTokens) } ?? 0
        let srcAfter = after(src, blocks: srcHead - r.kvBlocks, requests: srcRequests - 1)
        let dstAfter = after(dst, blocks: dstHead + r.kvBlocks, requests: dstRequests + 1)
        let gap = dstAfter - srcAfter
        return dstAfter > threshold && abs(gap) < abs(before) && (gap >= 0) == (before >= 0)
    }
}
