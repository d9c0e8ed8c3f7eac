import Foundation
import SimCore
import Testing
@testable import Experiments

@Suite("End-to-end calibration against measured runs")
struct CalibrationRunsTests {
    /// Runs "measured" by the simulator itself with known host times.
    static func syntheticRuns(fixedMs: Double, perSequenceUs: Double) throws -> [MeasuredRun] {
        var runs: [MeasuredRun] = []
        for tp in [1, 2] {
            for c in [1, 16, 64] {
                let shape = MeasuredRun(id: "tp\(tp)-c\(c)", origin: "synthetic", backend: "vllm", backendVersion: "test",
                                        model: "Llama-3.1-8B", gpu: "H100-SXM-80GB", tp: tp, inputTokens: 256,
                                        outputTokens: 64, concurrency: c, ttftMs: 1, tpotMs: 1)
                let p = try ServingRunCheck.predict(shape, instance: HostTimeFit.overrides(
                    shape, .init(fixedMs: fixedMs, perSequenceUs: perSequenceUs)))
                runs.append(MeasuredRun(id: shape.id, origin: "synthetic", backend: "vllm", backendVersion: "test",
                                        model: shape.model, gpu: shape.gpu, tp: tp, inputTokens: 256, outputTokens: 64,
                                        concurrency: c, ttftMs: p.ttftMs, tpotMs: p.tpotMs))
            }
        }
        return runs
    }

    @Test func theFitRecoversKnownHostTimesAndIsDeterministic() throws {
        let runs = try Self.syntheticRuns(fixedMs: 2.5, perSequenceUs: 40)
        let fit = try HostTimeFit.fit(runs)
        #expect(abs(fit.fixedMs - 2.5) < 0.25 && abs(fit.perSequenceUs - 40) < 6, "\(fit)")
        print("recovered \(fit) from 2.5 ms + 40 µs")
        #expect(try HostTimeFit.fit(runs) == fit)
        // Predictions with the fitted numbers match the "measurements".
        let rows = try RunsCheck.simulate(runs) { HostTimeFit.overrides($0, fit) }
        #expect(rows.allSatisfy { abs($0.tpotError) < 0.02 }, "\(rows.map(\.tpotError))")
    }

    @Test func theReaderTakesWhatItCanModelAndCountsTheRest() throws {
        let path = repoRoot.appendingPathComponent("calibration/aiconfigurator/silicon_hopper_dense.csv").path
        let (runs, skipped) = try AIConfiguratorRuns.read(path)
        #expect(runs.count > 700, "\(skipped)")
        #expect(runs.contains { $0.weightDType == "fp8" } && runs.contains { $0.weightDType == nil })
        #expect(skipped.values.reduce(0, +) + runs.count == 778)
        #expect(Set(runs.map(\.backend)) == ["vllm", "sglang", "trtllm"])
        #expect(runs.allSatisfy { $0.ttftMs > 0 && $0.tpotMs > 0 && $0.concurrency >= 1 })
    }

    @Test(arguments: [
        ("id,backend\nx,vllm\n", "line 1"),
        ("""
         id,backend,backend_version,model_path,system,precision,mode,isl,osl,batch_size,tp_size,pp_size,silicon_ttft_ms,silicon_tpot_ms
         a,vllm,0.12.0,Qwen/Qwen3-32B,h100_sxm,,agg,1024,128,8,2,1,150,x
         """, "line 2"),
        ("""
         id,backend,backend_version,model_path,system,precision,mode,isl,osl,batch_size,tp_size,pp_size,silicon_ttft_ms,silicon_tpot_ms
         a,vllm,0.12.0,Qwen/Qwen3-32B,h100_sxm,,agg,1024,128,8.5,2,1,150,18
         """, "line 2"),
    ])
    func aMalformedRunFileNamesTheLine(text: String, location: String) throws {
        let path = tempDir().appendingPathComponent("runs.csv").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        do {
            _ = try AIConfiguratorRuns.read(path)
            Issue.record("accepted")
        } catch let e as InputError {
            #expect(e.file == path && e.location == location, "\(e)")
        }
    }
}

