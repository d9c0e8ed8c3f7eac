/// Why a request ended without finishing. Every drop is counted by reason.
public enum DropReason: String, Sendable, CaseIterable, Comparable {
    /// Its context can never fit in the instance's KV cache (or, without chunked
    /// prefill, its prompt exceeds the batched-token cap).
    case exceedsCapacity = "exceeds_capacity"
    /// Preempted more than `max_preemptions` times.
    case tooManyPreemptions = "too_many_preemptions"
    /// No instance could accept it.
    case noInstance = "no_instance"
    /// It waited longer than `queue_timeout_s` without being scheduled.
    case queueTimeout = "queue_timeout"
    /// Its prompt is longer than the instance's `max_model_len` (vLLM rejects it at arrival).
    case exceedsContext = "exceeds_context"
    /// Its client gave up (`workload.client_timeout_s`) before it finished; the engine aborted it.
    case clientTimeout = "client_timeout"

    public static func < (a: DropReason, b: DropReason) -> Bool { a.rawValue < b.rawValue }
}
