import Foundation
import Serving
import SimCore

/// Writes a run's outputs into a checked results folder all at once (see
/// ResultsFolder): a failed or interrupted run never leaves half-written results.
public enum ResultWriter {
    /// - Parameter requests: write requests.csv from the cluster's records (false where it was streamed
    ///   during the run, or is not wanted).
    public static func write(_ summary: RunSummary, cluster: Cluster, plan: SimulationPlan, to folder: ResultsFolder,
                      iterations: Bool = true, requests: Bool = true) throws {
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try (encoder.encode(summary) + Data("\n".utf8)).write(to: URL(fileURLWithPath: folder.path("summary.json")))
            if requests { try writeRequests(cluster.metrics.records, slos: plan.slos, to: folder.path("requests.csv")) }
            try writeTimeseries(cluster.metrics.samples, to: folder.path("timeseries.csv"))
            if iterations, let log = cluster.iterationLog { try writeIterations(log.records, cluster: cluster, to: folder.path("iterations.csv")) }
            let provenance = plan.provenance(costModels: summary.cost_model)
            try Data((provenance.canonicalText + "\n").utf8).write(to: URL(fileURLWithPath: folder.path("provenance.json")))
        } catch let e as CSVWriterError {
            throw RunError(path: folder.shown, message: "\((e.path as NSString).lastPathComponent): \(e.reason)")
        } catch let e as EncodingError {
            throw RunError(path: folder.shown, message: "cannot encode the summary (\(e))")
        } catch {
            throw RunError(path: folder.shown, message: "write failed (\(FileSystem.describe(error)))")
        }
        try folder.commit()
    }

    /// One row per forward pass recorded: when it started, where, its batch, its duration and parts
    /// (ms, summed over layers), the KV blocks in use, and MFU and MBU over the instance's GPUs.
    static func writeIterations(_ records: [IterationRecord], cluster: Cluster, to path: String) throws {
        let csv = try CSVWriter(path: path, header: [
            "start_s", "instance", "batch_size", "prefill_tokens", "decode_tokens", "duration_ms", "gemm_ms", "attention_ms",
            "all_reduce_ms", "all_to_all_ms", "other_gpu_ms", "host_ms", "kv_blocks_used", "kv_blocks_total", "mfu", "mbu"])
        for r in records {
            let inst = cluster.instances[r.instance], p = r.parts, gpus = Double(inst.gpus.count)
            csv.field(r.start)
            csv.field(r.instance)
            csv.field(r.batch.sequences)
            csv.field(r.batch.prefillTokens)
            csv.field(r.batch.decodeTokens)
            for ms in [r.duration, p.gemm, p.attention, p.allReduce, p.allToAll,
                       p.elementwise + p.pipelineHandoff + p.outputProjection, p.host] { csv.field(ms * 1000) }
            csv.field(r.kvBlocksUsed)
            csv.field(r.kvBlocksTotal)
            let a = inst.spec.accelerator
            csv.field(r.duration > 0 ? r.flops / (r.duration * a.fp16Flops * gpus) : 0)
            csv.field(r.duration > 0 ? r.bytes / (r.duration * a.memoryBandwidth * gpus) : 0)
            csv.endRow()
        }
        try csv.close()
    }

    static func writeRequests(_ records: [RequestRecord], slos: SLOs, to path: String) throws {
        let out = try RequestsCSV(path: path, slos: slos)
        out.add(records)
        try out.close()
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
