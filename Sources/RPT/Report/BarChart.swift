// A grouped bar chart as inline SVG: categories along x, one bar per series in each category, optional
// interval whiskers (e.g. 95% confidence intervals), value labels above bars wide enough to hold them,
// a y axis from zero with nice ticks, and a legend under the title. Bars carry class "bar" so tests can
// count them; a missing value leaves a gap, not a zero-height bar.

import Foundation

struct BarChart {
    struct Series {
        var name: String
        var color: String
        /// One value per category (nil: no bar).
        var values: [Double?]
        /// One interval per category (nil: no whisker).
        var intervals: [(low: Double, high: Double)?] = []
    }

    var id: String
    var title: String
    var yLabel: String
    var categories: [String]
    var series: [Series]
    /// Value label text (above bars) and y tick text.
    var valueLabel: (Double) -> String = { ChartFormat.significant($0, digits: 3) }
    var yClamp: ClosedRange<Double>? = nil
    var width = 1000.0
    var height = 340.0

    func svg() -> String {
        var canvas = SVGCanvas(width: width, height: height)
        var extent: [Double] = [0]
        for s in series {
            extent += s.values.compactMap { $0 }
            extent += s.intervals.compactMap { $0 }.flatMap { [$0.low, $0.high] }
        }
        let ys = ChartScale.linear(extent, includeZero: true, targetTicks: 5, clamp: yClamp)
        canvas.text(title, x: 8, y: 17, size: 13, weight: "600", cls: "chart-title")
        let legendHeight = canvas.legend(series.map { LegendEntry(label: $0.name, color: $0.color, swatch: .block) },
                                          x: 8, y: 26, maxWidth: width - 16)
        let tickLabels = ys.ticks.map { ys.label($0) }
        let left = 30 + (tickLabels.map { SVGCanvas.textWidth($0, size: 11) }.max() ?? 0)
        let right = width - 12
        let top = 30 + legendHeight + 16
        let bottom = height - 30
        func py(_ v: Double) -> Double { bottom - min(max(ys.fraction(v) ?? 0, 0), 1.02) * (bottom - top) }

        for (t, label) in zip(ys.ticks, tickLabels) {
            let y = py(t)
            canvas.line(left, y, right, y, stroke: SVGPalette.grid)
            canvas.text(label, x: left - 6, y: y + 4, size: 11, anchor: .end, fill: SVGPalette.muted, cls: "tick")
        }
        canvas.text(yLabel, x: 13, y: (top + bottom) / 2, size: 11, anchor: .middle, rotate: -90, cls: "axis-label")

        let groups = max(categories.count, 1)
        let groupWidth = (right - left) / Double(groups)
        let bars = max(series.count, 1)
        let barWidth = min(46, groupWidth * 0.8 / Double(bars))
        let gap = bars > 1 ? min(3, barWidth * 0.12) : 0
        for (ci, category) in categories.enumerated() {
            let groupLeft = left + Double(ci) * groupWidth
            let center = groupLeft + groupWidth / 2
            let start = center - Double(bars) * barWidth / 2
            let labelWidth = SVGCanvas.textWidth(category, size: 12)
            canvas.text(labelWidth > groupWidth - 4 ? Self.truncate(category, to: groupWidth - 4, size: 12) : category,
                        x: center, y: bottom + 19, size: 12, anchor: .middle, fill: SVGPalette.text, weight: "600", cls: "category")
            if ci > 0 { canvas.line(groupLeft, bottom, groupLeft, bottom + 6, stroke: SVGPalette.axis) }
            for (si, s) in series.enumerated() {
                guard ci < s.values.count, let v = s.values[ci], v.isFinite else { continue }
                let x = start + Double(si) * barWidth
                let y = py(v)
                let interval = ci < s.intervals.count ? s.intervals[ci] : nil
                var tooltip = "\(s.name) · \(category): \(valueLabel(v))"
                if let iv = interval { tooltip += " [\(valueLabel(iv.low)), \(valueLabel(iv.high))]" }
                canvas.rect(x + gap / 2, y, barWidth - gap, bottom - y, fill: s.color, cls: "bar", radius: 1.5, title: tooltip)
                var labelY = y - 4
                if let iv = interval, iv.low.isFinite, iv.high.isFinite {
                    let cx = x + barWidth / 2, lo = py(iv.low), hi = py(iv.high)
                    let cap = min(barWidth * 0.25, 6)
                    canvas.line(cx, lo, cx, hi, stroke: "#333d47", width: 1.2, cls: "whisker")
                    canvas.line(cx - cap, hi, cx + cap, hi, stroke: "#333d47", width: 1.2)
                    canvas.line(cx - cap, lo, cx + cap, lo, stroke: "#333d47", width: 1.2)
                    labelY = min(labelY, hi - 4)
                }
                let text = valueLabel(v)
                if SVGCanvas.textWidth(text, size: 10) <= barWidth + 2 {
                    canvas.text(text, x: x + barWidth / 2, y: labelY, size: 10, anchor: .middle, fill: SVGPalette.muted, cls: "value")
                }
            }
        }
        canvas.line(left, bottom, right, bottom, stroke: SVGPalette.axis)
        canvas.line(left, top, left, bottom, stroke: SVGPalette.axis)
        return canvas.svg(id: id, label: title)
    }

    /// `s` cut with an ellipsis to fit `width` px.
    static func truncate(_ s: String, to width: Double, size: Double) -> String {
        var out = ""
        for ch in s {
            if SVGCanvas.textWidth(out + String(ch) + "…", size: size) > width { break }
            out.append(ch)
        }
        return out + "…"
    }
}
