import Foundation
import TestSupport
import SimCore
import Testing
@testable import HardwareModels

let sharedProfiles = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/data/profiles").path

@Suite("Calibration")
struct CalibrationTests {
    @Test func gemmFitRecoversKnownParameters() throws {
        let truth = GEMMTimingModel(launch: 6e-6, computePerFlop: 1 / 250e12, computePerByte: 2e-14,
                                    memoryPerByte: 1 / 1.6e12, memoryPerFlop: 5e-16)
        let s = RandomStream(name: "gemm", scenarioSeed: 1)
        var samples: [GEMMSample] = []
        for _ in 0..<3000 {
            let tokens = Double(s.uniformInt(1...4096)), k = Double(s.uniformInt(1...16) * 512)
            let n = Double(s.uniformInt(1...16) * 512)
            let flops = 2 * tokens * k * n, bytes = (k * n + tokens * (k + n)) * 2
            let noise = 1 + (s.uniform() - 0.5) * 0.002
            samples.append(GEMMSample(flops: flops, bytes: bytes, seconds: truth.seconds(flops: flops, bytes: bytes) * noise,
                                      op: "x", heldOut: false))
        }
        let fit = try GEMMTimingModel.fit(samples, ridge: 150)
        #expect(abs(fit.launch / truth.launch - 1) < 0.05)
        #expect(abs(fit.computePerFlop / truth.computePerFlop - 1) < 0.01)
        #expect(abs(fit.memoryPerByte / truth.memoryPerByte - 1) < 0.01)
    }

    @Test func allReduceFitRecoversKnownParametersPerRing() throws {
        var samples: [CollectiveSample] = []
        for n in [2, 4, 8] {
            for e in 11...26 {
                let bytes = pow(2, Double(e)), x = 2 * Double(n - 1) / Double(n) * bytes
                let t = 20e-6 * Double(n) / 2 + x / 200e9 + 1e-8 * x.squareRoot()
                samples.append(CollectiveSample(bytes: bytes, gpus: n, seconds: t, heldOut: false))
            }
        }
        let fit = try AllReduceTimingModel.fit(samples)
        #expect(fit.rings.map(\.gpus) == [2, 4, 8])
        for ring in fit.rings {
            #expect(abs(ring.latency / (20e-6 * Double(ring.gpus) / 2) - 1) < 1e-6)
            #expect(abs(ring.perByte * 200e9 - 1) < 1e-6)
        }
        // An unmeasured ring size uses the nearest measured one.
        #expect(fit.seconds(bytes: 1_048_576, gpus: 16) > fit.seconds(bytes: 1_048_576, gpus: 2))
        #expect(fit.seconds(bytes: 1_048_576, gpus: 1) == 0)
        // A cost model keeps only the ring its tensor parallelism uses: the times are the same, to
        // the bit, for a measured size or not (3 GPUs use the ring of 4: log₂ 3 lies nearer 2 than 1).
        for gpus in 1...16 {
            let kept = fit.keepingOnlyRing(for: gpus)
            #expect(kept.rings.count == (gpus > 1 ? 1 : 3))
            for e in [10.0, 17, 24] {
                #expect(kept.seconds(bytes: pow(2, e), gpus: gpus) == fit.seconds(bytes: pow(2, e), gpus: gpus), "\(gpus) GPUs")
            }
        }
        #expect(fit.keepingOnlyRing(for: 3).rings.map(\.gpus) == [4])
        #expect(fit.keepingOnlyRing(for: 16).rings.map(\.gpus) == [8])
        #expect(AllReduceTimingModel(rings: []).keepingOnlyRing(for: 4).seconds(bytes: 1e6, gpus: 4) == 0)
    }

