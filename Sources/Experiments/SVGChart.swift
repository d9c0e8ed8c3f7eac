import Foundation

/// A chart as a standalone SVG file, drawn for a paper: axes with units and round ticks (decades on
/// a log axis), one line per series told apart by colour and by dash, bands or error bars where
/// repetitions give a spread, dashed threshold lines (SLOs), a categorical x axis for names, and a
/// legend sized to its labels so it never leaves the canvas. No dependencies: charts open in any
/// browser, diff as text, and the same data gives the same bytes.
public struct SVGChart {
    public struct Point {
        public var x: Double
        public var y: Double
        /// The spread drawn around y (a band, or error bars on a categorical axis); nil: none.
        public var low: Double?
        public var high: Double?
        public init(x: Double, y: Double, low: Double? = nil, high: Double? = nil) {
            self.x = x; self.y = y; self.low = low; self.high = high
        }
    }

    public struct Series {
        public let name: String
        public let points: [Point]
        /// Indices into the palette and the dash patterns: two dimensions of the data.
        public var color: Int
        public var dash = 0
        /// Draw markers at the points (off for dense curves such as CDFs).
        public var markers = true
        public init(name: String, points: [Point], color: Int, dash: Int = 0, markers: Bool = true) {
            self.name = name; self.points = points; self.color = color; self.dash = dash; self.markers = markers
        }
    }

    /// A dashed reference line across the plot (an SLO), at x or at y.
    public struct Threshold {
        public enum Axis { case x, y }
        public let axis: Axis
        public let value: Double
        public let label: String
        public init(_ axis: Axis, _ value: Double, _ label: String) { self.axis = axis; self.value = value; self.label = label }
    }

    /// Whether an axis is logarithmic: decided from the data (positive and spanning two decades or more), or forced.
    public enum Scale: Sendable { case automatic, linear, log }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    public var thresholds: [Threshold] = []
    /// Names of the x positions 0, 1, 2, …: a categorical axis (nil: numeric).
    public var categories: [String]?
    public var xScale = Scale.automatic
    public var yScale = Scale.automatic
    /// The y axis starts at 0 unless the axis is logarithmic or the data are negative.
    public var yFromZero = true

    public init(title: String, xLabel: String, yLabel: String, series: [Series]) {
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel; self.series = series
    }

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"]
    static let dashes = ["", "7,4", "2,3", "9,3,2,3", "4,2,4,6"]
    /// Width of a character at the 12-px font, generous, so that measured text never overflows.
    static let charWidth = 7.2

    /// About five round tick values covering [lo, hi].
    static func ticks(_ lo: Double, _ hi: Double) -> [Double] {
        guard hi > lo else { return [lo] }
        let raw = (hi - lo) / 5
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
        var t = ceil(lo / step) * step
        var out: [Double] = []
        while t <= hi + step * 1e-9 { out.append(abs(t) < step * 1e-9 ? 0 : t); t += step }
        return out
    }

    /// Powers of ten covering [lo, hi] (lo > 0), with 2 and 5 between them when there are few decades.
    static func logTicks(_ lo: Double, _ hi: Double) -> [Double] {
        let first = Int(floor(log10(lo))), last = Int(ceil(log10(hi)))
        let steps: [Double] = last - first <= 2 ? [1, 2, 5] : [1]
        return (first...last).flatMap { e in steps.map { $0 * pow(10, Double(e)) } }
    }

    static func label(_ v: Double) -> String {
        if v == v.rounded() && abs(v) < 1e9 { return String(Int(v)) }
        return String(format: abs(v) < 0.01 ? "%.2g" : "%.3g", v)
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }

    /// The first line of every chart: how `simrun plot` knows a file it may redraw.
    public static let signature = "<!-- drawn by simrun plot -->\n"

    private static func isLog(_ scale: Scale, _ values: [Double]) -> Bool {
        switch scale {
        case .linear: return false
        // A log axis needs positive data: with none (a run where nothing finished), the axis stays linear.
        case .log: return !values.isEmpty && values.allSatisfy { $0 > 0 && $0.isFinite }
        case .automatic:
            guard let lo = values.min(), let hi = values.max(), lo > 0 else { return false }
            return hi / lo >= 100
        }
    }

