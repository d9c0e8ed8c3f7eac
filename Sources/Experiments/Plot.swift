import Foundation
import SimCore

/// The figures `simrun plot` draws: from run folders, latency CDFs (several runs overlaid, SLOs
/// drawn) and the cluster over time (queue and batch, KV use, instances); from a sweep database,
/// metrics against a swept parameter, one colour per value of one parameter and one dash per
/// value of another, repetitions shown as mean with a ±1 standard-deviation band.
public enum Plots {
    public typealias Chart = (file: String, chart: SVGChart)

    // MARK: Runs

    /// CDFs and time series of one or more runs, overlaid; names in the legend are the folders'.
    public static func runs(_ folders: [String], out: String, scale: (x: SVGChart.Scale, y: SVGChart.Scale) = (.automatic, .automatic))
        throws -> [Chart] {
        let names = legendNames(folders)
        let slo = try folders.lazy.compactMap { try summary(of: $0)?["slo"] }.first
        var charts: [Chart] = []
        let columns = ["ttft_s", "tpot_s", "e2el_s"]
        let samples = try folders.map { try requestColumns($0, columns) }
        for (i, column) in columns.enumerated() {
            let metric = column.dropLast(2).uppercased()
            var chart = SVGChart(title: "\(metric): distribution over requests",
                                 xLabel: "\(metric) (ms)", yLabel: "fraction of requests ≤ x",
                                 series: samples.enumerated().map { r, values in
                                     .init(name: folders.count > 1 ? names[r] : "", points: cdf(values[i].map { $0 * 1000 }),
                                           color: r, markers: false)
                                 })
            chart.xScale = scale.x
            chart.yScale = .linear
            if let bound = slo?[column]?.double { chart.thresholds = [.init(.x, bound * 1000, "SLO \(metric) \(SVGChart.label(bound * 1000)) ms")] }
            charts.append(("\(out)/\(metric.lowercased())-cdf.svg", chart))
        }

        let series = try folders.map { try timeseries($0) }
        func overTime(_ file: String, _ title: String, _ yLabel: String, _ quantities: [(String, (Sample) -> Double)]) -> Chart {
            var lines: [SVGChart.Series] = []
            for (r, samples) in series.enumerated() {
                for (q, (name, value)) in quantities.enumerated() {
                    let label = [folders.count > 1 ? names[r] : nil, quantities.count > 1 ? name : nil].compactMap { $0 }.joined(separator: ", ")
                    lines.append(.init(name: label, points: samples.map { .init(x: $0.time, y: value($0)) }, color: r, dash: q, markers: false))
                }
            }
            var chart = SVGChart(title: title, xLabel: "simulated time (s)", yLabel: yLabel, series: lines)
            chart.xScale = .linear
            chart.yScale = scale.y
            return ("\(out)/\(file)", chart)
        }
        charts.append(overTime("queue-over-time.svg", "Requests waiting and running, whole cluster", "requests",
                               [("waiting", \.waiting), ("running (batch)", \.running)]))
        // With one instance the mean is the fullest: one line.
        let oneInstance = series.allSatisfy { $0.allSatisfy { $0.instances <= 1 } }
        charts.append(overTime("kv-over-time.svg", "KV cache in use", "share of KV blocks (%)",
                               oneInstance ? [("in use", \.kvMean)] : [("mean over instances", \.kvMean), ("fullest instance", \.kvMax)]))
        charts.append(overTime("instances-over-time.svg", "Instances serving", "instances", [("instances", \.instances)]))
        return charts
    }

    /// The last path component of each folder, or the whole path where two would share a name.
    static func legendNames(_ folders: [String]) -> [String] {
        let last = folders.map { URL(fileURLWithPath: $0).lastPathComponent }
        return Set(last).count == last.count ? last : folders
    }

    static func summary(of folder: String) throws -> JSONValue? {
        let path = folder + "/summary.json"
        guard FileSystem.kind(of: path) == .file else { return nil }
        return try JSONValue.read(file: path, what: "run summary")
    }

    /// Named numeric columns of a run's requests.csv (empty fields skipped).
    static func requestColumns(_ folder: String, _ names: [String]) throws -> [[Double]] {
        let path = folder + "/requests.csv"
        guard FileSystem.kind(of: path) == .file else {
            throw InputError(file: path, "no such file (was the run made with --no-requests-csv?)")
        }
        let lines = try LineReader(path: path)
        let (header, index) = try columns(names, of: lines, path: path)
        var values = Array(repeating: [Double](), count: names.count)
        while let line = try lines.next() {
            let f = line.split(separator: ",", omittingEmptySubsequences: false)
            guard f.count == header.count else { throw InputError(file: path, location: "line \(lines.lineNumber)", "expected \(header.count) fields") }
            for (k, i) in index.enumerated() { if let v = Double(f[i]), v.isFinite { values[k].append(v) } }
        }
        return values
    }

