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
            if let reason = r.dropReason { csv.field("dropped:" + reason.rawValue) } else { csv.field(plain: "finished") }
            if !slos.isEmpty {
                let v = SLOVerdict(r, slos)
                flag(v.ttft); flag(v.tpot); flag(v.e2el); flag(v.maxITL); flag(v.all)
            }
            csv.endRow()
        }
    }

    private let rows: Rows
    private let writer: OrderedWorker<[RequestRecord]>
    /// The records not yet handed to the writing thread. One value, changed once per batch of
    /// records: fields of this class changed per record each took a run-time exclusivity check
    /// (this module keeps them), which were half the time of the thread that takes the records.
    private var order = IDOrder()

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

    /// Takes `records`, in the order their requests ended.
    public func add(_ records: [RequestRecord]) {
        let writer = writer
        order.add(records) { writer.submit($0) }
    }

    /// Writes the records still waiting (requests below them never ended), then closes the file.
    public func close() throws {
        let rest = order.drain()
        if !rest.isEmpty { writer.submit(rest) }
        writer.waitUntilIdle()
        try rows.csv.close()
    }

    /// Records put in id order: a record goes on once every lower id has, a few thousand at a time.
    /// The records waiting lie in a ring of memory it owns, by id (a record is copied in and out
    /// once: a deque of optional records copied each about four times, half the time of the
    /// thread that takes them).
    private struct IDOrder: ~Copyable {
        /// Id `i` waiting (`next <= i < end`) is in slot `i & mask`, marked in `held`.
        private var slots: UnsafeMutablePointer<RequestRecord>
        private var held: UnsafeMutablePointer<Bool>
        private var mask: Int
        /// The lowest id not handed on, and one past the highest waiting.
        private var next = 0, end = 0
        /// Records in id order, not yet handed on (room for a batch: grown from empty, each batch
        /// was copied eleven times over).
        private var ready = IDOrder.batchStorage()

        init() {
            mask = 1023
            slots = .allocate(capacity: mask + 1)
            held = .allocate(capacity: mask + 1)
            held.initialize(repeating: false, count: mask + 1)
        }

        deinit {
            for id in next..<end where held[id & mask] { (slots + (id & mask)).deinitialize(count: 1) }
            slots.deallocate()
            held.deallocate()
        }

        mutating func add(_ records: [RequestRecord], handOn: ([RequestRecord]) -> Void) {
            for r in records {
                if r.id == next, next == end {  // nothing waits: on at once
                    (next, end) = (next + 1, end + 1)
                    send(r, handOn)
                    continue
                }
                guard r.id >= next else {  // an id given twice or out of range: written as it comes
                    send(r, handOn)
                    continue
                }
                if r.id - next > mask { grow(toHold: r.id) }
                let slot = r.id & mask
                if held[slot] {  // an id given twice while the first waits: written as it comes
                    send(r, handOn)
                    continue
                }
                (slots + slot).initialize(to: r)
                held[slot] = true
                end = max(end, r.id + 1)
                while next < end, held[next & mask] {
                    held[next & mask] = false
                    send((slots + (next & mask)).move(), handOn)
                    next += 1
                }
            }
        }

        /// Room in the ring for ids `next...id`.
        private mutating func grow(toHold id: Int) {
            var capacity = mask + 1
            while id - next >= capacity { capacity *= 2 }
            let grown = UnsafeMutablePointer<RequestRecord>.allocate(capacity: capacity)
            let grownHeld = UnsafeMutablePointer<Bool>.allocate(capacity: capacity)
            grownHeld.initialize(repeating: false, count: capacity)
            for i in next..<end where held[i & mask] {
                (grown + (i & (capacity - 1))).moveInitialize(from: slots + (i & mask), count: 1)
                grownHeld[i & (capacity - 1)] = true
            }
            slots.deallocate()
            held.deallocate()
            (slots, held, mask) = (grown, grownHeld, capacity - 1)
        }

        /// Every record still held, ready ones first (then those waiting, in id order).
        mutating func drain() -> [RequestRecord] {
            for id in next..<end where held[id & mask] {
                held[id & mask] = false
                ready.append((slots + (id & mask)).move())
            }
            next = end
            var all: [RequestRecord] = []
            swap(&all, &ready)  // (a copy and a reset of `ready` crashed Swift 6.3's optimizer here)
            return all
        }

        private static func batchStorage() -> [RequestRecord] {
            var records: [RequestRecord] = []
            records.reserveCapacity(MetricsRecorder.recordBatch)
            return records
        }

        private mutating func send(_ r: consuming RequestRecord, _ handOn: ([RequestRecord]) -> Void) {
            ready.append(r)
            if ready.count == MetricsRecorder.recordBatch {
                var batch = IDOrder.batchStorage()
                swap(&batch, &ready)
                handOn(batch)
            }
        }
    }
}
