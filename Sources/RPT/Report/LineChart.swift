// A line / scatter chart as inline SVG: series drawn as lines (broken at missing values), markers, or
// both; linear or log-10 x axis; nice ticks with labels thinned so they never overlap; light grid; a
// legend under the title; an optional secondary label row on top of the x axis (e.g. cumulative FLOPs
// at each step tick). Markers carry class "pt" (or the series' own class) so tests can count them.

import Foundation

struct LineChart {
    struct Series {
        enum Style { case line, markers, lineAndMarkers }
        var name: String
        /// Points in data coordinates; a non-finite y breaks the line and draws no marker.
        var points: [(x: Double, y: Double)]
        var color: String
        var style: Style = .line
        var width = 2.0
        var opacity = 1.0
        var dashed = false
        var markerRadius = 3.0
        var markerClass = "pt"
        var inLegend = true
    }

    var id: String
    var title: String
    var xLabel: String
    var yLabel: String
    var series: [Series]
    var logX = false
    /// x values are counts (steps): ticks at whole numbers.
    var integerX = false
    var includeZeroY = false
    var yClamp: ClosedRange<Double>? = nil
    /// y values are fractions shown as percentages (ticks "10%", "12.5%").
    var yPercent = false
    /// A second label under each x tick value, drawn above the plot (nil entries are left blank).
    var secondaryX: (title: String, label: (Double) -> String?)? = nil
    var width = 540.0
    var height = 300.0

