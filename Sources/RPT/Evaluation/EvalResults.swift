// The output of `rpt eval`: a printed table per model (one row per split or category), the paired
// differences against a reference model, and the JSON file "rpt-eval/1" read by `rpt fit` (accuracy against
// training FLOPs), `rpt report` and `rpt compare` (per-item outcomes, EvalOutcomes):
//
//   {"format":"rpt-eval/1","data":…,"mode":"ntp"|"reasoning"|"mcq","method":"reasoning"|"loglikelihood" (mcq),
//    "normalization":"none"|"token"|"byte" (mcq by log-likelihood),"samples":k,"temperature":T,"greedy":bool,
//    "template":…,"max_response_tokens":…,"items":n,
//    "positions":[{"doc_id","index","splits":[…]}] | [{"question_id","category"}] (mcq) — the items, in order,
//    "results":[{"model":…,"label":…,"step":…|null,"flops":…|null,"seconds":…,"answers":{…}|null,
//                "splits":{"all"|"easy"|"medium"|"hard"|"calculation":{"n","accuracy","ci95":[lo,hi],
//                          "greedy":{"accuracy","ci95"},"sampled":{"mean_accuracy","ci95","pass_at_k","pass_ci95","k"}}},
//                "categories":{…same per category…} (mcq), "macro_accuracy" (mcq: mean over categories),
//                "outcomes":{"greedy":[0|1 per item] (when greedy ran; ntp: argmax correct),
//                            "sample_correct":[correct samples per item], "samples":k (when samples were drawn)},
//                "server":{"url","served_model","tokenizer","capabilities","report"} (a served model; docs/servers.md),
//                "loglikelihood":{"normalization","accuracy":{"none"|"token"|"byte":{group: accuracy}}} (mcq by log-likelihood)}],
//    "paired":[{"a":label,"b":label (the reference),"score":"greedy"|"mean","matched","unmatched_a","unmatched_b",
//               "resamples","seed","splits":{name:{"n","mean_a","mean_b","difference","ci95":[lo,hi],"documents","se"}},
//               "categories":{…} (mcq)}] (with two or more models; see PairedComparison)}
//
// "positions" and every "outcomes" list have one entry per item, in the same order. A position's "splits" also
// lists "calculation" when it lies inside an annotated calculation's result (PositionRecord.calculation); the
// group is reported beside the difficulty splits.

import Foundation

public struct EvalResults: Sendable {
    public var options: EvalOptions
    public var itemCount: Int
    public var models: [ModelEvaluation]
    /// The evaluated items in order (Evaluator.items); "positions" and "outcomes" are written when present.
    public var items: [EvalItem]
    /// Paired differences of models against a reference (pairedComparisons).
    public var paired: [(comparison: PairedComparison, score: PairedScore)] = []

    public init(options: EvalOptions, itemCount: Int, models: [ModelEvaluation], items: [EvalItem] = []) {
        self.options = options
        self.itemCount = itemCount
        self.models = models
        self.items = items
    }

    /// The per-item score paired comparisons use: greedy when it was run, else the sampled mean.
    public var defaultPairedScore: PairedScore {
        !options.isGenerative || options.sampling.greedy ? .greedy : .mean
    }

    /// Every model against `baseline` (a label; default the first model), A = the model, B = the reference.
    public func pairedComparisons(baseline: String? = nil, score: PairedScore? = nil, resamples: Int = 2000,
                                  seed: UInt64 = 0) throws -> [(comparison: PairedComparison, score: PairedScore)] {
        guard models.count >= 2 else { return [] }
        guard items.count == itemCount else { throw RPTError("the evaluated items are not known", file: options.data) }
        let reference: Int
        if let baseline {
            let hits = models.indices.filter { models[$0].target.label == baseline }
            guard hits.count == 1 else {
                throw RPTError((hits.isEmpty ? "no model is labelled \"\(baseline)\"" : "\(hits.count) models are labelled \"\(baseline)\"")
                               + "; labels: " + models.map(\.target.label).joined(separator: ", "), file: "--baseline")
            }
            reference = hits[0]
        } else { reference = 0 }
        let kind = score ?? defaultPairedScore
        func scored(_ m: ModelEvaluation) throws -> [ScoredItem] {
            guard m.scores.count == items.count else { throw RPTError("\(m.target.label) has no per-item outcomes", file: options.data) }
            return try zip(items, m.scores).map { item, s in
                guard let v = s.value(kind) else { throw RPTError("\(m.target.label) has no \(kind.rawValue) outcome for item \(item.key)", file: options.data) }
                return ScoredItem(item: item, score: v)
            }
        }
        let b = try scored(models[reference])
        return try models.indices.filter { $0 != reference }.map { i in
            (try PairedComparison(a: scored(models[i]), b: b, labelA: models[i].target.label, labelB: models[reference].target.label,
                                  resamples: resamples, seed: seed, context: options.data), kind)
        }
    }

