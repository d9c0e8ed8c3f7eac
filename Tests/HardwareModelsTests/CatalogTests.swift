import SimCore
import Testing
@testable import HardwareModels

@Suite("Catalogs and KV sizing")
struct CatalogTests {
    @Test(arguments: [
        ("Llama-2-7B", 6.74e9), ("Llama-2-13B", 13.0e9), ("Llama-2-70B", 69.0e9), ("Llama-3-8B", 8.03e9),
        ("Llama-3-70B", 70.6e9), ("OPT-13B", 12.9e9), ("OPT-66B", 65.7e9), ("OPT-175B", 175e9),
        ("Mixtral-8x7B", 46.7e9), ("CodeLlama-34B", 33.7e9), ("Yi-34B", 34.4e9),
    ])
    func parameterCountsMatchPublishedSizes(name: String, published: Double) throws {
        let m = try #require(ModelCatalog.named(name))
        #expect(abs(m.parameters / published - 1) < 0.02, "\(name): \(m.parameters)")
    }

    @Test func kvBytesPerTokenFollowFromTheShape() throws {
        // 2 (K and V) × layers × kv width × 2 bytes.
        #expect(try #require(ModelCatalog.named("Llama-2-7B")).kvBytesPerToken == 2 * 32 * 4096 * 2)
        #expect(try #require(ModelCatalog.named("Llama-2-70B")).kvBytesPerToken == 2 * 80 * 1024 * 2)
    }

    @Test func everyAcceleratorHasItsRequiredFigures() {
        for name in ["A100-40GB", "A100-80GB", "H100-SXM-80GB", "H200", "L40S", "A10"] {
            let a = AcceleratorCatalog.named(name)
            #expect(a != nil, "\(name) missing")
            #expect((a?.fp16Flops ?? 0) > 1e14 && (a?.memoryBandwidth ?? 0) > 5e11 && !(a?.source.isEmpty ?? true))
        }
    }

    /// Every hardware file names its usual server with sources; the server's figures are read in
    /// their units (GiB, GB/s, Gb/s, µs), and a malformed one is refused naming the field.
    @Test func everyAcceleratorNamesItsServer() throws {
        for a in AcceleratorCatalog.all {
            let s = try #require(a.server, "\(a.name) has no server")
            #expect(s.gpus >= 1 && s.nics >= 1 && !s.source.isEmpty && s.peerLatency < s.networkLatency)
        }
        let ascend = try #require(AcceleratorCatalog.named("Ascend-910C")?.server)
        #expect(ascend.gpus == 16 && ascend.nicBandwidth == 196e9 && ascend.peerLatency == 0.5e-6)
        let h100 = try #require(AcceleratorCatalog.named("H100-SXM-80GB")?.server)
        #expect(h100.hostMemoryBytes == 2048 * 1_073_741_824 && h100.nicBandwidth == 50e9 && h100.nvmeReadBandwidth == 56e9)
        func refused(_ server: String) -> String? {
            let text = #"{"name": "X", "memory_mib": 1, "memory_bandwidth_gbs": 1, "bf16_tflops": 1, "pcie_gbs": 1, "server": "#
                + server + "}"
            do { _ = try Accelerator(hardwareFile: try JSONValue.parse(Array(text.utf8)), file: "x.json"); return nil } catch {
                return "\(error)"
            }
        }
        let whole = #"{"gpus": 8, "host_memory_gib": 1, "host_memory_gbs": 1, "nvme_tb": 1, "nvme_read_gbs": 1, "nvme_write_gbs": 1, "nics": 1, "nic_gbps": 1, "peer_latency_us": 1, "network_latency_us": 2, "host_latency_us": 1"#
        #expect(refused(whole + "}") == nil)
        #expect(refused(whole + #", "racks": 2}"#)?.contains("server.racks") == true)
        #expect(refused(whole.replacingOccurrences(of: #""gpus": 8"#, with: #""gpus": 2.5"#) + "}")?.contains("server.gpus") == true)
        #expect(refused(#"{"gpus": 8}"#)?.contains("required field is missing") == true)
        #expect(refused("5")?.contains("server") == true)
    }

    private func sizing(_ model: String, _ gpu: String, tp: Int = 1) throws -> KVCacheSizing {
        try KVCacheSizing(model: #require(ModelCatalog.named(model)), accelerator: #require(AcceleratorCatalog.named(gpu)),
                          layout: ParallelLayout(tp: tp), blockTokens: 16, memoryUtilization: 0.9,
                          maxBatchedTokens: 8192, maxSequences: 256)
    }

    @Test func kvCapacityIsWhatWeightsAndActivationsLeave() throws {
        let s = try sizing("Llama-2-7B", "A100-80GB")
        let model = try #require(ModelCatalog.named("Llama-2-7B"))
        let free = s.usableBytesPerGPU - s.weightBytesPerGPU - s.activationReserveBytesPerGPU
        #expect(s.blocks == Int(free / (16 * model.kvBytesPerToken)))
        // About 58 GiB of KV on an 80 GB card: roughly 119k tokens.
        #expect(s.tokens > 100_000 && s.tokens < 130_000)
        // Tensor parallelism halves the weights per GPU and more than doubles the KV room.
        #expect(try sizing("Llama-2-7B", "A100-80GB", tp: 2).blocks > 2 * s.blocks)
    }

    @Test func aModelThatDoesNotFitIsRefused() throws {
        #expect(throws: KVCacheSizingError.self) { try sizing("Llama-2-70B", "A100-80GB") }
        #expect(try sizing("Llama-2-70B", "A100-80GB", tp: 4).blocks > 0)
    }
}
