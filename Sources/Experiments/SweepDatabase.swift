import Foundation
import Serving
import SimCore

/// A sweep's results database.
///
/// - `meta(key, value)`: what the database holds: `format`, `sweep_name`, `sweep_spec` (the sweep file's
///   content, keys sorted), `sweep_spec_sha256`, `simrun_version`.
/// - `runs(point_id, parameters, seed, scenario_sha256, status, wall_seconds, error)`: one row per point;
///   `scenario_sha256` keys the run on its content (resolved scenario, seed, input files, simrun version).
/// - `metrics(point_id, name, value)`: every number of the run's summary.json, dotted.
/// - `requests(point_id, id, …)`: every request's latencies, with `--requests`.
///
/// simrun opens only databases it wrote for the same sweep; anything else is refused before it is touched.
public final class SweepDatabase {
    static let format = "simrun-sweep-2"
    let db: SQLiteDatabase
    let path: String

    /// The identity of a sweep: its name and the digest of its file's content.
    public struct Identity: Equatable {
        let name: String
        let specSHA: String
        var shown: String { "'\(name)' (sweep file \(specSHA.prefix(12)))" }
    }

    private init(_ db: SQLiteDatabase, path: String) {
        self.db = db
        self.path = path
    }

    /// Checks what stands at `path` without changing it: nothing, or a sweep database simrun wrote.
    /// Returns the identity of the sweep it holds (nil when there is no file yet).
    static func inspect(_ path: String, option: String) throws -> Identity? {
        func fail(_ message: String) -> InputError { InputError(file: path, location: option, message) }
        switch FileSystem.kind(of: path) {
        case .missing: return nil
        case .directory: throw fail("is a folder; expected a database file")
        case .symbolicLink, .other: throw fail("is not a regular file")
        case .file: break
        }
        guard SQLiteDatabase.isDatabaseFile(path) else {
            throw fail("exists and is not an SQLite database; simrun will not overwrite it")
        }
        let db = try SQLiteDatabase(path: path, readOnly: true)
        return try identity(of: db, path: path, option: option)
    }

    private static func identity(of db: SQLiteDatabase, path: String, option: String) throws -> Identity {
        let rows: [[SQLiteDatabase.Value]]
        do { rows = try db.query("SELECT key, value FROM meta") } catch {
            throw InputError(file: path, location: option,
                             "is not a sweep database of this simrun version (no meta table); choose another path")
        }
        var meta: [String: String] = [:]
        for row in rows { if case .text(let k) = row[0], case .text(let v) = row[1] { meta[k] = v } }
        guard meta["format"] == format, let name = meta["sweep_name"], let sha = meta["sweep_spec_sha256"] else {
            throw InputError(file: path, location: option, "is not a sweep database of this simrun version (format "
                             + "\(meta["format"] ?? "unknown"), expected \(format))")
        }
        return Identity(name: name, specSHA: sha)
    }

    /// Opens an existing sweep database to read (export, plot, merge inputs).
    public static func openForReading(_ path: String, option: String = "") throws -> (SweepDatabase, Identity) {
        guard let identity = try inspect(path, option: option) else {
            throw InputError(file: path, location: option, "no such sweep database")
        }
        return (SweepDatabase(try SQLiteDatabase(path: path, readOnly: true), path: path), identity)
    }

