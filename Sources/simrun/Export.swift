import ArgumentParser
import Foundation
import SimCore

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a sweep database as CSV: one row per run, parameters and metrics as columns.")

    @Argument(help: "The sweep database.") var database: String
    @Option(help: "The CSV file (default: the database's name with .csv).") var out: String?

    func run() throws {
        let path = out ?? (database.hasSuffix(".sqlite") ? String(database.dropLast(7)) : database) + ".csv"
        let rows = try exitOnInputError { () throws -> Int in
            guard FileManager.default.fileExists(atPath: database) else {
                throw InputError(file: database, "no such sweep database")
            }
            return try SweepExport.write(database: database, to: path)
        }
        print("wrote \(rows) runs to \(path)")
    }
}

enum SweepExport {
    static func write(database: String, to path: String) throws -> Int {
        let db = try SQLiteDatabase(path: database)
        let runs: [[SQLiteDatabase.Value]]
        do { runs = try db.query("SELECT point_id, parameters, seed, status, wall_seconds FROM runs ORDER BY point_id") } catch {
            throw InputError(file: database, "not a sweep database (no runs table)")
        }
        var metrics: [Int64: [String: Double]] = [:]
        for row in try db.query("SELECT point_id, name, value FROM metrics") {
            if case .integer(let id) = row[0], case .text(let name) = row[1], case .real(let v) = row[2] {
                metrics[id, default: [:]][name] = v
            }
        }
        var parameters: [Int64: [String: Any]] = [:]
        for row in runs {
            if case .integer(let id) = row[0], case .text(let json) = row[1] {
                parameters[id] = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] ?? [:]
            }
        }
        let parameterNames = Set(parameters.values.flatMap(\.keys)).sorted()
        let metricNames = Set(metrics.values.flatMap(\.keys)).sorted()
        let csv = try CSVWriter(path: path, header: ["point_id", "seed", "status", "wall_seconds"] + parameterNames + metricNames)
        for row in runs {
            guard case .integer(let id) = row[0] else { continue }
            csv.field(Int(id))
            if case .integer(let seed) = row[2] { csv.field(String(UInt64(bitPattern: seed))) } else { csv.emptyField() }
            if case .text(let status) = row[3] { csv.field(status) } else { csv.emptyField() }
            if case .real(let wall) = row[4] { csv.field(wall) } else { csv.emptyField() }
            for name in parameterNames {
                switch parameters[id]?[name] {
                case let s as String: csv.field(s)
                case let n as NSNumber: csv.field(n.stringValue)
                default: csv.emptyField()
                }
            }
            for name in metricNames { csv.field(metrics[id]?[name] ?? .nan) }
            csv.endRow()
        }
        try csv.close()
        return runs.count
    }
}
