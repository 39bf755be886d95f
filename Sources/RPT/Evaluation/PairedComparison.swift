// Paired differences between two models evaluated on the same items (issue "RPT that measurably works",
// item 6): items are matched by (doc_id, index) — or question id — whatever their order in either file; per
// group ("all", then the difficulty splits or multiple-choice categories) the mean score of A, of B, the
// mean difference A − B, a 95% percentile bootstrap interval that resamples documents (ClusterBootstrap),
// and the cluster-robust standard error. A paired difference cancels the item-to-item variation both
// models share, so it shows a change far smaller than two overlapping per-model intervals would.
//
// The per-item score is the greedy (standard-mode argmax) outcome 0/1, or the sampled mean correct/k.
// JSON per group: {"n","mean_a","mean_b","difference","ci95":[lo,hi],"documents","se"}.

import Foundation

/// Which per-item outcome a comparison scores.
public enum PairedScore: String, Sendable, CaseIterable {
    /// The greedy response (reasoning) or argmax (ntp): 0 or 1.
    case greedy
    /// The fraction of the k sampled responses that are correct.
    case mean
}

extension ItemScore {
    /// This item's score under `kind`; nil when the item lacks that outcome.
    public func value(_ kind: PairedScore) -> Double? {
        switch kind {
        case .greedy: return greedy.map { $0 ? 1 : 0 }
        case .mean: return samples.isEmpty ? nil : Double(samples.filter { $0 }.count) / Double(samples.count)
        }
    }
}

/// One item with one model's score on it.
public struct ScoredItem: Sendable, Equatable {
    public var item: EvalItem
    public var score: Double
    public init(item: EvalItem, score: Double) {
        self.item = item
        self.score = score
    }
}

public struct PairedComparison: Sendable {
    public struct Group: Sendable, Equatable {
        public var name: String
        /// Paired items in the group, and the documents they come from.
        public var n: Int
        public var documents: Int
        public var meanA: Double
        public var meanB: Double
        /// Mean of A − B over the group's items, with its bootstrap interval and cluster-robust standard error.
        public var difference: Double
        public var low: Double
        public var high: Double
        public var standardError: Double?
    }

    /// Labels of the two sides (A − B is reported).
    public var a: String
    public var b: String
    /// "all" first, then the splits easy, medium, hard (or categories, sorted).
    public var groups: [Group]
    /// Items present on both sides, and those present on one side only.
    public var matched: Int
    public var unmatchedA: Int
    public var unmatchedB: Int
    /// Matched items whose group labels differ between the sides (A's labels are used).
    public var groupDisagreements: Int
    /// Whether the items are multiple-choice questions (groups are categories).
    public var questions: Bool
    public var resamples: Int
    public var seed: UInt64

