import Foundation
import SimCore
import Testing
@testable import Experiments

@Suite("Sweeps", .serialized)
struct SweepTests {
    private func sweepFile(_ body: String, in dir: URL = tempDir()) throws -> String {
        let path = dir.appendingPathComponent("sweep.json").path
        try body.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private let base = repoRoot.appendingPathComponent("scenarios/past-future/llama2-7b-dist1-decode-heavy.json").path

    private func small(_ extra: String = "") -> String {
        """
        {"name": "t", "scenario": "\(base)",
         "grid": {"scheduler.policy": ["aggressive", "past_future"], "workload.arrivals.clients": [4, 24]},
         "zip": {"workload.num_requests": [40], "scheduler.gpu_memory_utilization": [0.4]}\(extra)}
        """
    }

    @Test func pointsAreTheProductOfGridZipRandomAndRepetitions() throws {
        let spec = try SweepSpec(file: sweepFile("""
            {"name": "x", "scenario": "\(base)",
             "grid": {"scheduler.policy": ["fcfs", "past_future"], "workload.arrivals.clients": {"from": 10, "to": 30, "step": 10}},
             "zip": {"workload.num_requests": [50, 60], "scheduler.reserve": [0.05, 0.1]},
             "random": {"count": 3, "seed": 4, "parameters": {"scheduler.watermark": {"uniform": [0, 0.05]}}},
             "repetitions": 2}
            """))
        #expect(spec.points.count == 2 * 3 * 2 * 3 * 2)
        #expect(Set(spec.points.map(\.id)).count == spec.points.count)
        let again = try SweepSpec(file: spec.file)
        #expect(again.points.map(\.parametersJSON) == spec.points.map(\.parametersJSON))
        #expect(spec.points[0].parametersJSON.contains("\"workload.arrivals.clients\":10"))
    }

    @Test(arguments: [
        (#""grid": {"scheduler.polcy": ["fcfs"]}"#, "scheduler.polcy"),
        (#""grid": {"workload.arrivals.clients": {"from": 10, "to": 5, "step": 1}}"#, "grid.workload.arrivals.clients"),
        (#""grid": {"workload.arrivals.clients": []}"#, "grid.workload.arrivals.clients"),
        (#""grid": {"workload.arrivals.clients": [10, -3]}"#, "workload.arrivals.clients"),
        (#""zip": {"workload.num_requests": [1, 2], "scheduler.reserve": [0.1]}"#, "zip"),
    ])
    func badSweepsAreReportedBeforeAnythingRuns(part: String, field: String) throws {
        let dir = tempDir()
        let path = try sweepFile(#"{"name": "bad", "scenario": "\#(base)", \#(part)}"#, in: dir)
        let result = try runSimrun(["sweep", path, "--db", dir.appendingPathComponent("x.sqlite").path], cwd: dir)
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.hasPrefix("error: \(path): \(field)"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("x.sqlite").path))
    }

    /// Exported rows without the wall-time column.
    private func export(_ db: String) throws -> [String] {
        let out = db + ".csv"
        _ = try SweepExport.write(SweepDatabase.openForReading(db).0, to: out)
        return try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").map { line in
            var f = line.split(separator: ",", omittingEmptySubsequences: false)
            f.remove(at: 4)
            return f.joined(separator: ",")
        }
    }

    /// A layout the GPU cannot hold is an answer, not a mistake: the point is recorded as infeasible
    /// with the reason, the others run, the sweep exits 0, and a rerun counts it as done.
    @Test func anInfeasiblePointIsRecordedAndTheSweepGoesOn() throws {
        let dir = tempDir()
        let scenario = try writeScenario(#"{"name": "big", "instances": [{"gpu": "A100-80GB", "model": "Llama-3.1-70B"}], "#
            + #""workload": {"arrivals": {"process": "poisson", "rate": 1}, "lengths": {"prompt": {"dist": "fixed", "value": 100}, "#
            + #""output": {"dist": "fixed", "value": 10}}, "num_requests": 20}}"#)
        let path = try sweepFile(#"{"name": "fit", "scenario": "\#(scenario)", "grid": {"instances[0].tp": [1, 2]}}"#, in: dir)
        let db = dir.appendingPathComponent("fit.sqlite").path
        let first = try runSimrun(["sweep", path, "--db", db], cwd: dir)
        #expect(first.status == 0 && first.stdout.contains("1 of 2 points succeeded, 1 infeasible"), "\(first.stdout)\(first.stderr)")
        let rows = try export(db)
        #expect(rows[0].hasPrefix("point_id,seed,status,error,param.instances[0].tp,"))
        #expect(rows[1].hasPrefix("0,1,infeasible,\"instances[0]: Llama-3.1-70B does not fit on A100-80GB at TP1×PP1") && rows[2].hasPrefix("1,1,ok,,2,"))
        let again = try runSimrun(["sweep", path, "--db", db], cwd: dir)
        #expect(again.status == 0 && again.stderr.contains("2 already done; 0 to run"), "\(again.stderr)")
        // The run that ran records what it used, defaults applied; the infeasible one has no such row.
        let stored = try SweepDatabase.openForReading(db).0.db.query("SELECT point_id, json FROM provenance ORDER BY point_id")
        #expect(stored.count == 1)
        if case .integer(1)? = stored.first?[0], case .text(let json)? = stored.first?[1] {
            let p = try JSONValue.parse(json)
            let group = p["effective"]?["instances"]?.elements?.first
            #expect(group?["tp"]?.double == 2 && group?["count"]?.double == 1 && (group?["kv_blocks"]?.double ?? 0) > 0)
            #expect(p["scenario"]?["instances"]?.elements?.first?["tp"]?.double == 2 && p["simrun_commit"]?.string != nil)
        } else {
            Issue.record("expected point 1's provenance")
        }
    }

    @Test func resultsDoNotDependOnWorkersOrShards() throws {
        let dir = tempDir()
        let path = try sweepFile(small(), in: dir)
        let one = dir.appendingPathComponent("one.sqlite").path, two = dir.appendingPathComponent("two.sqlite").path
        #expect(try runSimrun(["sweep", path, "--db", one, "--workers", "1"], cwd: dir).status == 0)
        #expect(try runSimrun(["sweep", path, "--db", two, "--workers", "2", "--requests"], cwd: dir).status == 0)
        // Per-request rows, when asked for: every request of every run.
        #expect(try SQLiteDatabase(path: two).scalar("SELECT COUNT(*) FROM requests") == 4 * 40)
        let reference = try export(one)
        #expect(reference.count == 1 + 4)
        #expect(try export(two) == reference)
        // Two shards merged equal the whole.
        let s0 = dir.appendingPathComponent("s0.sqlite").path, s1 = dir.appendingPathComponent("s1.sqlite").path
        #expect(try runSimrun(["sweep", path, "--db", s0, "--shard", "0/2"], cwd: dir).status == 0)
        #expect(try runSimrun(["sweep", path, "--db", s1, "--shard", "1/2"], cwd: dir).status == 0)
        let merged = dir.appendingPathComponent("merged.sqlite").path
        #expect(try runSimrun(["merge", merged, s0, s1], cwd: dir).status == 0)
        #expect(try export(merged) == reference)

        // The assertions CI relies on: latency rises with load, and Past-Future
        // evicts no more than aggressive admission.
        let db = try SQLiteDatabase(path: one)
        func metric(_ policy: String, _ clients: Int, _ name: String) throws -> Double {
            try db.scalar("""
                SELECT AVG(m.value) FROM metrics m JOIN runs r USING (point_id)
                WHERE m.name = '\(name)' AND r.parameters LIKE '%"\(policy)"%' AND r.parameters LIKE '%"workload.arrivals.clients":\(clients),%'
                """) ?? .nan
        }
        for policy in ["aggressive", "past_future"] {
            #expect(try metric(policy, 24, "ttft.p90_ms") > metric(policy, 4, "ttft.p90_ms"))
        }
        #expect(try metric("past_future", 24, "preemptions") <= metric("aggressive", 24, "preemptions"))
    }

    /// The Ray driver on a local Ray with two workers gives the single-machine sweep.
    @Test func aSweepOnRayEqualsTheSingleMachineSweep() throws {
        let dir = tempDir()
        let path = try sweepFile(small(), in: dir)
        let single = dir.appendingPathComponent("single.sqlite").path
        #expect(try runSimrun(["sweep", path, "--db", single], cwd: dir).status == 0)
        let merged = dir.appendingPathComponent("ray.sqlite").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", repoRoot.appendingPathComponent("tools/ray_sweep.py").path, path, "--shards", "2",
                       "--out", merged, "--simrun", simrunBinary.path]
        p.currentDirectoryURL = dir
        let err = Pipe()
        p.standardOutput = FileHandle.nullDevice
        p.standardError = err
        try launch(p)
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(message)")
        #expect(try export(merged) == export(single))
    }

    @Test func aKilledSweepLeavesNoHalfWrittenRunAndResumes() throws {
        let dir = tempDir()
        let path = try sweepFile(small(#", "repetitions": 3"#), in: dir)
        let db = dir.appendingPathComponent("k.sqlite").path
        let p = Process()
        p.executableURL = simrunBinary
        p.arguments = ["sweep", path, "--db", db, "--workers", "1"]
        p.currentDirectoryURL = dir
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try launch(p)
        Thread.sleep(forTimeInterval: 1.0)
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        // Whatever it had finished is whole: every run row has its metrics.
        let check = try SQLiteDatabase(path: db)
        let done = try check.scalar("SELECT COUNT(*) FROM runs") ?? 0
        let incomplete = try check.scalar("""
            SELECT COUNT(*) FROM runs r WHERE (SELECT COUNT(*) FROM metrics m WHERE m.point_id = r.point_id) < 20
            """) ?? -1
        #expect(incomplete == 0)
        let resumed = try runSimrun(["sweep", path, "--db", db], cwd: dir)
        #expect(resumed.status == 0)
        #expect(resumed.stderr.contains("\(Int(done)) already done"))
        #expect(try check.scalar("SELECT COUNT(*) FROM runs WHERE status = 'ok'") == 12)
    }
}

/// Exports for pandas: parameters under `param.`, latency statistics under vLLM's names, counts as
/// whole numbers (0 where a run has none), and the list of counts true to the summary's types.
@Suite("Sweep export columns")
struct SweepExportColumnTests {
    @Test func metricsTakeVLLMNamesAndCountsAreIntegers() throws {
        #expect(SweepExport.column("ttft.p99_ms") == "p99_ttft_ms" && SweepExport.column("tpot.std_ms") == "std_tpot_ms")
        #expect(SweepExport.column("ttft.p99.9_ms") == "p99.9_ttft_ms")
        #expect(SweepExport.column("queueing.mean_ms") == "mean_queueing_ms" && SweepExport.column("slo.attainment") == "slo.attainment")
        #expect(SweepExport.column("by_priority.high.ttft.mean_ms") == "by_priority.high.ttft.mean_ms")
        let dir = tempDir()
        let scenario = try writeScenario(#"{"name": "x", "instances": [{"gpu": "A100-80GB", "model": "Llama-2-7B"}], "#
            + #""workload": {"arrivals": {"process": "poisson", "rate": 4}, "lengths": {"prompt": {"dist": "fixed", "value": 100}, "#
            + #""output": {"dist": "fixed", "value": 10}}, "num_requests": 30}}"#)
        let sweep = dir.appendingPathComponent("s.json")
        try Data(#"{"name": "s", "scenario": "\#(scenario)", "grid": {"workload.arrivals.rate": [2, 4]}}"#.utf8).write(to: sweep)
        let db = dir.appendingPathComponent("s.sqlite").path
        #expect(try runSimrun(["sweep", sweep.path, "--db", db], cwd: dir).status == 0)
        let out = dir.appendingPathComponent("s.csv").path
        _ = try SweepExport.write(SweepDatabase.openForReading(db).0, to: out)
        let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let header = lines[0]
        #expect(Set(header).count == header.count)
        for name in ["param.workload.arrivals.rate", "mean_ttft_ms", "p99_tpot_ms", "std_itl_ms", "median_e2el_ms", "mean_queueing_ms",
                     "total_input_tokens", "total_output_tokens", "request_throughput", "output_throughput", "offered_rate"] {
            #expect(header.contains(name), "\(name) missing")
        }
        let row = Dictionary(uniqueKeysWithValues: zip(header, lines[1]))
        #expect(row["total_output_tokens"] == "300" && row["preemptions"] == "0" && row["events"].map { Int($0) != nil } == true)
    }

    /// Every whole-number field of a summary (by its dotted name) is listed as a count, and no listed
    /// count holds a fraction: checked on a run with drops, priorities, migrations and stages.
    @Test func theCountListMatchesTheSummarysTypes() throws {
        let path = try writeScenario(#"{"name": "c", "instances": [{"gpu": "A100-80GB", "model": "Llama-2-7B", "count": 2}], "#
            + #""router": "llumnix_load", "controller": {"policy": "llumnix"}, "scheduler": {"max_model_len": 500}, "#
            + #""workload": {"arrivals": {"process": "poisson", "stages": [{"rate": 8, "duration_s": 5}]}, "high_priority_share": 0.2, "#
            + #""lengths": {"prompt": {"dist": "uniform", "min": 100, "max": 600}, "output": {"dist": "fixed", "value": 50}}, "num_requests": 60}}"#)
        let (_, outcome) = try Runner.run(scenarioPath: path)
        var integers: Set<String> = []
        func walk(_ value: Any, _ name: String) {
            let m = Mirror(reflecting: value)
            if value is Int || value is UInt64 { integers.insert(name); return }
            if m.displayStyle == .optional { if let inner = m.children.first { walk(inner.value, name) }; return }
            if m.displayStyle == .dictionary {
                for pair in m.children {
                    let kv = Mirror(reflecting: pair.value).children.map(\.value)
                    walk(kv[1], "\(name).\(kv[0])")
                }
                return
            }
            if m.displayStyle == .struct { for c in m.children { walk(c.value, name.isEmpty ? c.label! : "\(name).\(c.label!)") } }
        }
        walk(outcome.summary, "")
        let flat = try SweepRunner.flatten(outcome.summary).map(\.0)
        #expect(integers.contains("dropped_by_reason.exceeds_context") && integers.contains("by_priority.high.requests"))
        for name in flat { #expect(RunSummary.isCount(name) == integers.contains(name), "\(name)") }
    }
}
