/// Inter-token gaps in token order, and the requests that ended since the log was last settled
/// (see PendingGaps).
///
/// Every request sampled in one iteration sees the same gap, so the log keeps runs of equal gaps
/// and, per token, only the request's id: a run's finished tokens join the multiset as one count.
struct GapLog: Sendable {
    /// `count` consecutive tokens of the log that saw `gap`.
    struct Run: Sendable {
        let gap: Int64
        var count: Int
    }
    /// The runs closed so far, and the run still growing (count 0: none).
    private var runs: [Run] = []
    private var openGap: Int64 = 0, openCount = 0
    /// The request of each token (the runs partition it).
    private var requests: [Int] = []
    /// The requests that ended since the last settlement, and whether each finished.
    private(set) var ends: [(request: Int, finished: Bool)] = []

    var tokens: Int { requests.count }

    init() {}

    /// An empty log with room for `tokens` tokens: a log grows to millions, and growing by
    /// doubling copied it twice over.
    init(room tokens: Int) { requests.reserveCapacity(tokens) }

    /// Appends a token that saw `gap` for each request of `ids`, in order. A token whose gap
    /// differs from the last one logged starts a run.
    mutating func append(requests ids: UnsafeBufferPointer<Int>, gap: Int64) {
        guard !ids.isEmpty else { return }
        if gap != openGap || openCount == 0 {
            closeRun()
            openGap = gap
        }
        openCount += ids.count
        requests.append(contentsOf: ids)
    }

    mutating func ended(request: Int, finished: Bool) {
        ends.append((request, finished))
    }

    /// Ends the run still growing: the next token starts a run of its own.
    mutating func closeRun() {
        if openCount > 0 { runs.append(Run(gap: openGap, count: openCount)) }
        openCount = 0
    }

    /// Where a request's tokens go at a settlement.
    private enum Fate { case live, finished, dropped }

    /// A request's bit in `ended` (by id) is set once it ended, and in `dropped` if it was dropped.
    @inline(__always) private static func fate(_ id: Int, ended: [UInt64], dropped: [UInt64]) -> Fate {
        let word = id >> 6, bit = UInt64(1) << UInt64(id & 63)
        // A negative id (never given by a source) is never marked ended: its gaps stay live.
        guard word >= 0, word < ended.count, ended[word] & bit != 0 else { return .live }
        return dropped[word] & bit == 0 ? .finished : .dropped
    }

    /// Copies, in order, the ids of `ids` whose requests have not ended to `live` (which may be
    /// `ids`' own start: it never writes ahead of what it reads). Returns how many it copied, and
    /// how many tokens were of requests that finished.
    @inline(__always)
    private static func sift(_ ids: UnsafeBufferPointer<Int>, into live: UnsafeMutablePointer<Int>,
                             ended: [UInt64], dropped: [UInt64]) -> (kept: Int, finished: Int) {
        var kept = 0, finished = 0
        for id in ids {
            switch fate(id, ended: ended, dropped: dropped) {
            case .live:
                live[kept] = id
                kept += 1
            case .finished: finished += 1
            case .dropped: break
            }
        }
        return (kept, finished)
    }

    /// Keeps, in order, the tokens of requests that have not ended, and calls `finished` with each
    /// run's gap and its count of tokens of requests that finished; the rest are let go.
    mutating func settle(ended: [UInt64], dropped: [UInt64], finished: (Int64, Int) -> Void) {
        closeRun()
        var token = 0, keptTokens = 0, keptRuns = 0
        requests.withUnsafeMutableBufferPointer { ids in
            for k in 0..<runs.count {
                let run = runs[k]
                let (kept, done) = Self.sift(UnsafeBufferPointer(rebasing: ids[token..<(token + run.count)]),
                                             into: ids.baseAddress! + keptTokens, ended: ended, dropped: dropped)
                token += run.count
                if done > 0 { finished(run.gap, done) }
                if kept > 0 {
                    runs[keptRuns] = Run(gap: run.gap, count: kept)
                    keptRuns += 1
                    keptTokens += kept
                }
            }
        }
        runs.removeLast(runs.count - keptRuns)
        requests.removeLast(requests.count - keptTokens)
    }

    /// Settles `other`'s tokens as `settle` does, appending those it keeps to these (each of its
    /// runs stays a run of its own). It only reads `other`, so a log handed over is never copied.
    mutating func appendSettled(_ other: GapLog, ended: [UInt64], dropped: [UInt64], finished: (Int64, Int) -> Void) {
        closeRun()
        var token = 0
        func settleRun(_ gap: Int64, _ count: Int) {
            // The run's live tokens are gathered on the stack and appended as one run.
            let done = withUnsafeTemporaryAllocation(of: Int.self, capacity: count) { live in
                let (kept, done) = other.requests.withUnsafeBufferPointer { ids in
                    Self.sift(UnsafeBufferPointer(rebasing: ids[token..<(token + count)]), into: live.baseAddress!,
                              ended: ended, dropped: dropped)
                }
                append(requests: UnsafeBufferPointer(rebasing: live[..<kept]), gap: gap)
                return done
            }
            token += count
            if done > 0 { finished(gap, done) }
            closeRun()
        }
        for run in other.runs { settleRun(run.gap, run.count) }
        if other.openCount > 0 { settleRun(other.openGap, other.openCount) }
    }
}

/// One change to an instance's runs of sampled steps (SampledSteps), as the simulation's thread made
/// it, or a number for the change before it: the settling thread keeps the runs and replays these in
/// order, so that their slots, written at every step and read again when steps settle and when a run
/// closes (its first step's slot, far back), stay out of the simulation's caches. 16 bytes: a step, the
/// most of them, takes one; a run's opening or closing two or three.
struct StepEvent: Sendable, BitwiseCopyable {
    enum Kind: UInt8, Sendable {
        /// A step ended at `value` (ns).
        case step
        /// The steps whose counts are final are passed on (every 64 steps).
        case settle
        /// Runs began at step `value`; their number follows.
        case open
        /// The run from step `value` through the step that follows ended with its request, which
        /// finished (`closeFinished`) or was dropped.
        case closeFinished, closeDropped
        /// The run from step `value` through the step that follows broke (its request, which follows
        /// that, did not sample at the next step): its gaps are logged for the request.
        case broke
        /// A number for the event before it.
        case argument
    }
    let kind: Kind
    let instance: Int32
    let value: Int64

    init(_ kind: Kind, instance: Int = 0, _ value: Int64 = 0) {
        self.kind = kind
        self.instance = Int32(truncatingIfNeeded: instance)  // (an instance index the cluster handed out)
        self.value = value
    }
}

/// A block of step events on its way from the simulation's thread to the settling thread, written
/// with plain stores (an array checked its buffer's uniqueness, a runtime call, at every step) and
/// freed by whoever holds it last. Under 128 KiB, so that the allocator reuses freed blocks rather
/// than mapping fresh pages for each.
final class StepEvents: @unchecked Sendable {
    static let capacity = 4000
    private let base = UnsafeMutablePointer<StepEvent>.allocate(capacity: StepEvents.capacity)
    private(set) var count = 0

    deinit { base.deallocate() }

    /// Adds `event` (the block must not be full); returns whether the block is now full.
    @inline(__always) func add(_ event: StepEvent) -> Bool {
        assert(count < Self.capacity, "a full block of step events")
        (base + count).initialize(to: event)
        count &+= 1
        return count == Self.capacity
    }

    var all: UnsafeBufferPointer<StepEvent> { UnsafeBufferPointer(start: base, count: count) }
}
