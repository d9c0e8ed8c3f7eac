import ArgumentParser
import Experiments
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
