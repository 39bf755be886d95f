// Cold-start demonstrations of the next-token-reasoning format (`rpt demos`; docs/demonstrations.md). The
// paper starts RPT from R1-Distill-Qwen-14B, a model that already writes `<think> … </think>` and boxes an
// answer but predicts next tokens badly that way (1.4% on the hard split, 3.3% on easy, Table 1); a small base model first
// needs a supervised stage to write the format at all. Each position of the chosen documents becomes a
// prompt/completion pair for `rpt pretrain --sft`:
//
//   prompt      the exact prompt the rollouts and the evaluation see (ReasoningFormat, same truncation)
//   completion  `{trace}</think>\boxed{answer}`
//               trace  = the calculation behind the position when the corpus annotates one ("47+8=55"),
//                        else empty
//               answer = a next token drawn from the base model's own distribution after the context
//                        (`sample`, the default; seeded), its argmax (`argmax`), or the true next token
//                        (`target`); with `calculationAnswers` = q, a seeded share q of the positions with
//                        a trace box instead what their calculation says comes next (the result's digits
//                        after those the context already holds)
//
// With `sample` or `argmax` the demonstrations never contain the true next token: they show how to write the
// format and how to calculate, but box what the model would have guessed without thinking, so the trace and
// the answer are not yet connected. Only the reward can teach the model to answer from its calculation — the
// part of next-token reasoning the paper's RL stage adds. A small share q of answers that follow the calculation
// stands for a teacher that only sometimes answers from its reasoning (R1-Distill's 1–3 % on next-token
// reasoning): enough for the reward to tell the two apart from the first RL step, while more demonstrations
// of the same kind keep the share at q. `sample` keeps the base model's uncertainty in the
// boxed answer, so that G rollouts of the cold start disagree where the base model is unsure and GRPO has
// groups with different rewards to learn from. Plain text of the demonstration documents can be mixed in so
// that the model keeps its language modelling. Documents, never positions, are split between the
// demonstrations and the rest (the RL pool), with a seed; the rest can be filtered by proxy entropy.

import Foundation

/// What a demonstration boxes.
public enum DemonstrationAnswer: String, Sendable, CaseIterable, Codable {
    /// A next token sampled from the base model at temperature 1 (label-free).
    case sample
    /// The base model's argmax next token (label-free).
    case argmax
    /// The true next token x_t.
    case target

    /// Whether the answer comes from the base model's predictions.
    public var needsModel: Bool { self != .target }
}

public struct DemonstrationOptions: Sendable {
    /// Documents used for demonstrations: a fraction of the documents when < 1, else a count.
    public var documents: Double = 0.3
    /// Use exactly these documents instead (e.g. those an RL run trains on, for a supervised control).
    public var documentIds: Set<String>?
    public var seed: UInt64 = 0
    public var answer: DemonstrationAnswer = .sample
    /// Share of the demonstrations with a trace whose answer follows the calculation (seeded per position).
    public var calculationAnswers = 0.0
    /// Keep one in this many demonstrations without a calculation trace (1 keeps all), so that the
    /// calculation traces weigh more in a fixed supervised budget.
    public var untracedEvery = 1
    /// Rest (RL) positions keep only those with proxy entropy above this (nats); nil keeps all.
    public var restEntropyThreshold: Float?
    /// One plain-text document (all its tokens trained) per this many demonstrations; 0 = none.
    public var plainTextEvery = 8
    public var maxPromptTokens = 4096
    public init() {}
}

/// The demonstrations of one call and the positions left for RL.
public struct DemonstrationSet: Sendable {
    /// JSONL lines {"prompt", "completion"} (plain-text lines have an empty prompt).
    public var lines: [String]
    public var demonstrations = 0
    public var withTrace = 0
    public var plainText = 0
    public var demoDocuments: [String] = []
    /// Positions of the other documents, in file order.
    public var rest: [PositionRecord] = []

    public var summary: JSON {
        .object(["demonstrations": .number(Double(demonstrations)), "with_trace": .number(Double(withTrace)),
                 "plain_text": .number(Double(plainText)), "demo_documents": .number(Double(demoDocuments.count)),
                 "rest_positions": .number(Double(rest.count)),
                 "rest_documents": .number(Double(Set(rest.map(\.docId)).count)),
                 "rest_with_calculation": .number(Double(rest.filter { $0.calculation != nil }.count))])
    }
}

public enum Demonstrations {
    /// The completion of one demonstration: the trace, `</think>`, and the boxed answer.
    public static func completion(trace: String?, answer: String) -> String {
        (trace ?? "") + "</think>\\boxed{" + answer + "}"
    }

