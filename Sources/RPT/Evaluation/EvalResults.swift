// The output of `rpt eval`: a printed table per model (one row per split or category), the paired
// differences against a reference model, and the file `--out` writes (EvalFile, "rpt-eval/1"), read by
// `rpt fit`, `rpt report`, `rpt compare` and `rpt reproduce`.

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
        !options.isGenerative || options.greedy ? .greedy : .mean
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

    /// The file `rpt eval --out` writes (EvalFile, "rpt-eval/1").
    public var file: EvalFile {
        let o = options
        let reasoning = o.isGenerative
        var f = EvalFile()
        f.data = o.data
        f.mode = o.mode.rawValue
        f.items = itemCount
        f.samples = reasoning ? o.samples : 0
        f.greedy = !reasoning || o.greedy
        if reasoning {
            f.temperature = Double(o.temperature)
            f.maxResponseTokens = o.maxResponseTokens
            f.template = o.mode == .mcq ? "mcq" : o.template
        }
        if o.mode == .mcq {
            f.method = o.mcqMethod.rawValue
            if o.mcqMethod == .loglikelihood { f.normalization = o.optionNormalization.rawValue }
        }
        if !items.isEmpty && items.count == itemCount { f.positions = items }
        f.results = models.map { m in
            var r = EvalFile.Result(model: m.target.path, label: m.target.label)
            r.step = m.target.step
            r.flops = m.target.flops.flatMap { $0.isFinite ? $0 : nil }
            r.seconds = (m.seconds * 100).rounded() / 100
            r.answers = m.answers?.metrics
            var groups: [String: EvalFile.Score] = [:]
            for g in m.groups { groups[g.name] = EvalFile.Score(g.accuracy) }
            if o.mode == .mcq {
                r.splits = ["all": groups["all"] ?? EvalFile.Score()]
                groups["all"] = nil
                r.categories = groups
                let cats = m.groups.filter { $0.name != "all" }.map(\.accuracy.primary.accuracy)
                r.macroAccuracy = cats.isEmpty ? 0 : cats.reduce(0, +) / Double(cats.count)
            } else {
                r.splits = groups
            }
            r.outcomes = outcomes(m)
            r.server = m.server
            r.loglikelihood = m.likelihood
            return r
        }
        if !paired.isEmpty {
            f.paired = paired.map { EvalFile.Paired($0.comparison, score: $0.score) }
        }
        return f
    }

    /// The file as JSON (serialized by `rpt eval --out`).
    public func json() throws -> JSON { try file.json(file: options.data) }

    /// Greedy outcomes and correct samples per item, for a model with one score per item.
    func outcomes(_ m: ModelEvaluation) -> EvalFile.Outcomes? {
        guard !m.scores.isEmpty, m.scores.count == itemCount else { return nil }
        var o = EvalFile.Outcomes()
        if m.scores.allSatisfy({ $0.greedy != nil }) { o.greedy = m.scores.map { $0.greedy! ? 1 : 0 } }
        let k = m.scores[0].samples.count
        if k > 0 && m.scores.allSatisfy({ $0.samples.count == k }) {
            o.samples = k
            o.sampleCorrect = m.scores.map { $0.samples.filter { $0 }.count }
        }
        return o.greedy == nil && o.sampleCorrect == nil ? nil : o
    }

    /// The table of one model: a row per group with n and each measured accuracy with its 95% CI, in percent.
    public func table(_ m: ModelEvaluation) -> String {
        let o = options
        let k = o.samples
        var columns: [String]
        if !o.isGenerative { columns = [o.mode == .mcq ? "accuracy (\(o.optionNormalization.rawValue))" : "accuracy"] } else {
            columns = o.greedy ? ["greedy"] : []
            if k > 0 { columns += ["mean@\(k) (T=\(o.temperature))", "pass@\(k)"] }
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
            + (o.isGenerative ? ", \(o.maxResponseTokens) response tokens" : "") + String(format: ", %.1f s)", m.seconds)
        var lines = [header, pad(o.mode == .mcq ? "category" : "split", nameWidth) + "  " + pad("n", 6) + columns.map { pad($0, 24) }.joined()]
        for g in m.groups {
            var cells: [String] = []
            if !o.isGenerative || o.greedy { cells.append(cell(g.accuracy.greedy)) }
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
