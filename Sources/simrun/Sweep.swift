import ArgumentParser
import Foundation
import Serving
import SimCore

/// Runs a sweep's points on all cores into one SQLite database.
///
/// Tables: `runs` (point_id, parameters as JSON, seed, status, wall_seconds,
/// error) and `metrics` (point_id, name, value: every number of the run's
/// summary.json, dotted). Each run is written in one transaction, so a killed
/// sweep leaves no half-written run, and running the same command again only
/// runs the points that have no successful row.
struct Sweep: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a parameter sweep into an SQLite database (resumable).")

    @Argument(help: "The sweep file (JSON).") var file: String
    @Option(help: "The database (default: results/sweeps/<name>.sqlite, or <name>.shard-I-of-N.sqlite).") var db: String?
    @Option(help: "Run only slice I of N (0-based): points whose id mod N is I.") var shard: String?
    @Option(help: "Simulations run at once (default: all cores).") var workers = ProcessInfo.processInfo.activeProcessorCount
    @Flag(help: "Also store every request's latencies in a `requests` table.") var requests = false

    func run() throws {
        let (spec, plans, slice) = try exitOnInputError { () throws -> (SweepSpec, [Int: SimulationPlan], (Int, Int)) in
            let spec = try SweepSpec(file: file)
            let slice = try Self.parseShard(shard, file: file)
            // Every point is validated before anything runs.
            var plans: [Int: SimulationPlan] = [:]
            for p in spec.points where p.id % slice.1 == slice.0 {
                plans[p.id] = try SweepRunner.plan(spec, p)
            }
            return (spec, plans, slice)
        }
        let path = db ?? "results/sweeps/\(spec.name)" + (shard == nil ? "" : ".shard-\(slice.0)-of-\(slice.1)") + ".sqlite"
        try FileManager.default.createDirectory(at: URL(fileURLWithPath: path).deletingLastPathComponent(),
                                                withIntermediateDirectories: true)
        let runner = try SweepRunner(database: path)
        let done = try runner.finishedPoints()
        let todo = spec.points.filter { plans[$0.id] != nil && !done.contains($0.id) }
        FileHandle.standardError.write(Data("sweep \(spec.name): \(plans.count) points in this slice, \(plans.count - todo.count) already done, \(todo.count) to run on \(workers) workers\n".utf8))
        try runner.run(todo, plans: plans, workers: max(1, workers), storeRequests: requests)
        let failed = try runner.failedCount()
        print("sweep \(spec.name): \(plans.count - failed) of \(plans.count) points succeeded; results in \(path)")
        if failed > 0 { throw ExitCode(1) }
    }

    static func parseShard(_ text: String?, file: String) throws -> (Int, Int) {
        guard let text else { return (0, 1) }
        let parts = text.split(separator: "/").compactMap { Int($0) }
        guard parts.count == 2, parts[1] >= 1, (0..<parts[1]).contains(parts[0]) else {
            throw InputError(file: file, location: "--shard \(text)", "expected I/N with 0 ≤ I < N")
        }
        return (parts[0], parts[1])
    }
}

/// Executes sweep points in parallel and records them.
final class SweepRunner: @unchecked Sendable {
    private let db: SQLiteDatabase
    private let lock = NSLock()

    init(database path: String) throws {
        db = try SQLiteDatabase(path: path)
        try Self.createTables(db)
    }

    static func createTables(_ db: SQLiteDatabase) throws {
        try db.execute("""
            CREATE TABLE IF NOT EXISTS runs (point_id INTEGER PRIMARY KEY, parameters TEXT NOT NULL, seed INTEGER NOT NULL,
                status TEXT NOT NULL, wall_seconds REAL, error TEXT);
            CREATE TABLE IF NOT EXISTS metrics (point_id INTEGER NOT NULL, name TEXT NOT NULL, value REAL,
                PRIMARY KEY (point_id, name));
            CREATE TABLE IF NOT EXISTS requests (point_id INTEGER NOT NULL, id INTEGER NOT NULL, arrival_s REAL,
                ttft_s REAL, tpot_s REAL, e2el_s REAL, prompt_tokens INTEGER, output_tokens INTEGER, preemptions INTEGER,
                status TEXT, PRIMARY KEY (point_id, id));
            """)
    }

    /// The validated plan of one point: the base scenario with its assignments
    /// and the repetition's seed. A bad value names the sweep file and field.
    static func plan(_ spec: SweepSpec, _ point: SweepPoint) throws -> SimulationPlan {
        do {
            let scenario = try ScenarioLoader.load(spec.scenario, overrides: point.overrides)
            let seed = (scenario.seed ?? 1) &+ UInt64(point.repetition)
            return try SimulationPlan(scenario, file: spec.scenario, seedOverride: seed)
        } catch let e as InputError {
            let value = point.assignments.first { e.location.hasPrefix($0.0) }.map { " = \($0.1)" } ?? ""
            throw InputError(file: spec.file, location: e.location.isEmpty ? "point \(point.id)" : e.location,
                             "\(e.message)\(value.isEmpty ? "" : " (swept value\(value))") [in \(e.file)]")
        }
    }