    /// Pairs the items of `a` and `b` by (doc_id, index) and compares them. `context` names the inputs in
    /// errors (e.g. the files the scores come from).
    public init(a: [ScoredItem], b: [ScoredItem], labelA: String = "A", labelB: String = "B",
                resamples: Int = 2000, seed: UInt64 = 0, context: String? = nil) throws {
        let origin = context ?? "\(labelA) vs \(labelB)"
        guard resamples >= 1 else { throw RPTError("the number of bootstrap resamples must be ≥ 1 (got \(resamples))", file: origin) }
        var indexB: [EvalItem.Key: Int] = [:]
        for (i, x) in b.enumerated() {
            guard indexB.updateValue(i, forKey: x.item.key) == nil else {
                throw RPTError("item \(x.item.key) appears more than once in \(labelB): items must be unique to be paired", file: origin)
            }
        }
        var seenA = Set<EvalItem.Key>()
        var pairs: [(item: EvalItem, a: Double, b: Double)] = []
        var disagreements = 0
        for x in a {
            guard seenA.insert(x.item.key).inserted else {
                throw RPTError("item \(x.item.key) appears more than once in \(labelA): items must be unique to be paired", file: origin)
            }
            guard let j = indexB[x.item.key] else { continue }
            if Set(x.item.groups) != Set(b[j].item.groups) { disagreements += 1 }
            pairs.append((x.item, x.score, b[j].score))
        }
        guard !pairs.isEmpty else {
            throw RPTError("\(labelA) and \(labelB) share no items (matched by doc_id and index, or question id): were they evaluated on the same data?", file: origin)
        }
        self.a = labelA
        self.b = labelB
        matched = pairs.count
        unmatchedA = a.count - pairs.count
        unmatchedB = b.count - pairs.count
        groupDisagreements = disagreements
        questions = pairs.allSatisfy { $0.item.isQuestion }
        self.resamples = resamples
        self.seed = seed

        var names: [String] = []
        for p in pairs { for g in p.item.groups where g != "all" && !names.contains(g) { names.append(g) } }
        let splitOrder = DifficultySplit.allCases.map(\.rawValue)
        names.sort { x, y in
            let i = splitOrder.firstIndex(of: x) ?? splitOrder.count, j = splitOrder.firstIndex(of: y) ?? splitOrder.count
            return i != j ? i < j : x < y
        }
        groups = (["all"] + names).map { name in
            let members = name == "all" ? pairs : pairs.filter { $0.item.groups.contains(name) }
            let boot = ClusterBootstrap(values: members.map { $0.a - $0.b }, documents: members.map(\.item.docId))
            let ci = boot.percentileInterval(resamples: resamples, seed: seed, stream: PairedComparison.stream(name))
            let n = Double(members.count)
            return Group(name: name, n: members.count, documents: boot.documentCount,
                         meanA: members.reduce(0) { $0 + $1.a } / n, meanB: members.reduce(0) { $0 + $1.b } / n,
                         difference: boot.mean, low: ci.low, high: ci.high, standardError: boot.standardError)
        }
    }

    /// The random stream of a group's resamples: a hash of its name, so a group's interval does not depend on
    /// which other groups exist.
    static func stream(_ name: String) -> UInt64 {
        name.utf8.reduce(UInt64(5381)) { ($0 &* 33) &+ UInt64($1) }
    }

    public func group(_ name: String) -> Group? { groups.first { $0.name == name } }

    /// A row per group: n, mean of A and of B, A − B with its 95% interval (percentage points), documents.
    public func table() -> String {
        func pad(_ s: String, _ w: Int) -> String { s.count >= w ? s : s + String(repeating: " ", count: w - s.count) }
        func lpad(_ s: String, _ w: Int) -> String { s.count >= w ? s : String(repeating: " ", count: w - s.count) + s }
        let nameWidth = max(8, groups.map(\.name.count).max() ?? 0)
        var lines = [pad(questions ? "category" : "split", nameWidth) + "  " + lpad("n", 6) + lpad("A", 8) + lpad("B", 8)
                     + lpad("A−B", 8) + "  " + pad("95% CI", 18) + lpad("documents", 10)]
        for g in groups {
            lines.append(pad(g.name, nameWidth) + "  " + lpad("\(g.n)", 6)
                         + lpad(String(format: "%.1f", 100 * g.meanA), 8) + lpad(String(format: "%.1f", 100 * g.meanB), 8)
                         + lpad(String(format: "%+.1f", 100 * g.difference), 8) + "  "
                         + pad(String(format: "[%+.1f, %+.1f]", 100 * g.low, 100 * g.high), 18) + lpad("\(g.documents)", 10))
        }
        var notes: [String] = []
        if unmatchedA > 0 || unmatchedB > 0 { notes.append("unmatched items: \(unmatchedA) only in A (\(a)), \(unmatchedB) only in B (\(b))") }
        if groupDisagreements > 0 { notes.append("\(groupDisagreements) matched items have different split labels; A's (\(a)) are used") }
        return (lines + notes).joined(separator: "\n")
    }
}
