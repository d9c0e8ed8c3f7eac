import ArgumentParser
import Foundation
import SimCore

struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Merge shard databases of one sweep into one database.")

    @Argument(help: "The merged database to write.") var out: String
    @Argument(help: "The shard databases.") var shards: [String]

    func run() throws {
        try exitOnInputError {
            for s in shards where !FileManager.default.fileExists(atPath: s) { throw InputError(file: s, "no such shard database") }
        }
        let db = try SQLiteDatabase(path: out)
        try SweepRunner.createTables(db)
        for (i, shard) in shards.enumerated() {
            try db.execute("ATTACH DATABASE '\(shard.replacingOccurrences(of: "'", with: "''"))' AS shard\(i)")
            try db.transaction {
                try db.execute("INSERT OR REPLACE INTO runs SELECT * FROM shard\(i).runs")
                try db.execute("DELETE FROM metrics WHERE point_id IN (SELECT point_id FROM shard\(i).runs)")
                try db.execute("INSERT INTO metrics SELECT * FROM shard\(i).metrics")
                try db.execute("DELETE FROM requests WHERE point_id IN (SELECT point_id FROM shard\(i).runs)")
                try db.execute("INSERT INTO requests SELECT * FROM shard\(i).requests")
            }
            try db.execute("DETACH DATABASE shard\(i)")
        }
        print("merged \(shards.count) shards into \(out)")
    }
}
