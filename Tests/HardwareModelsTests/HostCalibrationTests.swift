import Foundation
import Testing
@testable import HardwareModels

/// The real-kernel calibration in its reduced mode: it must run, produce a
/// usable device, and let the simulator predict the real decoder. Timings on a
/// shared CI machine are too noisy to assert accuracy here; `simrun validate
/// --host` reports it.
@Suite("Host calibration (quick mode)", .serialized)
struct HostCalibrationTests {
    @Test func calibratesAndValidatesThisCPU() throws {
        let device = try HostCalibration.run(quick: true, threads: 1)
        #expect(device.accelerator.fp16Flops > 1e8 && device.accelerator.memoryBandwidth > 1e8)
        #expect(device.profile.fittedSamples > 0 && device.threads == 1)
        for e in [device.efficiency.attentionCompute, device.efficiency.memoryBandwidth, device.efficiency.elementwise] {
            #expect(e > 0 && e <= 1.5)
        }
        // The device round-trips through its file format.
        let decoded = try JSONDecoder().decode(HostDevice.self, from: JSONEncoder().encode(device))
        #expect(decoded == device)
        let rows = try HostCalibration.validate(device, quick: true)
        #expect(rows.count == 2)
        #expect(rows.allSatisfy { $0.measured > 0 && $0.predicted > 0 && $0.predicted.isFinite })
    }

    @Test func theRealDecoderTakesLongerForMoreWork() throws {
        let kernels = HostKernels(blas: try OpenBLAS(threads: 1))
        let decoder = CPUDecoder(shape: HostCalibration.smallModel, kernels: kernels)
        let small = decoder.time(batch: 1, tokens: 8, cached: 0, repeats: 3)
        let large = decoder.time(batch: 4, tokens: 128, cached: 0, repeats: 3)
        #expect(large > 4 * small)
    }
}
