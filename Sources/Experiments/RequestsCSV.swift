import DequeModule
import Serving
import SimCore

/// requests.csv, one row per ended request in id order, written as the run goes: a row is written
/// once every request with a lower id has ended, so only the requests that end out of order wait
/// in memory (ids are given in arrival order from 0). Closing writes whatever still waits.
///
/// Rows are formatted and written on a thread of their own (OrderedWorker), a few thousand at a
/// time and in order, so that writing a large run's file overlaps the simulation.
public final class RequestsCSV {
    /// The writing thread's state: the file, and how to format a row.
    private final class Rows: @unchecked Sendable {
        let csv: CSVWriter
        let slos: SLOs

        init(csv: CSVWriter, slos: SLOs) {
            self.csv = csv
            self.slos = slos
        }

        func write(_ records: [RequestRecord]) { for r in records { write(r) } }

        private func write(_ r: RequestRecord) {
            func time(_ t: SimTime?) { if let t { csv.field(t) } else { csv.emptyField() } }
            func flag(_ b: Bool?) { if let b { csv.field(b ? 1 : 0) } }
            csv.field(r.id)
            time(r.arrival)
            time(r.firstScheduled)
            time(r.firstToken)
            time(r.finished ? r.end : nil)
            time(r.firstToken.map { $0 - r.arrival })
            csv.field(r.tpot ?? .nan)
            time(r.finished ? r.end - r.arrival : nil)
            time(r.outputTokens > 1 ? r.maxInterTokenGap : nil)
            csv.field(r.promptTokens)
            csv.field(r.outputTokens)
            csv.field(r.instance)
            csv.field(r.preemptions)
            csv.field(r.migrations)
            time(r.kvWait)
            time(r.kvTransfer)
            csv.field(r.highPriority ? 1 : 0)
            csv.field(r.dropReason.map { "dropped:" + $0.rawValue } ?? "finished")
            if !slos.isEmpty {
                let v = SLOVerdict(r, slos)
                flag(v.ttft); flag(v.tpot); flag(v.e2el); flag(v.maxITL); flag(v.all)
            }
            csv.endRow()
        }
    }

    private let rows: Rows
    private let writer: OrderedWorker<[RequestRecord]>
    /// Records in id order, not yet handed to the writing thread.
    private var outgoing: [RequestRecord] = []
    /// Records waiting for a lower id to end; slot k holds id `next + k`.
    private var waiting = Deque<RequestRecord?>()
    private var next = 0

    public init(path: String, slos: SLOs) throws {
        var header = ["id", "arrival_s", "first_scheduled_s", "first_token_s", "finish_s", "ttft_s", "tpot_s", "e2el_s",
                      "max_itl_s", "prompt_tokens", "output_tokens", "instance", "preemptions", "migrations", "kv_wait_s",
                      "kv_transfer_s", "high_priority", "status"]
        if slos.ttft != nil { header.append("met_ttft_slo") }
        if slos.tpot != nil { header.append("met_tpot_slo") }
        if slos.e2el != nil { header.append("met_e2el_slo") }
        if slos.maxITL != nil { header.append("met_max_itl_slo") }
        if !slos.isEmpty { header.append("met_all_slos") }
        let rows = Rows(csv: try CSVWriter(path: path, header: header), slos: slos)
        self.rows = rows
        writer = OrderedWorker(name: "simrun requests.csv") { rows.write($0) }
    }

    public func add(_ r: RequestRecord) {
        let slot = r.id - next
        guard slot >= 0 else { return send(r) }  // an id given twice or out of range: written as it comes
        while waiting.count <= slot { waiting.append(nil) }
        waiting[slot] = r
        while let first = waiting.first, let record = first {
            waiting.removeFirst()
            next += 1
            send(record)
        }
    }

    /// Writes the records still waiting (requests below them never ended), then closes the file.
    public func close() throws {
        for case let r? in waiting { send(r) }
        waiting.removeAll()
        if !outgoing.isEmpty { writer.submit(outgoing) }
        outgoing = []
        writer.waitUntilIdle()
        try rows.csv.close()
    }

    /// Queues `r`'s row for the writing thread, handing rows over a few thousand at a time.
    private func send(_ r: RequestRecord) {
        outgoing.append(r)
        if outgoing.count == 4096 {
            writer.submit(outgoing)
            outgoing = []
        }
    }
}
