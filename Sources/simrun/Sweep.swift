import ArgumentParser
import Foundation
import Serving
import SimCore
import Workloads

/// Runs a sweep's points on all cores into one SQLite database (see SweepDatabase).
/// Each run is written in one transaction and keyed on its content, so a killed
/// sweep leaves no half-written run, and running the same command again runs
/// exactly the points that have no successful row for their current content.
struct Sweep: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a parameter sweep into an SQLite database (resumable).")

    @Argument(help: "The sweep file (JSON).") var file: String
    @Option(help: "The database (default: results/sweeps/<name>.sqlite, or <name>.shard-I-of-N.sqlite).") var db: String?
    @Option(help: "Run only slice I of N (0-based): points whose id mod N is I.") var shard: String?
    @Option(help: "Simulations run at once (default: all cores).") var workers = ProcessInfo.processInfo.activeProcessorCount
    @Flag(help: "Also store every request's latencies in a `requests` table.") var requests = false

    func run() throws {
        let spec = try SweepSpec(file: file)
        let slice = try Self.parseShard(shard, file: file)
        guard (1...4096).contains(workers) else {
            throw InputError(file: file, location: "--workers \(workers)", "expected a whole number from 1 to 4096")
        }
        // Every point, and every trace it replays, is validated before anything runs.
        var content = SweepContent()
        var plans: [Int: SweepRunner.Job] = [:]
        for p in spec.points where p.id % slice.1 == slice.0 {
            plans[p.id] = try SweepRunner.job(spec, p, content: &content)
        }
        let path = db ?? "results/sweeps/\(spec.name)" + (shard == nil ? "" : ".shard-\(slice.0)-of-\(slice.1)") + ".sqlite"
        let database = try SweepDatabase.openForWriting(path, option: db == nil ? "" : "--db", spec: spec)

        let stored = try database.storedRuns()
        let inSpec = Set(spec.points.map(\.id))
        let gone = stored.filter { !inSpec.contains($0.pointID) }.map(\.pointID)
        try database.remove(points: gone)
        let storedByID = Dictionary(stored.map { ($0.pointID, $0) }, uniquingKeysWith: { a, _ in a })
        var done = 0, changed = 0
        let todo = spec.points.filter { p in
            guard let job = plans[p.id] else { return false }
            guard let old = storedByID[p.id] else { return true }
            if old.scenarioSHA != job.scenarioSHA { changed += 1; return true }
            if old.ok { done += 1; return false }
            return true
        }
        var status = "sweep \(spec.name): \(plans.count) points in this slice, \(done) already done"
        if changed > 0 { status += ", \(changed) changed since they ran (scenario, inputs or simrun version) and rerun" }
        if !gone.isEmpty { status += ", \(gone.count) no longer in the sweep removed" }
        FileHandle.standardError.write(Data("\(status); \(todo.count) to run on \(workers) workers\n".utf8))
        let runner = SweepRunner(database)
        try runner.run(todo, jobs: plans, workers: workers, storeRequests: requests)
        let failed = try database.failedCount()
        let infeasible = plans.values.filter { $0.plan == nil }.count
        print("sweep \(spec.name): \(plans.count - failed - infeasible) of \(plans.count) points succeeded"
              + (infeasible > 0 ? ", \(infeasible) infeasible (export shows why)" : "") + "; results in \(path)")
        if failed > 0 { throw ExitCode(1) }
    }

    static func parseShard(_ text: String?, file: String) throws -> (Int, Int) {
        guard let text else { return (0, 1) }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.count == 2, let i = parts[0], let n = parts[1], n >= 1, n <= 1_000_000, (0..<n).contains(i) else {
            throw InputError(file: file, location: "--shard \(text)", "expected I/N with 0 ≤ I < N ≤ 1000000")
        }
        return (i, n)
    }
}

/// Digests of the files runs read, each file read once per sweep; and traces checked whole, once each.
struct SweepContent {
    private var digests: [String: String] = [:]
    private var checkedTraces: Set<String> = []

    mutating func digest(of path: String) throws -> String {
        if let d = digests[path] { return d }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw InputError(file: path, "cannot read this file") }
        defer { try? handle.close() }
        var h = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { h.update([UInt8](chunk)) }
        let d = h.hexDigest()
        digests[path] = d
        return d
    }

    mutating func checkTrace(_ path: String, format: TraceFormat?) throws {
        guard checkedTraces.insert("\(format?.rawValue ?? "-") \(path)").inserted else { return }
        try TraceReplaySource(reader: TraceReader(path: path, format: format)).validateAll()
    }
}

