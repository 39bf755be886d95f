// The "Training curves" section: reward, accuracy, response length and dropped-group fraction over
// steps (raw points, light, under a centred moving average), then small charts of the optimisation
// diagnostics (entropy, KL, gradient norm, clipping, loss, learning rate, rollout throughput, format
// failures), and a table of every logged metric (first, last, min, max, mean of the last window). Warnings
// `rpt train` logged (a stalled learning signal) are quoted above the charts.
// The reward and accuracy charts carry cumulative FLOPs as a second label row on their step axis.

import Foundation

/// The columns of `rpt train`'s metrics.jsonl (MetricsLines.swift).
private typealias K = TrainMetricsLine.CodingKeys

enum TrainingSection {
    struct Curve {
        var key: String
        var title: String
        var yLabel: String
        var percent = false
        var includeZero = false
    }

    static let main: [Curve] = [
        Curve(key: K.rewardMean.stringValue, title: "Reward (mean over rollouts)", yLabel: "reward"),
        Curve(key: K.accuracy.stringValue, title: "Accuracy (rollouts with reward 1)", yLabel: "accuracy", percent: true),
        Curve(key: K.responseLength.stringValue, title: "Response length", yLabel: "tokens", includeZero: true),
        Curve(key: K.groupsDroppedFraction.stringValue, title: "Dropped groups (all-equal rewards)", yLabel: "fraction of groups",
              percent: true, includeZero: true),
    ]

    static let diagnostics: [Curve] = [
        Curve(key: K.entropy.stringValue, title: "Policy entropy", yLabel: "nats"),
        Curve(key: K.kl.stringValue, title: "KL to reference", yLabel: "KL"),
        Curve(key: K.gradNorm.stringValue, title: "Gradient norm", yLabel: "norm", includeZero: true),
        Curve(key: K.clipFraction.stringValue, title: "Clipped ratio fraction", yLabel: "fraction", percent: true, includeZero: true),
        Curve(key: K.loss.stringValue, title: "GRPO loss", yLabel: "loss"),
        Curve(key: K.lr.stringValue, title: "Learning rate", yLabel: "lr", includeZero: true),
        Curve(key: K.rolloutTokensPerSecond.stringValue, title: "Rollout throughput", yLabel: "tokens / s", includeZero: true),
        Curve(key: K.formatFailures.stringValue, title: "Format failures per step", yLabel: "count", includeZero: true),
    ]

    static func build(_ metrics: RunMetrics) -> String {
        guard !metrics.steps.isEmpty else { return HTML.note("\(metrics.path) has no records yet.") }
        let window = RunMetrics.smoothingWindow(count: metrics.steps.count)
        var body = ""
        if metrics.droppedIncompleteLastLine {
            body += HTML.note("The last line of \(metrics.path) was incomplete (a run still writing?) and was left out.")
        }
        for w in metrics.warnings {
            body += HTML.note("rpt train warned at step \(Int(w.step)): \(w.text)")
        }
        var figures: [String] = []
        var absent: [String] = []
        for (i, c) in main.enumerated() {
            guard let values = metrics.column(c.key) else { absent.append(c.key); continue }
            var chart = chart(c, metrics: metrics, values: values, window: window, color: SVGPalette.color(i), width: 540, height: 300)
            if c.key == K.rewardMean.stringValue || c.key == K.accuracy.stringValue, metrics.column(K.flops.stringValue) != nil {
                chart.secondaryX = ("cumulative training FLOPs", { step in
                    step == 0 ? "0" : metrics.interpolate(K.flops.stringValue, at: step).map { ChartFormat.power($0) }
                })
            }
            figures.append("<figure>\(chart.svg())</figure>")
        }
        if !figures.isEmpty {
            body += "<div class=\"charts\">\(figures.joined())</div>"
            if window > 1 {
                body += HTML.note("Light points: each step's value; line: centred moving average over \(window) steps.")
            }
        }
        if !absent.isEmpty { body += HTML.note("Not logged (or never finite): \(absent.joined(separator: ", ")).") }

        var small: [String] = []
        var constant: [String] = []
        for (i, c) in diagnostics.enumerated() {
            guard let values = metrics.column(c.key) else { continue }
            let finite = values.filter(\.isFinite)
            if let f = finite.first, finite.allSatisfy({ $0 == f }) { constant.append("\(c.key) = \(ChartFormat.significant(f))"); continue }
            let chart = chart(c, metrics: metrics, values: values, window: window, color: SVGPalette.color(i + 4), width: 360, height: 230)
            small.append("<figure>\(chart.svg())</figure>")
        }
        if !small.isEmpty {
            body += "<h3>Optimisation diagnostics</h3><div class=\"charts small\">\(small.joined())</div>"
        }
        if !constant.isEmpty { body += HTML.note("Constant over the run (not plotted): \(constant.joined(separator: "; ")).") }
        body += "<h3>All logged metrics</h3>" + table(metrics, window: max(window, min(5, metrics.steps.count)))
        return body
    }

    static func chart(_ c: Curve, metrics: RunMetrics, values: [Double], window: Int, color: String,
                      width: Double, height: Double) -> LineChart {
        let raw = Array(zip(metrics.steps, values)).map { (x: $0.0, y: $0.1) }
        let smooth = Array(zip(metrics.steps, RunMetrics.movingAverage(values, window: window))).map { (x: $0.0, y: $0.1) }
        var series: [LineChart.Series] = []
        if window > 1 {
            series.append(.init(name: "per step", points: raw, color: color, style: .lineAndMarkers, width: 0.8,
                                opacity: 0.35, markerRadius: 1.8))
            series.append(.init(name: "moving average (\(window))", points: smooth, color: color, style: .line, width: 2.2, markerClass: "ma"))
        } else {
            series.append(.init(name: "per step", points: raw, color: color, style: .lineAndMarkers, width: 1.6, markerRadius: 2.6))
        }
        return LineChart(id: "chart-\(c.key.replacingOccurrences(of: "_", with: "-"))", title: c.title, xLabel: "step",
                         yLabel: c.yLabel, series: series, integerX: true, includeZeroY: c.includeZero,
                         yPercent: c.percent,
                         width: width, height: height)
    }

    /// Every numeric column: first, last, min, max and the mean of the last `window` steps.
    static func table(_ metrics: RunMetrics, window: Int) -> String {
        let preferred = main.map(\.key) + [K.flops.stringValue] + diagnostics.map(\.key) + [K.rolloutSeconds.stringValue, K.updateSeconds.stringValue]
        let keys = preferred.filter(metrics.keys.contains) + metrics.keys.filter { !preferred.contains($0) }.sorted()
        let rows: [[String]] = keys.map { k in
            let values = metrics.columns[k] ?? []
            let finite = values.filter(\.isFinite)
            let tail = values.suffix(max(window, 1)).filter(\.isFinite)
            let missing = values.count - finite.count
            return [HTML.escape(k) + (missing > 0 ? " <span class=\"ci\">(\(missing) missing)</span>" : ""),
                    ChartFormat.significant(finite.first), ChartFormat.significant(finite.last),
                    ChartFormat.significant(finite.min()), ChartFormat.significant(finite.max()),
                    ChartFormat.significant(tail.isEmpty ? nil : tail.reduce(0, +) / Double(tail.count))]
        }
        return HTML.table(headers: ["metric", "first", "last", "min", "max", "mean of last \(window)"], rows: rows,
                          numeric: [1, 2, 3, 4, 5])
    }
}