@Suite("Per-request runs replayed")
struct LMBenchRunsTests {
    @Test func theShippedRunsReplayEveryRequest() throws {
        let folder = repoRoot.appendingPathComponent("calibration/llm-d/exp-0-vllm-70b").path
        let runs = try LMBenchRuns.read(folder: folder)
        #expect(runs.count == 6)
        for r in runs {
            let requests = try #require(r.requests)
            #expect(!requests.isEmpty && requests.first?.timestamp == 0)
            #expect(zip(requests, requests.dropFirst()).allSatisfy { ($0.timestamp ?? 0) <= ($1.timestamp ?? 0) })
            #expect(r.ttftMs > 0 && r.tpotMs > 0 && r.gpu == "A100-80GB" && r.tp == 2)
        }
        func replayFolders() -> Set<String> {
            Set(((try? FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory())) ?? [])
                .filter { $0.hasPrefix("simrun-replay-") })
        }
        let before = replayFolders()
        let p = try ServingRunCheck.predict(runs[0], instance: HostTimeFit.overrides(runs[0], nil))
        #expect(p.ttftMs > 0 && p.tpotMs > 0)
        #expect(replayFolders().isSubset(of: before), "the replay's trace folder is removed")
    }

    @Test func aFolderWithoutItsDeploymentIsRefused() throws {
        let dir = tempDir()
        try "prompt_tokens,generation_tokens,ttft,generation_time,launch_time\n5,5,0.1,0.5,1\n"
            .write(to: dir.appendingPathComponent("LMBench_x_1.csv"), atomically: true, encoding: .utf8)
        #expect(throws: InputError.self) { try LMBenchRuns.read(folder: dir.path) }
        try #"{"gpu": "A100-80GB", "model": "Llama-3.1-70B", "tp": 0}"#
            .write(to: dir.appendingPathComponent("deployment.json"), atomically: true, encoding: .utf8)
        do { _ = try LMBenchRuns.read(folder: dir.path); Issue.record("accepted tp 0") } catch let e as InputError {
            #expect(e.location == "tp", "\(e)")
        }
    }
}

