import Foundation
import SimCore

/// Simulates measured serving runs and reports the error per run and per configuration.
public enum RunsCheck {
    public struct Row: Sendable {
        let run: MeasuredRun
        let predicted: ServingRunCheck.Prediction
        var ttftError: Double { predicted.ttftMs / run.ttftMs - 1 }
        var tpotError: Double { predicted.tpotMs / run.tpotMs - 1 }
        /// NaN where the source has no end-to-end latency.
        var e2eError: Double { run.e2eMs.map { predicted.e2eMs / $0 - 1 } ?? .nan }
    }

    /// Predictions for every run, computed on all cores; order follows `runs`.
    public static func simulate(_ runs: [MeasuredRun], instance extra: @escaping @Sendable (MeasuredRun) -> [JSONValue.Member] = { _ in [] })
        throws -> [Row] {
        let results = Locked(Array<Result<ServingRunCheck.Prediction, Error>?>(repeating: nil, count: runs.count))
        let next = Locked(0)
        DispatchQueue.concurrentPerform(iterations: ProcessInfo.processInfo.activeProcessorCount) { _ in
            while true {
                let i = next.update { n in defer { n += 1 }; return n }
                guard i < runs.count else { return }
                let r = Result { try ServingRunCheck.predict(runs[i], instance: extra(runs[i])) }
                results.update { $0[i] = r }
            }
        }
        return try zip(runs, results.value).map { run, r in Row(run: run, predicted: try r!.get()) }
    }

    /// Median and 90th percentile of absolute relative errors.
    static func summary(_ errors: [Double]) -> (median: Double, p90: Double) {
        let a = SampleSummary(errors.filter(\.isFinite).map(abs))
        return (a.quantile(0.5), a.quantile(0.9))
    }

    public static func report(_ rows: [Row], title: String) -> String {
        func pct(_ x: Double) -> String { x.isFinite ? String(format: "%5.1f%%", x * 100) : "    –" }
        func signed(_ e: [Double]) -> Double {
            let finite = e.filter(\.isFinite)
            return finite.isEmpty ? .nan : SampleSummary(finite).quantile(0.5)
        }
        func line(_ label: String, _ g: [Row], signs: Bool) -> String {
            let t = summary(g.map(\.ttftError)), p = summary(g.map(\.tpotError)), e = summary(g.map(\.e2eError))
            var text = label.padding(toLength: 62, withPad: " ", startingAt: 0) + String(format: " %5d", g.count)
                + "   " + pct(t.median) + "  " + pct(t.p90) + "      " + pct(p.median) + "  " + pct(p.p90)
                + "     " + pct(e.median) + "  " + pct(e.p90)
            if signs {
                text += "           " + pct(signed(g.map(\.ttftError))) + "  " + pct(signed(g.map(\.tpotError)))
                    + "  " + pct(signed(g.map(\.e2eError)))
            }
            return text
        }
        var lines = [title, "configuration                                                   runs   TTFT median   p90   TPOT median   p90    E2E median   p90   signed median: TTFT   TPOT    E2E"]
        let groups = Dictionary(grouping: rows, by: \.run.configuration)
        for key in groups.keys.sorted() { lines.append(line(key, groups[key]!, signs: true)) }
        for backend in Set(rows.map(\.run.backend)).sorted() {
            lines.append(line("all \(backend)", rows.filter { $0.run.backend == backend }, signs: false))
        }
        lines.append(line("all", rows, signs: false))
        return lines.joined(separator: "\n")
    }
}

/// A value shared between threads behind a lock.
final class Locked<Value>: @unchecked Sendable {
    private var stored: Value
    private let lock = NSLock()
    init(_ value: Value) { stored = value }
    var value: Value { lock.lock(); defer { lock.unlock() }; return stored }
    func update<T>(_ body: (inout Value) -> T) -> T { lock.lock(); defer { lock.unlock() }; return body(&stored) }
}
