// The file `rpt patterns --out` writes, "rpt-patterns/1": one Codable type that `rpt patterns` fills and the
// report decodes (PatternsInput). For each set of responses, how many contain a keyword of each reasoning-pattern
// group (paper §4.5, App. E, Table 9, Fig. 6):
// {"format":"rpt-patterns/1","group_order":["Transition",..],"keywords":{"Group":[..]},"sets":[{"name":FILE,"n":200,
//  "groups":{"Transition":{"count":..,"proportion":..},..}}],"relative_change":{"Transition":..|null,..}}
// relative_change (present only when two sets are compared) is (B − A) / A in percent, null when A is 0.

import Foundation

public struct PatternsFile: StageFile, Sendable, Equatable {
    public static let format = "rpt-patterns/1"

    public struct Group: Codable, Sendable, Equatable {
        public var count: Int?
        public var proportion: Double?
    }

    public struct ResponseSet: Codable, Sendable, Equatable {
        public var name: String?
        public var n: Int?
        public var groups: [String: Group]
    }

    public var format: String = PatternsFile.format
    public var groupOrder: [String]?
    public var keywords: [String: [String]]?
    public var sets: [ResponseSet]
    public var relativeChange: [String: Double?]?

    enum CodingKeys: String, CodingKey {
        case format, groupOrder = "group_order", keywords, sets, relativeChange = "relative_change"
    }

    public init(patterns: ReasoningPatterns, sets: [(name: String, counts: PatternCounts)]) {
        groupOrder = patterns.groups.map(\.name)
        keywords = Dictionary(patterns.groups.map { ($0.name, $0.keywords) }, uniquingKeysWith: { a, _ in a })
        self.sets = sets.map { name, c in
            var groups: [String: Group] = [:]
            for (g, k) in zip(c.groups, c.counts) { groups[g] = Group(count: k, proportion: c.proportion(g) ?? 0) }
            return ResponseSet(name: name, n: c.n, groups: groups)
        }
        if sets.count == 2 {
            var change: [String: Double?] = [:]
            for g in sets[0].counts.groups { change[g] = PatternCounts.relativeChange(from: sets[0].counts, to: sets[1].counts, group: g) }
            relativeChange = change
        }
    }
}
