import SimCore

/// Collects what a run measures: one record per ended request, every
/// inter-token gap of the requests that finished (exactly, in nanoseconds; a
/// gap counts once its request finishes, as `vllm bench serve` counts only
/// successful requests), and per-instance samples over time.
public final class MetricsRecorder {
    /// Every ended request's record, in the order they ended (none when `keepsRecords` is off).
    public private(set) var records: [RequestRecord] = []
    /// Whether `records` keeps the records: off for long runs that stream them out through `onRecord`.
    public var keepsRecords = true
    /// Told every record as its request ends.
    public var onRecord: ((RequestRecord) -> Void)?
    public private(set) var outputTokens = 0
    private let gaps = GapSettler()
    public private(set) var samples: [InstanceSample] = []

    public init() {}

    /// The requests of `batch` marked `sampledNow` produced a token at `now`, in batch order.
    func tokensSampled(in batch: Batch, at now: SimTime) {
        // The gaps go to the log a run at a time: one iteration's requests mostly see the same gap.
        withUnsafeTemporaryAllocation(of: Int.self, capacity: batch.count) { run in
            var sampled = 0, inRun = 0, runGap: Int64 = 0
            batch.forEach { r in
                guard r.sampledNow else { return }
                sampled += 1
                if r.generatedTokens == 1 {
                    r.firstToken = now
                } else {
                    let gap = now - r.lastToken
                    if inRun > 0, gap.nanoseconds != runGap {
                        gaps.append(requests: UnsafeBufferPointer(rebasing: run[..<inRun]), gap: runGap)
                        inRun = 0
                    }
                    runGap = gap.nanoseconds
                    run[inRun] = r.id
                    inRun += 1
                    if gap > r.maxInterTokenGap { r.maxInterTokenGap = gap }
                }
                r.lastToken = now
            }
            gaps.append(requests: UnsafeBufferPointer(rebasing: run[..<inRun]), gap: runGap)
            outputTokens += sampled
        }
    }

    func ended(_ r: ServingRequest, at now: SimTime, reason: DropReason?) {
        r.phase = reason == nil ? .finished : .dropped
        gaps.ended(request: r.id, tokens: r.generatedTokens, finished: reason == nil)
        let record = RequestRecord(
            id: r.id, arrival: r.arrival, firstScheduled: r.firstScheduled, firstToken: r.firstToken, end: now,
            promptTokens: r.promptTokens, outputTokens: r.generatedTokens, instance: r.instance,
            preemptions: r.preemptions, migrations: r.migrations, maxInterTokenGap: r.maxInterTokenGap,
            kvWait: r.kvWait, kvTransfer: r.kvTransfer, highPriority: r.highPriority, dropReason: reason)
        onRecord?(record)
        if keepsRecords { records.append(record) }
    }

    /// Every inter-token gap (ns) of the requests that finished so far (none of requests dropped
    /// or still in flight).
    func finishedInterTokenGaps() -> CountedValues { gaps.settledGaps() }

    func sample(_ s: InstanceSample) { samples.append(s) }
}

/// One instance's state at one sampling time.
public struct InstanceSample: Sendable, Equatable {
    public let time: SimTime
    public let instance: Int
    public let waiting: Int
    public let running: Int
    public let swapped: Int
    public let gpuBlocksUsed: Int
    public let gpuBlocksTotal: Int
    public let hostBlocksUsed: Int
    public let nvmeBlocksUsed: Int
}
