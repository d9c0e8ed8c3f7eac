import ArgumentParser
import Experiments
import Foundation

struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Merge shard databases of one sweep into one database.")

    @Argument(help: "The merged database: new, or a database of the same sweep to add to.") var out: String
    @Argument(help: "The shard databases.") var shards: [String]

    func run() throws {
        try SweepMerge.merge(shards, into: out)
        print("merged \(shards.count) shards into \(out)")
    }
}