    /// A CSV file's header, and where each named column is in it.
    private static func columns(_ names: [String], of lines: LineReader, path: String) throws -> (header: [String], index: [Int]) {
        let header = try lines.next()?.split(separator: ",").map(String.init) ?? []
        return (header, try names.map { name in
            guard let i = header.firstIndex(of: name) else { throw InputError(file: path, location: "line 1", "expected a column \(name)") }
            return i
        })
    }

    /// One moment of the cluster, summed or averaged over its instances.
    struct Sample {
        var time: Double
        var waiting = 0.0, running = 0.0, kvMean = 0.0, kvMax = 0.0, instances = 0.0
    }

    /// timeseries.csv folded into one sample per time.
    static func timeseries(_ folder: String) throws -> [Sample] {
        let path = folder + "/timeseries.csv"
        guard FileSystem.kind(of: path) == .file else { throw InputError(file: path, "no such file") }
        let lines = try LineReader(path: path)
        let names = ["time_s", "waiting", "running", "kv_blocks_used", "kv_blocks_total"]
        let (_, index) = try columns(names, of: lines, path: path)
        var samples: [Sample] = []
        while let line = try lines.next() {
            let f = line.split(separator: ",", omittingEmptySubsequences: false)
            let v = index.map { $0 < f.count ? Double(f[$0]) : nil }
            guard let time = v[0], let waiting = v[1], let running = v[2], let used = v[3], let total = v[4] else {
                throw InputError(file: path, location: "line \(lines.lineNumber)", "expected numbers in \(names.joined(separator: ", "))")
            }
            if samples.last?.time != time { samples.append(Sample(time: time)) }
            let kv = total > 0 ? 100 * used / total : 0
            samples[samples.count - 1].waiting += waiting
            samples[samples.count - 1].running += running
            samples[samples.count - 1].kvMean += kv
            samples[samples.count - 1].kvMax = max(samples[samples.count - 1].kvMax, kv)
            samples[samples.count - 1].instances += 1
        }
        for i in samples.indices { samples[i].kvMean /= max(samples[i].instances, 1) }
        return samples
    }