    private func temp(_ text: String) throws -> String {
        let path = Scratch.path("profile.csv")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private static let header = "time_stats.attn_pre_proj.median,time_stats.attn_post_proj.median,time_stats.mlp_up_proj.median,"
        + "time_stats.mlp_down_proj.median,n_head,n_kv_head,n_embd,n_expanded_embd,use_gated_mlp,num_tokens,num_tensor_parallel_workers"

    @Test(arguments: [
        ("n_head,num_tokens\n1,2\n", "line 1", "missing columns"),
        (header + "\n0.1,0.1,0.1,0.1,32,32,4096,11008,True,8,1\n0.1,-0.1,0.1,0.1,32,32,4096,11008,True,8,1\n", "line 3", "≥ 0"),
        (header + "\n0.1,abc,0.1,0.1,32,32,4096,11008,True,8,1\n", "line 2", "expected a number"),
        (header + "\n0.1,0.1,0.1,32,32,4096,11008,True,8,1\n", "line 2", "fields"),
        (header + "\n", "", "no data rows"),
    ])
    func badProfilesAreRefusedWithFileLineAndReason(text: String, location: String, reason: String) throws {
        let path = try temp(text)
        do {
            _ = try KernelProfiles.vidurGEMMs(path: path)
            Issue.record("accepted a bad profile")
        } catch let e as InputError {
            #expect(e.file == path && e.location == location && e.message.contains(reason), "\(e)")
        }
    }

    @Test func aGPUWithoutMeasurementsFallsBackToItsRoofline() throws {
        let l40s = try #require(AcceleratorCatalog.named("L40S"))
        let model = try #require(ModelCatalog.named("Llama-2-7B"))
        #expect(CostModel(model: model, accelerator: l40s, layout: .init()).profile == nil)
        let a100 = try #require(AcceleratorCatalog.named("A100-80GB"))
        #expect(CostModel(model: model, accelerator: a100, layout: .init()).profile != nil)
        #expect(CostModel(model: model, accelerator: a100, layout: .init(), timings: .roofline).profile == nil)
    }

    /// H200 takes H100's measured kernels with memory-bound terms scaled by 3.35/4.8: a memory-bound
    /// decode GEMM speeds up by the bandwidth ratio, a compute-bound prefill GEMM does not.
    @Test func theH200TransfersTheH100sKernels() throws {
        let h100 = try #require(DeviceProfileSet.bundled.profile(for: "H100-SXM-80GB"))
        let h200 = try #require(DeviceProfileSet.bundled.profile(for: "H200"))
        #expect(h200.transferredFrom == "H100-SXM-80GB" && h200.gemmHeldOutError.isEmpty)
        let a = try #require(h100.engineKernels?.gemm["bf16"]), b = try #require(h200.engineKernels?.gemm["bf16"])
        let decode = (flops: 2.0 * 8 * 8192 * 8192, bytes: 8192.0 * 8192 * 2)
        let prefill = (flops: 2.0 * 8192 * 8192 * 8192, bytes: 3 * 8192.0 * 8192 * 2)
        let memory = (a.seconds(flops: decode.flops, bytes: decode.bytes) - a.launch)
            / (b.seconds(flops: decode.flops, bytes: decode.bytes) - b.launch)
        #expect(abs(memory - 4800 / 3350) < 0.05)
        #expect(abs(a.seconds(flops: prefill.flops, bytes: prefill.bytes) / b.seconds(flops: prefill.flops, bytes: prefill.bytes) - 1) < 0.05)
    }

    /// The shipped profiles are exactly what `simrun calibrate` computes from the
    /// shared measurements, and their held-out errors stay where they were.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: sharedProfiles)))
    func bundledProfilesAreReproducibleFromTheMeasurements() throws {
        let own = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("calibration").path
        let fresh = try Calibration.fit(profilesFolder: sharedProfiles, ownMeasurements: own)
        #expect(fresh == DeviceProfileSet.bundled)
        for p in fresh.profiles where p.transferredFrom == nil {
            #expect(p.gemmHeldOutError["all"]!.medianAPE < 0.08, "\(p.accelerator)")
            if let e = p.allReduceHeldOutError { #expect(e.medianAPE < 0.05, "\(p.accelerator)") }
        }
    }
}
