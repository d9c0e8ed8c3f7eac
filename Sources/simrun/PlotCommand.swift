import ArgumentParser
import Experiments
import Foundation
import SimCore

struct Plot: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw SVG plots of a run (latency CDFs) or of a sweep (metrics against a swept parameter).",
        discussion: """
            A run folder gives ttft-cdf.svg and tpot-cdf.svg. A sweep database with --x gives one chart per \
            --y metric (default: SLO attainment, request goodput, p90 TTFT), one line per value of --series, \
            averaging repetitions.
            """)

    @Argument(help: "A run's results folder, or a sweep's .sqlite database.") var input: String
    @Option(help: "Sweep: the swept parameter on the x axis (e.g. workload.arrivals.rate).") var x: String?
    @Option(help: "Sweep: a metric on the y axis (repeatable; names as in summary.json, dotted).") var y: [String] = []
    @Option(help: "Sweep: the parameter that separates lines (e.g. scheduler.policy).") var series: String?
    @Option(help: "Folder for the SVG files (default: beside the input).") var out: String?

    func run() throws {
        let charts: [(file: String, chart: SVGChart)]
        switch FileSystem.kind(of: input) {
        case .missing:
            throw InputError(file: input, "no such run folder or sweep database")
        case .directory:
            charts = try Plots.runCDFs(folder: input, out: out ?? input)
        default:
            guard let x else { throw InputError(file: input, location: "--x", "a sweep plot needs the swept parameter") }
            let folder = out ?? URL(fileURLWithPath: input).deletingLastPathComponent().path
            charts = try Plots.sweep(database: input, x: x, metrics: y.isEmpty ? ["slo.attainment", "slo.request_goodput", "ttft.p90_ms"] : y,
                                     series: series, out: folder)
        }
        // Every file is checked before any is written.
        for (file, _) in charts {
            try OutputFile.check(file, option: "--out", inputs: [input], kind: "chart") {
                $0.starts(with: Data(SVGChart.signature.utf8))
            }
        }
        for (file, chart) in charts {
            try OutputFile.write(Data(chart.render().utf8), to: file)
            print("wrote \(file)")
        }
    }
}
