import Foundation
import SimCore
import Testing
@testable import Experiments

private func write(_ text: String, _ name: String, in dir: URL) throws {
    try text.write(to: dir.appendingPathComponent(name), atomically: false, encoding: .utf8)
}

private func leftovers(_ dir: URL) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).filter { $0.contains(".partial-") || $0.contains(".old-") }
}

@Suite("Results folders: only simrun's own are replaced, atomically")
struct ResultsFolderTests {
    @Test func anEarlierResultsFolderIsReplacedWhole() throws {
        let dir = tempDir()
        try write(smallScenario, "s.json", in: dir)
        #expect(try runSimrun(["s.json", "--out", "r"], cwd: dir).status == 0)
        let first = try Data(contentsOf: dir.appendingPathComponent("r/summary.json"))
        let again = try runSimrun(["s.json", "--out", "r", "--seed", "99"], cwd: dir)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try Data(contentsOf: dir.appendingPathComponent("r/summary.json")) != first)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("r").path).sorted()
                == [".simrun-results", "provenance.json", "requests.csv", "summary.json", "timeseries.csv"])
        #expect(leftovers(dir).isEmpty)
        // The plots simrun draws beside a run are simrun's too.
        #expect(try runSimrun(["plot", "r"], cwd: dir).status == 0)
        #expect(try runSimrun(["s.json", "--out", "r"], cwd: dir).status == 0)
        // An empty folder is taken; the folder the scenario's name picks by default is checked the same way.
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("empty"), withIntermediateDirectories: true)
        #expect(try runSimrun(["s.json", "--out", "empty"], cwd: dir).status == 0)
        #expect(try runSimrun(["s.json"], cwd: dir).status == 0)
        try write("mine", "results/small/notes.txt", in: dir)
        let refused = try runSimrun(["s.json"], cwd: dir)
        #expect(refused.status == 2 && refused.stderr.contains("notes.txt"), "\(refused.stderr)")
        #expect(try String(contentsOf: dir.appendingPathComponent("results/small/notes.txt"), encoding: .utf8) == "mine")
    }

    @Test func stagingLeftByAKilledRunIsRemovedByTheNext() throws {
        let dir = tempDir()
        try write(smallScenario, "s.json", in: dir)
        // A process that has ended: its id names no running process (ids are not reused this quickly).
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/true")
        try launch(p)
        p.waitUntilExit()
        let dead = dir.appendingPathComponent(".r.partial-\(p.processIdentifier)")
        let alive = dir.appendingPathComponent(".r.partial-\(getpid())")
        let foreign = dir.appendingPathComponent(".r.partial-1")
        for folder in [dead, alive, foreign] { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
        try write("", ".r.partial-\(p.processIdentifier)/\(ResultsFolder.marker)", in: dir)
        try write("", ".r.partial-\(getpid())/\(ResultsFolder.marker)", in: dir)
        #expect(try runSimrun(["s.json", "--out", "r"], cwd: dir).status == 0)
        #expect(!FileManager.default.fileExists(atPath: dead.path))
        #expect(FileManager.default.fileExists(atPath: alive.path), "a running simrun's staging is left alone")
        #expect(FileManager.default.fileExists(atPath: foreign.path), "a folder without simrun's marker is left alone")
    }

    /// A full disk, made with a file-size limit: exit 1, one line, no staging, earlier results intact.
    @Test func aFailedWriteLeavesTheEarlierResultsAndNoStaging() throws {
        let dir = tempDir()
        try write(smallScenario, "s.json", in: dir)
        #expect(try runSimrun(["s.json", "--out", "r"], cwd: dir).status == 0)
        let before = snapshot(dir.appendingPathComponent("r"))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        // Writes past 16 blocks fail with EFBIG (SIGXFSZ ignored, as it stays across exec).
        p.arguments = ["-c", "ulimit -f 16; trap '' XFSZ; exec \"$0\" s.json --out r --seed 5", simrunBinary.path]
        p.currentDirectoryURL = dir
        let err = Pipe()
        p.standardError = err
        p.standardOutput = Pipe()
        try launch(p)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationReason == .exit && p.terminationStatus == 1, "\(p.terminationStatus): \(stderr)")
        #expect(stderr.hasPrefix("error: r: ") && stderr.split(separator: "\n").count == 1, "\(stderr)")
        #expect(snapshot(dir.appendingPathComponent("r")) == before)
        #expect(leftovers(dir).isEmpty)
    }
}

