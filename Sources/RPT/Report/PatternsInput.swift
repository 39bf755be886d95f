// The reasoning-pattern comparison for the report, read from an "rpt-patterns/1" file: for each set of
// responses, how many (and what proportion) contain a keyword of each pattern group (paper §4.5, App. E,
// Table 9, Fig. 6), and with two sets the relative change per group in percent.

import Foundation

struct PatternsInput {
    static let format = "rpt-patterns/1"
    /// The paper's groups in Table 9 order; other groups follow alphabetically.
    static let paperGroups = ["Transition", "Reflection", "Breakdown", "Hypothesis", "Divergent Thinking", "Deduction"]

    struct PatternSet {
        var name: String
        var n: Int?
        var groups: [String: (count: Int?, proportion: Double?)]
    }

    var path: String
    var sets: [PatternSet]
    var relativeChange: [String: Double]
    /// Every group of any set, in display order.
    var groupOrder: [String]

    static func load(path: String) throws -> PatternsInput {
        let json = try JSON.load(path: path)
        guard json["format"]?.string == format else {
            throw RPTError("not an \(format) file (format: \(json["format"]?.string.map { "\"\($0)\"" } ?? "missing"))", file: path)
        }
        guard let rawSets = json["sets"]?.array else { throw RPTError("\"sets\" must be an array", file: path) }
        var sets: [PatternSet] = []
        var names = Set<String>()
        for (i, s) in rawSets.enumerated() {
            let f = "sets[\(i)]"
            let groups = try ReportField.object(s["groups"], f + ".groups", path)
            var set = PatternSet(name: s["name"]?.string ?? "set \(i + 1)", n: try ReportField.int(s["n"], f + ".n", path), groups: [:])
            for (g, v) in groups {
                let gf = "\(f).groups.\(g)"
                _ = try ReportField.object(v, gf, path)
                var count = try ReportField.int(v["count"], gf + ".count", path)
                var proportion = try ReportField.number(v["proportion"], gf + ".proportion", path)
                if proportion == nil, let c = count, let n = set.n, n > 0 { proportion = Double(c) / Double(n) }
                if count == nil, let p = proportion, let n = set.n { count = Int((p * Double(n)).rounded()) }
                set.groups[g] = (count, proportion)
                names.insert(g)
            }
            sets.append(set)
        }
        var change: [String: Double] = [:]
        if let rc = json["relative_change"], !rc.isNull {
            for (g, v) in try ReportField.object(rc, "relative_change", path) {
                if let d = try ReportField.number(v, "relative_change.\(g)", path) { change[g] = d }
            }
        }
        let order = paperGroups.filter(names.contains) + names.subtracting(paperGroups).sorted()
        return PatternsInput(path: path, sets: sets, relativeChange: change, groupOrder: order)
    }
}
