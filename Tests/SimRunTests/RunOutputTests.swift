import Foundation
import SimCore
import Testing
@testable import Experiments

@Suite("Runs and their outputs")
struct RunOutputTests {
    private func run(_ text: String, seed: UInt64? = nil, into dir: URL) throws -> RunSummary {
        let path = try writeScenario(text)
        let (plan, outcome) = try Runner.run(scenarioPath: path, seed: seed)
        #expect(outcome.cluster.conservationProblems() == [])
        try ResultWriter.write(outcome.summary, cluster: outcome.cluster, plan: plan, to: ResultsFolder(dir.path))
        return outcome.summary
    }

    private func files(_ dir: URL) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) {
            out[name] = try Data(contentsOf: dir.appendingPathComponent(name))
        }
        return out
    }

    /// `simrun --version` prints the version every summary records.
    @Test func versionIsPrinted() throws {
        let r = try runSimrun(["--version"], cwd: tempDir())
        #expect(r.status == 0 && r.stdout == SimRunVersion.current + "\n")
    }

    /// A results folder describes itself: the version, the seed, the scenario as run (overrides
    /// applied), the engine profile in full, and the model's, GPU's and kernel timings' sources.
    @Test func resultsRecordWhatRan() throws {
        let path = try writeScenario(smallScenario)
        let (plan, outcome) = try Runner.run(scenarioPath: path, seed: 3, overrides: ["workload.num_requests=7"])
        let dir = tempDir()
        try ResultWriter.write(outcome.summary, cluster: outcome.cluster, plan: plan, to: ResultsFolder(dir.path))
        let p = try JSONValue.read(file: dir.appendingPathComponent("provenance.json").path, what: "provenance")
        #expect(p["simrun_version"]?.string == SimRunVersion.current && p["seed"]?.double == 3)
        // The commit the build came from: this checkout's HEAD (dirty while files are being changed).
        let head = Process()
        head.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        head.arguments = ["git", "-C", repoRoot.path, "rev-parse", "HEAD"]
        let pipe = Pipe()
        head.standardOutput = pipe
        try launch(head)
        let commit = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        head.waitUntilExit()
        let recorded = try #require(p["simrun_commit"]?.string)
        #expect(commit.count == 40 && (recorded == commit || recorded == commit + "-dirty"), "\(recorded) vs HEAD \(commit)")
        #expect(p["scenario"]?["workload"]?["num_requests"]?.double == 7)
        // Settings in effect, defaults filled in: the scheduler's limits and the KV cache the GPU holds.
        let group = try #require(p["effective"]?["instances"]?.elements?.first)
        #expect(group["count"]?.double == 2 && group["max_num_seqs"]?.double == Double(plan.specs[0].limits.maxSequences))
        #expect(group["kv_blocks"]?.double == Double(try plan.specs[0].kvSizing().blocks) && group["engine"]?.string == "vllm-v1")
        #expect(p["effective"]?["router"]?.string == "least_outstanding_tokens" && p["effective"]?["slo"]?["ttft_s"]?.double == 0.5)
        let engine = plan.specs[0].engine
        #expect(p["engines"]?[engine.name]?.canonicalText == engine.json.canonicalText && p["models"]?["Llama-2-7B"]?.string == plan.specs[0].model.source)
        #expect(p["kernel_timings"]?[plan.specs[0].accelerator.name]?.string == outcome.summary.cost_model[plan.specs[0].accelerator.name])
    }

    /// Iteration records of one busy instance tile its time: each pass starts when the one before
    /// ends, so they sum to the span from the first start to the last end; the CSV has a row per pass
    /// (every third with --iterations-every 3), and a bad sampling period is one line, exit 2.
    @Test func iterationRecordsSumToTheBusyTime() throws {
        let path = try writeScenario(#"{"name": "busy", "instances": [{"gpu": "A100-80GB", "model": "Llama-2-7B"}], "#
            + #""workload": {"arrivals": {"process": "poisson", "rate": 100000}, "lengths": {"prompt": {"dist": "uniform", "min": 50, "max": 400}, "#
            + #""output": {"dist": "uniform", "min": 5, "max": 60}}, "num_requests": 200}}"#)
        let plan = try SimulationPlan(scenarioPath: path)
        let outcome = try Runner.run(plan, iterationsEvery: 1)
        let records = try #require(outcome.cluster.iterationLog?.records)
        #expect(records.count > 60)
        for (a, b) in zip(records, records.dropFirst()) {
            #expect(abs((b.start - a.start).seconds - a.duration) < 2e-9, "\(a.start.seconds) + \(a.duration) vs \(b.start.seconds)")
        }
        // Request-steps (the bench's measure of work) are the batch sizes summed over every pass.
        #expect(outcome.cluster.instances[0].requestSteps == records.reduce(0) { $0 + $1.batch.sequences })
        #expect(outcome.cpuSeconds > 0 && outcome.requestStepsPerSecond > 0)
        let span = (records.last!.start - records.first!.start).seconds + records.last!.duration
        #expect(abs(records.reduce(0) { $0 + $1.duration } - span) < 1e-6 * span)
        #expect(records.allSatisfy { $0.flops > 0 && $0.bytes > 0 && $0.kvBlocksUsed <= $0.kvBlocksTotal })
        // Each pass's parts are its own (kept for the log only): they add up to its duration, to the nanosecond.
        #expect(records.allSatisfy { abs($0.parts.total - $0.duration) <= 1e-9 }, "a pass's parts do not add up to it")
        let dir = tempDir()
        #expect(try runSimrun(["run", path, "--out", "r", "--iterations", "--iterations-every", "3"], cwd: dir).status == 0)
        let rows = try String(contentsOf: dir.appendingPathComponent("r/iterations.csv"), encoding: .utf8).split(separator: "\n")
        #expect(rows[0].hasPrefix("start_s,instance,batch_size,prefill_tokens,decode_tokens,duration_ms,") && rows.count == 1 + (records.count + 2) / 3)
        let bad = try runSimrun(["run", path, "--out", "q", "--iterations", "--iterations-every", "0"], cwd: dir)
        #expect(bad.status == 2 && bad.stderr.split(separator: "\n").count == 1 && bad.stderr.contains("--iterations-every 0"))
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("q").path))
    }

    /// `--trace` writes a Chrome/Perfetto trace that parses, with a named track per instance holding
    /// every forward pass, queue and KV counters, and a hand-off per request on the transfers track;
    /// it replaces a trace simrun wrote but never a file of the user's.
    @Test func aTraceHasTheExpectedTracksAndEvents() throws {
        let path = try writeScenario(#"{"name": "pd", "instances": [{"gpu": "A100-80GB", "model": "Llama-2-7B", "role": "prefill"}, "#
            + #"{"gpu": "A100-80GB", "model": "Llama-2-7B", "role": "decode"}], "run": {"sample_interval_s": 0.5}, "#
            + #""workload": {"arrivals": {"process": "poisson", "rate": 5}, "lengths": {"prompt": {"dist": "fixed", "value": 200}, "#
            + #""output": {"dist": "fixed", "value": 20}}, "num_requests": 30}}"#)
        let dir = tempDir()
        #expect(try runSimrun(["run", path, "--out", "r", "--trace", "t.json"], cwd: dir).status == 0)
        let trace = try JSONValue.read(file: dir.appendingPathComponent("t.json").path, what: "trace")
        let events = try #require(trace["traceEvents"]?.elements)
        func count(_ ph: String, _ pid: Int) -> Int { events.filter { $0["ph"]?.string == ph && $0["pid"]?.double == Double(pid) }.count }
        let outcome = try Runner.run(scenarioPath: path).1
        let passes = try #require(try Runner.run(SimulationPlan(scenarioPath: path), iterationsEvery: 1).cluster.iterationLog).records.count
        #expect(count("X", 1) == passes && count("X", 2) == 30 && outcome.summary.requests_completed == 30)
        #expect(count("C", 1) > 0 && events.contains { $0["ph"]?.string == "C" && $0["name"]?.string == "instance 1 KV blocks" })
        let names = events.filter { $0["name"]?.string == "thread_name" && $0["pid"]?.double == 1 }.compactMap { $0["args"]?["name"]?.string }
        #expect(names.count == 2 && names[0].hasPrefix("instance 0: Llama-2-7B"))
        #expect(try runSimrun(["run", path, "--out", "r", "--trace", "t.json"], cwd: dir).status == 0)
        let mine = dir.appendingPathComponent("notes.json")
        try Data("{}".utf8).write(to: mine)
        let refused = try runSimrun(["run", path, "--out", "q", "--trace", "notes.json"], cwd: dir)
        #expect(refused.status == 2 && refused.stderr.contains("notes.json: --trace: exists and is not a trace written by simrun"))
        #expect(try Data(contentsOf: mine) == Data("{}".utf8) && !FileManager.default.fileExists(atPath: dir.appendingPathComponent("q").path))
    }

    /// The summary says what a replica holds: the model's weights, the activation reserve and the KV
    /// cache, over alike instances grouped.
    @Test func memoryPerReplicaIsReported() throws {
        let path = try writeScenario(smallScenario)
        let (plan, outcome) = try Runner.run(scenarioPath: path, overrides: ["instances[0].count=3"])
        let m = try #require(outcome.summary.memory_per_replica.first)
        let sizing = try plan.specs[0].kvSizing()
        #expect(outcome.summary.memory_per_replica.count == 1 && m.instances == [0, 2] && m.kv_blocks == sizing.blocks)
        #expect(abs(m.weights_gib - plan.specs[0].model.weightBytes / 1_073_741_824) < 1e-9)
        #expect(m.kv_cache_gib > 0 && m.activations_gib > 0 && m.weights_gib + m.activations_gib + m.kv_cache_gib <= 80)
    }

    /// A decode instance (Llama-3-70B at TP2: little room for KV) whose pulled KV fills its memory while
    /// the request at the head of its queue, preempted there, needs room to recompute: the requests
    /// holding their KV go first and every request finishes (before, 167 of 200 never did).
    @Test func pulledKVDoesNotWaitBehindARecomputation() throws {
        let path = try writeScenario(#"{"name": "pd", "instances": [{"gpu": "H100-SXM-80GB", "model": "Llama-3-70B", "tp": 2, "role": "prefill"}, "#
            + #"{"gpu": "H100-SXM-80GB", "model": "Llama-3-70B", "tp": 2, "role": "decode"}], "router": "shortest_queue", "#
            + #""workload": {"arrivals": {"process": "poisson", "rate": 5}, "lengths": {"prompt": {"dist": "uniform", "min": 900, "max": 4100}, "#
            + #""output": {"dist": "uniform", "min": 50, "max": 400}}, "num_requests": 200}}"#)
        let (_, outcome) = try Runner.run(scenarioPath: path)
        #expect(outcome.cluster.instances[1].preemptionCount > 0, "the decode instance must preempt for this to test anything")
        #expect(outcome.summary.requests_completed == 200 && outcome.cluster.conservationProblems().isEmpty)
    }

    /// `run.percentiles` chooses the percentiles every latency statistic reports, as vLLM's
    /// --metric-percentiles does; each is the exact quantile of the requests' values.
    @Test func percentilesAreConfigurable() throws {
        let path = try writeScenario(smallScenario)
        let (_, outcome) = try Runner.run(scenarioPath: path, overrides: ["run.percentiles=[50, 99.9]"])
        let ttft = outcome.summary.ttft
        #expect(ttft.percentiles.map(\.percentile) == [50, 99.9] && ttft.p90_ms == nil && ttft.p99_ms == nil)
        let values = outcome.cluster.metrics.records.filter(\.finished).compactMap(\.ttft)
        #expect(abs(ttft.value(at: 99.9)! - SampleSummary(values).quantile(0.999) * 1000) < 1e-9)
        #expect(ttft.value(at: 50) == ttft.median_ms)
        let json = try #require(try JSONValue.parse([UInt8](JSONEncoder().encode(outcome.summary)))["itl"])
        #expect(json["p99.9_ms"]?.double != nil && json["p50_ms"]?.double != nil && json["p90_ms"] == nil)
    }

    /// The summary's latency sets, summarized on several threads at once, each get their own
    /// statistics, in the order given, the same as one at a time: sets of different sizes (empty,
    /// below and above where the radix sort takes over) and the inter-token gaps' counts.
    @Test func latencySetsSummarizedAtOnceKeepTheirOrder() throws {
        let sizes = [0, 3, 4_095, 20_000, 50_001]  // (the radix sort takes sets of 4,096 and more)
        // Scrambled values, a different scramble per set.
        let sets: [[Double]] = sizes.map { n in
            (0..<n).map { (i: Int) -> Double in Double((i * 2_654_435_761 + n) % 1_000_003) / 1e3 }
        }
        var gaps = CountedValues()
        for v in [5, 9, 9, 1, 7_000] { gaps.add(Int64(v)) }
        let percentiles = [50.0, 99.9]
        // Every other set as nanoseconds (spans of simulated time), the rest as seconds.
        let samples = sets.enumerated().map { i, set -> LatencyStats.Samples in
            i % 2 == 0 ? .seconds(set) : .nanoseconds(set.map { Int64($0 * 1e6) })
        }
        let summarized = LatencyStats.summarizing(samples, andGaps: gaps, percentiles: percentiles)
        func same(_ a: LatencyStats, _ b: LatencyStats) -> Bool {
            a.mean_ms == b.mean_ms && a.median_ms == b.median_ms && a.std_ms == b.std_ms
                && a.percentiles.map(\.ms) == b.percentiles.map(\.ms)
        }
        #expect(summarized.sets.count == sets.count)
        for (set, stats) in zip(samples, summarized.sets) {
            #expect(same(stats, LatencyStats(set, percentiles: percentiles)))
        }
        #expect(same(summarized.gaps, LatencyStats(nanoseconds: gaps, percentiles: percentiles)))
        #expect(summarized.sets[0].mean_ms == nil && summarized.sets[4].median_ms != summarized.sets[3].median_ms)
    }

    /// Spans kept in nanoseconds summarize exactly as their seconds do (sorted as integers and
    /// read as seconds after, they are the sorted seconds): mean, deviation and percentiles, to the
    /// bit, with repeats, zero and spans of hours, above and below the radix sort's hand-over size,
    /// given at once or taken in sorted runs as the tally takes them.
    @Test func nanosecondSpansSummarizeAsTheirSeconds() {
        var rng = SystemRandomNumberGenerator()
        for n in [1, 7, 4_095, 4_096, 30_000] {
            let spans = (0..<n).map { i -> Int64 in
                switch i % 5 {
                case 0: return 0
                case 1: return Int64(i % 13) * 1_000_000
                case 2: return Int64.random(in: 0...(4 * 3_600 * 1_000_000_000), using: &rng)
                default: return Int64.random(in: 1_000...5_000_000_000, using: &rng)
                }
            }
            let percentiles = [1, 50, 90, 99, 99.9]
            let fromSpans = LatencyStats(.nanoseconds(spans), percentiles: percentiles)
            var runs = SortedRuns<Int64>(runLength: 97)
            for span in spans { runs.append(span) }
            let fromRuns = LatencyStats(.nanoseconds(runs), percentiles: percentiles)
            let fromSeconds = LatencyStats(.seconds(spans.map { SimTime(nanoseconds: $0).seconds }), percentiles: percentiles)
            for stats in [fromSpans, fromRuns] {
                #expect(stats.mean_ms == fromSeconds.mean_ms && stats.std_ms == fromSeconds.std_ms, "\(n) spans")
                #expect(stats.median_ms == fromSeconds.median_ms && stats.percentiles.map(\.ms) == fromSeconds.percentiles.map(\.ms))
            }
        }
    }

    /// `--no-requests-csv` leaves the per-request file out and everything else as it was.
    @Test func theRequestsFileCanBeLeftOut() throws {
        let path = try writeScenario(smallScenario), dir = tempDir()
        #expect(try runSimrun(["run", path, "--out", "a"], cwd: dir).status == 0)
        #expect(try runSimrun(["run", path, "--out", "b", "--no-requests-csv"], cwd: dir).status == 0)
        let a = try files(dir.appendingPathComponent("a")), b = try files(dir.appendingPathComponent("b"))
        #expect(b["requests.csv"] == nil && a["requests.csv"] != nil && b["summary.json"] == a["summary.json"])
    }

    @Test func sameScenarioAndSeedGiveByteIdenticalFiles() throws {
        let a = tempDir().appendingPathComponent("a"), b = tempDir().appendingPathComponent("b")
        _ = try run(smallScenario, into: a)
        _ = try run(smallScenario, into: b)
        let fa = try files(a), fb = try files(b)
        #expect(fa.keys.sorted() == [".simrun-results", "provenance.json", "requests.csv", "summary.json", "timeseries.csv"])
        #expect(fa == fb)
        let c = tempDir().appendingPathComponent("c")
        _ = try run(smallScenario, seed: 8, into: c)
        #expect(try files(c)["requests.csv"] != fa["requests.csv"])
    }

    @Test func requestsCSVHasOneRowPerRequestAndConsistentLatencies() throws {
        let dir = tempDir().appendingPathComponent("r")
        let summary = try run(smallScenario, into: dir)
        let text = try String(contentsOf: dir.appendingPathComponent("requests.csv"), encoding: .utf8)
        let lines = text.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let header = lines[0]
        #expect(header.prefix(8) == ["id", "arrival_s", "first_scheduled_s", "first_token_s", "finish_s", "ttft_s", "tpot_s", "e2el_s"])
        #expect(header.suffix(3) == ["met_ttft_slo", "met_tpot_slo", "met_all_slos"])
        #expect(lines.count == 301)
        let col = Dictionary(uniqueKeysWithValues: header.enumerated().map { ($1, $0) })
        var met = 0
        for row in lines.dropFirst() where row[col["status"]!] == "finished" {
            let arrival = Double(row[col["arrival_s"]!])!, first = Double(row[col["first_token_s"]!])!
            let finish = Double(row[col["finish_s"]!])!, ttft = Double(row[col["ttft_s"]!])!
            #expect(abs(first - arrival - ttft) < 1e-9 && finish >= first)
            if row[col["met_all_slos"]!] == "1" { met += 1 }
        }
        #expect(abs(summary.slo!.attainment - Double(met) / 300) < 1e-12)
        #expect(summary.requests_completed + summary.requests_dropped == 300)
        let ts = try String(contentsOf: dir.appendingPathComponent("timeseries.csv"), encoding: .utf8)
        #expect(ts.hasPrefix("time_s,instance,waiting,running,swapped,kv_blocks_used,kv_blocks_total,host_kv_blocks_used,nvme_kv_blocks_used\n"))
    }

    @Test func latencyRisesWithLoad() throws {
        let light = try run(smallScenario.replacingOccurrences(of: "\"rate\": 6", with: "\"rate\": 1"), into: tempDir())
        let heavy = try run(smallScenario.replacingOccurrences(of: "\"rate\": 6", with: "\"rate\": 40"), into: tempDir())
        #expect(heavy.ttft.p90_ms! > light.ttft.p90_ms!)
        #expect(heavy.tpot.median_ms! > light.tpot.median_ms!)
    }

    /// A two-stage ramp of nearly regular arrivals: 10 requests in the first stage, 9 in the second
    /// (see LoadStageTests), each reported with its own latencies.
    @Test func eachLoadStageIsReported() throws {
        let summary = try run(#"""
            {"name": "ramp", "instances": [{"gpu": "A100-80GB", "model": "Llama-3.1-8B"}],
             "workload": {"arrivals": {"process": "gamma", "cv": 0.001,
                                       "stages": [{"rate": 2, "duration_s": 5.25}, {"rate": 10, "duration_s": 0.95}]},
                          "lengths": {"prompt": {"dist": "fixed", "value": 200}, "output": {"dist": "fixed", "value": 20}}}}
            """#, into: tempDir().appendingPathComponent("ramp"))
        let stages = try #require(summary.stages)
        #expect(stages.map(\.requests_completed) == [10, 9] && summary.requests_completed == 19)
        #expect(stages.map(\.start_s) == [0, 5.25] && stages.map(\.end_s) == [5.25, 6.2])
        #expect(abs(stages[0].request_throughput - 10 / 5.25) < 1e-12)
        #expect((stages[1].ttft.mean_ms ?? 0) > 0)
    }

    @Test func aHorizonStopsEarlyAndReportsUnfinishedRequests() throws {
        let text = smallScenario.replacingOccurrences(of: "\"sample_interval_s\": 0.5", with: "\"sample_interval_s\": 0.5, \"horizon_s\": 5")
        let s = try run(text, into: tempDir())
        #expect(s.stop_reason == "horizon" && s.simulated_seconds == 5)
        #expect(s.requests_unfinished > 0)
    }

    @Test func theShorthandFormRunsAndWritesTheDefaultFolder() throws {
        let dir = tempDir()
        let path = try writeScenario(smallScenario, in: dir)
        let result = try runSimrun([path], cwd: dir)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("TTFT") && result.stdout.contains("SLO attainment"))
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("results/small/summary.json").path))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("results").path)
        #expect(leftovers == ["small"])
    }
}
