import Foundation

/// A line chart as a standalone SVG file: axes with rounded ticks, one
/// polyline (with point markers) per series, a legend. No dependencies, so
/// plots open in any browser and diff as text.
public struct SVGChart {
    struct Series {
        let name: String
        let points: [(x: Double, y: Double)]
        /// Draw markers at the points (off for dense curves such as CDFs).
        var markers = true
    }

    var title: String
    var xLabel: String
    var yLabel: String
    var series: [Series]

    private let width = 760.0, height = 460.0
    private let left = 80.0, right = 190.0, top = 50.0, bottom = 60.0
    private static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]

    /// About five round tick values covering [lo, hi].
    static func ticks(_ lo: Double, _ hi: Double) -> [Double] {
        guard hi > lo else { return [lo] }
        let raw = (hi - lo) / 5
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
        var t = ceil(lo / step) * step
        var out: [Double] = []
        while t <= hi + step * 1e-9 { out.append(t); t += step }
        return out
    }

    static func label(_ v: Double) -> String {
        if v == v.rounded() && abs(v) < 1e9 { return String(Int(v)) }
        return String(format: abs(v) < 0.01 ? "%.2g" : "%.3g", v)
    }

    private static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }

    /// The first line of every chart: how `simrun plot` knows a file it may redraw.
    public static let signature = "<!-- drawn by simrun plot -->\n"

    public func render() -> String {
        let all = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite }
        var xs = (all.map(\.x).min() ?? 0, all.map(\.x).max() ?? 1)
        var ys = (min(0, all.map(\.y).min() ?? 0), all.map(\.y).max() ?? 1)
        if xs.1 <= xs.0 { xs = (xs.0 - 1, xs.0 + 1) }
        if ys.1 <= ys.0 { ys = (ys.0, ys.0 + 1) }
        let xt = Self.ticks(xs.0, xs.1), yt = Self.ticks(ys.0, ys.1 * 1.05)
        let x0 = min(xs.0, xt.first!), x1 = max(xs.1, xt.last!), y0 = min(ys.0, yt.first!), y1 = max(ys.1, yt.last!)
        let plotW = width - left - right, plotH = height - top - bottom
        func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * plotW }
        func py(_ y: Double) -> Double { top + plotH - (y - y0) / (y1 - y0) * plotH }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }

        var s = Self.signature + "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" "
            + "viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"sans-serif\" font-size=\"12\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        s += "<text x=\"\(f(left + plotW / 2))\" y=\"28\" text-anchor=\"middle\" font-size=\"15\">\(Self.escape(title))</text>\n"
        for t in xt {
            s += "<line x1=\"\(f(px(t)))\" y1=\"\(f(top))\" x2=\"\(f(px(t)))\" y2=\"\(f(top + plotH))\" stroke=\"#e5e5e5\"/>\n"
            s += "<text x=\"\(f(px(t)))\" y=\"\(f(top + plotH + 18))\" text-anchor=\"middle\">\(Self.label(t))</text>\n"
        }
        for t in yt {
            s += "<line x1=\"\(f(left))\" y1=\"\(f(py(t)))\" x2=\"\(f(left + plotW))\" y2=\"\(f(py(t)))\" stroke=\"#e5e5e5\"/>\n"
            s += "<text x=\"\(f(left - 8))\" y=\"\(f(py(t) + 4))\" text-anchor=\"end\">\(Self.label(t))</text>\n"
        }
        s += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotW))\" height=\"\(f(plotH))\" fill=\"none\" stroke=\"#444\"/>\n"
        s += "<text x=\"\(f(left + plotW / 2))\" y=\"\(f(height - 16))\" text-anchor=\"middle\">\(Self.escape(xLabel))</text>\n"
        s += "<text transform=\"translate(22 \(f(top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\">\(Self.escape(yLabel))</text>\n"
        for (i, line) in series.enumerated() {
            let color = Self.palette[i % Self.palette.count]
            let pts = line.points.filter { $0.x.isFinite && $0.y.isFinite }
            s += "<polyline class=\"series\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\""
                + pts.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ") + "\"/>\n"
            if line.markers {
                for p in pts { s += "<circle cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"3\" fill=\"\(color)\"/>\n" }
            }
            let ly = top + 10 + Double(i) * 20
            s += "<line x1=\"\(f(width - right + 15))\" y1=\"\(f(ly))\" x2=\"\(f(width - right + 40))\" y2=\"\(f(ly))\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
            s += "<text x=\"\(f(width - right + 46))\" y=\"\(f(ly + 4))\">\(Self.escape(line.name))</text>\n"
        }
        return s + "</svg>\n"
    }
}
