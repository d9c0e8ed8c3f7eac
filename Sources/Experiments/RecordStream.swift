import Serving
import SimCore

/// Where each ended request's record goes during a run: the summary's tally and, when asked,
/// requests.csv, fed on a thread of their own a few thousand records at a time, in the order the
/// requests ended, so that tallying (a thousand instructions a record) overlaps the simulation.
/// Neither is touched by anything else until `finish()` returns.
final class RecordStream {
    /// The records' destinations, owned by the worker thread while the run goes on.
    private final class Sinks: @unchecked Sendable {
        var tally: RequestTally?
        let requests: RequestsCSV?

        init(tally: RequestTally, requests: RequestsCSV?) {
            self.tally = tally
            self.requests = requests
        }

        func take(_ records: [RequestRecord]) {
            tally!.add(records)
            requests?.add(records)
        }
    }

    private let sinks: Sinks
    private let worker: OrderedWorker<[RequestRecord]>

    init(tally: RequestTally, requests: RequestsCSV?) {
        let sinks = Sinks(tally: tally, requests: requests)
        self.sinks = sinks
        worker = OrderedWorker(name: "simrun records") { sinks.take($0) }
    }

    /// Takes `records`, the next in order (a few thousand: see MetricsRecorder.onRecords).
    func add(_ records: [RequestRecord]) { worker.submit(records) }

    /// Waits until every record added has been taken, and hands back the tally (requests.csv is
    /// the caller's again too).
    func finish() -> RequestTally {
        worker.waitUntilIdle()
        let tally = sinks.tally!
        sinks.tally = nil
        return tally
    }
}
