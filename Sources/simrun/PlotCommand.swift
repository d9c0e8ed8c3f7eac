import ArgumentParser
import Experiments
import Foundation
import SimCore

struct Plot: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw figures (SVG) of runs or of a sweep.",
        discussion: """
            Run folders give ttft-cdf.svg, tpot-cdf.svg and e2el-cdf.svg (one curve per run, the SLO as a dashed \
            line) and the cluster over time: queue-over-time.svg (waiting and running), kv-over-time.svg, \
            instances-over-time.svg. A sweep database with --x gives one chart per --y metric (default: SLO \
            attainment, request goodput, p90 TTFT): a colour per value of --series, a dash per value of --style, \
            the mean over repetitions with a ±1 s.d. band, a categorical axis when --x takes names. Axes turn \
            logarithmic when the data span two decades or more (--log-x, --log-y, --linear to choose).
            """)

    @Argument(help: "Run results folders (several are overlaid), or one sweep .sqlite database.") var inputs: [String]
    @Option(help: "Sweep: the swept parameter on the x axis (e.g. workload.arrivals.rate).") var x: String?
    @Option(help: "Sweep: a metric on the y axis (repeatable; names as in summary.json, dotted).") var y: [String] = []
    @Option(help: "Sweep: the parameter whose values get a colour each (e.g. scheduler.policy).") var series: String?
    @Option(help: "Sweep: the parameter whose values get a dash pattern each (e.g. router).") var style: String?
    @Flag(help: "Logarithmic x axis.") var logX = false
    @Flag(help: "Logarithmic y axis.") var logY = false
    @Flag(help: "Linear axes, whatever the data span.") var linear = false
    @Option(help: "Folder for the SVG files (default: the run folder, the parent of several, or the database's).") var out: String?

    func run() throws {
        guard let first = inputs.first else { throw InputError(file: "simrun plot", "expected a run folder or a sweep database") }
        for input in inputs where FileSystem.kind(of: input) == .missing {
            throw InputError(file: input, "no such run folder or sweep database")
        }
        func scale(_ log: Bool) -> SVGChart.Scale { log ? .log : linear ? .linear : .automatic }
        let scales = (scale(logX), scale(logY))
        let charts: [Plots.Chart]
        if FileSystem.kind(of: first) == .directory {
            if let notFolder = inputs.first(where: { FileSystem.kind(of: $0) != .directory }) {
                throw InputError(file: notFolder, "expected a run folder like \(first), not a file")
            }
            let folder = out ?? (inputs.count == 1 ? first : URL(fileURLWithPath: first).deletingLastPathComponent().path)
            charts = try Plots.runs(inputs, out: folder, scale: scales)
        } else {
            guard inputs.count == 1 else { throw InputError(file: inputs[1], "a sweep plot takes one database") }
            guard let x else { throw InputError(file: first, location: "--x", "a sweep plot needs the swept parameter") }
            let folder = out ?? URL(fileURLWithPath: first).deletingLastPathComponent().path
            charts = try Plots.sweep(database: first, x: x, metrics: y.isEmpty ? ["slo.attainment", "slo.request_goodput", "ttft.p90_ms"] : y,
                                     series: series, style: style, out: folder, scale: scales)
        }
        // Every file is checked before any is written.
        for (file, _) in charts {
            try OutputFile.check(file, option: "--out", inputs: inputs, kind: "chart") {
                $0.starts(with: Data(SVGChart.signature.utf8))
            }
        }
        for (file, chart) in charts {
            try OutputFile.write(Data(chart.render().utf8), to: file)
            print("wrote \(file)")
        }
    }
}