    /// An axis: the data range mapped onto [0, 1], and its ticks.
    private struct Axis {
        let log: Bool
        let lo: Double, hi: Double
        let ticks: [Double]
        init(values: [Double], log: Bool, fromZero: Bool) {
            self.log = log
            var lo = values.min() ?? 0, hi = values.max() ?? 1
            if log {
                let t = SVGChart.logTicks(lo, hi)
                // The decades just around the data.
                lo = pow(10, floor(log10(lo))); hi = pow(10, ceil(log10(hi)))
                ticks = t.filter { $0 >= lo * (1 - 1e-9) && $0 <= hi * (1 + 1e-9) }
            } else {
                if fromZero { lo = min(0, lo) }
                if hi <= lo { (lo, hi) = (lo - 1, lo + 1) }
                var t = SVGChart.ticks(lo, hi)
                // The top tick at or above the data, so that the axis ends on a label.
                if t.count >= 2, let last = t.last, last < hi { t.append(last + (last - t[t.count - 2])) }
                ticks = t
                lo = min(lo, t.first ?? lo); hi = max(hi, t.last ?? hi)
            }
            self.lo = lo; self.hi = hi
        }
        func unit(_ v: Double) -> Double { log ? (log10(v) - log10(lo)) / (log10(hi) - log10(lo)) : (v - lo) / (hi - lo) }
    }

    public func render() -> String {
        let finite = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite }
        let xValues = categories == nil ? finite.map(\.x) + thresholds.filter { $0.axis == .x }.map(\.value) : []
        let yValues = finite.flatMap { [$0.y, $0.low ?? $0.y, $0.high ?? $0.y] }.filter(\.isFinite)
            + thresholds.filter { $0.axis == .y }.map(\.value)
        let xLog = categories == nil && Self.isLog(xScale, xValues)
        let yLog = Self.isLog(yScale, yValues)
        let xAxis = categories.map { Axis(values: [-0.5, Double($0.count) - 0.5], log: false, fromZero: false) }
            ?? Axis(values: xValues, log: xLog, fromZero: false)
        let yAxis = Axis(values: yValues.filter { !yLog || $0 > 0 }, log: yLog, fromZero: yFromZero)

        // Layout: the legend's width follows its longest label; the canvas grows to hold every entry.
        let named = series.filter { !$0.name.isEmpty }
        let legendWidth = named.isEmpty ? 0 : 60 + Double(named.map(\.name.count).max() ?? 0) * Self.charWidth
        let yTickWidth = Double(yAxis.ticks.map { Self.label($0).count }.max() ?? 1) * Self.charWidth
        let left = 40 + yTickWidth, top = 50.0
        let categoryLabels = categories ?? []
        let rotate = categoryLabels.contains { $0.count > 10 }
        let bottom = 60 + (rotate ? Double(categoryLabels.map(\.count).max() ?? 0) * Self.charWidth * 0.5 : 0)
        let plotW = 560.0
        let plotH = max(340.0, Double(named.count) * 20 + 10)
        let width = left + plotW + 20 + legendWidth, height = top + plotH + bottom
        let titleWidth = Double(title.count) * Self.charWidth * 1.25
        let canvasWidth = max(width, titleWidth + 40)

        func px(_ x: Double) -> Double { left + xAxis.unit(x) * plotW }
        func py(_ y: Double) -> Double { top + plotH - yAxis.unit(y) * plotH }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        func inside(_ p: Point) -> Bool { p.x.isFinite && p.y.isFinite && (!xLog || p.x > 0) && (!yLog || p.y > 0) }

