// The identity of one evaluated item, as `rpt eval` records it in the "positions" list of rpt-eval/1 and as
// paired comparisons match items across models: a validation position (doc_id, index) with its difficulty
// splits, or a multiple-choice question (question_id) with its category. Documents are the clusters of the
// paired bootstrap: positions of one document share their context, so their outcomes are correlated.

import Foundation

public struct EvalItem: Sendable, Equatable, Hashable {
    /// The document the position comes from; for a multiple-choice question, its question id.
    public var docId: String
    /// The position's index in its document; 0 for a multiple-choice question.
    public var index: Int
    /// The groups the item belongs to besides "all": its difficulty splits, or its category.
    public var groups: [String]
    /// Whether this is a multiple-choice question (then `groups` is its category).
    public var isQuestion: Bool

    public init(docId: String, index: Int, splits: [String]) {
        self.docId = docId
        self.index = index
        self.groups = splits
        self.isQuestion = false
    }

    public init(questionId: String, category: String) {
        docId = questionId
        index = 0
        groups = [category]
        isQuestion = true
    }

    /// The group of positions inside an annotated calculation's result (PositionRecord.calculation): the
    /// positions reasoning can compute (docs/reproduction.md).
    public static let calculationGroup = "calculation"

    /// A position: its difficulty splits, and the calculation group when it has a calculation.
    public init(_ record: PositionRecord) {
        self.init(docId: record.docId, index: record.index,
                  splits: (record.splits ?? []).map(\.rawValue) + (record.calculation != nil ? [EvalItem.calculationGroup] : []))
    }

    public init(_ question: MultipleChoiceQuestion) {
        self.init(questionId: question.id, category: question.category)
    }

    /// The key paired comparisons match on.
    public var key: Key { Key(docId: docId, index: index) }

    public struct Key: Sendable, Hashable, CustomStringConvertible {
        public var docId: String
        public var index: Int
        public init(docId: String, index: Int) {
            self.docId = docId
            self.index = index
        }
        public var description: String { "\(docId)@\(index)" }
    }

    /// `{"doc_id","index","splits"}`, or `{"question_id","category"}` for a question.
    public var json: JSON {
        if isQuestion { return .object(["question_id": .string(docId), "category": .string(groups.first ?? "all")]) }
        return .object(["doc_id": .string(docId), "index": .number(Double(index)), "splits": .array(groups.map(JSON.string))])
    }

    /// Reads one entry of a "positions" list; nil when it is neither form.
    public init?(json: JSON) {
        if let q = json["question_id"]?.string {
            self.init(questionId: q, category: json["category"]?.string ?? "all")
        } else if let d = json["doc_id"]?.string, let i = json["index"]?.int {
            var splits: [String] = []
            if let s = json["splits"], !s.isNull {
                guard let a = s.array else { return nil }
                for x in a { guard let name = x.string else { return nil }; splits.append(name) }
            }
            self.init(docId: d, index: i, splits: splits)
        } else {
            return nil
        }
    }
}
