// The "Reasoning patterns" section (paper §4.5, Fig. 6): for each pattern group, the proportion of
// responses of each set that use it, as grouped bars, and a table of counts, proportions and (with two
// sets) the relative change.

import Foundation

enum PatternsSection {
    static func build(_ p: PatternsInput) -> String {
        guard !p.sets.isEmpty, !p.groupOrder.isEmpty else { return HTML.note("\(p.path) has no pattern sets.") }
        let series = p.sets.enumerated().map { i, s in
            BarChart.Series(name: s.name + (s.n.map { " (n=\($0))" } ?? ""), color: SVGPalette.color(i),
                            values: p.groupOrder.map { g in s.groups[g]?.proportion.map { $0 * 100 } })
        }
        let chart = BarChart(id: "chart-patterns", title: "Responses using each reasoning pattern", yLabel: "responses (%)",
                             categories: p.groupOrder, series: series, valueLabel: { String(format: "%.1f", $0) },
                             yClamp: 0...100, width: 1040, height: 340)
        var body = "<figure>\(chart.svg())<figcaption>Share of responses with at least one keyword of the group (paper Table 9).</figcaption></figure>"
        var headers = ["pattern"] + p.sets.map { HTML.escape($0.name) }
        let showChange = !p.relativeChange.isEmpty
        if showChange { headers.append("relative change") }
        let rows = p.groupOrder.map { g -> [String] in
            var row = [HTML.escape(g)] + p.sets.map { s in
                guard let v = s.groups[g] else { return "—" }
                return ChartFormat.percent(v.proportion) + (v.count.map { " <span class=\"ci\">(\($0))</span>" } ?? "")
            }
            if showChange {
                if let c = p.relativeChange[g] {
                    row.append("<span class=\"\(c >= 0 ? "pos" : "neg")\">\(c >= 0 ? "+" : "−")\(String(format: "%.1f", abs(c)))%</span>")
                } else { row.append("—") }
            }
            return row
        }
        body += HTML.table(headers: headers, rows: rows, numeric: Set(1..<headers.count),
                           caption: "Proportion of responses (count); relative change of the last set against the first.")
        return body
    }
}