        var s = Self.signature + "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(canvasWidth.rounded(.up)))\" "
            + "height=\"\(Int(height))\" viewBox=\"0 0 \(Int(canvasWidth.rounded(.up))) \(Int(height))\" font-family=\"sans-serif\" font-size=\"12\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        s += "<text x=\"\(f(canvasWidth / 2))\" y=\"28\" text-anchor=\"middle\" font-size=\"15\">\(Self.escape(title))</text>\n"
        // Grid and tick labels.
        if let categories {
            for (i, name) in categories.enumerated() {
                let x = px(Double(i)), y = top + plotH + 18
                s += "<line x1=\"\(f(x))\" y1=\"\(f(top + plotH))\" x2=\"\(f(x))\" y2=\"\(f(top + plotH + 5))\" stroke=\"#444\"/>\n"
                s += rotate
                    ? "<text transform=\"translate(\(f(x + 4)) \(f(y - 6))) rotate(30)\" text-anchor=\"start\">\(Self.escape(name))</text>\n"
                    : "<text x=\"\(f(x))\" y=\"\(f(y))\" text-anchor=\"middle\">\(Self.escape(name))</text>\n"
            }
        } else {
            for t in xAxis.ticks {
                s += "<line x1=\"\(f(px(t)))\" y1=\"\(f(top))\" x2=\"\(f(px(t)))\" y2=\"\(f(top + plotH))\" stroke=\"#e5e5e5\"/>\n"
                s += "<text x=\"\(f(px(t)))\" y=\"\(f(top + plotH + 18))\" text-anchor=\"middle\">\(Self.label(t))</text>\n"
            }
        }
        for t in yAxis.ticks {
            s += "<line x1=\"\(f(left))\" y1=\"\(f(py(t)))\" x2=\"\(f(left + plotW))\" y2=\"\(f(py(t)))\" stroke=\"#e5e5e5\"/>\n"
            s += "<text x=\"\(f(left - 8))\" y=\"\(f(py(t) + 4))\" text-anchor=\"end\">\(Self.label(t))</text>\n"
        }
        s += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotW))\" height=\"\(f(plotH))\" fill=\"none\" stroke=\"#444\"/>\n"
        s += "<text x=\"\(f(left + plotW / 2))\" y=\"\(f(height - 14))\" text-anchor=\"middle\">\(Self.escape(xLabel + (xLog ? ", log scale" : "")))</text>\n"
        s += "<text transform=\"translate(16 \(f(top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\">"
            + "\(Self.escape(yLabel + (yLog ? ", log scale" : "")))</text>\n"

        // Bands first, so that lines and markers draw over them.
        for line in series {
            let color = Self.palette[line.color % Self.palette.count]
            let pts = line.points.filter { inside($0) && $0.low != nil && $0.high != nil }
            guard !pts.isEmpty else { continue }
            if categories == nil, pts.count >= 2 {
                let outline = pts.map { "\(f(px($0.x))),\(f(py(max($0.high!, yLog ? yAxis.lo : -.infinity))))" }
                    + pts.reversed().map { "\(f(px($0.x))),\(f(py(yLog ? max($0.low!, yAxis.lo) : $0.low!)))" }
                s += "<polygon class=\"band\" fill=\"\(color)\" fill-opacity=\"0.15\" stroke=\"none\" points=\"\(outline.joined(separator: " "))\"/>\n"
            } else {
                for p in pts {
                    let x = px(p.x), lo = py(yLog ? max(p.low!, yAxis.lo) : p.low!), hi = py(p.high!)
                    s += "<path class=\"errorbar\" stroke=\"\(color)\" fill=\"none\" d=\"M\(f(x)),\(f(lo))V\(f(hi))"
                        + "M\(f(x - 4)),\(f(lo))H\(f(x + 4))M\(f(x - 4)),\(f(hi))H\(f(x + 4))\"/>\n"
                }
            }
        }
        for line in series {
            let color = Self.palette[line.color % Self.palette.count], dash = Self.dashes[line.dash % Self.dashes.count]
            let pts = line.points.filter(inside)
            let dashAttribute = dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\""
            s += "<g class=\"series\">\n"
            // On a categorical axis a series is its markers: no line joins names.
            if categories == nil || !line.markers {
                s += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"\(dashAttribute) points=\""
                    + pts.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ") + "\"/>\n"
            }
            if line.markers {
                for p in pts { s += "<circle cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"3.5\" fill=\"\(color)\"/>\n" }
            }
            s += "</g>\n"
        }
        for t in thresholds where t.axis == .y ? (!yLog || t.value > 0) : (!xLog || t.value > 0) {
            let (x1, y1, x2, y2) = t.axis == .y ? (left, py(t.value), left + plotW, py(t.value)) : (px(t.value), top, px(t.value), top + plotH)
            s += "<line class=\"threshold\" x1=\"\(f(x1))\" y1=\"\(f(y1))\" x2=\"\(f(x2))\" y2=\"\(f(y2))\" stroke=\"#222\" "
                + "stroke-width=\"1.2\" stroke-dasharray=\"5,4\"/>\n"
            s += t.axis == .y
                ? "<text x=\"\(f(left + plotW - 4))\" y=\"\(f(y1 - 5))\" text-anchor=\"end\" fill=\"#222\">\(Self.escape(t.label))</text>\n"
                : "<text transform=\"translate(\(f(x1 - 5)) \(f(top + 6))) rotate(-90)\" text-anchor=\"end\" fill=\"#222\">\(Self.escape(t.label))</text>\n"
        }
        // Legend, right of the plot.
        for (i, line) in named.enumerated() {
            let color = Self.palette[line.color % Self.palette.count], dash = Self.dashes[line.dash % Self.dashes.count]
            let ly = top + 10 + Double(i) * 20, lx = left + plotW + 20
            s += "<line x1=\"\(f(lx))\" y1=\"\(f(ly))\" x2=\"\(f(lx + 32))\" y2=\"\(f(ly))\" stroke=\"\(color)\" stroke-width=\"2\""
                + (dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\"") + "/>\n"
            if line.markers { s += "<circle cx=\"\(f(lx + 16))\" cy=\"\(f(ly))\" r=\"3.5\" fill=\"\(color)\"/>\n" }
            s += "<text class=\"legend\" x=\"\(f(lx + 40))\" y=\"\(f(ly + 4))\">\(Self.escape(line.name))</text>\n"
        }
        return s + "</svg>\n"
    }
}