    func finishedPoints() throws -> Set<Int> {
        Set(try db.query("SELECT point_id FROM runs WHERE status = 'ok'").compactMap {
            if case .integer(let i) = $0[0] { Int(i) } else { nil }
        })
    }

    func failedCount() throws -> Int {
        if case .integer(let n)? = try db.query("SELECT COUNT(*) FROM runs WHERE status != 'ok'").first?.first { return Int(n) }
        return 0
    }

    /// Work shared by the worker threads, guarded by `lock`.
    private var next = 0, finished = 0
    private var firstError: Error?

    func run(_ points: [SweepPoint], plans: [Int: SimulationPlan], workers: Int, storeRequests: Bool = false) throws {
        let start = DispatchTime.now().uptimeNanoseconds
        next = 0
        finished = 0
        let showProgress = isatty(STDERR_FILENO) == 1
        // Each plan is used by the one thread that runs its point.
        nonisolated(unsafe) let points = points, plans = plans
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                lock.lock()
                guard next < points.count, firstError == nil else { lock.unlock(); return }
                let point = points[next]
                next += 1
                lock.unlock()
                let plan = plans[point.id]!
                let t0 = DispatchTime.now().uptimeNanoseconds
                var status = "ok", message: String?, metrics: [(String, Double)] = []
                var requests: [RequestRecord] = []
                do {
                    let outcome = try Runner.run(plan)
                    metrics = try Self.flatten(outcome.summary)
                    if storeRequests { requests = outcome.cluster.metrics.records }
                } catch let e as InputError {
                    status = "error"; message = e.description
                } catch {
                    status = "error"; message = "\(error)"
                }
                let wall = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
                lock.lock()
                do {
                    try record(point, seed: plan.seed, status: status, wall: wall, error: message, metrics: metrics,
                               requests: requests)
                } catch { firstError = error }
                finished += 1
                if showProgress {
                    let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                    let eta = elapsed / Double(finished) * Double(points.count - finished)
                    FileHandle.standardError.write(Data("\r  \(finished)/\(points.count) runs, about \(Int(eta)) s left   ".utf8))
                }
                lock.unlock()
            }
        }
        if showProgress { FileHandle.standardError.write(Data("\n".utf8)) }
        if let firstError { throw firstError }
    }

    /// One run's row and metrics, in one transaction (replacing an earlier failed attempt).
    private func record(_ point: SweepPoint, seed: UInt64, status: String, wall: Double, error: String?,
                        metrics: [(String, Double)], requests: [RequestRecord]) throws {
        let id = SQLiteDatabase.Value.integer(Int64(point.id))
        try db.transaction {
            try db.run("DELETE FROM metrics WHERE point_id = ?", rows: [[id]])
            try db.run("DELETE FROM requests WHERE point_id = ?", rows: [[id]])
            func real(_ x: Double?) -> SQLiteDatabase.Value { x.map { .real($0) } ?? .null }
            try db.run("INSERT INTO requests VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows: requests.map { r in
                [id, .integer(Int64(r.id)), .real(r.arrival.seconds), real(r.ttft), real(r.tpot),
                 real(r.finished ? r.e2el : nil), .integer(Int64(r.promptTokens)), .integer(Int64(r.outputTokens)),
                 .integer(Int64(r.preemptions)), .text(r.dropReason.map { "dropped:" + $0.rawValue } ?? "finished")]
            })
            try db.run("INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?)", rows: [[
                .integer(Int64(point.id)), .text(point.parametersJSON), .integer(Int64(bitPattern: seed)), .text(status),
                .real(wall), error.map { .text($0) } ?? .null]])
            try db.run("INSERT INTO metrics VALUES (?, ?, ?)",
                       rows: metrics.map { [.integer(Int64(point.id)), .text($0.0), .real($0.1)] })
        }
    }

    /// Every number in a summary, named by its dotted path (arrays left out).
    static func flatten(_ summary: RunSummary) throws -> [(String, Double)] {
        let tree = try JSONSerialization.jsonObject(with: JSONEncoder().encode(summary))
        var out: [(String, Double)] = []
        func walk(_ node: Any, _ prefix: String) {
            if let object = node as? [String: Any] {
                for key in object.keys.sorted() { walk(object[key]!, prefix.isEmpty ? key : "\(prefix).\(key)") }
            } else if let n = node as? NSNumber {
                out.append((prefix, n.doubleValue))
            }
        }
        walk(tree, "")
        return out
    }
}
