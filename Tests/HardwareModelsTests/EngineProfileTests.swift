import Foundation
import SimCore
import Testing
@testable import HardwareModels

@Suite("Engine profiles")
struct EngineProfileTests {
    @Test func bundledProfilesParseAndCiteTheirNumbers() throws {
        let names = EngineCatalog.all.map(\.name)
        for n in ["vllm-v1", "vllm-v0", "sglang", "trtllm", "distserve-2023", "kernels-only"] {
            #expect(names.contains(n), "\(n) missing from \(names)")
        }
        #expect(EngineCatalog.named(EngineCatalog.defaultName) != nil)
        for p in EngineCatalog.all where p.name != "kernels-only" {
            #expect(p.sources["host_fixed_ms"] != nil, "\(p.name): host time without a source")
            if p.cudaGraphs.batches != .none { #expect(p.sources["cuda_graph_sizes"] != nil, "\(p.name)") }
            // Written back and read again, a profile is unchanged.
            #expect(try EngineProfile(json: JSONValue.parse(p.json.prettyText), file: "x") == p)
        }
    }

    static let base = #"{"name": "t", "host_fixed_ms": 1, "overlap_host": false, "cuda_graph_batches": "decode", "all_reduce_large": "nccl"}"#

    @Test(arguments: [
        (#""host_fixed_ms": -1"#, "host_fixed_ms"),
        (#""host_per_sequence_us": "x""#, "host_per_sequence_us"),
        (#""overlap_host": 1"#, "overlap_host"),
        (#""cuda_graph_batches": "all""#, "cuda_graph_batches"),
        (#""cuda_graph_sizes": [8, 4]"#, "cuda_graph_sizes"),
        (#""cuda_graph_sizes": [0]"#, "cuda_graph_sizes"),
        (#""cuda_graph_padding": "no""#, "cuda_graph_padding"),
        (#""all_reduce_small": "mpi""#, "all_reduce_small"),
        (#""all_reduce_small_max_bytes": -1"#, "all_reduce_small_max_bytes"),
        (#""sources": []"#, "sources"),
        (#""speed": 3"#, "speed"),
    ])
    func aMalformedFieldIsNamed(field: String, location: String) {
        do {
            // The base profile with this one field set (replaced where the base has it).
            let change = try #require(try JSONValue.parse("{\(field)}").members?.first)
            var members = try #require(try JSONValue.parse(Self.base).members).filter { $0.key != change.key }
            members.append(change)
            _ = try EngineProfile(json: .object(members), file: "p.json")
            Issue.record("accepted \(field)")
        } catch let e as InputError {
            #expect(e.file == "p.json" && e.location == location, "\(e)")
        } catch { Issue.record("\(error)") }
    }

    @Test func aMissingRequiredFieldIsNamed() {
        #expect(throws: InputError(file: "p.json", location: "overlap_host", "required field is missing")) {
            try EngineProfile(json: JSONValue.parse(#"{"name": "t", "host_fixed_ms": 1, "cuda_graph_batches": "none", "all_reduce_large": "nccl"}"#),
                              file: "p.json")
        }
    }

    @Test func cudaGraphsPadToTheNextCapturedSize() throws {
        let v1 = try #require(EngineCatalog.named("vllm-v1")).cudaGraphs
        #expect(v1.padded(tokens: 9, decodeOnly: false) == (16, true))
        #expect(v1.padded(tokens: 250, decodeOnly: true) == (256, true))
        #expect(v1.padded(tokens: 513, decodeOnly: true) == (513, false))
        let sglang = try #require(EngineCatalog.named("sglang")).cudaGraphs
        #expect(sglang.padded(tokens: 9, decodeOnly: true) == (16, true))
        #expect(sglang.padded(tokens: 9, decodeOnly: false) == (9, false), "prefill runs eagerly")
        let trt = try #require(EngineCatalog.named("trtllm")).cudaGraphs
        #expect(trt.padded(tokens: 31, decodeOnly: true) == (31, true))
        #expect(trt.padded(tokens: 40, decodeOnly: true) == (40, false), "no padding: a size between captures runs eagerly")
        #expect(EngineCatalog.distServe2023.cudaGraphs.padded(tokens: 9, decodeOnly: true) == (9, false))
    }

    @Test func allReduceIsChosenByMessageSize() throws {
        let v1 = try #require(EngineCatalog.named("vllm-v1")).allReduce
        let mib = 1_048_576.0
        #expect(v1.implementation(bytes: mib, graph: true) == "vllm_custom_graph")
        #expect(v1.implementation(bytes: mib, graph: false) == "vllm_custom_eager")
        #expect(v1.implementation(bytes: 8 * mib, graph: true) == "vllm_custom_graph")
        #expect(v1.implementation(bytes: 8 * mib + 1, graph: true) == "nccl")
        #expect(EngineCatalog.distServe2023.allReduce.implementation(bytes: 100, graph: false) == "vidur_nccl")
    }

    @Test func hostTimeIsAddedOrHiddenByOverlap() throws {
        let model = try #require(ModelCatalog.named("Llama-3.1-8B"))
        let gpu = try #require(AcceleratorCatalog.named("H100-SXM-80GB"))
        var engine = try #require(EngineCatalog.named("vllm-v1"))
        engine.hostFixed = 0.002
        engine.hostPerSequence = 50e-6
        var batch = BatchShape()
        for _ in 0..<10 { batch.addDecode(context: 1000) }
        let serial = CostModel(model: model, accelerator: gpu, layout: .init(), engine: engine).breakdown(batch)
        #expect(abs(serial.host - (0.002 + 10 * 50e-6)) < 1e-12)
        #expect(abs(serial.total - (serial.gpu + serial.host)) < 1e-12)
        engine.overlapsHost = true
        let overlapped = CostModel(model: model, accelerator: gpu, layout: .init(), engine: engine).breakdown(batch)
        #expect(overlapped.total == max(overlapped.gpu, overlapped.host))
        // Padding: 10 decodes run as the 16-graph, so their GEMMs cost what 16 do.
        var sixteen = BatchShape()
        for _ in 0..<16 { sixteen.addDecode(context: 1000) }
        let padded = CostModel(model: model, accelerator: gpu, layout: .init(), engine: engine).breakdown(sixteen)
        #expect(serial.graph && padded.graph)
        #expect(serial.gemm == padded.gemm && serial.attention < padded.attention)
        let eager = CostModel(model: model, accelerator: gpu, layout: .init(), engine: EngineCatalog.distServe2023)
        #expect(eager.breakdown(batch).gemm < eager.breakdown(sixteen).gemm)
    }
}

@Suite("Models from Hugging Face config.json")
struct HuggingFaceConfigTests {
    private func model(_ json: String) throws -> ModelArchitecture {
        try ModelArchitecture(huggingFaceConfig: JSONValue.parse(json), name: "m", source: "test", file: "config.json")
    }

    /// Parameter counts and KV bytes per token, computed by hand from each family's layer shapes.
    @Test func parametersAndKVBytesPerFamily() throws {
        let llama = try #require(ModelCatalog.named("Llama-3.1-8B"))
        // 32 × (4096·(4096 + 2·1024) + 4096·4096 + 3·4096·14336) + 2·128256·4096
        let llamaLayer: Double = 4096.0 * 6144 + 4096.0 * 4096 + 3 * 4096.0 * 14336
        #expect(llama.parameters == 32 * llamaLayer + 2 * 128256.0 * 4096)
        #expect(llama.kvBytesPerToken == 2 * 32 * 1024 * 2)
        let qwen = try #require(ModelCatalog.named("Qwen3-32B"))
        // head_dim 128 × 64 heads = 8192 ≠ hidden 5120.
        #expect(qwen.qWidth == 8192 && qwen.headDim == 128)
        let qwenLayer: Double = 5120.0 * (8192 + 2048) + 8192.0 * 5120 + 3 * 5120.0 * 25600
        #expect(qwen.parameters == 64 * qwenLayer + 2 * 151936.0 * 5120)
        #expect(qwen.kvBytesPerToken == 2 * 64 * 1024 * 2)
        let opt = try #require(ModelCatalog.named("OPT-13B"))
        let optLayer: Double = 4 * 5120.0 * 5120 + 2 * 5120.0 * 20480
        #expect(opt.parameters == 40 * optLayer + 50272.0 * 5120)
        let mixtral = try #require(ModelCatalog.named("Mixtral-8x7B"))
        let mixtralLayer: Double = 4096.0 * 6144 + 4096.0 * 4096 + 8 * 3 * 4096.0 * 14336 + 4096.0 * 8
        #expect(mixtral.parameters == 32 * mixtralLayer + 2 * 32000.0 * 4096)
        let moe = try model(#"""
            {"model_type": "qwen3_moe", "hidden_size": 2048, "num_hidden_layers": 48, "num_attention_heads": 32,
             "num_key_value_heads": 4, "head_dim": 128, "moe_intermediate_size": 768, "num_experts": 128,
             "num_experts_per_tok": 8, "vocab_size": 151936, "max_position_embeddings": 40960, "tie_word_embeddings": false}
            """#)
        #expect(moe.experts == 128 && moe.expertsPerToken == 8)
        let moeLayer: Double = 2048.0 * 5120 + 4096.0 * 2048 + 128 * 3 * 2048.0 * 768 + 2048.0 * 128
        #expect(moe.parameters == 48 * moeLayer + 2 * 151936.0 * 2048)
        #expect(moe.kvBytesPerToken == 2 * 48 * 512 * 2)
    }

    @Test(arguments: [
        (#"{"model_type": "deepseek_v3", "hidden_size": 1}"#, "model_type"),
        (#"{"model_type": "llama", "num_attention_heads": 8, "num_hidden_layers": 2}"#, "hidden_size"),
        (#"{"model_type": "llama", "hidden_size": 64, "num_attention_heads": 8, "num_hidden_layers": 2, "num_key_value_heads": 3}"#, "num_key_value_heads"),
        (#"{"model_type": "llama", "hidden_size": 64.5, "num_attention_heads": 8, "num_hidden_layers": 2}"#, "hidden_size"),
        (#"{"model_type": "mixtral", "hidden_size": 64, "num_attention_heads": 8, "num_hidden_layers": 2, "intermediate_size": 8, "num_local_experts": 2, "num_experts_per_tok": 3, "vocab_size": 10, "max_position_embeddings": 10}"#, "num_experts_per_tok"),
        (#"{"model_type": "llama", "hidden_size": 64, "num_attention_heads": 8, "num_hidden_layers": 2, "intermediate_size": 8, "vocab_size": 10, "max_position_embeddings": 10, "torch_dtype": "int4"}"#, "torch_dtype"),
    ])
    func aBadConfigNamesTheField(json: String, field: String) {
        do {
            _ = try model(json)
            Issue.record("accepted \(json)")
        } catch let e as InputError {
            #expect(e.location == field, "\(e)")
        } catch { Issue.record("\(error)") }
    }
}

@Suite("KV capacity as vLLM computes it")
struct KVCapacityTests {
    @Test func kvHeadsAreReplicatedWhenTPExceedsThem() throws {
        let m = try #require(ModelCatalog.named("Llama-3.1-8B"))  // 8 KV heads
        #expect(m.kvHeadsPerGPU(tp: 4) == 2 && m.kvHeadsPerGPU(tp: 8) == 1 && m.kvHeadsPerGPU(tp: 16) == 1)
        #expect(m.kvBytesPerToken(tp: 8) == m.kvBytesPerToken)
        #expect(m.kvBytesPerToken(tp: 16) == 2 * m.kvBytesPerToken, "16 GPUs hold 16 copies of 8 heads' worth: twice")
    }

    @Test func aPinnedBlockCountIsUsedAsGiven() throws {
        let m = try #require(ModelCatalog.named("Llama-3.1-8B"))
        let gpu = try #require(AcceleratorCatalog.named("H100-SXM-80GB"))
        let computed = try KVCacheSizing(model: m, accelerator: gpu, layout: .init(), blockTokens: 16, memoryUtilization: 0.9,
                                         maxBatchedTokens: 8192, maxSequences: 256)
        let pinned = try KVCacheSizing(model: m, accelerator: gpu, layout: .init(), blockTokens: 16, memoryUtilization: 0.9,
                                       maxBatchedTokens: 8192, maxSequences: 256, blocksOverride: 1234)
        #expect(pinned.blocks == 1234 && computed.blocks > 1234)
    }
}

@Suite("Catalogs are data files")
struct CatalogFilesTests {
    /// The resource folder in the source tree (the bundle is a copy of it).
    static let resources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources/HardwareModels/Resources").path

    @Test func everyBundledFileLoads() throws {
        let index = try #require(try JSONValue.read(file: Self.resources + "/models/index.json", what: "index").elements)
        #expect(ModelCatalog.all.count == index.count, "a model config failed to load")
        #expect(ModelCatalog.all.count >= 20)
        let engines = try FileManager.default.contentsOfDirectory(atPath: Self.resources + "/engines").filter { $0.hasSuffix(".json") }
        #expect(EngineCatalog.all.count == engines.count, "an engine profile failed to load")
        let gpus = try FileManager.default.contentsOfDirectory(atPath: Self.resources + "/accelerators").filter { $0.hasSuffix(".json") }
        #expect(AcceleratorCatalog.all.count == gpus.count, "a hardware file failed to load")
        for name in ["B200", "H20", "L4", "MI300X"] { #expect(AcceleratorCatalog.named(name) != nil, "\(name)") }
    }

    @Test func memoryIsWhatTheDriverReports() throws {
        let mib = 1_048_576.0
        #expect(AcceleratorCatalog.named("H100-SXM-80GB")?.memoryBytes == 81559 * mib)
        #expect(AcceleratorCatalog.named("H200")?.memoryBytes == 143_771 * mib)
        #expect(AcceleratorCatalog.named("L40S")?.memoryBytes == 46068 * mib)
        #expect(AcceleratorCatalog.named("A10")?.memoryBytes == 23028 * mib)
        #expect(AcceleratorCatalog.named("A100-80GB")?.fp8Flops == nil && AcceleratorCatalog.named("H100-SXM-80GB")?.fp8Flops != nil)
    }

    @Test func fp8WeightsHalveTheWeightBytes() throws {
        let m = try #require(ModelCatalog.named("Llama-3.1-70B"))
        let fp8 = m.deployed(weights: .fp8, kvCache: nil)
        #expect(fp8.weightBytes == m.weightBytes / 2 && fp8.kvBytesPerToken == m.kvBytesPerToken)
        #expect(m.deployed(weights: nil, kvCache: .fp8).kvBytesPerToken == m.kvBytesPerToken / 2)
    }
}
