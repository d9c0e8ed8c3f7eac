import ArgumentParser
import Experiments
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
