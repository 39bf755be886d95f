// How a model uses its reasoning on positions inside an annotated calculation's result (docs/reproduction.md):
// of its responses there, how many write a calculation (`a+b=c` before `</think>`), how many write exactly the
// corpus's calculation, and how many box what their own calculation says comes next — the behaviour the
// cold-start demonstrations do not show (they box the base model's guess) and RL has to learn. Read from an
// `rpt eval --dump` file joined with the evaluated positions.

import Foundation

public struct TraceUse: Sendable, Equatable {
    public var responses = 0
    public var correct = 0
    /// A calculation ("…=…") is written before </think>.
    public var wroteCalculation = 0
    /// The written calculation is the corpus's annotation, exactly.
    public var calculationRight = 0
    /// The boxed answer continues the written result (after the digits the context already holds).
    public var boxFollowsCalculation = 0

    public init() {}

    /// Adds one response at a position whose annotated calculation is `calculation` and whose context is
    /// `context` (its trailing digits are the part of the result already written).
    public mutating func add(completion: String, prediction: String?, correct isCorrect: Bool, calculation: String, context: String) {
        responses += 1
        if isCorrect { correct += 1 }
        guard let close = completion.range(of: "</think>") else { return }
        let thought = String(completion[..<close.lowerBound])
        guard let eq = thought.lastIndex(of: "=") else { return }
        wroteCalculation += 1
        if thought == calculation { calculationRight += 1 }
        let result = String(thought[thought.index(after: eq)...])
        let written = String(context.reversed().prefix { $0.isNumber }.reversed())
        guard result.hasPrefix(written), let p = prediction, !p.isEmpty else { return }
        let rest = result.dropFirst(written.count)
        if !rest.isEmpty && rest.hasPrefix(p) { boxFollowsCalculation += 1 }
    }

    func share(_ k: Int) -> Double { responses > 0 ? Double(k) / Double(responses) : 0 }

    public var json: JSON {
        .object(["responses": .number(Double(responses)), "accuracy": .number(share(correct)),
                 "wrote_calculation": .number(share(wroteCalculation)), "calculation_right": .number(share(calculationRight)),
                 "box_follows_calculation": .number(share(boxFollowsCalculation))])
    }

    /// Per model label, the trace use of the greedy responses in `dump` at positions of `positions` that have a
    /// calculation.
    public static func analyze(dump path: String, positions: [PositionRecord]) throws -> [String: TraceUse] {
        var byKey: [String: PositionRecord] = [:]
        for r in positions where r.calculation != nil { byKey["\(r.docId)@\(r.index)"] = r }
        var out: [String: TraceUse] = [:]
        for (line, record) in try JSONLines.read(path) {
            guard record["kind"]?.stringValue == "greedy" else { continue }
            guard let label = record["label"]?.stringValue, let doc = record["doc_id"]?.stringValue,
                  let index = record["index"]?.intValue, let completion = record["completion"]?.stringValue else {
                throw RPTError("line \(line): a dump record needs label, doc_id, index and completion", file: path)
            }
            guard let r = byKey["\(doc)@\(index)"], let calc = r.calculation else { continue }
            out[label, default: TraceUse()].add(completion: completion, prediction: record["prediction"]?.stringValue,
                                                 correct: (record["reward"]?.doubleValue ?? 0) == 1, calculation: calc, context: r.context)
        }
        return out
    }
}
