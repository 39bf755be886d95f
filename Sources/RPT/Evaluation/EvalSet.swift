// What `rpt eval` evaluates: prepared positions (standard and reasoning mode, paper §4.1) or multiple-choice
// questions (§4.4). Everything that depends on which — reading and subsampling, the groups an item counts in, the
// reasoning prompts and how a response is judged, the dump lines — is here, so the Evaluator decides only how a
// model answers (EvalOptions.answering).

import Foundation

enum EvalSet {
    case positions([PositionRecord])
    case questions([MultipleChoiceQuestion])

    /// The items of `options.data`: a seeded subset of at most `maxItems`; questions at most `perCategory` each.
    static func load(_ options: EvalOptions, log: (String) -> Void) throws -> EvalSet {
        guard options.mode == .mcq else {
            var r = try PositionDataset.read(path: options.data)
            guard !r.isEmpty else { throw RPTError("no positions to evaluate", file: options.data) }
            if let cap = options.maxItems, cap < r.count {
                r = DataShuffle.subset(count: r.count, keep: cap, seed: options.seed).map { r[$0] }
            }
            return .positions(r)
        }
        let file = try MultipleChoiceQuestion.load(path: options.data)
        if let first = file.skipped.first {
            log("\(options.data): skipped \(file.skipped.count) unusable question(s) (first: \(first))")
        }
        var q = file.questions
        if let per = options.perCategory {
            var byCategory: [String: [Int]] = [:]
            for (i, x) in q.enumerated() { byCategory[x.category, default: []].append(i) }
            var keep: [Int] = []
            for (c, idx) in byCategory.sorted(by: { $0.key < $1.key }) {
                let seed = options.seed &+ UInt64(truncatingIfNeeded: c.utf8.reduce(5381) { ($0 &* 33) &+ Int($1) })
                keep += DataShuffle.subset(count: idx.count, keep: min(per, idx.count), seed: seed).map { idx[$0] }
            }
            q = keep.sorted().map { q[$0] }
        }
        if let cap = options.maxItems, cap < q.count {
            q = DataShuffle.subset(count: q.count, keep: cap, seed: options.seed).map { q[$0] }
        }
        return .questions(q)
    }

    var records: [PositionRecord] { if case .positions(let r) = self { r } else { [] } }
    var questions: [MultipleChoiceQuestion] { if case .questions(let q) = self { q } else { [] } }
    var count: Int { records.count + questions.count }

    /// The items in order: positions (doc_id, index, splits) or questions (id, category).
    var items: [EvalItem] {
        switch self {
        case .positions(let r): r.map(EvalItem.init)
        case .questions(let q): q.map(EvalItem.init)
        }
    }

    /// The groups accuracy is reported for ("all", then the difficulty splits and "calculation", or the categories)
    /// and, per item, the groups it belongs to besides "all".
    var groups: (names: [String], perItem: [[String]]) {
        switch self {
        case .positions(let r):
            let labelled = r.contains { $0.splits != nil }
            return ((labelled ? ["all"] + DifficultySplit.allCases.map(\.rawValue) : ["all"])
                        + (r.contains { $0.calculation != nil } ? [EvalItem.calculationGroup] : []),
                    r.map { EvalItem($0).groups })
        case .questions(let q):
            return (["all"] + Set(q.map(\.category)).sorted(), q.map { [$0.category] })
        }
    }

    /// Request keys for a server (one per item).
    var keys: [String] {
        switch self {
        case .positions(let r): r.map { "\($0.docId)@\($0.index)" }
        case .questions(let q): q.map(\.id)
        }
    }

    /// Positions must be token ids of the evaluated model's vocabulary.
    func checkVocabulary(_ size: Int, of model: String, file: String) throws {
        for r in records where r.targetId >= size || r.contextIds.contains(where: { $0 >= size }) {
            throw RPTError("position \(r.docId)@\(r.index) has token ids outside \(model)'s vocabulary: was the data prepared with another tokenizer?", file: file)
        }
    }

    /// Reasoning prompts within `budget` tokens, each with how its responses are judged: a position by the
    /// prefix-matching rule (or a reward program: correct when it earns ≥ 1), a question by the letter in \boxed{}.
    func reasoningItems(format: ReasoningFormat, tokenizer: any Tokenizer, budget: Int, externalReward: ExternalReward?,
                        file: String) throws -> [ReasoningItem] {
        let extractor = format.extractor
        switch self {
        case .positions(let records):
            return try records.map { r in
                let p = try format.prompt.promptTokens(contextIds: r.contextIds, tokenizer: tokenizer, maxPromptTokens: budget)
                return ReasoningItem(promptIds: p.ids, promptText: p.text) { response, truncated in
                    let a = extractor.extract(response, truncated: truncated)
                    var ok = a.prediction.map { PrefixMatchReward.matches(Array($0.utf8), continuation: r.continuation, boundaries: r.boundaries) } ?? false
                    if let externalReward {
                        let input = RewardInput(answer: a, continuationBytes: r.continuation, boundaries: r.boundaries, nextTokenId: r.targetId,
                                                tokenizer: tokenizer, response: response)
                        ok = try externalReward.rewards([input], record: r)[0] >= 1
                    }
                    return ScoredResponse(prediction: a.prediction, failure: a.failure, correct: ok)
                }
            }
        case .questions(let questions):
            return try questions.map { q in
                let text = format.prompt.chat.render(messages: [.user(q.prompt)], addGenerationPrompt: true)
                var ids = tokenizer.encode(text)
                if let bos = tokenizer.bosTokenId, ids.first != bos { ids.insert(bos, at: 0) }
                guard ids.count <= budget else {
                    throw RPTError("question \(q.id) is \(ids.count) prompt tokens, over the budget of \(budget) (--max-prompt-tokens, and the model's positions minus the response)", file: file)
                }
                return ReasoningItem(promptIds: ids, promptText: text) { response, truncated in
                    let a = extractor.extract(response, truncated: truncated)
                    let letter = a.prediction.flatMap { MultipleChoiceQuestion.letter(in: $0, optionCount: q.options.count) }
                    return ScoredResponse(prediction: a.prediction, failure: a.failure, correct: letter == q.answer)
                }
            }
        }
    }

    /// The fields that identify item `i` in a dump line.
    func dumpFields(_ i: Int) -> [String: JSON] {
        switch self {
        case .positions(let records):
            let r = records[i]
            return ["doc_id": .string(r.docId), "index": .number(Double(r.index)), "target": .string(r.target),
                    "splits": .array((r.splits ?? []).map { .string($0.rawValue) })]
        case .questions(let questions):
            let q = questions[i]
            return ["question_id": .string(q.id), "category": .string(q.category), "target": .string(q.answer)]
        }
    }
}