/// Executes sweep points in parallel and records them.
final class SweepRunner: @unchecked Sendable {
    /// A validated point: its plan (nil when it is infeasible: why, instead) and the digest of
    /// everything its result depends on.
    struct Job {
        let plan: SimulationPlan?
        let seed: UInt64
        let scenarioSHA: String
        var infeasible: String? = nil
    }

    private let database: SweepDatabase
    private let lock = NSLock()

    init(_ database: SweepDatabase) { self.database = database }

    /// The validated plan of one point: the base scenario with its assignments
    /// and the repetition's seed. A bad value names the sweep file and field.
    static func job(_ spec: SweepSpec, _ point: SweepPoint, content: inout SweepContent) throws -> Job {
        do {
            let tree = try ScenarioLoader.resolvedTree(spec.scenario, overrides: point.overrides)
            let scenario = try ScenarioLoader.decode(tree, file: spec.scenario)
            let seed = (scenario.seed ?? 1) &+ UInt64(point.repetition)
            var key = "simrun \(SimRunVersion.current)\nseed \(seed)\n\(tree.canonicalText)\n"
            let plan: SimulationPlan
            do { plan = try SimulationPlan(scenario, file: spec.scenario, seedOverride: seed) } catch let e as InputError where e.infeasible {
                // A layout the hardware cannot hold is an answer, not a mistake: recorded, and the sweep goes on.
                return Job(plan: nil, seed: seed, scenarioSHA: SHA256.hex(key), infeasible: "\(e.location): \(e.message)")
            }
            if let replay = plan.replay { try content.checkTrace(replay.path, format: replay.format) }
            for f in plan.inputFiles { key += "file \(f) \(try content.digest(of: f))\n" }
            return Job(plan: plan, seed: seed, scenarioSHA: SHA256.hex(key))
        } catch let e as InputError where e.file == spec.scenario {
            let value = point.assignments.first { e.location.hasPrefix($0.0) }.map { " = \($0.1.shortText)" } ?? ""
            throw InputError(file: spec.file, location: e.location.isEmpty ? "point \(point.id)" : e.location,
                             "\(e.message)\(value.isEmpty ? "" : " (swept value\(value))") [in \(e.file)]")
        }
    }

    /// Work shared by the worker threads, guarded by `lock`.
    private var next = 0, finished = 0
    private var firstError: Error?

    func run(_ points: [SweepPoint], jobs: [Int: Job], workers: Int, storeRequests: Bool = false) throws {
        let start = DispatchTime.now().uptimeNanoseconds
        next = 0
        finished = 0
        let showProgress = isatty(STDERR_FILENO) == 1
        // Each plan is used by the one thread that runs its point.
        nonisolated(unsafe) let points = points, jobs = jobs
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                lock.lock()
                guard next < points.count, firstError == nil else { lock.unlock(); return }
                let point = points[next]
                next += 1
                lock.unlock()
                let job = jobs[point.id]!
                let t0 = DispatchTime.now().uptimeNanoseconds
                var status = "ok", message: String?, metrics: [(String, Double)] = []
                var requests: [RequestRecord] = []
                do {
                    if let plan = job.plan {
                        let outcome = try Runner.run(plan)
                        metrics = try Self.flatten(outcome.summary)
                        if storeRequests { requests = outcome.cluster.metrics.records }
                    } else {
                        status = "infeasible"; message = job.infeasible
                    }
                } catch let e as InputError {
                    status = "error"; message = e.description
                } catch {
                    status = "error"; message = FileSystem.describe(error)
                }
                let wall = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
                lock.lock()
                do {
                    try database.record(point, seed: job.seed, scenarioSHA: job.scenarioSHA, status: status, wall: wall,
                                        error: message, metrics: metrics, requests: requests)
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

    /// Every number in a summary, named by its dotted path (arrays left out). The
    /// summary is encoded exactly as summary.json is, and its numbers read back
    /// exactly, so the database holds the same values as the file.
    static func flatten(_ summary: RunSummary) throws -> [(String, Double)] {
        let tree = try JSONValue.parse([UInt8](JSONEncoder().encode(summary)))
        var out: [(String, Double)] = []
        func walk(_ node: JSONValue, _ prefix: String) {
            if let members = node.members {
                for m in members.sorted(by: { $0.key < $1.key }) { walk(m.value, prefix.isEmpty ? m.key : "\(prefix).\(m.key)") }
            } else if let n = node.double {
                out.append((prefix, n))
            } else if let b = node.bool {
                out.append((prefix, b ? 1 : 0))
            }
        }
        walk(tree, "")
        return out
    }
}
