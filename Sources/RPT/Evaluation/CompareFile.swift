// The file `rpt compare --out` writes, "rpt-compare/1": one Codable type that `rpt compare` fills and every reader
// decodes (`rpt reproduce`: the gates and results.json; the quickstart summary). The paired difference A − B of two
// evaluated models on the same items, per group, with its 95% interval from a bootstrap over documents
// (PairedComparison):
// {"format":"rpt-compare/1","a":{"file","label","model","mode","score"},"b":{…},"matched","unmatched_a",
//  "unmatched_b","resamples","seed","group_disagreements" (when present),
//  "splits":{name:{"n","documents","mean_a","mean_b","difference","ci95":[lo,hi],"se"}},"categories":{…} (questions)}

import Foundation

/// The numbers of one paired comparison as the files carry them: what rpt-compare/1 holds beside its two sides, and
/// each entry of rpt-eval/1's "paired" beside its labels. For questions "splits" holds "all" and "categories" the rest.
public struct PairedRecord: Codable, Sendable, Equatable {
    public struct Group: Codable, Sendable, Equatable {
        public var n: Int
        public var documents: Int?
        public var meanA: Double
        public var meanB: Double
        public var difference: Double
        public var ci95: EvalFile.Interval
        public var se: Double?
        enum CodingKeys: String, CodingKey { case n, documents, meanA = "mean_a", meanB = "mean_b", difference, ci95, se }

        public init(_ g: PairedComparison.Group) {
            n = g.n; documents = g.documents; meanA = g.meanA; meanB = g.meanB; difference = g.difference
            ci95 = EvalFile.Interval(low: g.low, high: g.high); se = g.standardError
        }
    }

    public var matched: Int?
    public var unmatchedA: Int?
    public var unmatchedB: Int?
    public var resamples: Int?
    public var seed: UInt64?
    public var groupDisagreements: Int?
    public var splits: [String: Group]
    public var categories: [String: Group]?

    enum CodingKeys: String, CodingKey {
        case matched, unmatchedA = "unmatched_a", unmatchedB = "unmatched_b", resamples, seed
        case groupDisagreements = "group_disagreements", splits, categories
    }

    public init(_ c: PairedComparison) {
        matched = c.matched; unmatchedA = c.unmatchedA; unmatchedB = c.unmatchedB; resamples = c.resamples; seed = c.seed
        groupDisagreements = c.groupDisagreements > 0 ? c.groupDisagreements : nil
        var splits: [String: Group] = [:], categories: [String: Group] = [:]
        for g in c.groups {
            if c.questions && g.name != "all" { categories[g.name] = Group(g) } else { splits[g.name] = Group(g) }
        }
        self.splits = splits
        self.categories = c.questions ? categories : nil
    }
}

public struct CompareFile: StageFile, Sendable, Equatable {
    public static let format = "rpt-compare/1"

    /// One side: the evaluation file, the result's label and model, the file's mode and the score compared.
    public struct Side: Codable, Sendable, Equatable {
        public var file: String?
        public var label: String?
        public var model: String?
        public var mode: String?
        public var score: String?
        public init(file: String?, label: String?, model: String?, mode: String?, score: String?) {
            self.file = file; self.label = label; self.model = model; self.mode = mode; self.score = score
        }
    }

    public var format: String = CompareFile.format
    public var a: Side?
    public var b: Side?
    /// The comparison's numbers, at the top level of the file.
    public var record: PairedRecord

    public var splits: [String: PairedRecord.Group] { record.splits }

    enum CodingKeys: String, CodingKey { case format, a, b }

    public init(_ c: PairedComparison, a: Side, b: Side) {
        self.a = a
        self.b = b
        record = PairedRecord(c)
    }

    public init(from decoder: Decoder) throws {
        record = try PairedRecord(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        format = try c.decode(String.self, forKey: .format)
        a = try c.decodeIfPresent(Side.self, forKey: .a)
        b = try c.decodeIfPresent(Side.self, forKey: .b)
    }

    public func encode(to encoder: Encoder) throws {
        try record.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(format, forKey: .format)
        try c.encodeIfPresent(a, forKey: .a)
        try c.encodeIfPresent(b, forKey: .b)
    }
}
