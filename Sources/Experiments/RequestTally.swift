import Serving
import SimCore
import Workloads

/// Everything the summary needs from the requests that ended, gathered one record at a time as
/// they end, so that a run need not keep its records (ten million of them are a gigabyte): counts
/// and sums, the latency samples the exact percentiles are taken from, SLO verdicts, and the
/// same per load stage and per priority class where the scenario has them.
///
/// A value, changed once per batch of records (`add(_:)`): a class's fields changed per record
/// each took a run-time exclusivity check (this module keeps them), half the time of the thread
/// that tallies.
struct RequestTally {
    /// Latency samples and counts over a set of requests: spans of simulated time in nanoseconds
    /// as they are (sorted as integers, then read as seconds: see SampleSummary), TPOT in seconds,
    /// each sorted a run at a time as it comes (see SortedRuns).
    struct Latencies {
        var ended = 0, completed = 0
        var ttft = SortedRuns<Int64>(), tpot = SortedRuns<Double>(), e2el = SortedRuns<Int64>()

        mutating func add(_ r: RequestRecord) {
            ended += 1
            guard r.finished else { return }
            completed += 1
            if let t = r.ttftSpan { ttft.append(t.nanoseconds) }
            if let t = r.tpot { tpot.append(t) }
            e2el.append(r.e2elSpan.nanoseconds)
        }
    }

    private let slos: SLOs
    /// The load stages' arrival windows, [start, end) in seconds.
    private let stageWindows: [(from: Double, to: Double)]

    private(set) var all = Latencies()
    private(set) var queueing = SortedRuns<Int64>()
    private(set) var outputTokens = 0, inputTokens = 0
    private(set) var droppedByReason: [String: Int] = [:]
    private(set) var firstArrival = SimTime(nanoseconds: .max), lastArrival = SimTime.zero
    /// Over finished requests whose KV moved: their latency, and the parts spent waiting for and moving KV.
    private(set) var movedLatency = 0.0, movedWait = 0.0, movedTransfer = 0.0
    /// Requests meeting each SLO that is set, and every one (with their output tokens).
    private(set) var met = (ttft: 0, tpot: 0, e2el: 0, maxITL: 0, all: 0)
    private(set) var goodTokens = 0
    private(set) var stages: [Latencies]
    /// Per priority class, from the first high-priority request on (nil while there is none).
    private(set) var byPriority: (high: Latencies, normal: Latencies)?

    init(slos: SLOs, stages: [LoadStage]) {
        self.slos = slos
        var start = 0.0
        stageWindows = stages.map { s in
            defer { start += s.duration }
            return (start, start + s.duration)
        }
        self.stages = Array(repeating: Latencies(), count: stages.count)
    }

    var ended: Int { all.ended }

    /// Hands over every request's latency samples and queueing delays, keeping none (the counts
    /// stay): the summary finishes sorting them in place. Ten million of each are 80 MB, and
    /// sorting copies of them made the run's peak.
    mutating func takeLatencies() -> (queueing: SortedRuns<Int64>, ttft: SortedRuns<Int64>, tpot: SortedRuns<Double>,
                                      e2el: SortedRuns<Int64>) {
        let taken = (queueing, all.ttft, all.tpot, all.e2el)
        (queueing, all.ttft, all.tpot, all.e2el) = (SortedRuns(), SortedRuns(), SortedRuns(), SortedRuns())
        return taken
    }

    /// Tallies `records`, in the order their requests ended.
    mutating func add(_ records: [RequestRecord]) { for r in records { add(r) } }

    private mutating func add(_ r: RequestRecord) {
        firstArrival = min(firstArrival, r.arrival)
        lastArrival = max(lastArrival, r.arrival)
        if let s = r.firstScheduled { queueing.append((s - r.arrival).nanoseconds) }
        if !slos.isEmpty {
            let v = SLOVerdict(r, slos)
            if v.ttft == true { met.ttft += 1 }
            if v.tpot == true { met.tpot += 1 }
            if v.e2el == true { met.e2el += 1 }
            if v.maxITL == true { met.maxITL += 1 }
            if v.all { met.all += 1; goodTokens += r.outputTokens }
        }
        if !stageWindows.isEmpty {
            let t = r.arrival.seconds
            if let i = stageWindows.firstIndex(where: { t >= $0.from && t < $0.to }) { stages[i].add(r) }
        }
        // Until the first high-priority request every request was normal: the totals so far are the normal class's.
        if r.highPriority, byPriority == nil { byPriority = (Latencies(), all) }
        if byPriority != nil {
            if r.highPriority { byPriority!.high.add(r) } else { byPriority!.normal.add(r) }
        }
        all.add(r)
        guard r.finished else {
            if let d = r.dropReason { droppedByReason[d.rawValue, default: 0] += 1 }
            return
        }
        outputTokens += r.outputTokens
        inputTokens += r.promptTokens
        if r.kvTransfer > .zero {
            movedLatency += r.e2el
            movedWait += r.kvWait.seconds
            movedTransfer += r.kvTransfer.seconds
        }
    }
}
