// Evaluation results for the report (next-token accuracy per difficulty split, paper §4.1 / Table 1; or
// multiple-choice accuracy per category, §4.4), decoded from "rpt-eval/1" files (EvalFile) and put in display
// order. A wrong "format", a missing "results" array or an entry of the wrong type is an error naming the file
// and the field; a result needs "splits" or "categories".

import Foundation

/// Accuracy of one model on one split or category.
typealias EvalScore = EvalFile.Score

/// One evaluated model (a checkpoint, or the initial model), its groups in display order.
struct EvalResult {
    var model: String?
    var label: String
    var step: Int?
    var flops: Double?
    var splits: [(name: String, score: EvalScore)]
    var categories: [(name: String, score: EvalScore)]
}

struct EvalInput {
    static let format = EvalFile.format
    var path: String
    var data: String?
    var mode: String
    var samples: Int?
    var temperature: Double?
    var results: [EvalResult]

    static func declaresFormat(_ json: JSON) -> Bool { EvalFile.declaresFormat(json) }

    static func load(path: String) throws -> EvalInput {
        let file = try EvalFile.load(path: path)
        func ordered(_ groups: [String: EvalScore]?) -> [(name: String, score: EvalScore)] {
            guard let groups else { return [] }
            return ReportOrder.splits(Array(groups.keys)).map { ($0, groups[$0]!) }
        }
        let results = try file.results.enumerated().map { i, r in
            let splits = ordered(r.splits), categories = ordered(r.categories)
            guard !(splits.isEmpty && categories.isEmpty) else {
                throw RPTError("results[\(i)] has neither \"splits\" nor \"categories\"", file: path)
            }
            return EvalResult(model: r.model, label: r.name(index: i), step: r.step, flops: r.flops, splits: splits, categories: categories)
        }
        return EvalInput(path: path, data: file.data, mode: file.mode ?? "eval", samples: file.samples, temperature: file.temperature,
                         results: results)
    }
}
