import Foundation

/// The human-readable summary printed after a run.
public enum SummaryTable {
    public static func render(_ o: Runner.Outcome, outputDir: String?) -> String {
        let s = o.summary
        var lines: [String] = []
        func row(_ label: String, _ value: String) { lines.append(label.padding(toLength: 34, withPad: " ", startingAt: 0) + value) }
        func f(_ x: Double?, _ digits: Int = 2) -> String {
            guard let x else { return "-" }
            return String(format: "%.\(digits)f", x)
        }
        lines.append("==== \(s.scenario) (seed \(s.seed)) ====")
        row("Stopped because", s.stop_reason)
        row("Simulated time (s)", f(s.simulated_seconds, 1))
        row("Instances (servers)", "\(s.instances) (\(s.nodes))")
        for gpu in s.cost_model.keys.sorted() { row("Cost model, \(gpu)", s.cost_model[gpu]!) }
        row("Requests arrived", "\(s.requests_arrived)")
        row("Requests completed", "\(s.requests_completed)")
        let reasons = s.dropped_by_reason.keys.sorted().map { "\($0): \(s.dropped_by_reason[$0]!)" }.joined(separator: ", ")
        row("Requests dropped", "\(s.requests_dropped)" + (reasons.isEmpty ? "" : " (\(reasons))"))
        if s.requests_unfinished > 0 { row("Requests unfinished", "\(s.requests_unfinished)") }
        row("Request throughput (req/s)", f(s.request_throughput))
        row("Output token throughput (tok/s)", f(s.output_throughput, 1))
        row("Total token throughput (tok/s)", f(s.total_token_throughput, 1))
        let heads = ["mean", "p50"] + s.ttft.percentiles.map { LatencyStats.key($0.percentile).dropLast(3) }
        lines.append("-- latency (ms) -------------------  " + heads.map { $0.padding(toLength: 9, withPad: " ", startingAt: 0) }.joined())
        for (name, l) in [("TTFT", s.ttft), ("TPOT", s.tpot), ("ITL", s.itl), ("E2EL", s.e2el)] {
            let cells = ([l.mean_ms, l.median_ms] + l.percentiles.map(\.ms)).map { f($0, 1).padding(toLength: 9, withPad: " ", startingAt: 0) }
            row(name, cells.joined())
        }
        if let slo = s.slo {
            let bounds = [("TTFT", slo.ttft_s, slo.ttft_attainment), ("TPOT", slo.tpot_s, slo.tpot_attainment),
                          ("E2EL", slo.e2el_s, slo.e2el_attainment), ("max ITL", slo.max_itl_s, slo.max_itl_attainment)]
            for (name, bound, att) in bounds where bound != nil {
                row("SLO \(name) ≤ \(f(bound, 3)) s", f(att.map { $0 * 100 }, 1) + " %")
            }
            row("SLO attainment (all)", f(slo.attainment * 100, 1) + " %")
            row("Request goodput (req/s)", f(slo.request_goodput))
            row("Token goodput (output tok/s)", f(slo.token_goodput, 1))
        }
        row("KV cache utilisation (mean)", f(s.kv_utilization_mean * 100, 1) + " %")
        row("Preemptions", "\(s.preemptions) (\(f(s.preemptions_per_request, 3)) per request)")
        lines.append("-- simulator --------------------")
        row("Wall time (s)", f(o.wallSeconds, 2))
        row("Events", "\(s.events) (\(f(o.eventsPerSecond / 1e6, 2)) M/s)")
        row("Simulated requests/s", f(o.requestsPerSecond, 0))
        if let outputDir { row("Results", outputDir) }
        return lines.joined(separator: "\n")
    }
}
