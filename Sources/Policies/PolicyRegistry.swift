import SimCore
import Serving

/// What a scheduler may be configured with, beyond the instance's limits.
public struct SchedulerOptions: Sendable {
    /// The system's maximum output length (vLLM's max_tokens cap).
    public var maxOutputTokens = 4096
    /// Past-Future: history window, prior, sampled futures, reserve.
    public var historyWindow = 200
    public var historyPrior: Int?
    public var futureSamples = 5
    public var reserve = 0.05
    /// Seeds each instance's random stream.
    public var seed: UInt64 = 1
    /// Steps between admission rounds, and the prompt tokens one round may take (see FCFSScheduler).
    public var admissionInterval = 1
    public var maxPrefillTokensPerRound: Int?

    public init() {}
}

/// Names under which scenarios refer to policies. Adding a policy means adding
/// its file and one line here.
public enum PolicyRegistry {
    public typealias MakeScheduler = @Sendable (_ options: SchedulerOptions, _ instance: Int) -> any BatchScheduler

    public static let schedulers: [(name: String, summary: String, make: MakeScheduler)] = [
        ("fcfs", "continuous batching, FCFS, aggressive admission (vLLM)", { _, _ in FCFSScheduler() }),
        ("aggressive", "the same as fcfs: admit while KV blocks are free", { _, _ in FCFSScheduler() }),
        ("conservative", "FCFS, reserving prompt + max_output_tokens for every request",
         { o, _ in FCFSScheduler(admission: ConservativeAdmission(maxOutputTokens: o.maxOutputTokens)) }),
        ("past_future", "FCFS with Past-Future admission: predicted peak KV from finished output lengths",
         { o, i in
             var p = PastFutureAdmission.Parameters(prior: o.historyPrior ?? o.maxOutputTokens, maxOutputTokens: o.maxOutputTokens)
             p.window = o.historyWindow
             p.maxSamples = o.futureSamples
             p.reserve = o.reserve
             return FCFSScheduler(admission: PastFutureAdmission(
                 p, random: RandomStream(name: "scheduler.past_future.instance\(i)", scenarioSeed: o.seed)))
         }),
    ]

    public static let routers: [(name: String, summary: String, make: @Sendable () -> any Router)] = [
        ("round_robin", "each accepting instance in turn", { RoundRobinRouter() }),
        ("least_outstanding_tokens", "fewest prompt+generated tokens held", { LeastOutstandingTokensRouter() }),
        ("shortest_queue", "fewest requests waiting and running (DistServe's prefill dispatch)", { ShortestQueueRouter() }),
        ("llumnix_load", "highest freeness: free KV blocks per request served (Llumnix's dispatch)", { FreenessRouter() }),
    ]

    /// What a cluster controller may be configured with.
    public struct ControllerOptions: Sendable {
        public var period = SimTime.seconds(0.05)
        public var threshold = 3.0
        public var pairing = LlumnixController.Pairing.defrag
        public var pick = LlumnixController.Pick.shortestRunning
        public var migration = LlumnixController.Migration.live
        public var scaling: LlumnixController.Scaling?
        /// ElasticMoE's coordinator: how it rescales, when (fixed steps), and its SLO rule.
        public var scalingMethod = ScalingMethod.elastic
        public var elastic = ElasticOptions()
        public var weightsFrom = Cluster.WeightSource.nvme
        public var steps: [(at: SimTime, dp: Int)] = []
        public var sloRule: ElasticScaler.Rule?
        public init() {}
    }

    public static let controllers: [(name: String, summary: String, make: @Sendable (ControllerOptions) -> any ClusterController)] = [
        ("llumnix", "Llumnix's global scheduler: pair loaded with free instances by freeness, migrate a request each period",
         { o in LlumnixController(period: o.period, threshold: o.threshold, pairing: o.pairing, pick: o.pick, migration: o.migration,
                                   scaling: o.scaling) }),
        ("elastic_moe", "ElasticMoE's coordinator: rescale the MoE instance's DP and EP at fixed steps or on SLO attainment",
         { o in ElasticScaler(period: o.period, method: o.scalingMethod, options: o.elastic, weightsFrom: o.weightsFrom, steps: o.steps,
                              rule: o.sloRule) }),
    ]

    public static func controller(named name: String, options: ControllerOptions = .init()) -> (any ClusterController)? {
        controllers.first { $0.name == name }?.make(options)
    }

    public static func scheduler(named name: String, options: SchedulerOptions = .init(),
                                 instance: Int = 0) -> (any BatchScheduler)? {
        guard let made = schedulers.first(where: { $0.name == name })?.make(options, instance) else { return nil }
        guard var fcfs = made as? FCFSScheduler else { return made }
        fcfs.admissionInterval = options.admissionInterval
        fcfs.maxPrefillTokensPerRound = options.maxPrefillTokensPerRound
        return fcfs
    }

    public static func router(named name: String) -> (any Router)? {
        routers.first { $0.name == name }?.make()
    }
}
