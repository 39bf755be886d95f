// The "Next-token accuracy by difficulty" section (paper §4.1, Table 1): one bar per evaluated model and
// mode ("initial · ntp", "step-000040 · reasoning") in each split, with 95% CI whiskers; a table of the
// same numbers with n and compute; greedy / sampled / pass@k details when the files have them; and a
// table per file of multiple-choice categories (mcq mode, §4.4) when present.

import Foundation

enum EvalSection {
    /// One bar series: a result of one file.
    struct Entry {
        var name: String
        var file: EvalInput
        var result: EvalResult
    }

    static func entries(_ files: [EvalInput]) -> [Entry] {
        var list: [Entry] = []
        for f in files { for r in f.results { list.append(Entry(name: "\(r.label) · \(f.mode)", file: f, result: r)) } }
        // Same label and mode from two files: tell them apart by file name.
        let counts = Dictionary(grouping: list, by: \.name).mapValues(\.count)
        for i in list.indices where counts[list[i].name]! > 1 {
            list[i].name += " (\(URL(fileURLWithPath: list[i].file.path).lastPathComponent))"
        }
        return list
    }

    static func build(_ files: [EvalInput]) -> String {
        let list = entries(files)
        var body = "<p>" + files.map { f in
            var s = "<code>\(HTML.escape(f.path))</code>: mode <b>\(HTML.escape(f.mode))</b>"
            if let d = f.data { s += ", data <code>\(HTML.escape(d))</code>" }
            if let k = f.samples { s += ", \(k) sample\(k == 1 ? "" : "s")" }
            if let t = f.temperature { s += " at T = \(ChartFormat.significant(t, digits: 3))" }
            return s
        }.joined(separator: "<br>") + "</p>"
        let splits = ReportOrder.splits(Array(Set(list.flatMap { $0.result.splits.map(\.name) })))
        if !splits.isEmpty {
            let series = list.enumerated().map { i, e in
                BarChart.Series(name: e.name, color: SVGPalette.color(i),
                                values: splits.map { s in e.result.splits.first { $0.name == s }?.score.headline.map { $0 * 100 } },
                                intervals: splits.map { s in
                                    e.result.splits.first { $0.name == s }?.score.headlineCI.map { ($0.low * 100, $0.high * 100) }
                                })
            }
            let chart = BarChart(id: "chart-eval-splits", title: "Accuracy by difficulty split (95% CI)", yLabel: "accuracy (%)",
                                 categories: splits, series: series, valueLabel: { String(format: "%.1f", $0) },
                                 yClamp: 0...100, width: 1040, height: 360)
            body += "<figure>\(chart.svg())</figure>"
            body += splitTable(list, splits: splits)
            body += detailTable(list, splits: splits)
        }
        for f in files {
            let withCategories = f.results.filter { !$0.categories.isEmpty }
            guard !withCategories.isEmpty else { continue }
            body += "<h3>Categories · \(HTML.escape(URL(fileURLWithPath: f.path).lastPathComponent))</h3>"
            body += categoryTable(withCategories)
        }
        return body
    }

    static func cell(_ s: EvalScore?) -> String {
        guard let s, let acc = s.headline else { return "—" }
        var out = ChartFormat.percent(acc)
        if let ci = s.headlineCI { out += " <span class=\"ci\">[\(String(format: "%.1f", ci.low * 100)), \(String(format: "%.1f", ci.high * 100))]</span>" }
        if let n = s.n { out += " <span class=\"ci\">n=\(n)</span>" }
        return out
    }

    static func splitTable(_ list: [Entry], splits: [String]) -> String {
        let rows = list.enumerated().map { i, e in
            ["<span class=\"swatch\" style=\"background:\(SVGPalette.color(i))\"></span>" + HTML.escape(e.name),
             e.result.step.map(String.init) ?? "—", e.result.flops.map { ChartFormat.power($0, digits: 3) } ?? "—"]
                + splits.map { s in cell(e.result.splits.first { $0.name == s }?.score) }
        }
        return HTML.table(headers: ["model · mode", "step", "FLOPs"] + splits.map(HTML.escape), rows: rows,
                          numeric: Set(1..<(3 + splits.count)),
                          caption: "Accuracy with 95% confidence interval and number of positions.")
    }

    /// Greedy vs sampled accuracy and pass@k per split, for the results that report them.
    static func detailTable(_ list: [Entry], splits: [String]) -> String {
        func pct(_ v: Double?) -> String { v.map { String(format: "%.1f", $0 * 100) } ?? "—" }
        var rows: [[String]] = []
        var ks = Set<Int>()
        for e in list {
            let scores = splits.map { s in e.result.splits.first { $0.name == s }?.score }
            guard scores.contains(where: { $0?.greedy != nil || $0?.sampled != nil }) else { continue }
            rows.append([HTML.escape(e.name)] + scores.map { score in
                guard let score else { return "—" }
                if let k = score.sampled?.k { ks.insert(k) }
                return "\(pct(score.greedy?.accuracy)) <span class=\"ci\">·</span> \(pct(score.sampled?.meanAccuracy)) <span class=\"ci\">·</span> \(pct(score.sampled?.passAtK))"
            })
        }
        guard !rows.isEmpty else { return "" }
        let k = ks.count == 1 ? "pass@\(ks.first!)" : "pass@k"
        return "<h3>Greedy and sampled decoding</h3>" + HTML.table(headers: ["model · mode"] + splits.map(HTML.escape), rows: rows,
                                                                   numeric: Set(1...splits.count),
                                                                   caption: "greedy · sampled mean · \(k), in %.")
    }

    static func categoryTable(_ results: [EvalResult]) -> String {
        let names = ReportOrder.splits(Array(Set(results.flatMap { $0.categories.map(\.name) })))
        let rows = names.map { c in
            [HTML.escape(c)] + results.map { r in cell(r.categories.first { $0.name == c }?.score) }
        }
        return HTML.table(headers: ["category"] + results.map { HTML.escape($0.label) }, rows: rows, numeric: Set(1...results.count))
    }
}
