// The report's header: run directory, model, steps, final reward and accuracy (last value and smoothed),
// total training FLOPs, time spent, the date, and the run's main options when a checkpoint records them
// (RUN/latest → step-*/trainer_state.json, "training_options"). The checkpoint is optional context:
// when it is missing or unreadable the header says "unknown" rather than failing the report.

import Foundation

enum RunSummary {
    /// The training options recorded by the run's newest checkpoint, if any.
    static func trainingOptions(run: String) -> [String: JSON]? {
        var candidates: [String] = []
        if let latest = Checkpoint.latest(in: run) { candidates.append(latest) }
        let steps = ((try? FileManager.default.contentsOfDirectory(atPath: run)) ?? []).filter { $0.hasPrefix("step-") }.sorted()
        candidates += steps.reversed().map { run + "/" + $0 }
        for dir in candidates {
            if let state = try? JSON.load(path: dir + "/" + Checkpoint.stateFile), let o = state["training_options"]?.object {
                return o
            }
        }
        return nil
    }

    static func build(run: String, metrics: RunMetrics?, options: [String: JSON]?, now: Date) -> String {
        func kpi(_ key: String, _ value: String, _ sub: String? = nil, wide: Bool = false) -> String {
            "<div class=\"kpi\(wide ? " wide" : "")\"><div class=\"k\">\(HTML.escape(key))</div><div class=\"v\">\(value)</div>"
                + (sub.map { "<div class=\"s\">\($0)</div>" } ?? "") + "</div>"
        }
        let model = options?["model"]?.string
        var cards: [String] = []
        cards.append(kpi("Model", model.map { HTML.escape(shortName($0)) } ?? "unknown",
                         model.map { HTML.escape($0) }, wide: true))
        if let m = metrics, let lastStep = m.steps.last {
            let window = RunMetrics.smoothingWindow(count: m.steps.count)
            cards.append(kpi("Steps", ChartFormat.grouped(Int(lastStep)), "\(m.steps.count) logged"))
            for (key, name) in [("reward_mean", "Final reward"), ("accuracy", "Final accuracy")] {
                guard let last = m.last(key), let column = m.column(key) else { continue }
                let isPercent = key == "accuracy"
                func show(_ v: Double?) -> String { isPercent ? ChartFormat.percent(v) : v.map { String(format: "%.4f", $0) } ?? "—" }
                var sub = ["first " + show(column.first { $0.isFinite })]
                if window > 1 { sub.insert("smoothed " + show(RunMetrics.movingAverage(column, window: window).last { $0.isFinite }), at: 0) }
                cards.append(kpi(name, show(last.value), sub.joined(separator: " · ")))
            }
            if let f = m.last(TrainMetricsLine.CodingKeys.flops.stringValue) { cards.append(kpi("Total FLOPs", ChartFormat.power(f.value, digits: 3), "training, cumulative")) }
            let time = ["rollout_s", "update_s"].compactMap { m.column($0)?.filter(\.isFinite).reduce(0, +) }
            if !time.isEmpty { cards.append(kpi("Compute time", duration(time.reduce(0, +)), "rollouts + updates")) }
        } else {
            cards.append(kpi("Steps", "—", "no metrics"))
        }
        var subtitle = "Run directory <code>\(HTML.escape(run))</code>"
        if let m = metrics, let written = (try? FileManager.default.attributesOfItem(atPath: m.path))?[.modificationDate] as? Date {
            subtitle += " · metrics last written " + date(written, format: "yyyy-MM-dd HH:mm 'UTC'")
        }
        subtitle += " · report of " + date(now, format: "yyyy-MM-dd HH:mm 'UTC'")
        var html = "<p class=\"subtitle\">\(subtitle)</p><div class=\"kpis\">\(cards.joined())</div>"
        if let o = options { html += configuration(o) }
        return html
    }

    /// One line of the run's main options.
    static func configuration(_ o: [String: JSON]) -> String {
        let fields: [(String, String)] = [("batchSize", "contexts / step"), ("groupSize", "G"), ("lr", "lr"), ("temperature", "T"),
                                          ("reward", "reward"), ("template", "template"), ("maxResponseTokens", "max response"),
                                          ("klCoefficient", "β"), ("data", "data")]
        let parts = fields.compactMap { key, name -> String? in
            guard let v = o[key] else { return nil }
            let text = v.double.map { ChartFormat.significant($0, digits: 4) } ?? v.string ?? v.serialized()
            return "\(HTML.escape(name)) <code>\(HTML.escape(text))</code>"
        }
        guard !parts.isEmpty else { return "" }
        return "<p class=\"subtitle\">" + parts.joined(separator: " · ") + "</p>"
    }

    /// The model's directory name, with its parent when the name alone says little ("stories260K/hf").
    static func shortName(_ path: String) -> String {
        let parts = path.split(separator: "/").map(String.init)
        guard let last = parts.last else { return path }
        return last.count <= 4 && parts.count > 1 ? parts[parts.count - 2] + "/" + last : last
    }

    static func duration(_ seconds: Double) -> String {
        if seconds < 120 { return String(format: "%.0f s", seconds) }
        if seconds < 7200 { return String(format: "%.1f min", seconds / 60) }
        return String(format: "%.1f h", seconds / 3600)
    }

    static func date(_ d: Date, format: String) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = format
        return f.string(from: d)
    }
}
