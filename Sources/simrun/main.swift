import ArgumentParser
import Experiments
import Foundation
import HardwareModels
import SimCore

struct SimRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simrun",
        abstract: "A deterministic discrete-event simulator of LLM-serving clusters.",
        version: SimRunVersion.current,
        subcommands: [Run.self, Sweep.self, Goodput.self, Search.self, MigrationBench.self, Export.self, Merge.self, Plot.self, Bench.self, Calibrate.self, Validate.self, Schema.self],
        defaultSubcommand: Run.self)
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a scenario and write summary.json, requests.csv and timeseries.csv.")

    @Argument(help: "The scenario JSON file.") var scenario: String
    @Option(help: "Output folder (default: results/<scenario name>): a new or empty folder, or one simrun wrote.")
    var out: String?
    @Option(help: "Seed for every random stream, overriding the scenario's.") var seed: UInt64?
    @Option(name: .customLong("set"), help: "Override a scenario field: path=value (repeatable), e.g. scheduler.policy=past_future.")
    var overrides: [String] = []
    @Flag(help: "Also write iterations.csv: one row per forward pass (batch, tokens, duration and its parts, KV, MFU, MBU).")
    var iterations = false
    @Option(help: "With --iterations or --trace, keep every K-th forward pass of each instance (a sample for long runs).")
    var iterationsEvery = 1
    @Flag(help: "Leave out requests.csv (a million requests make about 150 MB).") var noRequestsCsv = false
    @Option(help: "Also write a Chrome/Perfetto trace (JSON, opens in ui.perfetto.dev): passes per instance, queue and KV counters, transfers, start-ups and rescales.")
    var trace: String?
    @Flag(help: "Update every request at every step, instead of running the steps nothing can change from aggregates (the outputs are the same; for checking that).")
    var noCoalescing = false

    func run() throws {
        let progress = isatty(STDERR_FILENO) == 1
        // The scenario and the output folder are checked before anything is simulated.
        guard (1...1_000_000_000).contains(iterationsEvery) else {
            throw InputError(file: scenario, location: "--iterations-every \(iterationsEvery)", "expected a whole number from 1 to 1000000000")
        }
        let plan = try SimulationPlan(scenarioPath: scenario, seed: seed, overrides: overrides)
        let folder = try ResultsFolder(out ?? "results/\(plan.name)")
        if let trace {
            try OutputFile.check(trace, option: "--trace", inputs: [scenario] + plan.inputFiles, kind: "trace") {
                $0.starts(with: Data(PerfettoTrace.opening.utf8))
            }
        }
        do {
            // Each request's row is written as it ends; the run keeps no record of it.
            let requests = noRequestsCsv ? nil : try RequestsCSV(path: folder.path("requests.csv"), slos: plan.slos)
            let outcome = try Runner.run(plan, showProgress: progress,
                                         iterationsEvery: iterations || trace != nil ? iterationsEvery : nil,
                                         requests: requests, keepRecords: false, coalesceDecodes: !noCoalescing)
            let problems = plan.checkInvariants ? outcome.cluster.conservationProblems() : []
            guard problems.isEmpty else {
                throw RunError(path: scenario, message: "invariant violations: " + problems.prefix(20).joined(separator: "; "))
            }
            if progress { FileHandle.standardError.write(Data("  writing results to \(folder.shown)\r".utf8)) }
            try ResultWriter.write(outcome.summary, cluster: outcome.cluster, plan: plan, to: folder, iterations: iterations,
                                   requests: false)
            if progress { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
            if let trace { try PerfettoTrace.write(outcome.cluster, to: trace) }
            print(SummaryTable.render(outcome, outputDir: folder.shown))
        } catch let e as CSVWriterError {
            // requests.csv, written during the run, failed.
            folder.abandon()
            throw RunError(path: folder.shown, message: "\((e.path as NSString).lastPathComponent): \(e.reason)")
        } catch {
            folder.abandon()
            throw error
        }
    }
}

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure simulator speed on a scenario (writes no results).")

    @Argument(help: "The scenario JSON file.") var scenario = "scenarios/stress-1m.json"
    @Option(help: "Runs to make; the best is reported.") var repeats = 1
    @Flag(help: "Update every request at every step (to measure what coalescing the steps nothing can change saves).")
    var noCoalescing = false

    func run() throws {
        let plan = try SimulationPlan(scenarioPath: scenario)
        var best: Runner.Outcome?
        for i in 0..<max(1, repeats) {
            let o = try Runner.run(plan, keepRecords: false, coalesceDecodes: !noCoalescing)
            print("run \(i + 1): \(String(format: "%.2f", o.wallSeconds)) s wall")
            if best == nil || o.wallSeconds < best!.wallSeconds { best = o }
        }
        let o = best!
        let line = String(format: "bench %@: %d requests, %d events in %.2f s wall (%.2f s CPU): %.2f M events/s, "
                          + "%.0f simulated requests/s, %.2f M request-steps/s, peak memory %.0f MiB; %.0f%% of %d steps coalesced "
                          + "(%.0f%% fully: a decode stretch alone); on %@",
                          o.summary.scenario, o.summary.requests_arrived, o.summary.events, o.wallSeconds, o.cpuSeconds,
                          o.eventsPerSecond / 1e6, o.requestsPerSecond, o.requestStepsPerSecond / 1e6,
                          Double(Runner.peakMemoryBytes) / 1_048_576, 100 * o.coalescedShare, o.iterations,
                          100 * o.fullyCoalescedShare, HostMachine.current.description)
        print(line)
    }
}

struct Schema: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print every scenario field as a Markdown table, or as a JSON Schema for editors (--json).")
    @Flag(help: "Print the JSON Schema (draft 2020-12) instead; scenarios/scenario.schema.json is this output.") var json = false
    func run() { print(json ? ScenarioSchema.jsonSchema.prettyText : ScenarioSchema.markdownTable, terminator: json ? "\n" : "") }
}

/// Runs the command line. Every failure ends in one line on stderr: misuse of
/// the command line and bad input exit with status 2, a failed write with 1.
func runCommandLine() -> Never {
    func fail(_ message: Substring, status: Int32) -> Never {
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
        exit(status)
    }
    do {
        var command = try SimRun.parseAsRoot()
        try command.run()
        SimRun.exit()
    } catch let e as InputError {
        fail(e.description.split(separator: "\n").first ?? "", status: 2)
    } catch let e as RunError {
        fail(e.description.split(separator: "\n").first ?? "", status: 1)
    } catch let e as SQLiteError {
        fail(e.description.split(separator: "\n").first ?? "", status: 1)
    } catch {
        let code = SimRun.exitCode(for: error)
        if code == .success || error is ExitCode { SimRun.exit(withError: error) }
        if code == .validationFailure {
            let message = SimRun.message(for: error).split(separator: "\n").first ?? "invalid command line"
            fail("\(message) (see simrun --help)", status: 2)
        }
        fail(Substring(FileSystem.describe(error).split(separator: "\n").first ?? ""), status: 1)
    }
}

runCommandLine()
