import Foundation
import Serving
import SimCore
import Workloads

/// Digests of the files runs read, each file read once per sweep; and traces checked whole, once each.
public struct SweepContent {
    private var digests: [String: String] = [:]
    private var checkedTraces: Set<String> = []
    public init() {}

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
public final class SweepRunner: @unchecked Sendable {
    /// A validated point: its plan (nil when it is infeasible: why, instead) and the digest of
    /// everything its result depends on.
    public struct Job {
        public let plan: SimulationPlan?
        let seed: UInt64
        public let scenarioSHA: String
        var infeasible: String? = nil
    }

    private let database: SweepDatabase
    private let lock = NSLock()

    public init(_ database: SweepDatabase) { self.database = database }

    /// The validated plan of one point: the base scenario with its assignments
    /// and the repetition's seed. A bad value names the sweep file and field.
    public static func job(_ spec: SweepSpec, _ point: SweepPoint, content: inout SweepContent) throws -> Job {
        do {
            let tree = try ScenarioLoader.resolvedTree(spec.scenario, overrides: point.overrides)
            let scenario = try ScenarioLoader.decode(tree, file: spec.scenario)
            let seed = (scenario.seed ?? 1) &+ UInt64(point.repetition)
            var key = "simrun \(SimRunVersion.current)\nseed \(seed)\n\(tree.canonicalText)\n"
            var plan: SimulationPlan
            do { plan = try SimulationPlan(scenario, file: spec.scenario, seedOverride: seed) } catch let e as InputError where e.infeasible {
                // A layout the hardware cannot hold is an answer, not a mistake: recorded, and the sweep goes on.
                return Job(plan: nil, seed: seed, scenarioSHA: SHA256.hex(key), infeasible: "\(e.location): \(e.message)")
            }
            plan.resolvedScenario = tree
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

    public func run(_ points: [SweepPoint], jobs: [Int: Job], workers: Int, storeRequests: Bool = false) throws {
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
                var status = "ok", message: String?, metrics: [(String, Double)] = [], provenance: String?
                var requests: [RequestRecord] = []
                do {
                    if let plan = job.plan {
                        let outcome = try Runner.run(plan)
                        metrics = try Self.flatten(outcome.summary)
                        provenance = plan.provenance(costModels: outcome.summary.cost_model).canonicalText
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
                                        error: message, metrics: metrics, provenance: provenance, requests: requests)
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