    /// The empirical CDF, at most 400 points.
    static func cdf(_ values: [Double]) -> [SVGChart.Point] {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return [] }
        let stride = (sorted.count + 399) / 400
        var points = Swift.stride(from: 0, to: sorted.count, by: stride).map {
            SVGChart.Point(x: sorted[$0], y: Double($0 + 1) / Double(sorted.count))
        }
        if points.last?.y != 1 { points.append(.init(x: sorted.last!, y: 1)) }
        return points
    }

    // MARK: Sweeps

    /// One chart per metric against the swept parameter `x`; `series` colours lines by one parameter and
    /// `style` dashes them by another; a parameter whose values are names gives a categorical axis.
    public static func sweep(database: String, x: String, metrics: [String], series: String?, style: String?, out: String,
                             scale: (x: SVGChart.Scale, y: SVGChart.Scale) = (.automatic, .automatic)) throws -> [Chart] {
        let db = try SweepDatabase.openForReading(database).0.db
        let rows = try db.query("SELECT r.point_id, r.parameters, m.name, m.value FROM runs r JOIN metrics m USING (point_id) "
                                + "WHERE r.status = 'ok' ORDER BY r.point_id, m.name")
        func text(_ v: JSONValue?) -> String { v.map { $0.string ?? $0.canonicalText } ?? "–" }
        struct Key: Hashable { let series: String, style: String, x: String }
        var values: [String: [Key: [Double]]] = [:]
        var xTexts: [String: Double?] = [:]
        var sloBounds: [String: Set<Double>] = [:]
        for row in rows {
            guard case .text(let json) = row[1], case .text(let name) = row[2], case .real(let v) = row[3],
                  let p = try? JSONValue.parse(json), let xv = p[x] else { continue }
            xTexts[text(xv)] = .some(xv.double)
            if name.hasPrefix("slo."), name.hasSuffix("_s") { sloBounds[name, default: []].insert(v) }
            guard metrics.contains(name) else { continue }
            let key = Key(series: series.map { text(p[$0]) } ?? "", style: style.map { text(p[$0]) } ?? "", x: text(xv))
            values[name, default: [:]][key, default: []].append(v)
        }
        guard !xTexts.isEmpty else {
            throw InputError(file: database, location: "--x \(x)", "no successful run has this swept parameter")
        }
        // Numbers give a numeric axis; any name makes the axis categorical (names in sorted order).
        let numeric = xTexts.values.allSatisfy { $0 != nil }
        let categories = numeric ? nil : xTexts.keys.sorted()
        let stem = URL(fileURLWithPath: database).deletingPathExtension().lastPathComponent
        var charts: [Chart] = []
        for metric in metrics {
            guard let table = values[metric] else { throw InputError(file: database, location: "--y \(metric)", "no such metric in the runs") }
            let seriesValues = Set(table.keys.map(\.series)).sorted(), styleValues = Set(table.keys.map(\.style)).sorted()
            var lines: [SVGChart.Series] = []
            for (c, sv) in seriesValues.enumerated() {
                for (d, st) in styleValues.enumerated() {
                    var points: [SVGChart.Point] = []
                    for (key, samples) in table where key.series == sv && key.style == st {
                        let position = categories.flatMap { $0.firstIndex(of: key.x).map(Double.init) } ?? (xTexts[key.x] ?? nil) ?? 0
                        // Side by side on a categorical axis, so that markers and error bars do not hide each other.
                        let shift = categories == nil ? 0 : (Double(c * styleValues.count + d) - Double(seriesValues.count * styleValues.count - 1) / 2) * 0.08
                        let s = SampleSummary(samples)
                        let spread = samples.count > 1 ? s.standardDeviation : nil
                        points.append(.init(x: position + shift, y: s.mean, low: spread.map { s.mean - $0 }, high: spread.map { s.mean + $0 }))
                    }
                    guard !points.isEmpty else { continue }
                    let name = [series.map { "\(shortName($0)) = \(sv)" }, style.map { "\(shortName($0)) = \(st)" }]
                        .compactMap { $0 }.joined(separator: ", ")
                    lines.append(.init(name: name, points: points.sorted { $0.x < $1.x }, color: c, dash: d))
                }
            }
            var chart = SVGChart(title: "\(axisLabel(metric)) against \(shortName(x))", xLabel: axisLabel(x), yLabel: axisLabel(metric),
                                 series: lines)
            chart.categories = categories
            chart.xScale = scale.x
            chart.yScale = scale.y
            if lines.contains(where: { $0.points.contains { $0.low != nil } }) {
                chart.title += " (mean ± 1 s.d. over the runs at each point)"
            }
            // An SLO every run shares is drawn on the latency it bounds.
            let parts = metric.split(separator: ".")
            if parts.count == 2, metric.hasSuffix("_ms"), let bounds = sloBounds["slo.\(parts[0])_s"], bounds.count == 1, let b = bounds.first {
                chart.thresholds = [.init(.y, b * 1000, "SLO \(parts[0].uppercased()) \(SVGChart.label(b * 1000)) ms")]
            }
            let file = "\(out)/\(stem)-\(fileName(metric))-vs-\(fileName(x)).svg"
            charts.append((file, chart))
        }
        return charts
    }

    static func fileName(_ s: String) -> String {
        String(s.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" })
    }

    /// A field path without its sections: `workload.arrivals.rate` → `rate`, `instances[0].tp` → `tp`.
    static func shortName(_ path: String) -> String {
        String(path.split(separator: ".").last ?? Substring(path))
    }

    /// An axis label with its unit, from a metric's or parameter's name (summary.json and scenario names).
    static func axisLabel(_ name: String) -> String {
        let last = shortName(name)
        let latency = name.split(separator: ".").first.map(String.init) ?? ""
        if last.hasSuffix("_ms") {
            let statistic = last.dropLast(3).replacingOccurrences(of: "median", with: "p50")
            let known = ["ttft": "TTFT", "tpot": "TPOT", "itl": "ITL", "e2el": "E2E latency", "queueing": "queueing delay"]
            return "\(known[latency].map { "\($0) \(statistic)" } ?? name) (ms)"
        }
        let exact = [
            "rate_scale": "× the trace's rate", "rate": "req/s", "offered_rate": "req/s", "request_throughput": "req/s",
            "request_goodput": "req/s", "token_goodput": "tok/s", "kv_utilization_mean": "share of KV blocks",
            "gpu_hours": "GPU-hours", "instance_hours": "instance-hours", "preemptions_per_request": "per request",
            "preemptions": "count", "migrations": "count", "tp": "GPUs", "pp": "stages", "dp": "ranks", "ep": "groups",
            "count": "instances", "instances": "instances", "max_num_seqs": "sequences", "clients": "clients",
            "cv": "coefficient of variation", "reserve": "share", "gpu_memory_utilization": "share",
            "block_size": "tokens per block",
        ]
        let suffixes = [("throughput", "tok/s"), ("attainment", "share of requests"), ("_gib", "GiB"), ("_s", "s"),
                        ("tokens", "tokens"), ("requests", "requests")]
        let unit = exact[last] ?? suffixes.first { last.hasSuffix($0.0) }?.1
        return unit.map { "\(name) (\($0))" } ?? name
    }
}
