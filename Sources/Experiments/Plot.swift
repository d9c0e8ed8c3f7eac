import Foundation
import SimCore

public enum Plots {
    /// CDFs of TTFT and TPOT (ms) over a run's finished requests.
    public static func runCDFs(folder: String, out: String) throws -> [(file: String, chart: SVGChart)] {
        let path = folder + "/requests.csv"
        let lines = try LineReader(path: path)
        guard let header = try lines.next()?.split(separator: ",").map(String.init),
              let ttft = header.firstIndex(of: "ttft_s"), let tpot = header.firstIndex(of: "tpot_s")
        else { throw InputError(file: path, location: "line 1", "expected the columns ttft_s and tpot_s") }
        var values: [[Double]] = [[], []]
        while let line = try lines.next() {
            let f = line.split(separator: ",", omittingEmptySubsequences: false)
            guard f.count == header.count else { throw InputError(file: path, location: "line \(lines.lineNumber)", "expected \(header.count) fields") }
            if let v = Double(f[ttft]) { values[0].append(v * 1000) }
            if let v = Double(f[tpot]) { values[1].append(v * 1000) }
        }
        var charts: [(file: String, chart: SVGChart)] = []
        for (i, name) in ["TTFT", "TPOT"].enumerated() {
            let chart = SVGChart(title: "\(name) distribution (\(values[i].count) requests)", xLabel: "\(name) (ms)",
                                 yLabel: "fraction of requests ≤ x", series: [.init(name: name, points: cdf(values[i]), markers: false)])
            charts.append(("\(out)/\(name.lowercased())-cdf.svg", chart))
        }
        return charts
    }

    /// The empirical CDF, at most 400 points.
    static func cdf(_ values: [Double]) -> [(x: Double, y: Double)] {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return [] }
        let stride = (sorted.count + 399) / 400
        var points = Swift.stride(from: 0, to: sorted.count, by: stride).map { (sorted[$0], Double($0 + 1) / Double(sorted.count)) }
        if points.last?.1 != 1 { points.append((sorted.last!, 1)) }
        return points
    }

    public static func sweep(database: String, x: String, metrics: [String], series: String?, out: String) throws
        -> [(file: String, chart: SVGChart)] {
        let db = try SweepDatabase.openForReading(database).0.db
        let rows = try db.query("SELECT r.point_id, r.parameters, m.name, m.value FROM runs r JOIN metrics m USING (point_id) WHERE r.status = 'ok'")
        // (series, x) → metric → values over repetitions
        var table: [String: [Double: [String: [Double]]]] = [:]
        var seenX = false
        for row in rows {
            guard case .text(let json) = row[1], case .text(let name) = row[2], case .real(let v) = row[3],
                  let p = try? JSONValue.parse(json), let xv = p[x]?.double else { continue }
            seenX = true
            guard metrics.contains(name) else { continue }
            let s = series.map { p[$0].map { $0.string ?? $0.canonicalText } ?? "-" } ?? name
            table[s, default: [:]][xv, default: [:]][name, default: []].append(v)
        }
        guard seenX else {
            throw InputError(file: database, location: "--x \(x)", "no successful run has a numeric swept value for this parameter")
        }
        let stem = URL(fileURLWithPath: database).deletingPathExtension().lastPathComponent
        var charts: [(file: String, chart: SVGChart)] = []
        for metric in metrics {
            let lines = table.keys.sorted().map { s in
                SVGChart.Series(name: series.map { "\($0.split(separator: ".").last!) = \(s)" } ?? s,
                                points: table[s]!.keys.sorted().compactMap { xv in
                                    table[s]![xv]![metric].map { (xv, $0.reduce(0, +) / Double($0.count)) }
                                })
            }.filter { !$0.points.isEmpty }
            guard !lines.isEmpty else { throw InputError(file: database, location: "--y \(metric)", "no such metric in the runs") }
            let chart = SVGChart(title: "\(metric) against \(x)", xLabel: x, yLabel: metric, series: lines)
            let file = "\(out)/\(stem)-\(metric.replacingOccurrences(of: ".", with: "_"))-vs-\(x.replacingOccurrences(of: ".", with: "_")).svg"
            charts.append((file, chart))
        }
        return charts
    }

}
