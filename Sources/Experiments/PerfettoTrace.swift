import Foundation
import Serving
import SimCore

/// A run as a Chrome/Perfetto trace (JSON; opens in ui.perfetto.dev). Three processes: "instances",
/// one track per instance with its forward passes (the iteration records, sampled as they were)
/// and counters of its queue and KV blocks (the time series); "transfers", one track per pair of
/// instances a request's KV moved between (hand-offs and migrations); and "cluster", the start-up
/// phases of launched instances and the rescales. Times are microseconds of simulated time.
public enum PerfettoTrace {
    /// The first bytes of every trace simrun writes, by which it recognises its own.
    public static let opening = #"{"otherData":{"writer":"simrun"},"traceEvents":["#

    public static func write(_ cluster: Cluster, to path: String) throws {
        var events: [String] = []
        func name(_ text: String) -> String { JSONValue.string(text).canonicalText }
        func us(_ t: SimTime) -> String { String(format: "%.3f", Double(t.nanoseconds) / 1000) }
        func us(_ seconds: Double) -> String { String(format: "%.3f", seconds * 1e6) }
        func meta(_ pid: Int, _ tid: Int?, _ what: String, _ value: String) {
            let thread = tid.map { ",\"tid\":\($0)" } ?? ""
            events.append(#"{"ph":"M","pid":\#(pid)\#(thread),"name":"\#(what)","args":{"name":\#(name(value))}}"#)
        }
        meta(1, nil, "process_name", "instances")
        meta(2, nil, "process_name", "transfers")
        meta(3, nil, "process_name", "cluster")
        for inst in cluster.instances {
            meta(1, inst.index, "thread_name",
                 "instance \(inst.index): \(inst.spec.model.name) \(inst.spec.layout) on \(inst.spec.accelerator.name)")
        }
        for r in cluster.iterationLog?.records ?? [] {
            let b = r.batch
            let kind = b.prefillTokens == 0 ? "decode" : b.decodeTokens == 0 ? "prefill" : "mixed"
            events.append(#"{"ph":"X","pid":1,"tid":\#(r.instance),"ts":\#(us(r.start)),"dur":\#(us(r.duration)),"#
                + #""name":"\#(kind)","args":{"sequences":\#(b.sequences),"prefill_tokens":\#(b.prefillTokens),"#
                + #""decode_tokens":\#(b.decodeTokens),"kv_blocks_used":\#(r.kvBlocksUsed)}}"#)
        }
        for s in cluster.metrics.samples {
            events.append(#"{"ph":"C","pid":1,"tid":\#(s.instance),"ts":\#(us(s.time)),"name":"instance \#(s.instance) requests","#
                + #""args":{"waiting":\#(s.waiting),"running":\#(s.running),"swapped":\#(s.swapped)}}"#)
            events.append(#"{"ph":"C","pid":1,"tid":\#(s.instance),"ts":\#(us(s.time)),"name":"instance \#(s.instance) KV blocks","#
                + #""args":{"used":\#(s.gpuBlocksUsed)}}"#)
        }
        // One track per (from, to) pair, numbered in the order the pairs first appear.
        var tracks: [Int: Int] = [:]
        for m in cluster.migrationRecords {
            let key = m.from * cluster.instances.count + m.to
            let tid = tracks[key] ?? {
                let t = tracks.count + 1
                tracks[key] = t
                meta(2, t, "thread_name", "instance \(m.from) → instance \(m.to)")
                return t
            }()
            events.append(#"{"ph":"X","pid":2,"tid":\#(tid),"ts":\#(us(m.start)),"dur":\#(us(m.end - m.start)),"#
                + #""name":"\#(m.kind.rawValue) request \#(m.request)","args":{"bytes":\#(m.bytes),"stages":\#(m.stages),"#
                + #""downtime_us":\#(us(m.downtime)),"outcome":"\#(m.outcome.rawValue)"}}"#)
        }
        for inst in cluster.instances {
            let l = inst.lifecycle
            guard let requested = l.requested, let ready = l.ready else { continue }
            events.append(#"{"ph":"X","pid":3,"tid":1,"ts":\#(us(requested)),"dur":\#(us(ready - requested)),"#
                + #""name":"instance \#(inst.index) starts"}"#)
        }
        meta(3, 1, "thread_name", "instance start-up")
        meta(3, 2, "thread_name", "rescales")
        for r in cluster.scalingRecords {
            guard let ready = r.ready else { continue }
            events.append(#"{"ph":"X","pid":3,"tid":2,"ts":\#(us(r.start)),"dur":\#(us(ready - r.start)),"#
                + #""name":\#(name("\(r.method.rawValue) \(r.from) → \(r.to)")),"args":{"downtime_us":\#(us(r.downtime))}}"#)
        }
        try OutputFile.replace(path) { tmp in
            var text = opening
            text += events.joined(separator: ",\n")
            text += "]}\n"
            do { try Data(text.utf8).write(to: URL(fileURLWithPath: tmp)) } catch {
                throw RunError(path: path, message: "write failed (\(FileSystem.describe(error)))")
            }
        }
    }
}
