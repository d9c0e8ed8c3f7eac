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
            keep their datasheet roofline.
            """)

    @Option(help: "The measured profiles folder (laid out as shared/data/profiles).")
    var profiles = "../shared/data/profiles"
    @Option(help: "Where to write the fitted profiles.")
    var out = "Sources/HardwareModels/Resources/device-profiles.json"

    func run() throws {
        let set = try exitOnInputError { try Calibration.fit(profilesFolder: profiles) }
        print(CalibrationReport.render(set))
        let data = try set.encoded()
        let tmp = out + ".tmp"
        try data.write(to: URL(fileURLWithPath: tmp))
        guard rename(tmp, out) == 0 else { throw InputError(file: out, "cannot write the fitted profiles") }
        print("wrote \(out); rebuild for the simulator to use it")
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
