import ArgumentParser
import Experiments
import Foundation
import HardwareModels
import SimCore

struct Calibrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fit the cost model to measured kernel timings and write the device profiles.",
        discussion: """
            Reads Vidur's GEMM (mlp.csv) and all-reduce profiles, fits each GPU's timing models on four rows in \
            five, reports the error on the fifth, and writes the fitted parameters. GPUs without measurements \
            keep their datasheet roofline. With --host, runs real GEMM, attention and copy kernels on this \
            machine's CPU instead and writes a device profile for it (see `simrun validate --host`).
            """)

    @Option(help: "The measured profiles folder (laid out as shared/data/profiles).")
    var profiles = "../shared/data/profiles"
    @Option(help: "This project's own GPU timings (from tools/gpu_kernels.py).")
    var measurements = "calibration"
    @Option(help: "Where to write (default: the bundled GPU profiles, or results/host-device.json with --host).")
    var out: String?
    @Option(help: "Measured serving runs to simulate and compare: AIConfigurator's silicon_sample.csv layout; or a folder with a deployment.json and LMBench per-request CSVs or `vllm bench serve --save-result` JSON files (or one such JSON file).")
    var runs: String?
    @Flag(help: "With --runs: fit each engine's host time, report it on configurations held out, and write the fitted profiles into --out (a folder).")
    var fit = false
    @Flag(help: "Calibrate this machine's CPU with real kernels.") var host = false
    @Flag(help: "With --host: a reduced set of small shapes (seconds).") var quick = false
    @Option(help: "With --host: BLAS threads.") var threads = ProcessInfo.processInfo.activeProcessorCount

    func run() throws {
        guard (1...1024).contains(threads) else {
            throw InputError(file: "simrun calibrate", location: "--threads \(threads)", "expected a whole number from 1 to 1024")
        }
        if let runs {
            let isFolder = FileSystem.kind(of: runs) == .directory
            let (measured, skipped) = runs.hasSuffix(".json") || (isFolder && VLLMBenchRuns.holdsResults(runs))
                ? (try VLLMBenchRuns.read(runs), [:])
                : isFolder ? (try LMBenchRuns.read(folder: runs), [:]) : try AIConfiguratorRuns.read(runs)
            for (reason, n) in skipped.sorted(by: { $0.key < $1.key }) { print("skipped \(n) runs: \(reason)") }
            let before = try RunsCheck.simulate(measured) { _ in [.init("engine", .string("distserve-2023"))] }
            print(RunsCheck.report(before, title: "before engine profiles (every run as distserve-2023):"))
            let profiles = try RunsCheck.simulate(measured) { HostTimeFit.overrides($0, nil) }
            print(RunsCheck.report(profiles, title: "engine profiles as shipped:"))
            guard fit else { return }
            let folder = out ?? "results/engines"
            let (held, folds) = try HostTimeFit.heldOut(measured)
            print(RunsCheck.report(held, title: "engine profiles, host time fitted on the engine's other deployments (leave one engine × GPU × model out):"))
            for (c, p) in folds.sorted(by: { $0.key < $1.key }) {
                print(String(format: "  fold without %@: host %.2f ms + %.0f µs per sequence", c, p.fixedMs, p.perSequenceUs))
            }
            for backend in Set(measured.map(\.backend)).sorted() {
                guard let name = HostTimeFit.engines[backend], var profile = EngineCatalog.named(name) else { continue }
                let p = try HostTimeFit.fit(measured.filter { $0.backend == backend })
                print(String(format: "%@ (%@): host %.2f ms + %.0f µs per sequence, fitted on all its runs", name, backend,
                             p.fixedMs, p.perSequenceUs))
                profile.hostFixed = p.fixedMs / 1e3
                profile.hostPerSequence = p.perSequenceUs / 1e6
                let path = folder + "/\(name).json"
                try OutputFile.check(path, option: "--out", inputs: [runs], kind: "engine profile") { data in
                    (try? JSONValue.parse([UInt8](data))).flatMap { try? EngineProfile(json: $0, file: path) } != nil
                }
                try OutputFile.write(Data((profile.json.prettyText + "\n").utf8), to: path)
                print("wrote \(path)")
            }
            return
        }
        if host {
            let path = out ?? "results/host-device.json"
            try OutputFile.check(path, option: "--out", inputs: [], kind: "host device profile") {
                (try? JSONDecoder().decode(HostDevice.self, from: $0)) != nil
            }
            let device = try HostCalibration.run(quick: quick, threads: threads)
            print(HostReport.render(device))
            try OutputFile.write(try HostReport.encode(device), to: path)
            print("wrote \(path)")
            return
        }
        let path = out ?? "Sources/HardwareModels/Resources/device-profiles.json"
        try OutputFile.check(path, option: "--out", inputs: [], kind: "device profile set") {
            (try? JSONDecoder().decode(DeviceProfileSet.self, from: $0)) != nil
        }
        let set = try Calibration.fit(profilesFolder: profiles, ownMeasurements: measurements)
        print(CalibrationReport.render(set))
        let sarathi = measurements + "/sarathi-serve/prefill.csv"
        if FileSystem.kind(of: sarathi) == .file {
            let rows = try SarathiCheck.prefill(path: sarathi)
            let e = ErrorSummary(predicted: rows.map(\.predicted), measured: rows.map(\.measured))
            print(String(format: "Sarathi-Serve prefill batches (Yi-34B TP2, A100 PCIe; engine vllm-v0, never fitted): "
                         + "median %.1f%%, p90 %.1f%% over %d batches", e.medianAPE * 100, e.p90APE * 100, e.count))
            for r in rows {
                print(String(format: "  %6d tokens: measured %7.1f ms, predicted %7.1f ms (%+.0f%%)", r.tokens, r.measured * 1e3,
                             r.predicted * 1e3, (r.predicted / r.measured - 1) * 100))
            }
        }
        try OutputFile.write(try set.encoded(), to: path)
        print("wrote \(path)\nrebuild for the simulator to use it")
    }
}