    func svg() -> String {
        var canvas = SVGCanvas(width: width, height: height)
        let allX = series.flatMap { $0.points.map(\.x) }
        let allY = series.flatMap { $0.points.map(\.y) }
        let xs = logX ? ChartScale.logarithmic(allX) : ChartScale.linear(allX, targetTicks: 6, minStep: integerX ? 1 : 0)
        let ys = ChartScale.linear(allY, includeZero: includeZeroY, targetTicks: 5, clamp: yClamp)
        let yDecimals = ChartFormat.decimals(forStep: ys.step * 100)
        let yLabels = ys.ticks.map { yPercent ? ChartFormat.percent($0, decimals: yDecimals) : ys.label($0) }

        // Layout: title, legend, optional secondary axis row, plot, x tick labels, x axis title.
        canvas.text(title, x: 8, y: 17, size: 13, weight: "600", cls: "chart-title")
        let legendEntries = series.filter(\.inLegend).map { s in
            LegendEntry(label: s.name, color: s.color,
                        swatch: s.style == .markers ? .marker : s.opacity < 1 && s.style == .lineAndMarkers ? .faintLineAndMarker : .line(dashed: s.dashed))
        }
        let legendHeight = canvas.legend(legendEntries, x: 8, y: 26, maxWidth: width - 16)
        let left = 14 + (yLabel.isEmpty ? 0 : 16) + (yLabels.map { SVGCanvas.textWidth($0, size: 11) }.max() ?? 0)
        let right = width - (secondaryX != nil ? 30 : 18)
        let top = 30 + legendHeight + (secondaryX != nil ? 30 : 4)
        let bottom = height - (xLabel.isEmpty ? 26 : 42)
        func px(_ x: Double) -> Double? { xs.fraction(x).map { left + $0 * (right - left) } }
        func py(_ y: Double) -> Double? {
            ys.fraction(y).map { bottom - min(max($0, -0.02), 1.02) * (bottom - top) }
        }

        // Grid and y ticks.
        for (t, label) in zip(ys.ticks, yLabels) {
            guard let y = py(t) else { continue }
            canvas.line(left, y, right, y, stroke: SVGPalette.grid)
            canvas.text(label, x: left - 6, y: y + 4, size: 11, anchor: .end, fill: SVGPalette.muted, cls: "tick")
        }
        // x ticks, thinned so labels keep 10 px apart.
        let xLabels = xs.ticks.map { xs.label($0) }
        let widest = (xLabels.map { SVGCanvas.textWidth($0, size: 11) }.max() ?? 0) + 10
        let every = Self.labelStride(count: xs.ticks.count, labelWidth: widest, span: right - left, log: logX, ticks: xs.ticks)
        for (i, t) in xs.ticks.enumerated() {
            guard let x = px(t) else { continue }
            let labelled = logX ? Self.isLabelledLogTick(t, every: every) : i % every == 0
            canvas.line(x, top, x, bottom, stroke: SVGPalette.grid, width: labelled ? 1 : 0.6)
            canvas.line(x, bottom, x, bottom + 4, stroke: SVGPalette.axis)
            if labelled {
                canvas.text(xLabels[i], x: x, y: bottom + 17, size: 11, anchor: .middle, fill: SVGPalette.muted, cls: "tick")
                if let sec = secondaryX, let label = sec.label(t) {
                    canvas.text(label, x: x, y: top - 6, size: 10, anchor: .middle, fill: SVGPalette.muted, cls: "tick2")
                }
            }
        }
        if let sec = secondaryX {
            canvas.line(left, top, right, top, stroke: SVGPalette.grid)
            canvas.text(sec.title, x: right, y: top - 19, size: 10, anchor: .end, fill: SVGPalette.muted, cls: "axis-label")
        }
        canvas.line(left, bottom, right, bottom, stroke: SVGPalette.axis)
        canvas.line(left, top, left, bottom, stroke: SVGPalette.axis)
        if !xLabel.isEmpty {
            canvas.text(xLabel, x: (left + right) / 2, y: height - 8, size: 11, anchor: .middle, fill: SVGPalette.text, cls: "axis-label")
        }
        if !yLabel.isEmpty {
            let cy = (top + bottom) / 2
            canvas.text(yLabel, x: 13, y: cy, size: 11, anchor: .middle, fill: SVGPalette.text, rotate: -90, cls: "axis-label")
        }

        // Series: lines first (all series), then markers on top.
        for s in series where s.style != .markers {
            var runs: [[(Double, Double)]] = [[]]
            for p in s.points {
                if let x = px(p.x), let y = py(p.y) { runs[runs.count - 1].append((x, y)) }
                else if !runs[runs.count - 1].isEmpty { runs.append([]) }
            }
            canvas.path(runs, stroke: s.color, width: s.width, opacity: s.opacity, dash: s.dashed ? "6 4" : nil,
                        cls: "series")
        }
        for s in series where s.style != .line {
            for p in s.points {
                guard let x = px(p.x), let y = py(p.y) else { continue }
                canvas.circle(x, y, r: s.markerRadius, fill: s.color, opacity: s.opacity, cls: s.markerClass,
                              stroke: s.style == .markers && s.opacity >= 1 ? "#ffffff" : nil,
                              title: "\(s.name): \(logX ? ChartFormat.power(p.x, digits: 3) : ChartFormat.significant(p.x)) → \(yPercent ? ChartFormat.percent(p.y, decimals: 2) : ChartFormat.significant(p.y))")
            }
        }
        return canvas.svg(id: id, label: title)
    }

    /// Every how many ticks a label fits (linear axes).
    static func labelStride(count: Int, labelWidth: Double, span: Double, log: Bool, ticks: [Double]) -> Int {
        guard count > 1 else { return 1 }
        if log {
            // Log axes: first drop the 2× and 5× labels, then thin the decades.
            let decades = ticks.filter { isDecade($0) }.count
            let all = Double(count) * labelWidth
            if all <= span { return 0 }
            var k = 1
            while Double((decades + k - 1) / k) * labelWidth > span, k < decades { k += 1 }
            return k
        }
        var k = 1
        while Double((count + k - 1) / k) * labelWidth > span, k < count { k += 1 }
        return k
    }

    /// On a log axis: every tick is labelled when `every` is 0, else every `every`-th decade.
    static func isLabelledLogTick(_ t: Double, every: Int) -> Bool {
        if every == 0 { return true }
        guard isDecade(t) else { return false }
        return Int(log10(t).rounded()) % every == 0
    }

    static func isDecade(_ t: Double) -> Bool {
        let e = log10(t)
        return abs(e - e.rounded()) < 1e-9
    }
}