    public var json: JSON {
        let o = options
        let reasoning = o.isGenerative
        var root: [String: JSON] = [
            "format": .string("rpt-eval/1"), "data": .string(o.data), "mode": .string(o.mode.rawValue),
            "items": .number(Double(itemCount)),
            "samples": .number(Double(reasoning ? o.sampling.samples : 0)),
            "greedy": .bool(!reasoning || o.sampling.greedy),
        ]
        if reasoning {
            root["temperature"] = .number(Double(o.sampling.temperature))
            root["max_response_tokens"] = .number(Double(o.sampling.maxResponseTokens))
            root["template"] = .string(o.mode == .mcq ? "mcq" : o.template)
        }
        if o.mode == .mcq {
            root["method"] = .string(o.mcqMethod.rawValue)
            if o.mcqMethod == .loglikelihood { root["normalization"] = .string(o.optionNormalization.rawValue) }
        }
        if !items.isEmpty && items.count == itemCount { root["positions"] = .array(items.map(\.json)) }
        root["results"] = .array(models.map { m in
            var r: [String: JSON] = [
                "model": .string(m.target.path), "label": .string(m.target.label),
                "step": m.target.step.map { .number(Double($0)) } ?? .null,
                "flops": m.target.flops.map { .number($0) } ?? .null,
                "seconds": .number((m.seconds * 100).rounded() / 100),
                "answers": m.answers.map { a in .object(a.metrics.mapValues { .number(Double($0)) }) } ?? .null,
            ]
            var groups: [String: JSON] = [:]
            for g in m.groups { groups[g.name] = g.accuracy.json }
            if o.mode == .mcq {
                r["splits"] = .object(["all": groups["all"]!])
                groups["all"] = nil
                r["categories"] = .object(groups)
                let cats = m.groups.filter { $0.name != "all" }.map(\.accuracy.primary.accuracy)
                r["macro_accuracy"] = .number(cats.isEmpty ? 0 : cats.reduce(0, +) / Double(cats.count))
            } else {
                r["splits"] = .object(groups)
            }
            if let outcomes = outcomesJSON(m) { r["outcomes"] = outcomes }
            if let server = m.server { r["server"] = server }
            if let l = m.likelihood { r["loglikelihood"] = l }
            return .object(r)
        })
        if !paired.isEmpty {
            root["paired"] = .array(paired.map { p in
                var o = p.comparison.json.object!
                o["score"] = .string(p.score.rawValue)
                return .object(o)
            })
        }
        return .object(root)
    }

    /// {"greedy":[0|1…], "sample_correct":[c…], "samples":k} for a model with one score per item.
    func outcomesJSON(_ m: ModelEvaluation) -> JSON? {
        guard !m.scores.isEmpty, m.scores.count == itemCount else { return nil }
        var o: [String: JSON] = [:]
        if m.scores.allSatisfy({ $0.greedy != nil }) { o["greedy"] = .array(m.scores.map { .number($0.greedy! ? 1 : 0) }) }
        let k = m.scores[0].samples.count
        if k > 0 && m.scores.allSatisfy({ $0.samples.count == k }) {
            o["samples"] = .number(Double(k))
            o["sample_correct"] = .array(m.scores.map { .number(Double($0.samples.filter { $0 }.count)) })
        }
        return o.isEmpty ? nil : .object(o)
    }

    /// The table of one model: a row per group with n and each measured accuracy with its 95% CI, in percent.
    public func table(_ m: ModelEvaluation) -> String {
        let o = options
        let k = o.sampling.samples
        var columns: [String]
        if !o.isGenerative { columns = [o.mode == .mcq ? "accuracy (\(o.optionNormalization.rawValue))" : "accuracy"] } else {
            columns = o.sampling.greedy ? ["greedy"] : []
            if k > 0 { columns += ["mean@\(k) (T=\(o.sampling.temperature))", "pass@\(k)"] }
        }
        let nameWidth = max(8, m.groups.map(\.name.count).max() ?? 0)
        func pad(_ s: String, _ w: Int) -> String { s.count >= w ? s : s + String(repeating: " ", count: w - s.count) }
        func cell(_ e: AccuracyEstimate?) -> String {
            guard let e else { return "–" }
            return String(format: "%5.1f [%4.1f, %4.1f]", 100 * e.accuracy, 100 * e.low, 100 * e.high)
        }
        var header = "\(m.target.label)"
        if let s = m.target.step { header += "  step \(s)" }
        if let f = m.target.flops { header += String(format: "  %.3g FLOPs", f) }
        header += "  (\(o.mode.rawValue)" + (o.mode == .mcq ? " by \(o.mcqMethod.rawValue)" : "")
            + (o.isGenerative ? ", \(o.sampling.maxResponseTokens) response tokens" : "") + String(format: ", %.1f s)", m.seconds)
        var lines = [header, pad(o.mode == .mcq ? "category" : "split", nameWidth) + "  " + pad("n", 6) + columns.map { pad($0, 24) }.joined()]
        for g in m.groups {
            var cells: [String] = []
            if !o.isGenerative || o.sampling.greedy { cells.append(cell(g.accuracy.greedy)) }
            if o.isGenerative && k > 0 { cells += [cell(g.accuracy.sampledMean), cell(g.accuracy.passAtK)] }
            lines.append(pad(g.name, nameWidth) + "  " + pad("\(g.accuracy.n)", 6) + cells.map { pad($0, 24) }.joined())
        }
        if let a = m.answers, a.failed > 0 {
            lines.append("answers: \(a.answered) with a \\boxed{} prediction, " + a.failures.sorted { $0.key.rawValue < $1.key.rawValue }
                .map { "\($0.value) \($0.key.rawValue)" }.joined(separator: ", "))
        }
        return lines.joined(separator: "\n")
    }

    /// The printed paired differences: one table per compared model.
    public func pairedTables() -> String {
        paired.map { p in
            let c = p.comparison
            return "\(c.a) − \(c.b) (\(p.score.rawValue) score, \(c.resamples) document resamples, seed \(c.seed); percent)\n" + c.table()
        }.joined(separator: "\n\n")
    }
}
