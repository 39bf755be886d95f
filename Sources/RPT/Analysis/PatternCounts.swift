// Counts of the reasoning-pattern groups (paper §4.5) over one set of traces, and the relative change
// between two sets that the paper reports (e.g. "+161.8% hypothesis" for RPT-14B over R1-Distill-Qwen-14B).

/// Per-group counts over `n` traces, in group order.
public struct PatternCounts: Sendable, Equatable {
    public var n: Int
    public var groups: [String]
    public var counts: [Int]

    public func count(_ group: String) -> Int? { groups.firstIndex(of: group).map { counts[$0] } }

    /// The fraction of traces that show `group` (0 for an empty set).
    public func proportion(_ group: String) -> Double? {
        count(group).map { n > 0 ? Double($0) / Double(n) : 0 }
    }

    /// (B − A) / A in percent, as the paper's "+161.8% hypothesis"; nil when A's proportion is 0.
    public static func relativeChange(from a: PatternCounts, to b: PatternCounts, group: String) -> Double? {
        guard let pa = a.proportion(group), let pb = b.proportion(group), pa > 0 else { return nil }
        return (pb - pa) / pa * 100
    }
}
