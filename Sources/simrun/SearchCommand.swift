import ArgumentParser
import Experiments
import Foundation
import HardwareModels
import SimCore
import Workloads

/// `simrun search`: which layout of a model on a GPU budget serves the most requests per second
/// within the SLOs: every colocated layout (TP × PP, as many replicas as fit) and every
/// disaggregated one (prefill and decode groups, each with its own TP and count, within the
/// budget), each measured by its goodput (`simrun goodput`) and ranked per GPU, or by cost per
/// unit of goodput when the spec prices the GPUs.
struct Search: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Search layouts (colocated TP × PP × replicas, disaggregated prefill/decode) for the best goodput per GPU or per dollar.",
        discussion: """
            The spec names a base scenario (model and engine from its first instance group, workload, SLOs, \
            scheduler), the GPU types with how many of each may be used and optionally their price per GPU-hour, \
            and which TP and PP degrees and layouts to try. Every candidate is a complete scenario whose goodput \
            is found as `simrun goodput` finds it. The whole space within the budget is searched (DistServe's \
            Algorithms 1 and 2 prune the same space for large clusters). Candidates whose model does not fit \
            are recorded as skipped. The folder --out receives search.csv (every candidate) and the winners as \
            scenarios to run: best.json, best-colocated.json, best-disaggregated.json.
            """)

    @Argument(help: "The search spec JSON file.") var spec: String
    @Option(help: "Results folder (default results/search-<spec name>): new, empty, or one simrun wrote.") var out: String?

    func run() throws {
        let s = try SearchSpec(path: spec)
        let folder = try ResultsFolder(out ?? "results/search-\(s.name)")
        do {
            var results: [SearchSpec.Evaluated] = []
            for c in s.candidates {
                let r = s.evaluate(c)
                results.append(r)
                FileHandle.standardError.write(Data("  \(r.line)\n".utf8))
            }
            if let target = s.targetRate {
                for g in s.gpus {
                    let r = s.algorithm1(on: g, targetRate: target)
                    results.append(r)
                    FileHandle.standardError.write(Data("  \(r.line)\n".utf8))
                }
            }
            let ranked = s.rank(results)
            print(SearchSpec.table(ranked, priced: s.priced))
            try SearchSpec.writeCSV(ranked, to: folder.path("search.csv"))
            let ok = ranked.filter { $0.goodput != nil }
            for (file, pick) in [("best.json", ok.first), ("best-colocated.json", ok.first { !$0.candidate.disaggregated }),
                                 ("best-disaggregated.json", ok.first { $0.candidate.disaggregated })] {
                if let pick {
                    let tree = ScenarioLoader.rebased(try s.scenario(for: pick), from: s.scenarioPath, to: folder.target)
                    try Data((tree.prettyText + "\n").utf8).write(to: URL(fileURLWithPath: folder.path(file)))
                }
            }
            try folder.commit()
            if let best = ok.first { print("best: \(best.candidate.description) on \(best.candidate.gpu); scenarios in \(folder.shown)") }
        } catch {
            folder.abandon()
            throw error
        }
    }
}
