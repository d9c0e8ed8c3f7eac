import Foundation
import HardwareModels
import SimCore

public enum HostReport {
    public static func encode(_ device: HostDevice) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(device) + Data("\n".utf8)
    }

    public static func render(_ d: HostDevice) -> String {
        let g = d.profile.gemm
        var lines = ["\(d.cpu), OpenBLAS \(d.blasCore), \(d.threads) threads",
                     String(format: "  sgemm peak %.1f GFLOP/s, copy bandwidth %.1f GB/s", d.accelerator.fp16Flops / 1e9,
                            d.accelerator.memoryBandwidth / 1e9),
                     String(format: "  GEMM fit: %.1f GFLOP/s achieved, %.1f GB/s, launch %.1f µs (%d samples)",
                            1 / g.computePerFlop / 1e9, 1 / g.memoryPerByte / 1e9, g.launch * 1e6, d.profile.fittedSamples),
                     String(format: "  attention: %.0f%% of peak (prefill), %.0f%% of copy bandwidth (decode); "
                            + "elementwise: %.0f%% of copy bandwidth",
                            d.efficiency.attentionCompute * 100, d.efficiency.memoryBandwidth * 100,
                            d.efficiency.elementwise * 100)]
        if let e = d.profile.gemmHeldOutError["all"] {
            lines.append(String(format: "  GEMM held-out error: median %.1f%%, p90 %.1f%% (%d samples)",
                                e.medianAPE * 100, e.p90APE * 100, e.count))
        }
        return lines.joined(separator: "\n")
    }

    public static func render(_ rows: [HostCalibration.Validation]) -> String {
        var lines = ["batch  new tokens  cached   measured ms  predicted ms   error"]
        for r in rows {
            lines.append(String(format: "%5d  %10d  %6d  %12.3f  %12.3f  %+6.1f%%", r.batch, r.tokens, r.cached,
                                r.measured * 1000, r.predicted * 1000, r.error * 100))
        }
        let e = ErrorSummary(predicted: rows.map(\.predicted), measured: rows.map(\.measured))
        lines.append(String(format: "median |error| %.1f%%, p90 %.1f%%", e.medianAPE * 100, e.p90APE * 100))
        return lines.joined(separator: "\n")
    }
}
