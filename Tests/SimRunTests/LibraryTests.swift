import Experiments
import Foundation
import Testing

/// The Experiments library drives a simulation in-process, through its public
/// API only (this file does not import it @testable): what a program or a
/// language binding sees.
@Suite("Experiments as a library")
struct LibraryTests {
    @Test func aRunInProcessMatchesTheCommandLineByteForByte() throws {
        let dir = tempDir()
        let scenario = try writeScenario(smallScenario, in: dir)
        let plan = try SimulationPlan(scenarioPath: scenario, overrides: ["workload.num_requests=120"])
        let outcome = try Runner.run(plan)
        #expect(outcome.summary.requests_arrived == 120)
        #expect(outcome.summary.requests_completed + outcome.summary.requests_dropped
                + outcome.summary.requests_unfinished == 120)
        #expect((outcome.summary.ttft.p99_ms ?? 0) > 0)

        let folder = try ResultsFolder(dir.appendingPathComponent("lib").path)
        try ResultWriter.write(outcome.summary, cluster: outcome.cluster, plan: plan, to: folder)
        let cli = try runSimrun([scenario, "--set", "workload.num_requests=120", "--out", dir.appendingPathComponent("cli").path],
                                cwd: dir)
        #expect(cli.status == 0, "\(cli.stderr)")
        for file in ["summary.json", "requests.csv", "timeseries.csv"] {
            let a = try Data(contentsOf: dir.appendingPathComponent("lib/\(file)"))
            let b = try Data(contentsOf: dir.appendingPathComponent("cli/\(file)"))
            #expect(a == b, "\(file) differs between the library and the command line")
        }
    }

    /// A run that streams its requests out keeps no record of them and summarises them the same; its
    /// requests.csv, written as requests end in any order, is the file written from kept records.
    @Test func aStreamedRunKeepsNoRecordsAndWritesTheSameFiles() throws {
        let dir = tempDir()
        // (Checking invariants needs the records, and keeps them.)
        let plan = try SimulationPlan(scenarioPath: try writeScenario(smallScenario, in: dir), overrides: ["run.check_invariants=false"])
        let kept = try Runner.run(plan)
        let streamedPath = dir.appendingPathComponent("streamed.csv").path
        let streamed = try Runner.run(plan, requests: try RequestsCSV(path: streamedPath, slos: plan.slos), keepRecords: false)
        #expect(streamed.cluster.metrics.records.isEmpty && kept.cluster.metrics.records.count == 300)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        #expect(try encoder.encode(streamed.summary) == encoder.encode(kept.summary))
        // The same records in a scrambled order give the same file.
        let scrambledPath = dir.appendingPathComponent("scrambled.csv").path
        let scrambled = try RequestsCSV(path: scrambledPath, slos: plan.slos)
        let records = kept.cluster.metrics.records
        scrambled.add(records.indices.map { records[($0 * 7919) % records.count] })
        try scrambled.close()
        let a = try Data(contentsOf: URL(fileURLWithPath: streamedPath)), b = try Data(contentsOf: URL(fileURLWithPath: scrambledPath))
        #expect(a == b && String(decoding: a, as: UTF8.self).split(separator: "\n").count == 301)
    }

    /// requests.csv goes to its writing thread a few thousand rows at a time: over several such
    /// batches its rows still come in id order, one per request, as from kept records.
    @Test func aLongStreamedFileKeepsIdOrderAcrossBatches() throws {
        let dir = tempDir()
        let plan = try SimulationPlan(scenarioPath: try writeScenario(smallScenario, in: dir),
                                      overrides: ["run.check_invariants=false", "workload.num_requests=10000"])
        let path = dir.appendingPathComponent("requests.csv").path
        _ = try Runner.run(plan, requests: try RequestsCSV(path: path, slos: plan.slos), keepRecords: false)
        let rows = String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self).split(separator: "\n").dropFirst()
        let ids = rows.map { Int($0.prefix { $0 != "," }) ?? -1 }
        let inIdOrder = ids == Array(0..<10_000)
        #expect(inIdOrder, "first id out of place: \(ids.indices.first { ids[$0] != $0 } ?? -1)")
    }

    /// requests.csv takes records in any order: ten thousand in reverse (each waits for all below
    /// it, far more than it first has room for), with ids missing (written at the close, in
    /// order), give the file written from them in id order.
    @Test func requestsTakenInReverseWithIdsMissingAreWrittenInIdOrder() throws {
        let dir = tempDir()
        let plan = try SimulationPlan(scenarioPath: try writeScenario(smallScenario, in: dir),
                                      overrides: ["run.check_invariants=false", "workload.num_requests=10000"])
        let records = try Runner.run(plan).cluster.metrics.records.sorted { $0.id < $1.id }.filter { $0.id % 97 != 5 }
        let inOrderPath = dir.appendingPathComponent("in-order.csv").path, reversedPath = dir.appendingPathComponent("reversed.csv").path
        let inOrder = try RequestsCSV(path: inOrderPath, slos: plan.slos)
        inOrder.add(records)
        try inOrder.close()
        let reversed = try RequestsCSV(path: reversedPath, slos: plan.slos)
        for batch in stride(from: records.count, to: 0, by: -3000) { reversed.add(Array(records[max(batch - 3000, 0)..<batch].reversed())) }
        try reversed.close()
        let a = try Data(contentsOf: URL(fileURLWithPath: inOrderPath)), b = try Data(contentsOf: URL(fileURLWithPath: reversedPath))
        #expect(records.count > 9_800 && a == b)
        #expect(String(decoding: a, as: UTF8.self).split(separator: "\n").count == records.count + 1)
    }

    @Test func badInputIsAnInputErrorNotACrash() {
        #expect(throws: Error.self) { try SimulationPlan(scenarioPath: "/nonexistent/scenario.json") }
    }
}
