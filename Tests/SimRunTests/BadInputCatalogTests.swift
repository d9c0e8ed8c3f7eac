import Foundation
import SimCore
import Testing
@testable import Experiments

/// A bad input, given to the real executable in a fresh folder: it must exit
/// with status 2, print one line naming the file and the field or line (or the
/// option), and leave every file in the folder as it was.
struct BadCase: CustomTestStringConvertible, Sendable {
    let label: String
    /// Files to lay out first (relative path → content).
    let files: [String: String]
    let args: [String]
    /// What the error line must contain: the file, and the field, line or option.
    let mentions: [String]
    var testDescription: String { label }
}

/// The small scenario as a tree, with one field set to a JSON value (`nil` removes it).
func scenario(setting path: String, to json: String?, base: String = smallScenario) -> String {
    guard var tree = try? JSONValue.parse(base) else { return base }
    var keys: [String] = []
    for part in path.split(separator: ".") {
        if let open = part.firstIndex(of: "[") {
            keys.append(String(part[..<open]))
            keys.append(String(part[open...]))
        } else {
            keys.append(String(part))
        }
    }
    let value = json.flatMap { try? JSONValue.parse($0) }
    func set(_ node: JSONValue, _ rest: ArraySlice<String>) -> JSONValue? {
        guard let key = rest.first else { return value }
        if key.hasPrefix("["), case .array(var elements) = node, let i = Int(key.dropFirst().dropLast()) {
            if let v = set(elements[i], rest.dropFirst()) { elements[i] = v } else { elements.remove(at: i) }
            return .array(elements)
        }
        var members = node.members ?? []
        let index = members.firstIndex { $0.key == key }
        let old = index.map { members[$0].value } ?? .object([])
        let new = set(old, rest.dropFirst())
        switch (index, new) {
        case (let i?, let v?): members[i].value = v
        case (let i?, nil): members.remove(at: i)
        case (nil, let v?): members.append(.init(key, v))
        case (nil, nil): break
        }
        return .object(members)
    }
    tree = set(tree, keys[...]) ?? tree
    return tree.canonicalText
}

let traceScenario = """
{"name": "t", "instances": [{"gpu": "A100-80GB", "model": "Llama-2-7B"}],
 "workload": {"arrivals": {"process": "trace", "path": "t.csv"}}}
"""

func traceRows(_ rows: [String], header: String = "arrived_at,num_prefill_tokens,num_decode_tokens") -> String {
    ([header] + rows).joined(separator: "\n") + "\n"
}

let goodRows = (0..<6).map { "\(Double($0) * 0.1),100,10" }

