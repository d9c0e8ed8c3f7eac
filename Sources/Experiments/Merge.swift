import Foundation
import SimCore

/// Merges shard databases of one sweep into one database, new or holding the same sweep.
/// Everything is checked before the output is created or changed.
public enum SweepMerge {
    public static func merge(_ shards: [String], into out: String) throws {
        guard !shards.isEmpty else { throw InputError(file: out, "no shard databases to merge") }
        var inputs: [(SweepDatabase, SweepDatabase.Identity)] = []
        for s in shards {
            if FileSystem.sameFile(s, out) { throw InputError(file: s, "is also the output; merge into a new database") }
            let (db, identity) = try SweepDatabase.openForReading(s)
            if let first = inputs.first?.1, identity != first {
                throw InputError(file: s, "holds sweep \(identity.shown), not \(first.shown) like \(shards[0]); only shards of one sweep merge")
            }
            inputs.append((db, identity))
        }
        let identity = inputs[0].1
        if let existing = try SweepDatabase.inspect(out, option: ""), existing != identity {
            throw InputError(file: out, "holds sweep \(existing.shown), not \(identity.shown); merge into a new database")
        }
        // A point that two databases both hold must be the same run (same content key).
        var owner: [Int: (sha: String, from: String, parameters: String)] = [:]
        let outExists = FileSystem.kind(of: out) == .file
        if outExists {
            for r in try SweepDatabase.openForReading(out).0.storedRuns() { owner[r.pointID] = (r.scenarioSHA, out, r.parameters) }
        }
        for (i, (db, _)) in inputs.enumerated() {
            for r in try db.storedRuns() {
                if let o = owner[r.pointID], o.sha != r.scenarioSHA {
                    throw InputError(file: shards[i], location: "point \(r.pointID)",
                                     "differs from the same point in \(o.from) (parameters \(r.parameters) vs \(o.parameters), "
                                     + "or another scenario, input or simrun version); refusing to merge")
                }
                owner[r.pointID] = (r.scenarioSHA, shards[i], r.parameters)
            }
        }
        let target = outExists ? try SweepDatabase.openToAdd(out)
            : try SweepDatabase.create(out, like: inputs[0].0)
        for (i, shard) in shards.enumerated() {
            try target.db.execute("ATTACH DATABASE '\(shard.replacingOccurrences(of: "'", with: "''"))' AS shard\(i)")
            // A successful run is never replaced by a failed attempt at the same content.
            let incoming = "SELECT point_id FROM shard\(i).runs s WHERE s.status = 'ok' OR NOT EXISTS "
                + "(SELECT 1 FROM runs r WHERE r.point_id = s.point_id AND r.status = 'ok')"
            try target.db.transaction {
                try target.db.execute("CREATE TEMP TABLE incoming AS \(incoming)")
                // Databases from before per-run provenance have no such table.
                let hasProvenance = try !target.db.query("SELECT 1 FROM shard\(i).sqlite_master WHERE name = 'provenance'").isEmpty
                for table in ["metrics", "requests"] + (hasProvenance ? ["provenance"] : []) {
                    try target.db.execute("DELETE FROM \(table) WHERE point_id IN (SELECT point_id FROM incoming)")
                    try target.db.execute("INSERT INTO \(table) SELECT * FROM shard\(i).\(table) WHERE point_id IN (SELECT point_id FROM incoming)")
                }
                try target.db.execute("INSERT OR REPLACE INTO runs SELECT * FROM shard\(i).runs WHERE point_id IN (SELECT point_id FROM incoming)")
                try target.db.execute("DROP TABLE incoming")
            }
            try target.db.execute("DETACH DATABASE shard\(i)")
        }
    }
}
