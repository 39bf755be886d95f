// The "Runs compared" section of `rpt report --run A --run B …` (the overlay TensorBoard users expect): every
// training curve of TrainingSection drawn once, with one line per run (its centred moving average, one colour
// per run as in the legend); reward and accuracy also against cumulative training FLOPs (log axis) for the runs
// that log them; and a table of each run's steps, FLOPs and the mean of its last window of each main curve.

import Foundation

enum ComparisonSection {
    struct Run {
        var label: String
        var path: String
        var metrics: RunMetrics
    }

    static func build(_ runs: [Run]) -> String {
        var body = HTML.note("\(runs.count) runs: each line is a run's centred moving average (about a tenth of its steps); "
                             + "the sections below are those of the first run, \(runs[0].label).")
        body += summaryTable(runs)
        var figures: [String] = [], small: [String] = []
        for (i, c) in (TrainingSection.main + TrainingSection.diagnostics).enumerated() {
            let isMain = i < TrainingSection.main.count
            if let chart = overlay(c, runs: runs, x: nil, width: isMain ? 540 : 360, height: isMain ? 300 : 230) {
                (isMain ? { figures.append($0) } : { small.append($0) })("<figure>\(chart.svg())</figure>")
            }
            if c.key == "reward_mean" || c.key == "accuracy",
               let chart = overlay(c, runs: runs, x: "flops", width: 540, height: 300) {
                figures.append("<figure>\(chart.svg())</figure>")
            }
        }
        if !figures.isEmpty { body += "<div class=\"charts\">\(figures.joined())</div>" }
        if !small.isEmpty { body += "<h3>Optimisation diagnostics</h3><div class=\"charts small\">\(small.joined())</div>" }
        if figures.isEmpty && small.isEmpty { body += HTML.note("No run logged any of the charted metrics.") }
        return body
    }

    /// One chart of `c` with a line per run that logs it; x is the step, or the column `x` (then log-scaled,
    /// points without a finite positive x left out). Nil when no run has points.
    static func overlay(_ c: TrainingSection.Curve, runs: [Run], x: String?, width: Double, height: Double) -> LineChart? {
        var series: [LineChart.Series] = []
        for (i, run) in runs.enumerated() {
            guard let values = run.metrics.column(c.key) else { continue }
            let smooth = RunMetrics.movingAverage(values, window: RunMetrics.smoothingWindow(count: values.count))
            let xs: [Double]
            if let x {
                guard let column = run.metrics.column(x) else { continue }
                xs = column
            } else {
                xs = run.metrics.steps
            }
            let points = zip(xs, smooth).filter { x == nil || ($0.0.isFinite && $0.0 > 0) }.map { (x: $0.0, y: $0.1) }
            guard points.contains(where: { $0.y.isFinite }) else { continue }
            series.append(.init(name: run.label, points: points, color: SVGPalette.color(i), style: .lineAndMarkers, width: 2,
                                markerRadius: 1.6, markerClass: "pt run-\(i)"))
        }
        guard !series.isEmpty else { return nil }
        let slug = c.key.replacingOccurrences(of: "_", with: "-")
        return LineChart(id: "compare-\(slug)" + (x.map { "-by-" + $0 } ?? ""), title: c.title + (x == nil ? "" : " against training FLOPs"),
                         xLabel: x == nil ? "step" : "cumulative training FLOPs", yLabel: c.yLabel, series: series,
                         logX: x != nil, integerX: x == nil, includeZeroY: c.includeZero, yPercent: c.percent,
                         width: width, height: height)
    }

    static func summaryTable(_ runs: [Run]) -> String {
        let keys = TrainingSection.main.map(\.key)
        let rows: [[String]] = runs.enumerated().map { i, run in
            let m = run.metrics
            let window = max(RunMetrics.smoothingWindow(count: m.steps.count), min(5, m.steps.count))
            let tails: [String] = keys.map { k in
                let tail = (m.columns[k] ?? []).suffix(max(window, 1)).filter(\.isFinite)
                return ChartFormat.significant(tail.isEmpty ? nil : tail.reduce(0, +) / Double(tail.count))
            }
            let swatch = "<span style=\"color:\(SVGPalette.color(i))\">■</span>\u{00A0}"
            return [swatch + HTML.escape(run.label), "<code>\(HTML.escape(run.path))</code>", "\(m.steps.count)",
                    m.last(TrainMetricsLine.CodingKeys.flops.stringValue).map { ChartFormat.power($0.value) } ?? "—"] + tails
        }
        let short = ["reward_mean": "reward", "accuracy": "accuracy", "response_length": "response tokens",
                     "groups_dropped_fraction": "dropped groups"]
        return HTML.table(headers: ["run", "directory", "steps", "FLOPs"] + keys.map { short[$0] ?? $0 }, rows: rows,
                          numeric: Set(2..<(4 + keys.count)),
                          caption: "Each run's steps, cumulative FLOPs and the mean of its last window of steps of each main curve")
    }

    /// Labels for runs: the given ones, else each directory's name (with its parent's when two names clash).
    static func labels(for paths: [String], given: [String]) throws -> [String] {
        guard given.count <= paths.count else {
            throw RPTError("--label was given \(given.count) times for \(paths.count) --run", file: "--label")
        }
        var labels = paths.enumerated().map { i, p in
            i < given.count ? given[i] : URL(fileURLWithPath: p).standardizedFileURL.lastPathComponent
        }
        let names = labels
        for i in labels.indices where i >= given.count && names.filter({ $0 == names[i] }).count > 1 {
            let url = URL(fileURLWithPath: paths[i]).standardizedFileURL
            labels[i] = url.deletingLastPathComponent().lastPathComponent + "/" + url.lastPathComponent
        }
        var seen = Set<String>()
        for l in labels where !seen.insert(l).inserted {
            throw RPTError("two runs are labelled '\(l)': give --label for each --run", file: "--label")
        }
        return labels
    }
}
