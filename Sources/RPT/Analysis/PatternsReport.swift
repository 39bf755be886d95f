// The "rpt-patterns/1" JSON written by `rpt patterns`:
// {"format":"rpt-patterns/1","group_order":["Transition",..],"keywords":{"Group":[..]},"sets":[{"name":FILE,"n":200,
//  "groups":{"Transition":{"count":..,"proportion":..},..}}],"relative_change":{"Transition":..|null,..}}
// relative_change (present only when two sets are compared) is (B − A) / A in percent, null when A is 0.

import Foundation

public enum PatternsReport {
    public static let format = "rpt-patterns/1"

    public static func json(patterns: ReasoningPatterns, sets: [(name: String, counts: PatternCounts)]) -> JSON {
        var out: [String: JSON] = [
            "format": .string(format),
            "group_order": .array(patterns.groups.map { .string($0.name) }),
            "keywords": .object(Dictionary(uniqueKeysWithValues: patterns.groups.map { ($0.name, JSON.array($0.keywords.map(JSON.string))) })),
            "sets": .array(sets.map { name, c in
                var groups: [String: JSON] = [:]
                for (g, k) in zip(c.groups, c.counts) {
                    groups[g] = .object(["count": .number(Double(k)), "proportion": .number(c.proportion(g) ?? 0)])
                }
                return .object(["name": .string(name), "n": .number(Double(c.n)), "groups": .object(groups)])
            }),
        ]
        if sets.count == 2 {
            var change: [String: JSON] = [:]
            for g in sets[0].counts.groups {
                change[g] = PatternCounts.relativeChange(from: sets[0].counts, to: sets[1].counts, group: g).map(JSON.number) ?? .null
            }
            out["relative_change"] = .object(change)
        }
        return .object(out)
    }
}
