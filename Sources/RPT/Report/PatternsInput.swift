// The reasoning-pattern comparison for the report, decoded from an "rpt-patterns/1" file (PatternsFile): for each set of
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
        let file = try PatternsFile.load(path: path)
        var names = Set<String>()
        let sets = file.sets.enumerated().map { i, s in
            var set = PatternSet(name: s.name ?? "set \(i + 1)", n: s.n, groups: [:])
            for (g, v) in s.groups {
                var (count, proportion) = (v.count, v.proportion.flatMap { $0.isFinite ? $0 : nil })
                if proportion == nil, let c = count, let n = set.n, n > 0 { proportion = Double(c) / Double(n) }
                if count == nil, let p = proportion, let n = set.n { count = Int((p * Double(n)).rounded()) }
                set.groups[g] = (count, proportion)
                names.insert(g)
            }
            return set
        }
        let change = (file.relativeChange ?? [:]).compactMapValues { $0.flatMap { $0.isFinite ? $0 : nil } }
        let order = paperGroups.filter(names.contains) + names.subtracting(paperGroups).sorted()
        return PatternsInput(path: path, sets: sets, relativeChange: change, groupOrder: order)
    }
}