enum BadCases {
    /// One field at a time set to a value the scenario must refuse, named by that field.
    static let fieldValues: [(String, [String])] = [
        ("seed", ["-1", "1.5", "\"x\"", "18446744073709551616", "null", "1e40"]),
        ("name", ["\"../x\"", "\"\"", "5", "\".\"", "\"a b\""]),
        ("instances[0].count", ["0", "-1", "1.5", "1000000000", "\"2\"", "null"]),
        ("instances[0].gpu", ["\"A100-81GB\"", "5", "null"]),
        ("instances[0].model", ["\"Llama-9\"", "[]"]),
        ("instances[0].engine_overrides.sources", ["{}"]),
        ("instances[0].tp", ["0", "3", "1e19", "\"1\""]),
        ("instances[0].pp", ["0", "1000", "-2"]),
        ("instances[0].role", ["\"boss\"", "1"]),
        ("instances[0].engine", ["\"vllm-v9\"", "5", "\"none.json\""]),
        ("instances[0].engine_overrides", ["5", "[]"]),
        ("instances[0].engine_overrides.host_fixed_ms", ["-1", "1e6", "\"x\""]),
        ("instances[0].engine_overrides.host_per_sequence_us", ["-1"]),
        ("instances[0].engine_overrides.overlap_host", ["1"]),
        ("instances[0].engine_overrides.cuda_graph_batches", ["\"all\""]),
        ("instances[0].engine_overrides.cuda_graph_sizes", ["[4, 2]", "[0]", "[1, 1]", "5"]),
        ("instances[0].engine_overrides.all_reduce_small", ["\"mpi\""]),
        ("instances[0].engine_overrides.all_reduce_large", ["\"gloo\""]),
        ("instances[0].engine_overrides.all_reduce_small_max_bytes", ["-5"]),
        ("instances[0].engine_overrides.cuda_graph_padding", ["\"no\""]),
        ("instances[0].engine_overrides.warmup_s", ["-1", "5000", "\"slow\""]),
        ("instances[0].model", ["\"none.json\""]),
        ("instances[0].weight_dtype", ["\"fp8\"", "\"int4\"", "8"]),
        ("instances[0].kv_cache_dtype", ["\"fp4\""]),
        ("router", ["\"random\"", "7"]),
        ("scheduler", ["5", "[]"]),
        ("scheduler.policy", ["\"sjf\"", "1"]),
        ("controller", ["{\"policy\": \"magic\"}", "{\"policy\": \"llumnix\", \"period_s\": 0}", "{\"period_s\": 1}",
                        "{\"policy\": \"llumnix\", \"pairing\": \"x\"}", "{\"policy\": \"llumnix\", \"pick\": \"x\"}",
                        "{\"policy\": \"llumnix\", \"threshold\": \"high\"}", "{\"policy\": \"llumnix\", \"migration\": \"teleport\"}",
                        "{\"policy\": \"llumnix\", \"max_instances\": 0}", "{\"policy\": \"llumnix\", \"scale_up\": 5}",
                        "{\"policy\": \"llumnix\", \"max_instances\": 4, \"scale_up\": 70, \"scale_down\": 60}",
                        "{\"policy\": \"llumnix\", \"max_instances\": 4, \"min_instances\": 5}",
                        "{\"policy\": \"elastic_moe\"}", "{\"policy\": \"elastic_moe\", \"steps\": [{\"at_s\": 1, \"dp\": 0}]}",
                        "{\"policy\": \"elastic_moe\", \"steps\": [{\"at_s\": -1, \"dp\": 2}]}",
                        "{\"policy\": \"elastic_moe\", \"steps\": [{\"dp\": 2}]}",
                        "{\"policy\": \"elastic_moe\", \"steps\": [{\"at_s\": 1, \"dp\": 2}], \"scaling_method\": \"teleport\"}",
                        "{\"policy\": \"elastic_moe\", \"max_dp\": 4}",
                        "{\"policy\": \"elastic_moe\", \"steps\": [{\"at_s\": 1, \"dp\": 2}], \"idle_load\": 0.5}",
                        "{\"policy\": \"elastic_moe\", \"steps\": [{\"at_s\": 1, \"dp\": 2}], \"zero_copy\": \"no\"}",
                        "{\"policy\": \"llumnix\", \"zero_copy\": false}",
                        "{\"policy\": \"elastic_moe\", \"steps\": [{\"at_s\": 1, \"dp\": 2}], \"weights_from\": \"tape\"}",
                        "5"]),
        ("instances[0].dp", ["0", "2", "\"x\"", "5000"]),
        ("instances[0].ep", ["0", "2", "1.5"]),
        ("instances[0].expert_histogram", ["[1, 2]", "[]", "5", "[-1]"]),
        ("instances[0].engine_overrides.init_s", ["-1", "5000", "\"x\""]),
        ("scheduler.max_num_seqs", ["0", "-5", "1.5", "10000000000000"]),
        ("scheduler.max_num_batched_tokens", ["0", "\"x\""]),
        ("scheduler.chunked_prefill", ["\"yes\"", "1"]),
        ("scheduler.preemption", ["\"drop\"", "false"]),
        ("scheduler.watermark", ["-0.1", "1", "\"x\""]),
        ("scheduler.max_preemptions", ["-1", "1e30"]),
        ("scheduler.block_size", ["0", "1099511627776"]),
        ("scheduler.num_gpu_blocks", ["0", "1e12", "100000000", "2.5"]),
        ("scheduler.gpu_memory_utilization", ["0", "1.5"]),
        ("scheduler.swap_space_gib", ["-1", "1e300"]),
        ("scheduler.swap_nvme_gib", ["-1"]),
        ("scheduler.kv_offloading_gib", ["-1", "1e7", "\"x\""]),
        ("scheduler.priority_headroom_blocks", ["-1", "2.5"]),
        ("scheduler.priority_headroom_slowdown", ["0", "11", "\"x\""]),
        ("scheduler", ["{\"priority_headroom_blocks\": 10, \"priority_headroom_slowdown\": 0.1}"]),
        ("scheduler.priorities", ["\"yes\"", "1"]),
        ("workload.high_priority_share", ["-0.1", "1.5", "\"x\""]),
        ("workload.lengths.prompt", ["{\"dist\": \"zipf\", \"mean\": 5000, \"max\": 100}", "{\"dist\": \"zipf\", \"mean\": 10, \"max\": 2000000}",
                                     "{\"dist\": \"zipf\", \"max\": 100}"]),
        ("scheduler.max_output_tokens", ["0", "100000000"]),
        ("scheduler.queue_timeout_s", ["0", "-1"]),
        ("scheduler.history_window", ["0"]),
        ("scheduler.future_samples", ["0", "101"]),
        ("scheduler.reserve", ["1", "-0.5"]),
        ("topology.gpus_per_node", ["0", "65"]),
        ("topology.max_nodes", ["0"]),
        ("topology.host_memory_gib", ["0"]),
        ("topology.nvme_tib", ["0"]),
        ("topology.nics_per_node", ["0"]),
        ("topology.nic_gbps", ["0"]),
        ("topology.link_efficiency", ["0", "2"]),
        ("workload", ["[]"]),
        ("workload.arrivals.process", ["\"bursty\"", "3"]),
        ("workload.arrivals.rate", ["0", "-6", "1e-12", "\"fast\"", "null"]),
        ("workload.arrivals.cv", ["0", "-1"]),
        ("workload.client_timeout_s", ["0", "-1", "1e300", "\"x\""]),
        ("workload.shared_prefix", ["5", "{\"groups\": 1}",
                                    "{\"groups\": 0, \"prompts_per_group\": 1, \"system_tokens\": 1, \"question_tokens\": 1}"]),
        ("workload.arrivals.stages", ["[]", "5", "[{\"rate\": 1}]"]),
        ("scheduler.max_model_len", ["0", "-5", "1.5", "1e12"]),
        ("instances[0].expert_skew", ["-1", "11", "1"]),
        ("instances[0].max_num_seqs", ["0", "\"x\"", "2.5"]),
        ("instances[0].max_num_batched_tokens", ["0", "-4"]),
        ("instances[0].placement", ["\"spread\"", "1"]),
        ("instances[0].engine_overrides.kernel_tables", ["\"vllm-9\"", "5"]),
        ("instances[0].engine_overrides.kv_memory", ["\"all\""]),
        ("instances[0].engine_overrides.scheduling", ["\"v2\"", "0"]),
        ("instances[0].engine_overrides.prefix_caching", ["\"yes\"", "1"]),
        ("instances[0].engine_overrides.sampler_logit_copies", ["-1", "1e9"]),
        ("instances[0].engine_overrides.non_torch_gib_multi_gpu", ["-0.5"]),
        ("scheduler.admission_interval_steps", ["0", "2.5", "10000000"]),
        ("scheduler.max_prefill_tokens_per_round", ["0", "-3"]),
        ("workload.lengths.prompt.dist", ["\"normal\""]),
        ("workload.lengths.prompt.mean", ["0", "-1"]),
        ("workload.lengths.prompt.sigma", ["-1"]),
        ("workload.lengths.prompt.min", ["0", "100000000"]),
        ("workload.lengths.output.max", ["0", "1e19"]),
        ("workload.num_requests", ["0", "2.5", "1000000000", "\"many\"", "9223372036854775807"]),
        ("slo.ttft_s", ["0", "-1", "\"x\""]),
        ("slo.tpot_s", ["0"]),
        ("slo.e2el_s", ["0"]),
        ("slo.max_itl_s", ["-3"]),
        ("run.horizon_s", ["0", "-1"]),
        ("run.max_events", ["0"]),
        ("run.sample_interval_s", ["1e-9", "-1"]),
        ("run.check_invariants", ["\"yes\""]),
        ("run.percentiles", ["[]", "[0]", "[100]", "[50, 50]", "[\"p99\"]", "99"]),
        // Unknown fields, at every level.
        ("horizn", ["5"]),
        ("workload.arrivals.burst", ["1"]),
        ("instances[0].gpus", ["2"]),
        ("slo.ttfts", ["1"]),
        ("run.foo", ["1"]),
        ("topology.bar", ["1"]),
        ("scheduler.polcy", ["\"fcfs\""]),
    ]

