// The "Scaling with training compute" section (paper §4.2, Eq. 5, Fig. 5): per split, the measured
// (compute, accuracy) points on a log-compute axis with the fitted curve P(C) = A / C^α + P*, a table of
// A, α, P*, R² and n, and the points with their residuals in a collapsible table.

import Foundation

enum ScalingSection {
    static func build(_ fit: FitInput) -> String {
        guard !fit.curves.isEmpty else { return HTML.note("\(fit.path) has no fits.") }
        var series: [LineChart.Series] = []
        for (i, c) in fit.curves.enumerated() {
            let color = SVGPalette.split(c.split, fallbackIndex: i)
            let cs = c.points.map(\.compute).filter { $0 > 0 }
            if let lo = cs.min(), let hi = cs.max(), c.predict(lo) != nil {
                let pad = max(0.04 * (log10(hi) - log10(lo)), 0.04)
                let a = log10(lo) - pad, b = log10(hi) + pad
                let curve = (0...80).map { k -> (x: Double, y: Double) in
                    let x = pow(10, a + (b - a) * Double(k) / 80)
                    return (x, c.predict(x) ?? .nan)
                }
                series.append(.init(name: "\(c.split) fit", points: curve, color: color, style: .line, width: 2, inLegend: false))
            }
            series.append(.init(name: c.split, points: c.points.map { ($0.compute, $0.accuracy) }, color: color,
                                style: .markers, markerRadius: 4.5, markerClass: "pt fit-\(c.split)"))
        }
        var body = ""
        if !series.isEmpty {
            let chart = LineChart(id: "chart-scaling", title: "Next-token accuracy vs training compute", xLabel: "training compute C (FLOPs, log scale)",
                                  yLabel: "accuracy", series: series, logX: true,
                                  yPercent: true, width: 1040, height: 370)
            body += "<figure>\(chart.svg())<figcaption>Points: measured accuracy of checkpoints; lines: P(C) = A / C<sup>α</sup> + P*.</figcaption></figure>"
        }
        let rows = fit.curves.enumerated().map { i, c -> [String] in
            let cs = c.points.map(\.compute)
            let residuals = c.points.compactMap { p in p.residual ?? p.predicted.map { p.accuracy - $0 } }
            let rms = residuals.isEmpty ? nil : (residuals.map { $0 * $0 }.reduce(0, +) / Double(residuals.count)).squareRoot()
            return ["<span class=\"swatch\" style=\"background:\(SVGPalette.split(c.split, fallbackIndex: i))\"></span>" + HTML.escape(c.split),
                    ChartFormat.significant(c.a), ChartFormat.significant(c.alpha), ChartFormat.significant(c.pStar),
                    c.r2.map { String(format: "%.4f", $0) } ?? "—", (c.n ?? c.points.count).description,
                    cs.isEmpty ? "—" : "\(ChartFormat.power(cs.min()!)) – \(ChartFormat.power(cs.max()!))",
                    ChartFormat.significant(rms, digits: 3)]
        }
        body += HTML.table(headers: ["split", "A", "α", "P*", "R²", "n", "compute range", "RMS residual"], rows: rows,
                           numeric: [1, 2, 3, 4, 5, 6, 7], caption: "Fitted parameters per split (paper Eq. 5); RMS of the points' residuals.")
        let scaled = fit.curves.filter { $0.computeScale != 1 }
        if !scaled.isEmpty {
            let units = Set(scaled.map { ChartFormat.power($0.computeScale, digits: 3) })
            let which = scaled.count == fit.curves.count && units.count == 1
                ? units.first! + " FLOPs"
                : scaled.map { "\($0.split): \(ChartFormat.power($0.computeScale, digits: 3)) FLOPs" }.joined(separator: ", ")
            body += HTML.note("A, α and P* reproduce the points' predictions with C measured in units of \(which).")
        }
        var pointRows: [[String]] = []
        for c in fit.curves {
            for p in c.points {
                pointRows.append([HTML.escape(c.split), ChartFormat.power(p.compute, digits: 3), ChartFormat.percent(p.accuracy, decimals: 2),
                                  ChartFormat.percent(p.predicted, decimals: 2), ChartFormat.significant(p.residual, digits: 3)])
            }
        }
        if !pointRows.isEmpty {
            body += "<details><summary>Fitted points (\(pointRows.count))</summary>"
                + HTML.table(headers: ["split", "compute", "accuracy", "predicted", "residual"], rows: pointRows, numeric: [1, 2, 3, 4])
                + "</details>"
        }
        return body
    }
}