@Suite("vllm bench serve results")
struct VLLMBenchRunsTests {
    private func folder(_ results: [String: String], deployment: String = #"{"gpu": "H100-SXM-80GB", "model": "Llama-3.1-8B", "tp": 1, "replicas": 2}"#) throws -> URL {
        let dir = tempDir()
        try deployment.write(to: dir.appendingPathComponent("deployment.json"), atomically: true, encoding: .utf8)
        for (name, text) in results {
            try text.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        return dir
    }

    /// The shipped exp-7 results: the client's gamma arrivals and fixed lengths, two replicas.
    @Test func theShippedResultsRebuildTheClientsLoad() throws {
        let runs = try VLLMBenchRuns.read(repoRoot.appendingPathComponent("calibration/llm-d/exp-7-vllm-8b-2replicas").path)
        let r = try #require(runs.first)
        #expect(runs.count == 1 && r.replicas == 2 && r.gpu == "A100-80GB" && r.requests == nil)
        let arrivals = try #require(r.workload?["arrivals"])
        #expect(arrivals["process"]?.string == "gamma" && arrivals["rate"]?.double == 1.8)
        #expect(abs((arrivals["cv"]?.double ?? 0) - 1 / 50.0.squareRoot()) < 1e-12)
        #expect(r.workload?["lengths"]?["prompt"]?["value"]?.double == 8000)
        #expect(r.workload?["lengths"]?["output"]?["value"]?.double == 200)
        #expect(abs(r.ttftMs - 955.2341923862696) < 1e-9 && r.e2eMs == nil)
        let a = try ServingRunCheck.predict(r, instance: HostTimeFit.overrides(r, nil))
        let b = try ServingRunCheck.predict(r, instance: HostTimeFit.overrides(r, nil))
        #expect(a.ttftMs > 0 && a.tpotMs > 0 && a.e2eMs > a.ttftMs)
        #expect(a.ttftMs == b.ttftMs && a.tpotMs == b.tpotMs, "deterministic")
    }

    /// Per-request lengths are replayed in order; "inf" with a concurrency cap is a closed loop;
    /// Python's bare Infinity for --burstiness inf is read; the end-to-end mean is compared when saved.
    @Test func perRequestLengthsAndAnInfiniteRate() throws {
        let detailed = #"""
            {"completed": 3, "request_rate": "inf", "burstiness": Infinity, "max_concurrency": 2,
             "mean_ttft_ms": 50, "mean_tpot_ms": 10, "mean_e2el_ms": 400,
             "input_lens": [100, 200, 300], "output_lens": [20, 0, 40], "ttfts": [0.05, 0, 0.05]}
            """#
        let runs = try VLLMBenchRuns.read(folder(["run.json": detailed]).path)
        let r = try #require(runs.first)
        #expect(r.workload?["arrivals"]?["process"]?.string == "closed_loop" && r.workload?["arrivals"]?["clients"]?.double == 2)
        #expect(r.requests?.map(\.promptTokens) == [100, 300] && r.requests?.map(\.outputTokens) == [20, 40],
                "the failed request (0 tokens) is left out")
        #expect(r.e2eMs == 400)
        let p = try ServingRunCheck.predict(r, instance: HostTimeFit.overrides(r, nil))
        #expect(p.ttftMs > 0 && p.e2eMs > p.ttftMs)
    }

    @Test(arguments: [
        (#"{"request_rate": 1, "mean_ttft_ms": 5, "mean_tpot_ms": 1}"#, "completed"),
        (#"{"completed": 5, "request_rate": 1, "mean_tpot_ms": 1, "total_input_tokens": 50, "total_output_tokens": 50}"#, "mean_ttft_ms"),
        (#"{"completed": 5, "request_rate": 1, "max_concurrency": 4, "mean_ttft_ms": 5, "mean_tpot_ms": 1, "total_input_tokens": 50, "total_output_tokens": 50}"#, "max_concurrency"),
        (#"{"completed": 5, "request_rate": -1, "mean_ttft_ms": 5, "mean_tpot_ms": 1, "total_input_tokens": 50, "total_output_tokens": 50}"#, "request_rate"),
        (#"{"completed": 5, "request_rate": 1, "burstiness": 0, "mean_ttft_ms": 5, "mean_tpot_ms": 1, "total_input_tokens": 50, "total_output_tokens": 50}"#, "burstiness"),
        (#"{"completed": 2, "request_rate": 1, "mean_ttft_ms": 5, "mean_tpot_ms": 1, "input_lens": [5, 6], "output_lens": [5]}"#, "output_lens"),
    ])
    func aBadResultNamesItsField(json: String, field: String) throws {
        let dir = try folder(["r.json": json])
        do { _ = try VLLMBenchRuns.read(dir.path); Issue.record("accepted \(json)") } catch let e as InputError {
            #expect(e.location == field, "\(e)")
        }
    }

    @Test func aDeploymentWithAnUnknownFieldOrEngineIsRefused() throws {
        for (deployment, field) in [(#"{"gpu": "H100-SXM-80GB", "model": "Llama-3.1-8B", "tp": 1, "replica": 2}"#, "replica"),
                                    (#"{"gpu": "H100-SXM-80GB", "model": "Llama-3.1-8B", "tp": 1, "engine": "vllm-v9"}"#, "engine")] {
            let dir = try folder(["r.json": "{}"], deployment: deployment)
            do { _ = try VLLMBenchRuns.read(dir.path); Issue.record("accepted \(deployment)") } catch let e as InputError {
                #expect(e.location == field, "\(e)")
            }
        }
    }
}