    static var fields: [BadCase] {
        fieldValues.flatMap { path, values in
            values.map { v in
                BadCase(label: "\(path) = \(v)", files: ["s.json": scenario(setting: path, to: v)], args: ["s.json"],
                        mentions: ["s.json: \(path)"])
            }
        }
    }

    /// Required fields removed.
    static let missing: [BadCase] = ["name", "instances", "instances[0].gpu", "instances[0].model", "workload",
                                     "workload.arrivals", "workload.arrivals.process", "workload.arrivals.rate",
                                     "workload.arrivals.cv", "workload.num_requests", "workload.lengths",
                                     "workload.lengths.prompt.dist"].map { path in
        BadCase(label: "missing \(path)", files: ["s.json": scenario(setting: path, to: nil)], args: ["s.json"],
                mentions: ["s.json: \(path)"])
    }

    /// JSON that is not well formed, named by line and column (and field where there is one).
    static let syntax: [BadCase] = {
        func c(_ label: String, _ text: String, _ mention: String) -> BadCase {
            BadCase(label: label, files: ["s.json": text], args: ["s.json"], mentions: ["s.json: ", mention])
        }
        func r(_ find: String, _ replace: String) -> String { smallScenario.replacingOccurrences(of: find, with: replace) }
        var cases: [BadCase] = []
        cases.append(c("duplicate top-level key", r("\"seed\": 7,", "\"seed\": 7, \"seed\": 8,"), "seed (line 3"))
        cases.append(c("duplicate nested key", r("\"cv\": 2", "\"cv\": 2, \"cv\": 3"), "workload.arrivals.cv (line 7"))
        cases.append(c("number beyond a double", r("\"rate\": 6", "\"rate\": 1e309"), "workload.arrivals.rate (line 7"))
        cases.append(c("trailing comma", r("\"seed\": 7,", "\"seed\": 7,,"), "line 3, column"))
        cases.append(c("unclosed object", String(smallScenario.dropLast()), "line 16, column 1"))
        cases.append(c("single quotes", r("\"small\"", "'small'"), "name (line 2"))
        cases.append(c("unquoted key", r("\"seed\"", "seed"), "line 3, column 3"))
        cases.append(c("NaN", r("\"rate\": 6", "\"rate\": NaN"), "workload.arrivals.rate (line 7"))
        cases.append(c("leading zero", r("\"rate\": 6", "\"rate\": 06"), "workload.arrivals.rate (line 7"))
        cases.append(c("comment", "// a scenario\n" + smallScenario, "line 1, column 1"))
        cases.append(c("empty file", "", "line 1, column 1"))
        cases.append(c("only white space", "  \n ", "line 2, column 2"))
        cases.append(c("top-level array", "[1, 2]", "expected a JSON object"))
        cases.append(c("text after the object", smallScenario + "}", "line 16, column 2"))
        cases.append(c("control character in a string", r("\"small\"", "\"sm\u{1}all\""), "name (line 2"))
        cases.append(c("bad escape", r("\"small\"", "\"sm\\qall\""), "name (line 2"))
        cases.append(c("lone surrogate", r("\"small\"", "\"\\udc00\""), "name (line 2"))
        return cases
    }()

