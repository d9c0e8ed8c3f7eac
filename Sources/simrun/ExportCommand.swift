import ArgumentParser
import Experiments
import Foundation
import SimCore

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a sweep database as CSV: one row per run, parameters and metrics as columns.")

    @Argument(help: "The sweep database.") var database: String
    @Option(help: "The CSV file (default: the database's name with .csv): new, or an export simrun wrote.") var out: String?

    func run() throws {
        let path = out ?? (database.hasSuffix(".sqlite") ? String(database.dropLast(7)) : database) + ".csv"
        let (db, _) = try SweepDatabase.openForReading(database)
        try OutputFile.check(path, option: out == nil ? "" : "--out", inputs: [database], kind: "sweep export") { data in
            // This version's header, or the one exports had before the error column.
            [SweepExport.fixedColumns, ["point_id", "seed", "status", "wall_seconds"]].contains { columns in
                data.starts(with: Data((columns.joined(separator: ",") + ",").utf8))
                    || data == Data((columns.joined(separator: ",") + "\n").utf8)
            }
        }
        let rows = try SweepExport.write(db, to: path)
        print("wrote \(rows) runs to \(path)")
    }
}
