import Serving
import SimCore

/// Where each ended request's record goes during a run: the summary's tally and, when asked,
/// requests.csv, fed on a thread of their own a few thousand records at a time, in the order the
/// requests ended, so that tallying (a thousand instructions a record) overlaps the simulation.
/// Neither is touched by anything else until `finish()` returns.
final class RecordStream {
    /// The records' destinations, owned by the worker thread while the run goes on.
    private final class Sinks: @unchecked Sendable {
        let tally: RequestTally
        let requests: RequestsCSV?

        init(tally: RequestTally, requests: RequestsCSV?) {
            self.tally = tally
            self.requests = requests
        }

        func take(_ records: [RequestRecord]) {
            for r in records {
                tally.add(r)
                requests?.add(r)
            }
        }
    }

    private let worker: OrderedWorker<[RequestRecord]>

    init(tally: RequestTally, requests: RequestsCSV?) {
        let sinks = Sinks(tally: tally, requests: requests)
        worker = OrderedWorker(name: "simrun records") { sinks.take($0) }
    }

    /// Takes `records`, the next in order (a few thousand: see MetricsRecorder.onRecords).
    func add(_ records: [RequestRecord]) { worker.submit(records) }

    /// Waits until every record added has been taken: the tally and requests.csv are the caller's again.
    func finish() { worker.waitUntilIdle() }
}
