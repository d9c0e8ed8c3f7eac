import ArgumentParser
import Foundation
import HardwareModels
import SimCore

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a real small decoder forward pass on this CPU and compare it with the simulator's prediction.")

    @Flag(help: "Validate against this machine's CPU (the only target so far).") var host = false
    @Option(help: "The host device profile from `simrun calibrate --host`.") var device = "results/host-device.json"
    @Flag(help: "A reduced set of small shapes (seconds).") var quick = false

    func run() throws {
        guard host else { throw ValidationError("only --host validation exists so far") }
        let profile = try { () throws -> HostDevice in
            guard FileSystem.kind(of: device) == .file, let data = FileManager.default.contents(atPath: device) else {
                throw InputError(file: device, "cannot read the host device profile; run `simrun calibrate --host` first")
            }
            do { return try JSONDecoder().decode(HostDevice.self, from: data) } catch {
                throw InputError(file: device, "not a host device profile written by `simrun calibrate --host`")
            }
        }()
        let rows = try HostCalibration.validate(profile, quick: quick)
        print(HostReport.render(rows))
    }
}

enum HostReport {
    static func encode(_ device: HostDevice) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(device) + Data("\n".utf8)
    }

    static func render(_ d: HostDevice) -> String {
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

    static func render(_ rows: [HostCalibration.Validation]) -> String {
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
