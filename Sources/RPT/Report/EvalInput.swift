// Evaluation results for the report, read from "rpt-eval/1" files (next-token accuracy per difficulty
// split, paper §4.1 / Table 1; or multiple-choice accuracy per category, §4.4). Unknown keys are ignored;
// a wrong "format", a missing "results" array or an entry of the wrong type is an error naming the file
// and the field. Optional parts ("greedy", "sampled", "step", "flops", "ci95") may be absent or null.

import Foundation

/// Accuracy of one model on one split or category.
struct EvalScore {
    var n: Int?
    var accuracy: Double?
    var ci95: (low: Double, high: Double)?
    var greedy: (accuracy: Double?, ci95: (low: Double, high: Double)?)?
    var sampled: (meanAccuracy: Double?, ci95: (low: Double, high: Double)?, passAtK: Double?, k: Int?)?

    /// The headline accuracy: the entry's own, else greedy, else the sampled mean.
    var headline: Double? { accuracy ?? greedy?.accuracy ?? sampled?.meanAccuracy }
    var headlineCI: (low: Double, high: Double)? {
        if accuracy != nil { return ci95 }
        if greedy?.accuracy != nil { return greedy?.ci95 }
        return sampled?.ci95
    }
}

/// One evaluated model (a checkpoint, or the initial model).
struct EvalResult {
    var model: String?
    var label: String
    var step: Int?
    var flops: Double?
    var splits: [(name: String, score: EvalScore)]
    var categories: [(name: String, score: EvalScore)]
}

struct EvalInput {
    static let format = "rpt-eval/1"
    var path: String
    var data: String?
    var mode: String
    var samples: Int?
    var temperature: Double?
    var results: [EvalResult]

    /// Whether `json` declares this format (auto-discovery skips other JSON files that match eval*.json).
    static func declaresFormat(_ json: JSON) -> Bool { json["format"]?.string == format }

    static func load(path: String) throws -> EvalInput {
        let json = try JSON.load(path: path)
        guard json.object != nil else { throw RPTError("expected a JSON object (\(format))", file: path) }
        guard declaresFormat(json) else {
            throw RPTError("not an \(format) file (format: \(json["format"]?.string.map { "\"\($0)\"" } ?? "missing"))", file: path)
        }
        guard let results = json["results"]?.array else {
            throw RPTError("\"results\" must be an array", file: path)
        }
        var out = EvalInput(path: path, data: json["data"]?.string, mode: json["mode"]?.string ?? "eval",
                            samples: json["samples"]?.int, temperature: json["temperature"]?.double, results: [])
        for (i, r) in results.enumerated() {
            let field = "results[\(i)]"
            guard r.object != nil else { throw RPTError("\(field) must be an object", file: path) }
            let model = r["model"]?.string
            let label = r["label"]?.string ?? model.map { URL(fileURLWithPath: $0).lastPathComponent } ?? "result \(i + 1)"
            let splits = try scores(r["splits"], field: field + ".splits", path: path)
            let categories = try scores(r["categories"], field: field + ".categories", path: path)
            guard !(splits.isEmpty && categories.isEmpty) else {
                throw RPTError("\(field) has neither \"splits\" nor \"categories\"", file: path)
            }
            out.results.append(EvalResult(model: model, label: label, step: try ReportField.int(r["step"], field + ".step", path),
                                          flops: try ReportField.number(r["flops"], field + ".flops", path),
                                          splits: splits, categories: categories))
        }
        return out
    }

    /// Named scores of a "splits" or "categories" object, difficulty splits first (easy, medium, hard, all).
    static func scores(_ value: JSON?, field: String, path: String) throws -> [(name: String, score: EvalScore)] {
        guard let value, !value.isNull else { return [] }
        guard let object = value.object else { throw RPTError("\(field) must be an object", file: path) }
        return try ReportOrder.splits(Array(object.keys)).map { name in
            let f = "\(field).\(name)"
            let e = object[name]!
            guard e.object != nil else { throw RPTError("\(f) must be an object", file: path) }
            var s = EvalScore(n: try ReportField.int(e["n"], f + ".n", path), accuracy: try ReportField.number(e["accuracy"], f + ".accuracy", path),
                              ci95: try ReportField.interval(e["ci95"], f + ".ci95", path))
            if let g = e["greedy"], !g.isNull {
                s.greedy = (try ReportField.number(g["accuracy"], f + ".greedy.accuracy", path), try ReportField.interval(g["ci95"], f + ".greedy.ci95", path))
            }
            if let m = e["sampled"], !m.isNull {
                s.sampled = (try ReportField.number(m["mean_accuracy"], f + ".sampled.mean_accuracy", path),
                             try ReportField.interval(m["ci95"], f + ".sampled.ci95", path),
                             try ReportField.number(m["pass_at_k"], f + ".sampled.pass_at_k", path),
                             try ReportField.int(m["k"], f + ".sampled.k", path))
            }
            return (name, s)
        }
    }
}