@Suite("Sweep databases: one sweep each, runs keyed on content", .serialized)
struct SweepDatabaseTests {
    private let scenario = smallScenario.replacingOccurrences(of: "\"num_requests\": 300", with: "\"num_requests\": 40")

    private func sweep(_ name: String, _ grid: String, in dir: URL, file: String = "w.json") throws {
        try write(#"{"name": "\#(name)", "scenario": "s.json", "grid": {\#(grid)}}"#, file, in: dir)
    }

    private func rows(_ db: String, _ sql: String) throws -> [[SQLiteDatabase.Value]] {
        try SQLiteDatabase(path: db, readOnly: true).query(sql)
    }

    @Test func aResumedSweepRerunsWhatChangedAndSaysSo() throws {
        let dir = tempDir()
        try write(scenario, "s.json", in: dir)
        try sweep("w", #""workload.arrivals.rate": [0.5, 1.0]"#, in: dir)
        let db = dir.appendingPathComponent("w.sqlite").path
        #expect(try runSimrun(["sweep", "w.json", "--db", db], cwd: dir).status == 0)
        let same = try runSimrun(["sweep", "w.json", "--db", db], cwd: dir)
        #expect(same.stderr.contains("2 already done") && same.stderr.contains("0 to run"), "\(same.stderr)")

        // New rates: both points changed, rerun, and the old values are gone.
        try sweep("w", #""workload.arrivals.rate": [4.0, 8.0]"#, in: dir)
        let changed = try runSimrun(["sweep", "w.json", "--db", db], cwd: dir)
        #expect(changed.stderr.contains("2 changed"), "\(changed.stderr)")
        #expect(try rows(db, "SELECT parameters FROM runs ORDER BY point_id")
                == [[.text(#"{"workload.arrivals.rate":4}"#)], [.text(#"{"workload.arrivals.rate":8}"#)]])

        // The base scenario changes: every point reruns.
        try write(scenario.replacingOccurrences(of: "\"num_requests\": 40", with: "\"num_requests\": 41"), "s.json", in: dir)
        #expect(try runSimrun(["sweep", "w.json", "--db", db], cwd: dir).stderr.contains("2 changed"))
        #expect(try rows(db, "SELECT value FROM metrics WHERE name = 'requests_arrived'") == [[.real(41)], [.real(41)]])

        // A smaller sweep: the point it no longer has is removed.
        try sweep("w", #""workload.arrivals.rate": [4.0]"#, in: dir)
        let shrunk = try runSimrun(["sweep", "w.json", "--db", db], cwd: dir)
        #expect(shrunk.stderr.contains("1 no longer in the sweep removed"), "\(shrunk.stderr)")
        #expect(try rows(db, "SELECT COUNT(*) FROM runs") == [[.integer(1)]])
        #expect(try rows(db, "SELECT COUNT(DISTINCT point_id) FROM metrics") == [[.integer(1)]])
        let meta = try rows(db, "SELECT value FROM meta WHERE key = 'sweep_spec'")
        #expect(meta == [[.text(#"{"grid":{"workload.arrivals.rate":[4]},"name":"w","scenario":"s.json"}"#)]])
    }

    @Test func aChangedTraceIsAChangedRun() throws {
        let dir = tempDir()
        try write(traceRows(goodRows), "t.csv", in: dir)
        try write(traceScenario, "s.json", in: dir)
        try sweep("w", #""workload.num_requests": [3, 4]"#, in: dir)
        #expect(try runSimrun(["sweep", "w.json"], cwd: dir).status == 0)
        try write(traceRows(goodRows.map { $0.replacingOccurrences(of: ",10", with: ",12") }), "t.csv", in: dir)
        let again = try runSimrun(["sweep", "w.json"], cwd: dir)
        #expect(again.stderr.contains("2 changed"), "\(again.stderr)")
    }

    @Test func metricsAreTheNumbersOfSummaryJSON() throws {
        let dir = tempDir()
        try write(scenario, "s.json", in: dir)
        try sweep("w", #""seed": [7]"#, in: dir)
        #expect(try runSimrun(["sweep", "w.json", "--db", "w.sqlite"], cwd: dir).status == 0)
        #expect(try runSimrun(["s.json", "--out", "r"], cwd: dir).status == 0)
        let summary = try JSONValue.read(file: dir.appendingPathComponent("r/summary.json").path, what: "summary")
        var expected: [String: Double] = [:]
        func walk(_ v: JSONValue, _ prefix: String) {
            if let m = v.members { for x in m { walk(x.value, prefix.isEmpty ? x.key : "\(prefix).\(x.key)") } }
            if let d = v.double { expected[prefix] = d }
        }
        walk(summary, "")
        let stored = try rows(dir.appendingPathComponent("w.sqlite").path, "SELECT name, value FROM metrics")
        #expect(stored.count > 20)
        for row in stored {
            guard case .text(let name) = row[0], case .real(let v) = row[1], let e = expected[name] else { continue }
            if name == "wall_seconds" || name.hasSuffix("per_second") && name.contains("simulator") { continue }
            #expect(v.bitPattern == e.bitPattern || (v.isNaN && e.isNaN), "\(name): \(v) in the database, \(e) in summary.json")
        }
    }

    @Test func mergeTakesOnlyShardsOfOneSweepThatAgree() throws {
        let dir = tempDir()
        try write(scenario, "s.json", in: dir)
        try sweep("w", #""workload.arrivals.rate": [1, 2]"#, in: dir)
        try sweep("v", #""workload.arrivals.rate": [3]"#, in: dir, file: "v.json")
        for (f, db) in [("w.json", "a.sqlite"), ("v.json", "v.sqlite")] {
            #expect(try runSimrun(["sweep", f, "--db", db], cwd: dir).status == 0)
        }
        // Two different sweeps.
        let unrelated = try runSimrun(["merge", "m.sqlite", "a.sqlite", "v.sqlite"], cwd: dir)
        #expect(unrelated.status == 2 && unrelated.stderr.contains("only shards of one sweep"), "\(unrelated.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("m.sqlite").path))
        // The same sweep, the same point run on another base scenario.
        try write(scenario.replacingOccurrences(of: "\"seed\": 7", with: "\"seed\": 8"), "s.json", in: dir)
        #expect(try runSimrun(["sweep", "w.json", "--db", "b.sqlite"], cwd: dir).status == 0)
        let differing = try runSimrun(["merge", "m.sqlite", "a.sqlite", "b.sqlite"], cwd: dir)
        #expect(differing.status == 2 && differing.stderr.contains("b.sqlite: point 0: differs"), "\(differing.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("m.sqlite").path))
        // Shards that agree merge, and merging again changes nothing.
        #expect(try runSimrun(["merge", "m.sqlite", "b.sqlite"], cwd: dir).status == 0)
        #expect(try runSimrun(["merge", "m.sqlite", "b.sqlite"], cwd: dir).status == 0)
        #expect(try rows(dir.appendingPathComponent("m.sqlite").path, "SELECT COUNT(*) FROM runs") == [[.integer(2)]])
        // A database of another sweep is neither a sweep's --db nor an export's --out.
        let before = snapshot(dir)
        let other = try runSimrun(["sweep", "w.json", "--db", "v.sqlite"], cwd: dir)
        #expect(other.status == 2 && other.stderr.contains("holds sweep 'v'"), "\(other.stderr)")
        let overwrite = try runSimrun(["export", "a.sqlite", "--out", "v.sqlite"], cwd: dir)
        #expect(overwrite.status == 2, "\(overwrite.stderr)")
        let itself = try runSimrun(["export", "a.sqlite", "--out", "./a.sqlite"], cwd: dir)
        #expect(itself.status == 2 && itself.stderr.contains("is also an input"), "\(itself.stderr)")
        #expect(snapshot(dir) == before)
    }
}
