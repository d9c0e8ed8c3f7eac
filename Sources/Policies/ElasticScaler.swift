import HardwareModels
import Serving
import SimCore

/// ElasticMoE's coordinator: it watches SLO attainment over a sliding window and scales the
/// serving MoE instance one step (DP ± `step`, experts spread over the new dp × tp GPUs) by the
/// chosen method: up when attainment falls below the target, down when it is met and the KV
/// cache is mostly idle. Scale steps at fixed times (`steps`) reproduce the paper's experiments.
/// The provisioning delay is never a constant here: it is the rescale's phases.
public struct ElasticScaler: ClusterController {
    public let period: SimTime?
    public var method: ScalingMethod
    public var options: ElasticOptions
    /// Where booted layouts (the baselines) load their weights from: NVMe or host DRAM.
    public var weightsFrom: Cluster.WeightSource
    /// Fixed steps: at each time, the DP degree to move to.
    public var steps: [(at: SimTime, dp: Int)]
    public var rule: Rule?

    /// The SLO-driven rule.
    public struct Rule: Sendable {
        public var ttft: Double
        public var tpot: Double
        /// Share of requests that must meet both SLOs.
        public var target = 0.9
        public var window = SimTime.seconds(30)
        /// Requests the window must hold before it is judged.
        public var minSamples = 20
        public var step = 1
        public var minDP = 1
        public var maxDP: Int
        /// Scale down when attainment is met, nothing queues and the load (the larger of the KV
        /// cache's share in use and the batch's share of max_num_seqs) is below this.
        public var idleLoad = 0.3

        public init(ttft: Double, tpot: Double, maxDP: Int) {
            self.ttft = ttft
            self.tpot = tpot
            self.maxDP = maxDP
        }
    }

    private var done = 0
    /// No new attempt before then, after one that could not be made.
    private var calmUntil = SimTime.zero
    /// Finished requests in the window: when, and whether they met both SLOs.
    private var window: [(time: SimTime, met: Bool)] = []

    public init(period: SimTime, method: ScalingMethod, options: ElasticOptions = .init(), weightsFrom: Cluster.WeightSource = .nvme,
                steps: [(at: SimTime, dp: Int)] = [], rule: Rule? = nil) {
        self.period = period
        self.method = method
        self.options = options
        self.weightsFrom = weightsFrom
        self.steps = steps.sorted { $0.at < $1.at }
        self.rule = rule
    }

    public mutating func observe(_ event: ControlEvent, _ plane: ControlPlane) {
        guard rule != nil, case let .ended(_, _, latency?) = event else { return }
        window.append((plane.now, latency.ttft <= rule!.ttft && latency.tpot <= rule!.tpot))
    }

    public mutating func tick(_ plane: ControlPlane) {
        guard !plane.rescaling, let serving = plane.instances.lastIndex(where: { $0.state == .active && $0.role == .colocated })
        else { return }
        let layout = plane.instances[serving].spec.layout
        if done < steps.count, plane.now >= steps[done].at {
            let dp = steps[done].dp
            done += 1
            act(plane, serving, dp: dp)
            return
        }
        guard let rule else { return }
        window.removeFirst(window.prefix { plane.now - $0.time > rule.window }.count)
        guard window.count >= rule.minSamples, plane.now >= calmUntil else { return }
        let attainment = Double(window.filter(\.met).count) / Double(window.count)
        let inst = plane.instances[serving]
        let load = max(Double(inst.blocksInUse) / Double(max(1, inst.gpuBlocks.capacity)),
                       Double(inst.runningCount) / Double(inst.limits.maxSequences))
        if attainment < rule.target, layout.dp < rule.maxDP {
            act(plane, serving, dp: min(rule.maxDP, layout.dp + rule.step))
        } else if attainment >= rule.target, load < rule.idleLoad, inst.waiting.isEmpty, layout.dp > rule.minDP {
            act(plane, serving, dp: max(rule.minDP, layout.dp - rule.step))
        }
    }

    /// Rescales to `dp` (a horizontal step adds a replica instead); the window restarts so the new
    /// layout is judged on its own requests. A step that cannot be taken is recorded by the cluster.
    private mutating func act(_ plane: ControlPlane, _ instance: Int, dp: Int) {
        let l = plane.instances[instance].spec.layout
        guard dp != l.dp else { return }
        let ep = l.ep == l.dp * l.tp ? dp * l.tp : l.ep
        guard (dp * l.tp) % ep == 0 else { return }
        window.removeAll()
        do {
            try plane.rescale(instance, to: ParallelLayout(tp: l.tp, pp: l.pp, dp: dp, ep: ep), method: method, options: options,
                              weightsFrom: weightsFrom)
        } catch {
            // Recorded by the cluster with its reason; wait a window before trying again.
            calmUntil = plane.now + (rule?.window ?? .zero)
        }
    }
}
