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

    @Test func badInputIsAnInputErrorNotACrash() {
        #expect(throws: Error.self) { try SimulationPlan(scenarioPath: "/nonexistent/scenario.json") }
    }
}
