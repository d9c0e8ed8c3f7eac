import Foundation
import CSQLite

/// A minimal handle on an SQLite database file: execute statements, insert rows
/// with bound parameters, read back scalars. Results databases need no more.
public final class SQLiteDatabase {
    private var db: OpaquePointer?
    public let path: String

    /// Opens (or, unless `readOnly`, creates) the database file at `path`.
    public init(path: String, readOnly: Bool = false) throws {
        self.path = path
        let flags = readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
        guard sqlite3_open_v2(path, &db, flags, nil) == SQLITE_OK else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(db)
            throw SQLiteError(path: path, message: message)
        }
    }

    deinit { sqlite3_close(db) }

    /// Whether the file at `path` starts with SQLite's header ("SQLite format 3").
    public static func isDatabaseFile(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let header = (try? handle.read(upToCount: 16)) ?? nil
        return header == Data("SQLite format 3\0".utf8)
    }

    public func execute(_ sql: String) throws {
        var err: UnsafeMutablePointer<CChar>?
        if sqlite3_exec(db, sql, nil, nil, &err) != SQLITE_OK {
            let message = err.map { String(cString: $0) } ?? "unknown error"
            sqlite3_free(err)
            throw SQLiteError(path: path, message: message)
        }
    }

    public enum Value: Sendable, Equatable {
        case integer(Int64), real(Double), text(String), null
    }

    /// Runs one statement once per row of parameters, all in one transaction.
    public func insert(_ sql: String, rows: [[Value]]) throws {
        try transaction { try run(sql, rows: rows) }
    }

    /// Runs `body` as one transaction: all of its writes land, or none do.
    public func transaction(_ body: () throws -> Void) throws {
        try execute("BEGIN IMMEDIATE")
        do {
            try body()
            try execute("COMMIT")
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Runs one statement once per row of parameters (inside the caller's transaction).
    public func run(_ sql: String, rows: [[Value]]) throws {
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &stmt, nil) == SQLITE_OK else { throw lastError() }
        defer { sqlite3_finalize(stmt) }
        for row in rows {
            for (i, v) in row.enumerated() {
                let idx = Int32(i + 1)
                switch v {
                case .integer(let x): sqlite3_bind_int64(stmt, idx, x)
                case .real(let x): sqlite3_bind_double(stmt, idx, x)
                case .text(let s): sqlite3_bind_text(stmt, idx, s, -1, csqlite_transient())
                case .null: sqlite3_bind_null(stmt, idx)
                }
            }
            guard sqlite3_step(stmt) == SQLITE_DONE else { throw lastError() }
            sqlite3_reset(stmt)
        }
    }

    /// Every row of a query.
    public func query(_ sql: String) throws -> [[Value]] {
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &stmt, nil) == SQLITE_OK else { throw lastError() }
        defer { sqlite3_finalize(stmt) }
        var rows: [[Value]] = []
        while true {
            let rc = sqlite3_step(stmt)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw lastError() }
            rows.append((0..<sqlite3_column_count(stmt)).map { i in
                switch sqlite3_column_type(stmt, i) {
                case SQLITE_INTEGER: .integer(sqlite3_column_int64(stmt, i))
                case SQLITE_FLOAT: .real(sqlite3_column_double(stmt, i))
                case SQLITE_TEXT: .text(String(cString: sqlite3_column_text(stmt, i)))
                default: .null
                }
            })
        }
        return rows
    }

    /// The first column of the first row of a query, as a Double.
    public func scalar(_ sql: String) throws -> Double? {
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &stmt, nil) == SQLITE_OK else { throw lastError() }
        defer { sqlite3_finalize(stmt) }
        guard sqlite3_step(stmt) == SQLITE_ROW, sqlite3_column_type(stmt, 0) != SQLITE_NULL else { return nil }
        return sqlite3_column_double(stmt, 0)
    }

    private func lastError() -> SQLiteError {
        SQLiteError(path: path, message: String(cString: sqlite3_errmsg(db)))
    }
}

public struct SQLiteError: Error, CustomStringConvertible {
    public let path: String
    public let message: String
    public var description: String { "\(path): SQLite: \(message)" }
}
