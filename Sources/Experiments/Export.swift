import Foundation
import SimCore

/// One CSV row per run, for pandas: the run's columns, then `param.<path>` per swept field (text as
/// is, numbers canonical, lists and objects as JSON), then every metric of its summary.json by its
/// dotted name, latency statistics under `vllm bench serve`'s names (`mean_ttft_ms`, `p99_tpot_ms`,
/// `std_itl_ms`, …). Counts are whole numbers, 0 where a run has none; other metrics are empty where
/// a run lacks them (an infeasible point, a statistic over no requests).
public enum SweepExport {
    public static let fixedColumns = ["point_id", "seed", "status", "error", "wall_seconds"]

    /// The export's name for a metric: `ttft.mean_ms` → `mean_ttft_ms` (vLLM's), others unchanged.
    static func column(_ metric: String) -> String {
        let parts = metric.split(separator: ".", maxSplits: 1)
        guard parts.count == 2, ["ttft", "tpot", "itl", "e2el", "queueing"].contains(parts[0]), parts[1].hasSuffix("_ms") else {
            return metric
        }
        return "\(parts[1].dropLast(3))_\(parts[0])_ms"
    }

    public static func write(_ database: SweepDatabase, to path: String) throws -> Int {
        let db = database.db
        let runs = try db.query("SELECT point_id, parameters, seed, status, wall_seconds, error FROM runs ORDER BY point_id")
        var metrics: [Int64: [String: Double]] = [:]
        for row in try db.query("SELECT point_id, name, value FROM metrics") {
            if case .integer(let id) = row[0], case .text(let name) = row[1], case .real(let v) = row[2] {
                metrics[id, default: [:]][name] = v
            }
        }
        var parameters: [Int64: [String: JSONValue]] = [:]
        for row in runs {
            if case .integer(let id) = row[0], case .text(let json) = row[1], let members = (try? JSONValue.parse(json))?.members {
                parameters[id] = Dictionary(members.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
            }
        }
        let parameterNames = Set(parameters.values.flatMap(\.keys)).sorted()
        // The run's seed is a column of its own already.
        let metricNames = Set(metrics.values.flatMap(\.keys)).subtracting(fixedColumns).sorted { column($0) < column($1) }
        try OutputFile.replace(path) { tmp in
            let csv = try CSVWriter(path: tmp, header: fixedColumns + parameterNames.map { "param." + $0 } + metricNames.map(column))
            for row in runs {
                guard case .integer(let id) = row[0] else { continue }
                csv.field(Int(id))
                if case .integer(let seed) = row[2] { csv.field(String(UInt64(bitPattern: seed))) } else { csv.emptyField() }
                if case .text(let status) = row[3] { csv.field(status) } else { csv.emptyField() }
                if case .text(let error) = row[5] { csv.field(error) } else { csv.emptyField() }
                if case .real(let wall) = row[4] { csv.field(wall) } else { csv.emptyField() }
                for name in parameterNames {
                    switch parameters[id]?[name] {
                    case .string(let s)?: csv.field(s)
                    case let v?: csv.field(v.canonicalText)
                    case nil: csv.emptyField()
                    }
                }
                for name in metricNames {
                    if RunSummary.isCount(name) {
                        let v = metrics[id]?[name] ?? 0
                        if v == v.rounded(), abs(v) < 9e15 { csv.field(Int(v)) } else { csv.field(v) }
                    } else {
                        csv.field(metrics[id]?[name] ?? .nan)
                    }
                }
                csv.endRow()
            }
            try csv.close()
        }
        return runs.count
    }
}