    /// What a calculation says comes after `context`: its result without the part the context already ends
    /// with ("47+8=55" after "had 5" → "5"); nil when nothing of the result is left.
    public static func nextOfResult(_ calculation: String, context: String) -> String? {
        guard let eq = calculation.lastIndex(of: "=") else { return nil }
        let result = calculation[calculation.index(after: eq)...]
        var written = min(result.count, context.count)
        while written > 0 && !context.hasSuffix(String(result.prefix(written))) { written -= 1 }
        let rest = String(result.dropFirst(written))
        return rest.isEmpty ? nil : rest
    }

    /// The documents (by id, in first-appearance order) that hold demonstrations: a seeded choice.
    public static func demoDocuments(_ records: [PositionRecord], options: DemonstrationOptions) throws -> [String] {
        var docs: [String] = []
        var seen = Set<String>()
        for r in records where seen.insert(r.docId).inserted { docs.append(r.docId) }
        if let ids = options.documentIds {
            let chosen = docs.filter { ids.contains($0) }
            guard !chosen.isEmpty else { throw RPTError("none of the \(ids.count) given documents has a position here", file: "rpt demos") }
            return chosen
        }
        let want = options.documents < 1 ? Int((options.documents * Double(docs.count)).rounded()) : Int(options.documents)
        guard options.documents > 0, want >= 1 else { throw RPTError("no document chosen for demonstrations (--docs \(options.documents))", file: "rpt demos") }
        guard want < docs.count else {
            throw RPTError("--docs \(options.documents) takes all \(docs.count) documents, leaving none for RL", file: "rpt demos")
        }
        return DataShuffle.subset(count: docs.count, keep: want, seed: options.seed).map { docs[$0] }
    }

    /// Builds the demonstrations. `drafts[i]` is the base model's token after record i's context (sampled or
    /// argmax, as `options.answer` says; needed unless the answer is `.target`).
    public static func build(records: [PositionRecord], format: ReasoningFormat, tokenizer: any Tokenizer,
                             drafts: [Int]?, options: DemonstrationOptions) throws -> DemonstrationSet {
        let chosen = Set(try demoDocuments(records, options: options))
        var set = DemonstrationSet(lines: [])
        set.demoDocuments = Array(chosen).sorted()
        // Plain text per demo document: its longest context and that position's continuation.
        var plain: [String: (length: Int, text: String)] = [:]
        var plainOrder: [String] = []
        for r in records where chosen.contains(r.docId) {
            let full = r.context + String(decoding: r.continuation, as: UTF8.self)
            if plain[r.docId] == nil { plainOrder.append(r.docId) }
            if full.utf8.count > plain[r.docId]?.length ?? -1 { plain[r.docId] = (full.utf8.count, full) }
        }
        var untraced = 0
        for (i, r) in records.enumerated() {
            guard chosen.contains(r.docId) else {
                if r.proxyEntropy > options.restEntropyThreshold ?? -.infinity { set.rest.append(r) }
                continue
            }
            var answer: String
            if options.answer == .target { answer = r.target } else {
                guard let drafts else { throw RPTError("\(options.answer.rawValue) answers need the base model's predictions", file: "rpt demos") }
                answer = String(decoding: tokenizer.bytes(of: [drafts[i]]), as: UTF8.self)
            }
            if let calc = r.calculation, options.calculationAnswers > 0, let next = nextOfResult(calc, context: r.context) {
                var rng = RandomGenerator(seed: options.seed ^ 0xCA1C, stream: UInt64(i))
                if rng.nextUnit() < options.calculationAnswers { answer = next }
            }
            // Answers that are not text (a partial UTF-8 character) cannot be boxed.
            guard !answer.isEmpty, !answer.contains("\u{FFFD}") else { continue }
            if r.calculation == nil {
                untraced += 1
                if (untraced - 1) % max(1, options.untracedEvery) != 0 { continue }
            }
            let p = try format.prompt.promptTokens(contextIds: r.contextIds, tokenizer: tokenizer, maxPromptTokens: options.maxPromptTokens)
            set.lines.append(JSON.object(["prompt": .string(p.text),
                                          "completion": .string(completion(trace: r.calculation, answer: answer))]).serialized())
            set.demonstrations += 1
            if r.calculation != nil { set.withTrace += 1 }
            if options.plainTextEvery > 0 && set.demonstrations % options.plainTextEvery == 0 {
                let doc = plainOrder[(set.demonstrations / options.plainTextEvery - 1) % plainOrder.count]
                set.lines.append(JSON.object(["prompt": .string(""), "completion": .string(plain[doc]!.text)]).serialized())
                set.plainText += 1
            }
        }
        guard set.demonstrations > 0 else { throw RPTError("no position of the chosen documents could be demonstrated", file: "rpt demos") }
        return set
    }
}