    /// Opens or creates the database for `spec`'s sweep. A database of another sweep (by name) is refused;
    /// one of the same sweep written from another version of its file is taken over, and its meta updated.
    public static func openForWriting(_ path: String, option: String, spec: SweepSpec) throws -> SweepDatabase {
        if let found = try inspect(path, option: option), found.name != spec.name {
            throw InputError(file: path, location: option, "holds sweep \(found.shown), not '\(spec.name)'; choose another path")
        }
        let parent = URL(fileURLWithPath: path).deletingLastPathComponent()
        do { try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true) } catch {
            throw InputError(file: path, location: option, "cannot create its folder (\(FileSystem.describe(error)))")
        }
        let db = try SQLiteDatabase(path: path)
        try createTables(db)
        try db.transaction {
            try db.run("INSERT OR REPLACE INTO meta VALUES (?, ?)", rows: [
                [.text("format"), .text(format)], [.text("sweep_name"), .text(spec.name)],
                [.text("sweep_spec"), .text(spec.canonicalText)],
                [.text("sweep_spec_sha256"), .text(SHA256.hex(spec.canonicalText))],
                [.text("simrun_version"), .text(SimRunVersion.current)],
                [.text("simrun_commit"), .text(SimRunVersion.commit)],
            ])
        }
        return SweepDatabase(db, path: path)
    }

    /// Opens a sweep database simrun wrote, to add runs to it (a merge target).
    static func openToAdd(_ path: String) throws -> SweepDatabase {
        _ = try openForReading(path)
        let db = try SQLiteDatabase(path: path)
        try createTables(db)
        return SweepDatabase(db, path: path)
    }

    /// A new database holding the same sweep as `source`, for a merge; its meta is copied.
    static func create(_ path: String, like source: SweepDatabase) throws -> SweepDatabase {
        let db = try SQLiteDatabase(path: path)
        try createTables(db)
        try db.transaction {
            try db.run("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                       rows: try source.db.query("SELECT key, value FROM meta ORDER BY key"))
        }
        return SweepDatabase(db, path: path)
    }

    static func createTables(_ db: SQLiteDatabase) throws {
        try db.execute("""
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS runs (point_id INTEGER PRIMARY KEY, parameters TEXT NOT NULL, seed INTEGER NOT NULL,
                scenario_sha256 TEXT NOT NULL, status TEXT NOT NULL, wall_seconds REAL, error TEXT);
            CREATE TABLE IF NOT EXISTS metrics (point_id INTEGER NOT NULL, name TEXT NOT NULL, value REAL,
                PRIMARY KEY (point_id, name));
            CREATE TABLE IF NOT EXISTS requests (point_id INTEGER NOT NULL, id INTEGER NOT NULL, arrival_s REAL,
                ttft_s REAL, tpot_s REAL, e2el_s REAL, prompt_tokens INTEGER, output_tokens INTEGER, preemptions INTEGER,
                status TEXT, PRIMARY KEY (point_id, id));
            CREATE TABLE IF NOT EXISTS provenance (point_id INTEGER PRIMARY KEY, json TEXT NOT NULL);
            """)
    }

    /// A stored run: what it is keyed on, and whether it succeeded.
    public struct StoredRun {
        public let pointID: Int
        let parameters: String
        public let scenarioSHA: String
        public let ok: Bool
    }

    public func storedRuns() throws -> [StoredRun] {
        try db.query("SELECT point_id, parameters, scenario_sha256, status FROM runs ORDER BY point_id").compactMap { row in
            guard case .integer(let id) = row[0], case .text(let p) = row[1], case .text(let sha) = row[2],
                  case .text(let status) = row[3] else { return nil }
            return StoredRun(pointID: Int(id), parameters: p, scenarioSHA: sha, ok: status == "ok" || status == "infeasible")
        }
    }

    /// Removes runs (with their metrics and requests) in one transaction.
    public func remove(points: [Int]) throws {
        guard !points.isEmpty else { return }
        try db.transaction {
            for table in ["runs", "metrics", "requests", "provenance"] {
                try db.run("DELETE FROM \(table) WHERE point_id = ?", rows: points.map { [.integer(Int64($0))] })
            }
        }
    }

    public func failedCount() throws -> Int {
        if case .integer(let n)? = try db.query("SELECT COUNT(*) FROM runs WHERE status NOT IN ('ok', 'infeasible')").first?.first { return Int(n) }
        return 0
    }

    /// One run's row and metrics, in one transaction (replacing an earlier attempt).
    func record(_ point: SweepPoint, seed: UInt64, scenarioSHA: String, status: String, wall: Double, error: String?,
                metrics: [(String, Double)], provenance: String?, requests: [RequestRecord]) throws {
        let id = SQLiteDatabase.Value.integer(Int64(point.id))
        try db.transaction {
            try db.run("DELETE FROM metrics WHERE point_id = ?", rows: [[id]])
            try db.run("DELETE FROM requests WHERE point_id = ?", rows: [[id]])
            try db.run("DELETE FROM provenance WHERE point_id = ?", rows: [[id]])
            if let provenance { try db.run("INSERT INTO provenance VALUES (?, ?)", rows: [[id, .text(provenance)]]) }
            func real(_ x: Double?) -> SQLiteDatabase.Value { x.map { .real($0) } ?? .null }
            try db.run("INSERT INTO requests VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows: requests.map { r in
                [id, .integer(Int64(r.id)), .real(r.arrival.seconds), real(r.ttft), real(r.tpot),
                 real(r.finished ? r.e2el : nil), .integer(Int64(r.promptTokens)), .integer(Int64(r.outputTokens)),
                 .integer(Int64(r.preemptions)), .text(r.dropReason.map { "dropped:" + $0.rawValue } ?? "finished")]
            })
            try db.run("INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?)", rows: [[
                id, .text(point.parametersJSON), .integer(Int64(bitPattern: seed)), .text(scenarioSHA), .text(status),
                .real(wall), error.map { .text($0) } ?? .null]])
            try db.run("INSERT INTO metrics VALUES (?, ?, ?)", rows: metrics.map { [id, .text($0.0), .real($0.1)] })
        }
    }
}
