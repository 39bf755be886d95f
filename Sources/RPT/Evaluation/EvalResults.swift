// The output of `rpt eval`: a printed table per model (one row per split or category) and the JSON file
// "rpt-eval/1" read by `rpt fit` (accuracy against training FLOPs) and `rpt report`:
//
//   {"format":"rpt-eval/1","data":…,"mode":"ntp"|"reasoning"|"mcq","samples":k,"temperature":T,"greedy":bool,
//    "template":…,"max_response_tokens":…,"items":n,
//    "results":[{"model":…,"label":…,"step":…|null,"flops":…|null,"seconds":…,"answers":{…}|null,
//                "splits":{"all"|"easy"|"medium"|"hard":{"n","accuracy","ci95":[lo,hi],
//                          "greedy":{"accuracy","ci95"},"sampled":{"mean_accuracy","ci95","pass_at_k","pass_ci95","k"}}},
//                "categories":{…same per category…} (mcq), "macro_accuracy" (mcq: mean over categories)}]}

import Foundation

public struct EvalResults: Sendable {
    public var options: EvalOptions
    public var itemCount: Int
    public var models: [ModelEvaluation]

    public init(options: EvalOptions, itemCount: Int, models: [ModelEvaluation]) {
        self.options = options
        self.itemCount = itemCount
        self.models = models
    }

    public var json: JSON {
        let o = options
        let reasoning = o.mode != .ntp
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
            return .object(r)
        })
        return .object(root)
    }

    /// The table of one model: a row per group with n and each measured accuracy with its 95% CI, in percent.
    public func table(_ m: ModelEvaluation) -> String {
        let o = options
        let k = o.sampling.samples
        var columns: [String]
        if o.mode == .ntp { columns = ["accuracy"] } else {
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
        header += "  (\(o.mode.rawValue)" + (o.mode == .ntp ? "" : ", \(o.sampling.maxResponseTokens) response tokens") + String(format: ", %.1f s)", m.seconds)
        var lines = [header, pad(o.mode == .mcq ? "category" : "split", nameWidth) + "  " + pad("n", 6) + columns.map { pad($0, 24) }.joined()]
        for g in m.groups {
            var cells: [String] = []
            if o.mode == .ntp || o.sampling.greedy { cells.append(cell(g.accuracy.greedy)) }
            if o.mode != .ntp && k > 0 { cells += [cell(g.accuracy.sampledMean), cell(g.accuracy.passAtK)] }
            lines.append(pad(g.name, nameWidth) + "  " + pad("\(g.accuracy.n)", 6) + cells.map { pad($0, 24) }.joined())
        }
        if let a = m.answers, a.failed > 0 {
            lines.append("answers: \(a.answered) with a \\boxed{} prediction, " + a.failures.sorted { $0.key.rawValue < $1.key.rawValue }
                .map { "\($0.value) \($0.key.rawValue)" }.joined(separator: ", "))
        }
        return lines.joined(separator: "\n")
    }
}
