// Per-item outcomes read back from an "rpt-eval/1" file (EvalFile): the evaluated items ("positions") and,
// per result label, each item's greedy outcome and number of correct samples — the input of `rpt compare`.
// A file written before outcomes were recorded, a result without "outcomes", lists whose length differs from
// "positions", or values out of range are errors naming the file and the field.

import Foundation

public struct EvalOutcomes: Sendable {
    /// One model's outcomes, one entry per item in the file's item order.
    public struct Result: Sendable, Equatable {
        public var label: String
        public var model: String?
        /// Greedy (reasoning) or argmax (ntp) correctness; nil when greedy decoding was not run.
        public var greedy: [Bool]?
        /// Correct samples per item out of `samples`; nil when no samples were drawn.
        public var sampleCorrect: [Int]?
        public var samples: Int

        /// Each item's score under `kind`; nil when that outcome was not recorded.
        public func scores(_ kind: PairedScore) -> [Double]? {
            switch kind {
            case .greedy: return greedy?.map { $0 ? 1 : 0 }
            case .mean: return samples > 0 ? sampleCorrect?.map { Double($0) / Double(samples) } : nil
            }
        }
    }

    public var path: String
    public var mode: String
    public var items: [EvalItem]
    public var results: [Result]

    /// The results by label (a label shared by several results maps to the first).
    public var byLabel: [String: Result] {
        var d: [String: Result] = [:]
        for r in results where d[r.label] == nil { d[r.label] = r }
        return d
    }

    public static func load(path: String) throws -> EvalOutcomes {
        let file = try EvalFile.load(path: path)
        guard let items = file.positions else {
            throw RPTError("no per-item outcomes (\"positions\" is missing): the file was written by an older rpt eval; evaluate again", file: path)
        }
        var out = EvalOutcomes(path: path, mode: file.mode ?? "ntp", items: items, results: [])
        for (i, r) in file.results.enumerated() {
            let field = "results[\(i)]"
            let label = r.name(index: i)
            guard let o = r.outcomes else {
                throw RPTError("\(field) (\(label)) has no per-item \"outcomes\": the file was written by an older rpt eval; evaluate again", file: path)
            }
            func checked(_ key: String, _ list: [Int]?) throws -> [Int]? {
                guard let list else { return nil }
                guard list.count == items.count else {
                    throw RPTError("\(field).outcomes.\(key) has \(list.count) entries but \"positions\" has \(items.count)", file: path)
                }
                if let j = list.firstIndex(where: { $0 < 0 }) { throw RPTError("\(field).outcomes.\(key)[\(j)] must be a non-negative integer", file: path) }
                return list
            }
            var result = Result(label: label, model: r.model, greedy: nil, sampleCorrect: nil, samples: 0)
            if let g = try checked("greedy", o.greedy) {
                if let j = g.firstIndex(where: { $0 > 1 }) { throw RPTError("\(field).outcomes.greedy[\(j)] must be 0 or 1", file: path) }
                result.greedy = g.map { $0 == 1 }
            }
            if let c = try checked("sample_correct", o.sampleCorrect) {
                guard let k = o.samples, k >= 1 else {
                    throw RPTError("\(field).outcomes has \"sample_correct\" without a positive integer \"samples\"", file: path)
                }
                if let j = c.firstIndex(where: { $0 > k }) {
                    throw RPTError("\(field).outcomes.sample_correct[\(j)] = \(c[j]) exceeds samples = \(k)", file: path)
                }
                result.sampleCorrect = c
                result.samples = k
            }
            guard result.greedy != nil || result.sampleCorrect != nil else {
                throw RPTError("\(field).outcomes holds neither \"greedy\" nor \"sample_correct\"", file: path)
            }
            out.results.append(result)
        }
        guard !out.results.isEmpty else { throw RPTError("no results", file: path) }
        return out
    }

    /// The result labelled `label`; without a label, the only result. Errors list the available labels.
    public func result(label: String?) throws -> Result {
        let labels = results.map(\.label).joined(separator: ", ")
        guard let label else {
            guard results.count == 1 else {
                throw RPTError("holds \(results.count) results: choose one with FILE:LABEL (labels: \(labels))", file: path)
            }
            return results[0]
        }
        let hits = results.filter { $0.label == label }
        guard hits.count == 1 else {
            throw RPTError((hits.isEmpty ? "no result labelled \"\(label)\"" : "\(hits.count) results are labelled \"\(label)\"") + " (labels: \(labels))", file: path)
        }
        return hits[0]
    }

    /// The items with `result`'s score under `kind`, ready for PairedComparison.
    public func scoredItems(_ result: Result, score kind: PairedScore) throws -> [ScoredItem] {
        guard let s = result.scores(kind) else {
            let why = kind == .greedy ? "was evaluated without greedy decoding (try --score mean)"
                                      : "has no sampled responses (evaluate with --samples K, or use --score greedy)"
            throw RPTError("result \"\(result.label)\" \(why)", file: path)
        }
        return zip(items, s).map { ScoredItem(item: $0, score: $1) }
    }
}
