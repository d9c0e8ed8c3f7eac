import ArgumentParser
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
    @Flag(help: "Calibrate this machine's CPU with real kernels.") var host = false
    @Flag(help: "With --host: a reduced set of small shapes (seconds).") var quick = false
    @Option(help: "With --host: BLAS threads.") var threads = ProcessInfo.processInfo.activeProcessorCount

    func run() throws {
        guard (1...1024).contains(threads) else {
            throw InputError(file: "simrun calibrate", location: "--threads \(threads)", "expected a whole number from 1 to 1024")
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
        try OutputFile.write(try set.encoded(), to: path)
        print("wrote \(path)\nrebuild for the simulator to use it")
    }
}

enum CalibrationReport {
    static func render(_ set: DeviceProfileSet) -> String {
        func pct(_ x: Double) -> String { String(format: "%5.1f%%", x * 100) }
        var lines = ["held-out error (|predicted/measured − 1|)   rows   median    p90"]
        for p in set.profiles {
            lines.append("\(p.accelerator)  (fitted on \(p.fittedSamples) GEMM samples)")
            for (op, e) in p.gemmHeldOutError.sorted(by: { $0.key < $1.key }) {
                lines.append("  gemm \(op.padding(toLength: 36, withPad: " ", startingAt: 0))\(String(format: "%6d", e.count))  \(pct(e.medianAPE))  \(pct(e.p90APE))")
            }
            if let e = p.allReduceHeldOutError {
                lines.append("  all_reduce\(String(repeating: " ", count: 32))\(String(format: "%6d", e.count))  \(pct(e.medianAPE))  \(pct(e.p90APE))")
            }
            func line(_ label: String, _ e: ErrorSummary) {
                lines.append("  \(label.padding(toLength: 41, withPad: " ", startingAt: 0))\(String(format: "%6d", e.count))  \(pct(e.medianAPE))  \(pct(e.p90APE))")
            }
            if let a = p.attention {
                lines.append("  own measurements (\(a.source)):")
                line("  attention prefill (fitted, held out)", a.prefillHeldOutError)
                line("  attention decode (fitted, held out)", a.decodeHeldOutError)
                line("  gemm, Vidur-fitted model (not fitted)", a.gemmCheck)
            }
            if let check = p.layerCheck {
                lines.append("  against LLMServingSim's per-layer H100 timings (none fitted):")
                for (op, e) in check.gemmError.sorted(by: { $0.key < $1.key }) { line("  gemm \(op)", e) }
                if let a = check.attentionError { line("  attention prefill", a) }
            }
            let g = p.gemm
            lines.append(String(format: "  achieved: %.0f TFLOP/s, %.0f GB/s, launch %.1f µs",
                                1 / g.computePerFlop / 1e12, 1 / g.memoryPerByte / 1e9, g.launch * 1e6))
        }
        if !set.endToEnd.isEmpty {
            lines.append("end to end (Splitwise perf_model.csv, Llama-2-70B; step overhead fitted on 4 runs in 5)")
            for r in set.endToEnd {
                lines.append("  \(r.accelerator): step overhead \(String(format: "%.1f", r.stepOverhead * 1000)) ms; held out: "
                             + "prompt \(pct(r.promptHeldOutError.medianAPE)) median, \(pct(r.promptHeldOutError.p90APE)) p90; "
                             + "per token \(pct(r.tokenHeldOutError.medianAPE)) median, \(pct(r.tokenHeldOutError.p90APE)) p90")
            }
            let distServe = EfficiencyFactors().stepOverhead * 1000
            lines.append("  note: these overheads differ from the \(String(format: "%.1f", distServe)) ms that DistServe's A100 fit "
                         + "implies (the default); set instances[].step_overhead_ms to model a given serving stack")
        }
        let fitted = Set(set.profiles.map(\.accelerator))
        let fallback = AcceleratorCatalog.all.map(\.name).filter { !fitted.contains($0) }
        lines.append("datasheet roofline (no measurements): " + fallback.joined(separator: ", "))
        return lines.joined(separator: "\n")
    }
}
