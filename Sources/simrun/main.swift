import ArgumentParser
import Foundation
import SimCore

struct SimRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simrun",
        abstract: "A deterministic discrete-event simulator of LLM-serving clusters.",
        subcommands: [Run.self, Sweep.self, Export.self, Merge.self, Plot.self, Bench.self, Calibrate.self, Validate.self, Schema.self],
        defaultSubcommand: Run.self)
}

/// Prints an input error as one line and exits with status 2.
func exitOnInputError<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as InputError {
        FileHandle.standardError.write(Data("error: \(e.description)\n".utf8))
        throw ExitCode(2)
    }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a scenario and write summary.json, requests.csv and timeseries.csv.")

    @Argument(help: "The scenario JSON file.") var scenario: String
    @Option(help: "Output folder (default: results/<scenario name>).") var out: String?
    @Option(help: "Seed for every random stream, overriding the scenario's.") var seed: UInt64?
    @Option(name: .customLong("set"), help: "Override a scenario field: path=value (repeatable), e.g. scheduler.policy=past_future.")
    var overrides: [String] = []

    func run() throws {
        let progress = isatty(STDERR_FILENO) == 1
        let (plan, outcome) = try exitOnInputError {
            try Runner.run(scenarioPath: scenario, seed: seed, overrides: overrides, showProgress: progress)
        }
        let problems = plan.checkInvariants ? outcome.cluster.conservationProblems() : []
        guard problems.isEmpty else {
            FileHandle.standardError.write(Data(("invariant violations:\n" + problems.prefix(20).joined(separator: "\n") + "\n").utf8))
            throw ExitCode(1)
        }
        let dir = out ?? "results/\(plan.name)"
        try ResultWriter.write(outcome.summary, cluster: outcome.cluster, plan: plan, to: dir)
        print(SummaryTable.render(outcome, outputDir: dir))
    }
}

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure simulator speed on a scenario (writes no results).")

    @Argument(help: "The scenario JSON file.") var scenario = "scenarios/stress-1m.json"
    @Option(help: "Runs to make; the best is reported.") var repeats = 1

    func run() throws {
        var best: Runner.Outcome?
        for i in 0..<max(1, repeats) {
            let (_, o) = try exitOnInputError { try Runner.run(scenarioPath: scenario) }
            print("run \(i + 1): \(String(format: "%.2f", o.wallSeconds)) s wall")
            if best == nil || o.wallSeconds < best!.wallSeconds { best = o }
        }
        let o = best!
        let line = String(format: "bench %@: %d requests, %d events in %.2f s wall: %.2f M events/s, %.0f simulated requests/s, peak memory %.0f MiB",
                          o.summary.scenario, o.summary.requests_arrived, o.summary.events, o.wallSeconds,
                          o.eventsPerSecond / 1e6, o.requestsPerSecond, Double(Runner.peakMemoryBytes) / 1_048_576)
        print(line)
    }
}

struct Schema: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print every scenario field as a Markdown table.")
    func run() { print(ScenarioSchema.markdownTable, terminator: "") }
}

SimRun.main()
