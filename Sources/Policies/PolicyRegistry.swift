import Serving

/// Names under which scenarios refer to policies. Adding a policy means adding
/// its file and one line here.
public enum PolicyRegistry {
    public static let schedulers: [(name: String, summary: String, make: @Sendable () -> any BatchScheduler)] = [
        ("fcfs", "continuous batching, FCFS, aggressive admission (vLLM)", { FCFSScheduler() }),
    ]

    public static let routers: [(name: String, summary: String, make: @Sendable () -> any Router)] = [
        ("round_robin", "each accepting instance in turn", { RoundRobinRouter() }),
        ("least_outstanding_tokens", "fewest prompt+generated tokens held", { LeastOutstandingTokensRouter() }),
    ]

    public static func scheduler(named name: String) -> (any BatchScheduler)? {
        schedulers.first { $0.name == name }?.make()
    }

    public static func router(named name: String) -> (any Router)? {
        routers.first { $0.name == name }?.make()
    }
}
