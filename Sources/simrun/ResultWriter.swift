import Foundation
import Serving
import SimCore

/// Writes a run's outputs into a folder all at once: everything goes into a
/// sibling staging folder that replaces the target only when complete, so a
/// failed or interrupted run never leaves half-written results.
enum ResultWriter {
    static func write(_ summary: RunSummary, cluster: Cluster, plan: SimulationPlan, to dir: String) throws {
        let fm = FileManager.default
        let target = URL(fileURLWithPath: dir).standardizedFileURL
        let staging = target.deletingLastPathComponent()
            .appendingPathComponent(".\(target.lastPathComponent).partial-\(ProcessInfo.processInfo.processIdentifier)")
        try? fm.removeItem(at: staging)
        try fm.createDirectory(at: staging, withIntermediateDirectories: true)
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try (encoder.encode(summary) + Data("\n".utf8)).write(to: staging.appendingPathComponent("summary.json"))
            try writeRequests(cluster.metrics.records, slos: plan.slos, to: staging.appendingPathComponent("requests.csv").path)
            try writeTimeseries(cluster.metrics.samples, to: staging.appendingPathComponent("timeseries.csv").path)
            if fm.fileExists(atPath: target.path) { try fm.removeItem(at: target) }
            try fm.moveItem(at: staging, to: target)
        } catch {
            try? fm.removeItem(at: staging)
            throw error
        }
    }

    static func writeRequests(_ records: [RequestRecord], slos: SLOs, to path: String) throws {
        var header = ["id", "arrival_s", "first_scheduled_s", "first_token_s", "finish_s", "ttft_s", "tpot_s", "e2el_s",
                      "max_itl_s", "prompt_tokens", "output_tokens", "instance", "preemptions", "migrations", "status"]
        if slos.ttft != nil { header.append("met_ttft_slo") }
        if slos.tpot != nil { header.append("met_tpot_slo") }
        if slos.e2el != nil { header.append("met_e2el_slo") }
        if slos.maxITL != nil { header.append("met_max_itl_slo") }
        if !slos.isEmpty { header.append("met_all_slos") }
        let csv = try CSVWriter(path: path, header: header)
        func time(_ t: SimTime?) { if let t { csv.field(t) } else { csv.emptyField() } }
        func flag(_ b: Bool?) { if let b { csv.field(b ? 1 : 0) } }
        for r in records.sorted(by: { $0.id < $1.id }) {
            csv.field(r.id)
            time(r.arrival)
            time(r.firstScheduled)
            time(r.firstToken)
            time(r.finished ? r.end : nil)
            time(r.firstToken.map { $0 - r.arrival })
            csv.field(r.tpot ?? .nan)
            time(r.finished ? r.end - r.arrival : nil)
            time(r.outputTokens > 1 ? r.maxInterTokenGap : nil)
            csv.field(r.promptTokens)
            csv.field(r.outputTokens)
            csv.field(r.instance)
            csv.field(r.preemptions)
            csv.field(r.migrations)
            csv.field(r.dropReason.map { "dropped:" + $0.rawValue } ?? "finished")
            if !slos.isEmpty {
                let v = SLOVerdict(r, slos)
                flag(v.ttft); flag(v.tpot); flag(v.e2el); flag(v.maxITL); flag(v.all)
            }
            csv.endRow()
        }
        try csv.close()
    }

    static func writeTimeseries(_ samples: [InstanceSample], to path: String) throws {
        let csv = try CSVWriter(path: path, header: ["time_s", "instance", "waiting", "running", "swapped",
                                                     "kv_blocks_used", "kv_blocks_total", "host_kv_blocks_used",
                                                     "nvme_kv_blocks_used"])
        for s in samples {
            csv.field(s.time)
            for n in [s.instance, s.waiting, s.running, s.swapped, s.gpuBlocksUsed, s.gpuBlocksTotal, s.hostBlocksUsed,
                      s.nvmeBlocksUsed] {
                csv.field(n)
            }
            csv.endRow()
        }
        try csv.close()
    }
}
