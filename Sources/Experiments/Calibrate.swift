import Foundation
import HardwareModels
import SimCore

public enum CalibrationReport {
    public static func render(_ set: DeviceProfileSet) -> String {
        func pct(_ x: Double) -> String { String(format: "%5.1f%%", x * 100) }
        var lines = ["held-out error (|predicted/measured − 1|)   rows   median    p90"]
        for p in set.profiles {
            if let from = p.transferredFrom {
                lines.append("\(p.accelerator)  (\(from)'s profile, memory-bound terms scaled by the bandwidth ratio; "
                             + "nothing measured on it)")
                continue
            }
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
            if let c = p.collectives, !c.isEmpty {
                lines.append("  all-reduce inside the engines (AIConfigurator, calibration/aiconfigurator/allreduce.csv):")
                for (name, fit) in c.sorted(by: { $0.key < $1.key }) { line("  \(name)", fit.heldOutError) }
            }
            if let k = p.engineKernels {
                lines.append("  measured inside vLLM 0.14 (AIConfigurator, \(k.source)):")
                for (dtype, e) in k.gemmHeldOutError.sorted(by: { $0.key < $1.key }) { line("  gemm \(dtype)", e) }
                line("  attention prefill", k.prefillHeldOutError)
                line("  attention decode", k.decodeHeldOutError)
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
            let distServe = EngineCatalog.distServe2023.hostFixed * 1000
            lines.append("  note: these overheads differ from the \(String(format: "%.1f", distServe)) ms that DistServe's A100 fit "
                         + "implies (engine distserve-2023); engine profiles model other stacks")
        }
        let fitted = Set(set.profiles.map(\.accelerator))
        let fallback = AcceleratorCatalog.all.map(\.name).filter { !fitted.contains($0) }
        lines.append("datasheet roofline (no measurements): " + fallback.joined(separator: ", "))
        return lines.joined(separator: "\n")
    }
}
