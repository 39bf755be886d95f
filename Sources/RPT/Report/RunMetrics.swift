// The per-step metrics of a training run (RUN/metrics.jsonl, written by `rpt train`) as columns: one
// value per step for every numeric key, NaN where a step lacks it or logged a non-finite value. Steps
// are sorted; a step logged twice keeps its last line. The "warning" texts `rpt train` logs (a stalled
// learning signal) are kept by step. Also the moving average used to smooth noisy curves in the report.

import Foundation

struct RunMetrics {
    var path: String
    var steps: [Double]
    /// Numeric columns aligned with `steps` (NaN: missing or not finite).
    var columns: [String: [Double]]
    /// Column names in first-seen order.
    var keys: [String]
    /// The "warning" strings of the records, in step order.
    var warnings: [(step: Double, text: String)] = []
    var droppedIncompleteLastLine = false

    static func load(path: String) throws -> RunMetrics {
        let file = try ReportJSONL.read(path)
        var byStep: [Double: [String: Double]] = [:]
        var warningByStep: [Double: String] = [:]
        var keys: [String] = [], seen = Set<String>()
        for (line, object) in file.records {
            guard let step = object["step"]?.double, step.isFinite else {
                throw RPTError("line \(line): no numeric \"step\"", file: path)
            }
            var row: [String: Double] = [:]
            for (k, v) in object where k != "step" {
                guard let d = v.metricValue else { continue }
                row[k] = d.isFinite ? d : .nan
                if seen.insert(k).inserted { keys.append(k) }
            }
            byStep[step] = row
            warningByStep[step] = object[TrainMetricsLine.CodingKeys.warning.stringValue]?.string
        }
        let steps = byStep.keys.sorted()
        var columns: [String: [Double]] = [:]
        for k in keys { columns[k] = steps.map { byStep[$0]?[k] ?? .nan } }
        return RunMetrics(path: path, steps: steps, columns: columns, keys: keys,
                          warnings: steps.compactMap { s in warningByStep[s].map { (step: s, text: $0) } },
                          droppedIncompleteLastLine: file.droppedIncompleteLastLine)
    }

    /// The column `key` when it has at least one finite value.
    func column(_ key: String) -> [Double]? {
        guard let c = columns[key], c.contains(where: \.isFinite) else { return nil }
        return c
    }

    /// The last finite value of `key` and its step.
    func last(_ key: String) -> (step: Double, value: Double)? {
        guard let c = columns[key] else { return nil }
        for i in stride(from: c.count - 1, through: 0, by: -1) where c[i].isFinite { return (steps[i], c[i]) }
        return nil
    }

    /// Linear interpolation of `key` at `step` between its finite values; nil outside their range.
    func interpolate(_ key: String, at step: Double) -> Double? {
        guard let c = columns[key] else { return nil }
        let points = zip(steps, c).filter { $0.1.isFinite }
        guard let first = points.first, let last = points.last, step >= first.0, step <= last.0 else { return nil }
        if step == first.0 { return first.1 }
        for (a, b) in zip(points, points.dropFirst()) where step <= b.0 {
            return a.1 + (b.1 - a.1) * (step - a.0) / (b.0 - a.0)
        }
        return last.1
    }

    /// A centred moving average over the finite values within `window` steps' worth of neighbours
    /// (the window shrinks at the ends); NaN stays NaN.
    static func movingAverage(_ values: [Double], window: Int) -> [Double] {
        guard window > 1 else { return values }
        let half = window / 2
        return values.indices.map { i in
            guard values[i].isFinite else { return .nan }
            let lo = max(0, i - half), hi = min(values.count - 1, i + (window - 1 - half))
            let finite = values[lo...hi].filter(\.isFinite)
            return finite.reduce(0, +) / Double(finite.count)
        }
    }

    /// The smoothing window for `count` points: about a tenth of the run, odd, between 1 and 51.
    static func smoothingWindow(count: Int) -> Int {
        guard count >= 8 else { return 1 }
        var w = max(3, min(51, Int((Double(count) / 10).rounded())))
        if w % 2 == 0 { w += 1 }
        return w
    }
}