    /// Trace and length files that are missing, folders, empty or malformed.
    static let traces: [BadCase] = {
        func trace(_ label: String, _ content: String?, path: String = "t.csv", format: String? = nil, mention: [String])
            -> BadCase {
            var s = traceScenario.replacingOccurrences(of: "\"t.csv\"", with: "\"\(path)\"")
            if let format { s = s.replacingOccurrences(of: "\"process\": \"trace\"", with: "\"process\": \"trace\", \"format\": \"\(format)\"") }
            var files = ["s.json": s]
            if let content { files["t.csv"] = content }
            return BadCase(label: label, files: files, args: ["s.json"], mentions: mention)
        }
        var rows5 = goodRows
        rows5[3] = "0.4,100,ten"
        var backwards = goodRows
        backwards[2] = "0.05,100,10"
        return [
            trace("missing trace", nil, mention: ["s.json: workload.arrivals.path", "no such file"]),
            trace("trace path is the scenario's folder", nil, path: ".", mention: ["s.json: workload.arrivals.path", "folder"]),
            trace("trace path is the parent folder", nil, path: "..", mention: ["s.json: workload.arrivals.path", "folder"]),
            trace("trace path is empty", nil, path: "", mention: ["s.json: workload.arrivals.path", "folder"]),
            trace("trace path is the root", nil, path: "/", mention: ["s.json: workload.arrivals.path", "folder"]),
            trace("empty trace", "", mention: ["t.csv: trace file is empty"]),
            trace("header and no rows", traceRows([]), mention: ["s.json: workload.arrivals.path", "no data rows"]),
            trace("a word for a count at line 5", traceRows(rows5), mention: ["t.csv: line 5"]),
            trace("time going backwards at line 4", traceRows(backwards), mention: ["t.csv: line 4", "must not decrease"]),
            trace("negative time", traceRows(["-1,100,10"]), mention: ["t.csv: line 2"]),
            trace("infinite time", traceRows(["1e400,100,10"]), mention: ["t.csv: line 2"]),
            trace("zero tokens", traceRows(["0,0,10"]), mention: ["t.csv: line 2"]),
            trace("fractional tokens", traceRows(["0,10.5,10"]), mention: ["t.csv: line 2"]),
            trace("too few fields", traceRows(["0,10"]), mention: ["t.csv: line 2"]),
            trace("unknown header", "when,in,out\n0,1,1\n", mention: ["t.csv: line 1"]),
            trace("format that does not match", traceRows(goodRows), format: "azure", mention: ["t.csv: line 1"]),
            trace("unknown format", traceRows(goodRows), format: "parquet", mention: ["s.json: workload.arrivals.format"]),
            trace("length-only file replayed", traceRows(["100,10"], header: "prompt_tokens,output_tokens"),
                  mention: ["t.csv: ", "no arrival times"]),
            trace("azure timestamp out of range", "TIMESTAMP,ContextTokens,GeneratedTokens\n99999999999999-11-16 18:17:03.9,10,10\n",
                  mention: ["t.csv: line 2"]),
            trace("azure timestamp malformed", "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-13-16 18:17:03.9,10,10\n",
                  mention: ["t.csv: line 2"]),
            trace("mooncake line not an object", "{\"timestamp\": 0, \"input_length\": 5, \"output_length\": 5}\nnope\n",
                  mention: ["t.csv: line 2"]),
            trace("mooncake negative length", "{\"timestamp\": 0, \"input_length\": -5, \"output_length\": 5}\n",
                  mention: ["t.csv: line 1"]),
            trace("mooncake hash_ids not matching the length",
                  "{\"timestamp\": 0, \"input_length\": 1100, \"output_length\": 5, \"hash_ids\": [1]}\n",
                  mention: ["t.csv: line 1", "hash_ids"]),
            trace("mooncake hash_ids not numbers",
                  "{\"timestamp\": 0, \"input_length\": 100, \"output_length\": 5, \"hash_ids\": [\"a\"]}\n",
                  mention: ["t.csv: line 1", "hash_ids"]),
            BadCase(label: "rate_scale zero", files: ["s.json": scenario(setting: "workload.arrivals.rate_scale", to: "0", base: traceScenario),
                                                      "t.csv": traceRows(goodRows)],
                    args: ["s.json"], mentions: ["s.json: workload.arrivals.rate_scale"]),
            BadCase(label: "rate_scale beyond the clock", files: ["s.json": scenario(setting: "workload.arrivals.rate_scale", to: "1e-12", base: traceScenario),
                                                                  "t.csv": traceRows(goodRows)],
                    args: ["s.json"], mentions: ["s.json: workload.arrivals.rate_scale", "292 years"]),
            BadCase(label: "from_trace is a folder", files: ["s.json": scenario(setting: "workload.lengths", to: #"{"from_trace": "."}"#)],
                    args: ["s.json"], mentions: ["s.json: workload.lengths.from_trace", "folder"]),
            BadCase(label: "from_trace missing", files: ["s.json": scenario(setting: "workload.lengths", to: #"{"from_trace": "none.csv"}"#)],
                    args: ["s.json"], mentions: ["s.json: workload.lengths.from_trace", "no such file"]),
            BadCase(label: "empirical path missing",
                    files: ["s.json": scenario(setting: "workload.lengths.output", to: #"{"dist": "empirical", "path": "none.csv"}"#)],
                    args: ["s.json"], mentions: ["s.json: workload.lengths.output.path", "no such file"]),
            BadCase(label: "think time beyond the clock",
                    files: ["s.json": scenario(setting: "workload.arrivals", to: #"{"process": "closed_loop", "clients": 1, "think_time_s": 1e15}"#)],
                    args: ["s.json"], mentions: ["s.json: workload.arrivals.think_time_s", "292 years"]),
        ]
    }()

    /// The command line itself: misuse and output paths that must not be written.
    static let commandLine: [BadCase] = {
        let s = ["s.json": smallScenario, "keep.txt": "mine\n", "mine/notes.txt": "mine\n"]
        func c(_ label: String, _ args: [String], _ mentions: [String], files: [String: String] = s) -> BadCase {
            BadCase(label: label, files: files, args: args, mentions: mentions)
        }
        return [
            c("unknown option", ["run", "s.json", "--foo"], ["--foo"]),
            c("a required field removed by --set", ["run", "s.json", "--set", "name=null"], ["s.json: name: required field is missing"]),
            c("negative seed", ["run", "s.json", "--seed", "-1"], ["--seed"]),
            c("seed not a number", ["run", "s.json", "--seed", "abc"], ["--seed", "abc"]),
            c("seed beyond 64 bits", ["run", "s.json", "--seed", "18446744073709551616"], ["--seed"]),
            c("run without a scenario", ["run"], ["<scenario>"]),
            c("missing scenario file", ["run", "none.json"], ["none.json: ", "no such file"]),
            c("scenario is a folder", ["run", "."], [".: ", "folder"]),
            c("empty --set path", ["run", "s.json", "--set", "scheduler..policy=fcfs"], ["s.json: --set scheduler..policy=fcfs"]),
            c("--set without '='", ["run", "s.json", "--set", "scheduler.policy"], ["s.json: --set scheduler.policy"]),
            c("--set with a bad number", ["run", "s.json", "--set", "workload.arrivals.rate=1e309"], ["s.json: --set"]),
            c("--set to an unknown field", ["run", "s.json", "--set", "scheduler.polcy=fcfs"], ["s.json: scheduler.polcy"]),
            c("--set through a value", ["run", "s.json", "--set", "name.inner=1"], ["s.json: --set name.inner=1"]),
            c("--out is this folder", ["run", "s.json", "--out", "."], [".: --out", "did not write"]),
            c("--out is a file", ["run", "s.json", "--out", "keep.txt"], ["keep.txt: --out", "file"]),
            c("--out under a file", ["run", "s.json", "--out", "keep.txt/x"], ["keep.txt/x: --out"]),
            c("--out is someone's folder", ["run", "s.json", "--out", "mine"], ["mine: --out"]),
            c("--out under /proc", ["run", "s.json", "--out", "/proc/simrun-x"], ["/proc/simrun-x: --out"]),
            c("bench of a bad scenario", ["bench", "keep.txt"], ["keep.txt: ", "malformed JSON"]),
        ]
    }()

    static let sweeps: [BadCase] = {
        func sweep(_ label: String, _ body: String, _ mentions: [String], args: [String] = [],
                   extra: [String: String] = [:]) -> BadCase {
            var files = ["s.json": smallScenario, "w.json": #"{"name": "w", "scenario": "s.json", \#(body)}"#, "keep.txt": "mine\n"]
            files.merge(extra) { _, b in b }
            return BadCase(label: label, files: files, args: ["sweep", "w.json"] + args, mentions: mentions)
        }
        let grid = #""grid": {"workload.arrivals.rate": [1, 2]}"#
        var rows5 = goodRows
        rows5[3] = "0.4,100,ten"
        return [
            sweep("repetitions as a string", grid + #", "repetitions": "3""#, ["w.json: repetitions"]),
            sweep("fractional repetitions", grid + #", "repetitions": 2.5"#, ["w.json: repetitions"]),
            sweep("zero repetitions", grid + #", "repetitions": 0"#, ["w.json: repetitions"]),
            sweep("negative random seed", #""random": {"count": 2, "seed": -1, "parameters": {"scheduler.reserve": {"uniform": [0, 0.1]}}}"#,
                  ["w.json: random.seed"]),
            sweep("random count beyond any sweep", #""random": {"count": 1e23, "parameters": {"scheduler.reserve": {"uniform": [0, 0.1]}}}"#,
                  ["w.json: random.count"]),
            sweep("int_uniform too wide", #""random": {"count": 2, "parameters": {"seed": {"int_uniform": [-9e18, 9e18]}}}"#,
                  ["w.json: random.parameters.seed"]),
            sweep("unknown distribution", #""random": {"count": 2, "parameters": {"seed": {"normal": [0, 1]}}}"#,
                  ["w.json: random.parameters.seed"]),
            sweep("range with too many values", #""grid": {"workload.arrivals.rate": {"from": 0, "to": 1e308, "step": 1e-300}}"#,
                  ["w.json: grid.workload.arrivals.rate"]),
            sweep("whole-number range beyond 2^53", #""grid": {"seed": {"from": 1e19, "to": 1e19, "step": 1}}"#,
                  ["w.json: grid.seed"]),
            sweep("empty range", #""grid": {"seed": {"from": 5, "to": 1, "step": 1}}"#, ["w.json: grid.seed"]),
            sweep("duplicate key", grid + #", "grid": {"seed": [1]}"#, ["w.json: grid (line 1"]),
            sweep("unknown field", grid + #", "repeat": 2"#, ["w.json: repeat"]),
            sweep("zip of unequal lists", #""zip": {"seed": [1, 2], "workload.arrivals.rate": [1]}"#, ["w.json: zip"]),
            sweep("a parameter swept twice", grid + #", "zip": {"workload.arrivals.rate": [3]}"#, ["w.json: workload.arrivals.rate"]),
            sweep("a swept value the scenario refuses", #""grid": {"workload.arrivals.rate": [1, -2]}"#,
                  ["w.json: workload.arrivals.rate", "swept value"]),
            sweep("an unknown parameter", #""grid": {"workload.arrivals.rat": [1]}"#, ["w.json: workload.arrivals.rat"]),
            sweep("--db is a folder", grid, ["x: --db", "folder"], args: ["--db", "x"], extra: ["x/keep": "mine\n"]),
            sweep("--db is someone's file", grid, ["keep.txt: --db"], args: ["--db", "keep.txt"]),
            sweep("bad --shard", grid, ["w.json: --shard 2/2"], args: ["--shard", "2/2"]),
            sweep("bad --workers", grid, ["w.json: --workers 0"], args: ["--workers", "0"]),
            sweep("a bad trace row past line 1", #""grid": {"workload.num_requests": [2, 3]}"#, ["t.csv: line 5"],
                  extra: ["s.json": traceScenario, "t.csv": traceRows(rows5)]),
            BadCase(label: "missing sweep file", files: [:], args: ["sweep", "none.json"], mentions: ["none.json: ", "no such file"]),
            BadCase(label: "sweep file is an array", files: ["w.json": "[]"], args: ["sweep", "w.json"], mentions: ["w.json: "]),
        ]
    }()

    /// Export, merge and plot: inputs that are not sweep databases, outputs that are inputs or someone else's.
    static let databases: [BadCase] = [
        BadCase(label: "export of a text file", files: ["keep.txt": "mine\n"], args: ["export", "keep.txt"], mentions: ["keep.txt: "]),
        BadCase(label: "export of a missing database", files: [:], args: ["export", "none.sqlite"], mentions: ["none.sqlite: "]),
        BadCase(label: "merge of missing shards", files: [:], args: ["merge", "out.sqlite", "a.sqlite"], mentions: ["a.sqlite: "]),
        BadCase(label: "merge of a text file", files: ["keep.txt": "mine\n"], args: ["merge", "out.sqlite", "keep.txt"],
                mentions: ["keep.txt: "]),
        BadCase(label: "merge with no shards", files: [:], args: ["merge", "out.sqlite"], mentions: ["<shards>"]),
        BadCase(label: "plot of nothing", files: [:], args: ["plot", "none"], mentions: ["none: "]),
        BadCase(label: "plot of a folder without requests.csv", files: ["r/x": "1\n"], args: ["plot", "r"], mentions: ["r/requests.csv: "]),
        BadCase(label: "plot of a text file", files: ["keep.txt": "mine\n"], args: ["plot", "keep.txt", "--x", "seed"],
                mentions: ["keep.txt: "]),
        BadCase(label: "--set past the instance groups", files: ["s.json": smallScenario],
                args: ["s.json", "--set", "instances[2].tp=2"], mentions: ["s.json: --set instances[2].tp=2", "from 0 to 0"]),
        BadCase(label: "migration bench on one instance", files: ["s.json": smallScenario.replacingOccurrences(of: #""count": 2, "#, with: "")],
                args: ["migration-bench", "s.json"], mentions: ["s.json: instances"]),
        BadCase(label: "migration bench with a bad length", files: ["s.json": smallScenario],
                args: ["migration-bench", "s.json", "--lengths", "512,x"], mentions: ["s.json: --lengths"]),
        BadCase(label: "calibrate over someone's file", files: ["keep.txt": "mine\n"],
                args: ["calibrate", "--host", "--quick", "--out", "keep.txt"], mentions: ["keep.txt: --out"]),
        BadCase(label: "calibrate with no threads", files: [:], args: ["calibrate", "--host", "--threads", "0"], mentions: ["--threads 0"]),
        BadCase(label: "calibrate runs: missing file", files: [:], args: ["calibrate", "--runs", "none.csv"], mentions: ["none.csv: "]),
        BadCase(label: "calibrate runs: not AIConfigurator's layout", files: ["keep.txt": "id,backend\nx,vllm\n"],
                args: ["calibrate", "--runs", "keep.txt"], mentions: ["keep.txt: line 1"]),
        BadCase(label: "calibrate runs: a folder without deployment.json", files: ["r/LMBench_x_1.csv": "prompt_tokens\n1\n"],
                args: ["calibrate", "--runs", "r"], mentions: ["r/deployment.json: "]),
        BadCase(label: "calibrate runs: a bad request row", files: [
            "r/deployment.json": #"{"gpu": "A100-80GB", "model": "Llama-3.1-70B", "tp": 2}"#,
            "r/LMBench_x_1.csv": "prompt_tokens,generation_tokens,ttft,generation_time,launch_time\n5,five,0.1,0.5,1\n"],
                args: ["calibrate", "--runs", "r"], mentions: ["r/LMBench_x_1.csv: line 2"]),
        BadCase(label: "calibrate runs: a vllm bench result without its rate", files: [
            "r/deployment.json": #"{"gpu": "A100-80GB", "model": "Llama-3.1-8B", "tp": 1}"#,
            "r/b.json": #"{"completed": 5, "mean_ttft_ms": 5, "mean_tpot_ms": 1, "total_input_tokens": 50, "total_output_tokens": 50}"#],
                args: ["calibrate", "--runs", "r"], mentions: ["r/b.json: request_rate"]),
        BadCase(label: "calibrate runs: a vllm bench result that is not JSON", files: [
            "r/deployment.json": #"{"gpu": "A100-80GB", "model": "Llama-3.1-8B", "tp": 1}"#, "r/b.json": "{\"completed\": 5,"],
                args: ["calibrate", "--runs", "r/b.json"], mentions: ["r/b.json: line 1"]),
    ]

    /// Goodput searches: options out of range, scenarios without a rate or an SLO, someone's file as --out.
    static let goodput: [BadCase] = {
        let noSLO = smallScenario.replacingOccurrences(of: #""slo": { "ttft_s": 0.5, "tpot_s": 0.05 },"#, with: "")
        let closed = smallScenario.replacingOccurrences(of: #""process": "gamma", "rate": 6, "cv": 2"#,
                                                        with: #""process": "closed_loop", "clients": 4"#)
        let ramp = smallScenario.replacingOccurrences(of: #""process": "gamma", "rate": 6, "cv": 2"#,
                                                      with: #""process": "poisson", "stages": [{"rate": 2, "duration_s": 5}, {"rate": 6, "duration_s": 5}]"#)
        func goodput(_ label: String, _ args: [String], _ mentions: [String], scenario: String = smallScenario) -> BadCase {
            BadCase(label: label, files: ["s.json": scenario, "keep.txt": "mine\n"], args: ["goodput", "s.json"] + args,
                    mentions: mentions)
        }
        return [
            goodput("attainment above 100%", ["--attainment", "120"], ["s.json: --attainment"]),
            goodput("zero tolerance", ["--tolerance", "0"], ["s.json: --tolerance"]),
            goodput("zero rate limit", ["--max-rate", "0"], ["s.json: --max-rate"]),
            goodput("no SLO", [], ["s.json: slo"], scenario: noSLO),
            goodput("closed-loop arrivals", [], ["s.json: workload.arrivals"], scenario: closed),
            goodput("a Poisson ramp (no one rate to vary)", [], ["s.json: workload.arrivals"], scenario: ramp),
            goodput("someone's file as --out", ["--out", "keep.txt"], ["keep.txt: --out"]),
        ]
    }()

    /// Search specs: every field named when wrong.
    static let search: [BadCase] = {
        func spec(_ label: String, _ body: String, _ mentions: [String]) -> BadCase {
            BadCase(label: label, files: ["s.json": smallScenario, "p.json": body], args: ["search", "p.json"], mentions: mentions)
        }
        let gpus = #""gpus": [{"gpu": "A100-80GB", "count": 2}]"#
        return [
            spec("no scenario", "{\(gpus)}", ["p.json: scenario"]),
            spec("a missing scenario", #"{"scenario": "none.json", "# + gpus + "}", ["none.json: "]),
            spec("unknown GPU", #"{"scenario": "s.json", "gpus": [{"gpu": "Z80", "count": 2}]}"#, ["p.json: gpus[0].gpu"]),
            spec("zero GPUs", #"{"scenario": "s.json", "gpus": [{"gpu": "A100-80GB", "count": 0}]}"#, ["p.json: gpus[0].count"]),
            spec("a negative price", #"{"scenario": "s.json", "gpus": [{"gpu": "A100-80GB", "count": 2, "price_per_hour": -1}]}"#,
                 ["p.json: gpus[0].price_per_hour"]),
            spec("a fractional TP", #"{"scenario": "s.json", "tp": [1.5], "# + gpus + "}", ["p.json: tp"]),
            spec("an unknown layout", #"{"scenario": "s.json", "layouts": ["split"], "# + gpus + "}", ["p.json: layouts"]),
            spec("an unknown field", #"{"scenario": "s.json", "budget": 3, "# + gpus + "}", ["p.json: budget"]),
            spec("a negative target rate", #"{"scenario": "s.json", "target_rate": -1, "# + gpus + "}", ["p.json: target_rate"]),
            spec("attainment of 0", #"{"scenario": "s.json", "attainment": 0, "# + gpus + "}", ["p.json: attainment"]),
            BadCase(label: "a trace whose arrivals span no time", files: [
                "t.json": #"{"name": "t", "instances": [{"gpu": "A100-80GB", "model": "Llama-2-7B"}], "slo": {"ttft_s": 1}, "#
                    + #""workload": {"arrivals": {"process": "trace", "path": "t.csv"}}}"#,
                "t.csv": "arrived_at,num_prefill_tokens,num_decode_tokens\n0,100,10\n",
                "p.json": #"{"scenario": "t.json", "# + gpus + "}"], args: ["search", "p.json"], mentions: ["t.json: workload.arrivals.path"]),
            BadCase(label: "a trace in an unknown format", files: [
                "t.json": #"{"name": "t", "instances": [{"gpu": "A100-80GB", "model": "Llama-2-7B"}], "slo": {"ttft_s": 1}, "#
                    + #""workload": {"arrivals": {"process": "trace", "path": "t.csv", "format": "tape"}}}"#,
                "t.csv": "arrived_at,num_prefill_tokens,num_decode_tokens\n0,100,10\n",
                "p.json": #"{"scenario": "t.json", "# + gpus + "}"], args: ["search", "p.json"], mentions: ["t.json: workload.arrivals.format"]),
        ]
    }()

    static var all: [BadCase] { fields + missing + syntax + traces + commandLine + sweeps + databases + goodput + search }
}

/// Every file below a folder with its content, to show that nothing was written.
func snapshot(_ dir: URL) -> [String: Data] {
    var out: [String: Data] = [:]
    let base = dir.resolvingSymlinksInPath().path
    guard let e = FileManager.default.enumerator(atPath: base) else { return out }
    while let rel = e.nextObject() as? String {
        let path = base + "/" + rel
        out[rel] = FileSystem.kind(of: path) == .file ? (FileManager.default.contents(atPath: path) ?? Data()) : Data("dir".utf8)
    }
    return out
}

@Suite("Bad input through the executable: exit 2, one line naming file and field, nothing written")
struct BadInputCatalogTests {
    @Test func thereAreAtLeast150Cases() {
        #expect(BadCases.all.count >= 150, "\(BadCases.all.count) cases")
        #expect(Set(BadCases.all.map(\.label)).count == BadCases.all.count, "labels are unique")
    }

    @Test(arguments: BadCases.all)
    func refused(_ c: BadCase) throws {
        let dir = tempDir()
        for (name, content) in c.files {
            let url = dir.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try content.write(to: url, atomically: false, encoding: .utf8)
        }
        let before = snapshot(dir)
        let result = try runSimrun(c.args, cwd: dir)
        #expect(result.status == 2, "\(c.label): status \(result.status): \(result.stderr)")
        let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 2 && lines[1].isEmpty && lines[0].hasPrefix("error: "), "\(c.label): \(result.stderr)")
        for m in c.mentions { #expect(result.stderr.contains(m), "\(c.label): expected '\(m)' in: \(result.stderr)") }
        #expect(snapshot(dir) == before, "\(c.label): files changed")
        #expect(FileManager.default.fileExists(atPath: "/proc/simrun-x") == false)
    }

    @Test func invalidUTF8IsRefusedWithItsPlace() throws {
        let dir = tempDir()
        var bytes = Array(smallScenario.utf8)
        let at = bytes.indices.first { bytes[$0] == UInt8(ascii: "m") && bytes[$0 - 1] == UInt8(ascii: "s") }!
        bytes[at] = 0xFF
        try Data(bytes).write(to: dir.appendingPathComponent("s.json"))
        let result = try runSimrun(["s.json"], cwd: dir)
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("error: s.json: name (line 2, column"), "\(result.stderr)")
    }
}

@Suite("Every numeric field decodes extreme values without a crash")
struct NumericFieldTests {
    static let extremes = ["1e308", "-1e308", "5e-324", "-1", "0", "0.5", "1e19", "-9223372036854775808",
                           "9223372036854775807", "18446744073709551615", "4294967296"]

    static let numericFields: [String] = ScenarioSchema.fields.filter {
        $0.type.hasPrefix("integer") || $0.type.hasPrefix("number") || $0.type.hasPrefix("0 or number")
    }.map { $0.path.replacingOccurrences(of: "[]", with: "[0]") }

    @Test(arguments: numericFields)
    func refusedWithTheFieldOrAccepted(path: String) throws {
        let dir = tempDir()
        for value in Self.extremes {
            let file = try writeScenario(scenario(setting: path, to: value), in: dir)
            do {
                _ = try SimulationPlan(scenarioPath: file)
            } catch let e as InputError {
                #expect(e.location.hasPrefix(path) || !e.location.isEmpty, "\(path) = \(value): \(e)")
                #expect(!e.description.contains("\n"))
            } catch {
                Issue.record("\(path) = \(value): not an input error: \(error)")
            }
        }
    }
}
