// `rpt eval` (paper §4.1 Table 1, §4.2, §4.4; docs/method.md §6.1–6.2, §6.4): next-token accuracy of one or
// more models on a prepared validation set, per difficulty split, in standard mode (argmax = x_t) or
// next-token-reasoning mode (template prompt, \boxed{} answer, prefix-matching reward; greedy and k samples),
// or multiple-choice accuracy per category. The dataset, its subsample, the forward plan of standard mode and
// the tokenized prompts of reasoning mode are built once and reused for every model that shares the tokenizer.

import Foundation

/// The evaluation of one model.
public struct ModelEvaluation: Sendable {
    public var target: EvalTarget
    /// Groups in display order: "all", then the splits (or categories).
    public var groups: [(name: String, accuracy: GroupAccuracy)]
    public var answers: AnswerOutcomeTally?
    public var seconds: Double
    /// Per item, in the evaluator's item order: the greedy (argmax) result and the sampled results.
    public var scores: [ItemScore] = []
    /// For a served model: the server, what it supports and what it did (results metadata "server").
    public var server: JSON?
    /// mcq log-likelihood: accuracy per normalization and group (results "loglikelihood").
    public var likelihood: JSON?

    public init(target: EvalTarget, groups: [(name: String, accuracy: GroupAccuracy)], answers: AnswerOutcomeTally?,
                seconds: Double, scores: [ItemScore] = [], server: JSON? = nil, likelihood: JSON? = nil) {
        self.likelihood = likelihood
        self.target = target
        self.groups = groups
        self.answers = answers
        self.seconds = seconds
        self.scores = scores
        self.server = server
    }
}

public final class Evaluator {
    public let options: EvalOptions
    let records: [PositionRecord]
    let questions: [MultipleChoiceQuestion]
    /// Per item, the groups it belongs to besides "all".
    let itemGroups: [[String]]
    let groupNames: [String]
    var ntpPlan: NextTokenAccuracyPlan?
    var preparedItems: (key: Data, budget: Int, items: [ReasoningItem])?
    let externalReward: ExternalReward?
    public var log: (String) -> Void = { StandardError.write($0 + "\n") }

    public init(options: EvalOptions) throws {
        try options.validate()
        self.options = options
        externalReward = try options.rewardCommand.map { try ExternalReward(command: $0, timeout: options.rewardTimeout) }
        switch options.mode {
        case .ntp, .reasoning:
            var r = try PositionDataset.read(path: options.data)
            guard !r.isEmpty else { throw RPTError("no positions to evaluate", file: options.data) }
            if let cap = options.maxItems, cap < r.count {
                let keep = DataShuffle.subset(count: r.count, keep: cap, seed: options.seed)
                r = keep.map { r[$0] }
            }
            records = r
            questions = []
            let labelled = r.contains { $0.splits != nil }
            itemGroups = r.map { EvalItem($0).groups }
            groupNames = (labelled ? ["all"] + DifficultySplit.allCases.map(\.rawValue) : ["all"])
                + (r.contains { $0.calculation != nil } ? [EvalItem.calculationGroup] : [])
        case .mcq:
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
            questions = q
            records = []
            itemGroups = q.map { [$0.category] }
            groupNames = ["all"] + Set(q.map(\.category)).sorted()
        }
    }

    public var itemCount: Int { options.mode == .mcq ? questions.count : records.count }

    /// The evaluated items in order: positions (doc_id, index, splits) or questions (id, category).
    public var items: [EvalItem] { options.mode == .mcq ? questions.map(EvalItem.init) : records.map(EvalItem.init) }

    /// Evaluates every target in turn, reusing the dataset-side work.
    public func evaluate(_ targets: [EvalTarget], onResult: (ModelEvaluation) -> Void = { _ in }) throws -> [ModelEvaluation] {
        let dump = try options.dump.map { try StreamingAtomicFile(path: $0) }
        var out: [ModelEvaluation] = []
        for t in targets {
            let r = try evaluate(t, dump: dump)
            onResult(r)
            out.append(r)
        }
        try dump?.commit()
        return out
    }

    func evaluate(_ target: EvalTarget, dump: StreamingAtomicFile?) throws -> ModelEvaluation {
        if let server = target.server { return try evaluate(target, server: server, dump: dump) }
        let start = Date()
        let lm = try LanguageModel.load(model: target.path, tokenizer: target.tokenizer)
        let vocab = lm.model.config.vocabSize
        for r in records where r.targetId >= vocab || r.contextIds.contains(where: { $0 >= vocab }) {
            throw RPTError("position \(r.docId)@\(r.index) has token ids outside \(target.label)'s vocabulary: was the data prepared with another tokenizer?", file: options.data)
        }
        let progress = ProgressLine(total: itemCount, label: "eval \(target.label)", plainEvery: ProgressLine.plainInterval)
        var scores: [ItemScore]
        var tally: AnswerOutcomeTally? = nil
        switch options.mode {
        case .ntp:
            let positions = lm.model.rope.positions
            if ntpPlan?.maxContext != positions { ntpPlan = NextTokenAccuracyPlan(records: records, maxContext: positions) }
            let correct = try ntpPlan!.evaluate(model: lm.model, targets: records.map(\.targetId), batchTokens: options.batchTokens) {
                progress.update($0, unit: "positions")
            }
            scores = correct.map { ItemScore(greedy: $0) }
        case .mcq where options.mcqMethod == .loglikelihood:
            let optionScores = try MultipleChoiceLikelihood.score(model: lm.model, tokenizer: lm.tokenizer, questions: questions,
                                                                  batchTokens: options.batchTokens) { progress.update($0, unit: "questions") }
            progress.finish()
            let correct = { (n: OptionNormalization) in
                zip(self.questions, optionScores).map { q, o in MultipleChoiceQuestion.letters[MultipleChoiceLikelihood.choice(o, n)] == q.answer }
            }
            var byNormalization: [String: JSON] = [:]
            for n in OptionNormalization.allCases {
                var g: [String: JSON] = [:]
                for (name, a) in groups(correct(n).map { ItemScore(greedy: $0) }) { g[name] = .number(a.primary.accuracy) }
                byNormalization[n.rawValue] = .object(g)
            }
            if let dump { try write(optionScores, of: target, to: dump) }
            return ModelEvaluation(target: target, groups: groups(correct(options.optionNormalization).map { ItemScore(greedy: $0) }), answers: nil,
                                   seconds: Date().timeIntervalSince(start), scores: correct(options.optionNormalization).map { ItemScore(greedy: $0) },
                                   likelihood: .object(["normalization": .string(options.optionNormalization.rawValue),
                                                        "accuracy": .object(byNormalization)]))
        case .reasoning, .mcq:
            let items = try reasoningItems(tokenizer: lm.tokenizer, positions: lm.model.rope.positions, tokenizerSource: target.tokenizer ?? target.path)
            let outcomes = try ReasoningRollouts.run(model: lm.model, tokenizer: lm.tokenizer, items: items, options: options.sampling,
                                                     stopTokens: ReasoningFormat.stopTokens(tokenizer: lm.tokenizer, config: lm.model.config)) {
                progress.update($0, unit: "items")
            }
            let (t, s) = Evaluator.summarize(outcomes)
            tally = t
            scores = s
            if let dump { try write(outcomes, of: target, to: dump) }
        }
        progress.finish()
        return ModelEvaluation(target: target, groups: groups(scores), answers: tally, seconds: Date().timeIntervalSince(start), scores: scores)
    }

    /// Accuracy per group ("all", then the splits or categories) of per-item scores.
    func groups(_ scores: [ItemScore]) -> [(name: String, accuracy: GroupAccuracy)] {
        groupNames.map { name in
            (name, GroupAccuracy(name == "all" ? scores : zip(scores, itemGroups).filter { $0.1.contains(name) }.map(\.0)))
        }
    }

    /// Greedy/sampled outcomes → the answer tally and per-item scores.
    static func summarize(_ outcomes: [ReasoningOutcome]) -> (AnswerOutcomeTally, [ItemScore]) {
        var t = AnswerOutcomeTally()
        for o in outcomes {
            for r in [o.greedy].compactMap({ $0 }) + o.samples {
                if let f = r.failure { t.failures[f, default: 0] += 1 } else { t.answered += 1 }
            }
        }
        return (t, outcomes.map { ItemScore(greedy: $0.greedy?.correct, samples: $0.samples.map(\.correct)) })
    }

    /// A served model (docs/servers.md): the same items, prompts and scoring as local reasoning / multiple-choice
    /// evaluation, generated by the server; standard mode from the server's prompt log-probabilities. The tokenizer
    /// source's config.json (when there) gives the positions that bound the prompt budget and the end-of-sequence
    /// ids, as for the local model.
    func evaluate(_ target: EvalTarget, server: ServerOptions, dump: StreamingAtomicFile?) throws -> ModelEvaluation {
        guard options.mode != .mcq || options.mcqMethod == .reasoning else {
            throw RPTError("a served model answers multiple choice by generating (--mcq in reasoning mode), not by the options' log-likelihood", file: server.url)
        }
        let start = Date()
        guard let source = target.tokenizer else { throw RPTError("no tokenizer for the served model \(server.model)", file: server.url) }
        let tokenizer = try loadTokenizer(path: source)
        var isDir: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: source, isDirectory: &isDir)
        let configPath = (isDir.boolValue ? source : (source as NSString).deletingLastPathComponent) + "/config.json"
        let config = FileManager.default.fileExists(atPath: configPath) ? try ModelConfig.load(path: configPath) : nil
        for r in records where r.targetId >= tokenizer.vocabSize || r.contextIds.contains(where: { $0 >= tokenizer.vocabSize }) {
            throw RPTError("position \(r.docId)@\(r.index) has token ids outside \(source)'s vocabulary: was the data prepared with another tokenizer?", file: options.data)
        }
        let client = try CompletionsClient(options: server)
        if options.mode == .ntp {
            let (scores, info) = try nextTokenThroughServer(client: client, tokenizer: tokenizer, positions: config?.maxPositions, label: target.label)
            return ModelEvaluation(target: target, groups: groups(scores), answers: nil, seconds: Date().timeIntervalSince(start), scores: scores,
                                   server: .object(["url": .string(server.url), "served_model": .string(server.model), "tokenizer": .string(source)]
                                                   .merging(info) { a, _ in a }))
        }
        let items = try reasoningItems(tokenizer: tokenizer, positions: config?.maxPositions, tokenizerSource: source)
        let caps = try ServerCapabilities.probe(client, tokenizer: tokenizer, samples: options.sampling.samples > 1)
        log("\(server.url) serves \(server.model): \(caps.summary)" + caps.notes.map { "\n  note: " + $0 }.joined())
        var stops = Set(tokenizer.eosTokenIds).union(config?.eosTokenIds ?? [])
        if let im = tokenizer.tokenId("<|im_end|>") { stops.insert(im) }
        let keys = options.mode == .mcq ? questions.map(\.id) : records.map { "\($0.docId)@\($0.index)" }
        let jobs = ServerRollouts.jobs(items: items.count, options: options.sampling, capabilities: caps).count
        let progress = ProgressLine(total: jobs, label: "eval \(target.label) via \(server.url)", plainEvery: ProgressLine.plainInterval)
        let (outcomes, report) = try ServerRollouts.run(client: client, capabilities: caps, tokenizer: tokenizer, items: items, keys: keys,
                                                        options: options.sampling, stopTokens: stops) { done, _ in
            progress.update(done, unit: "requests")
        }
        progress.finish()
        log(String(format: "%@: %d requests in %.1f s (%.2f requests/s)", server.url, report.requests, report.seconds, report.requestsPerSecond)
            + (report.promptTokenMismatches > 0 ? "; \(report.promptTokenMismatches) of \(report.textPrompts) text prompts were tokenized by the server into a different number of tokens than rpt's" : ""))
        let (tally, scores) = Evaluator.summarize(outcomes)
        if let dump { try write(outcomes, of: target, to: dump) }
        let info: JSON = .object(["url": .string(server.url), "served_model": .string(server.model), "tokenizer": .string(source),
                                  "capabilities": caps.json, "report": report.json])
        return ModelEvaluation(target: target, groups: groups(scores), answers: tally, seconds: Date().timeIntervalSince(start),
                               scores: scores, server: info)
    }

    /// Standard next-token accuracy of a served model: each chain of the plan (NextTokenAccuracyPlan), with the
    /// true next token appended, is one request for prompt log-probabilities (ServerEntropyScorer, top 1), and a
    /// position is correct when its true token's log-probability is the largest. Positions the server cannot score
    /// (echo servers that tokenize the text differently, a log-probability known only as a bound) count as wrong
    /// and are reported ("unscored"), never left out, so every model is judged on the same items.
    func nextTokenThroughServer(client: CompletionsClient, tokenizer: any Tokenizer, positions: Int?, label: String) throws -> ([ItemScore], [String: JSON]) {
        let plan = NextTokenAccuracyPlan(records: records, maxContext: max(1, (positions ?? Int.max / 2) - 1))
        let sequences = try plan.chains.map { c -> [Int] in
            guard let last = c.reads.first(where: { $0.row == c.ids.count - 1 }) else {
                throw RPTError("internal: a next-token chain without its longest context", file: options.data)
            }
            return c.ids + [records[last.record].targetId]
        }
        let caps = try ServerCapabilities.probe(client, tokenizer: tokenizer, promptLogprobs: 1)
        log("\(client.options.url) serves \(client.options.model): \(caps.summary)" + caps.notes.map { "\n  note: " + $0 }.joined())
        let scorer = try ServerEntropyScorer(client: client, capabilities: caps, tokenizer: tokenizer, topK: 1,
                                             window: max(2, sequences.map(\.count).max() ?? 2), minContext: 1)
        let progress = ProgressLine(total: sequences.count, label: "eval \(label) via \(client.options.url)", plainEvery: ProgressLine.plainInterval)
        scorer.progress = { progress.update($0, unit: "requests") }
        let scored = try scorer.score(sequences)
        progress.finish()
        var correct = [Bool](repeating: false, count: records.count)
        var unscored = 0
        for (chain, s) in zip(plan.chains, scored) {
            for (record, row) in chain.reads {
                let own = s.logProb[row + 1], top = s.topLogProb[row + 1]
                if own.isNaN || top.isNaN { unscored += 1 } else { correct[record] = own >= top - 1e-6 }
            }
        }
        if unscored > 0 {
            log("warning: \(client.options.url): \(unscored) of \(records.count) positions could not be scored by the server and count as wrong (\(scorer.tally.json.serialized()))")
        }
        return (correct.map { ItemScore(greedy: $0) },
                ["capabilities": caps.json, "unscored": .number(Double(unscored)), "scoring": scorer.tally.json])
    }

    /// The items of reasoning / multiple-choice mode, tokenized once per distinct tokenizer and prompt budget.
    /// `positions`: the model's maximum positions (nil when unknown: the budget is --max-prompt-tokens alone).
    func reasoningItems(tokenizer: any Tokenizer, positions: Int?, tokenizerSource: String) throws -> [ReasoningItem] {
        let key = Evaluator.tokenizerKey(tokenizerSource)
        // Prompts leave room for the response within the model's positions.
        let budget = min(options.maxPromptTokens, (positions ?? Int.max / 2) - options.sampling.maxResponseTokens)
        if let p = preparedItems, p.key == key, p.budget == budget { return p.items }
        let format = try ReasoningFormat(template: options.template, chat: options.chat, tokenizerPath: tokenizerSource)
        let extractor = format.extractor
        guard budget >= 8 else {
            throw RPTError("max response tokens \(options.sampling.maxResponseTokens) leave no room for a prompt in \(positions ?? 0) positions", file: tokenizerSource)
        }
        var items: [ReasoningItem] = []
        switch options.mode {
        case .reasoning:
            for r in records {
                let p = try format.prompt.promptTokens(contextIds: r.contextIds, tokenizer: tokenizer, maxPromptTokens: budget)
                let external = self.externalReward
                items.append(ReasoningItem(promptIds: p.ids, promptText: p.text) { response, truncated in
                    let a = extractor.extract(response, truncated: truncated)
                    var ok = a.prediction.map { PrefixMatchReward.matches(Array($0.utf8), continuation: r.continuation, boundaries: r.boundaries) } ?? false
                    if let external {
                        // A reward program decides instead: a response is correct when it earns the full reward (≥ 1).
                        let input = RewardInput(answer: a, continuationBytes: r.continuation, boundaries: r.boundaries, nextTokenId: r.targetId,
                                                tokenizer: tokenizer, response: response)
                        ok = try external.rewards([input], record: r)[0] >= 1
                    }
                    return ScoredResponse(prediction: a.prediction, failure: a.failure, correct: ok)
                })
            }
        case .mcq:
            for q in questions {
                let text = format.prompt.chat.render(messages: [.user(q.prompt)], addGenerationPrompt: true)
                var ids = tokenizer.encode(text)
                if let bos = tokenizer.bosTokenId, ids.first != bos { ids.insert(bos, at: 0) }
                guard ids.count <= budget else {
                    throw RPTError("question \(q.id) is \(ids.count) prompt tokens, over the budget of \(budget) (--max-prompt-tokens, and the model's positions minus the response)", file: options.data)
                }
                items.append(ReasoningItem(promptIds: ids, promptText: text) { response, truncated in
                    let a = extractor.extract(response, truncated: truncated)
                    let letter = a.prediction.flatMap { MultipleChoiceQuestion.letter(in: $0, optionCount: q.options.count) }
                    return ScoredResponse(prediction: a.prediction, failure: a.failure, correct: letter == q.answer)
                })
            }
        case .ntp: break
        }
        preparedItems = (key, budget, items)
        return items
    }

    /// Identity of a tokenizer for reuse: the bytes of its file (tokenizer.json in a directory).
    static func tokenizerKey(_ source: String) -> Data {
        var isDir: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: source, isDirectory: &isDir)
        let file = isDir.boolValue ? source + "/tokenizer.json" : source
        return FileManager.default.contents(atPath: file) ?? Data(source.utf8)
    }

    /// mcq log-likelihood: one line per question with every option's log-likelihood, token and byte counts, and the
    /// option chosen under each normalization.
    func write(_ scores: [[MultipleChoiceLikelihood.OptionScore]], of target: EvalTarget, to dump: StreamingAtomicFile) throws {
        for (q, o) in zip(questions, scores) {
            var line: [String: JSON] = ["model": .string(target.path), "label": .string(target.label), "kind": .string("loglikelihood"),
                                        "question_id": .string(q.id), "category": .string(q.category), "target": .string(q.answer),
                                        "loglikelihoods": .array(o.map { .number($0.logLikelihood) }),
                                        "tokens": .array(o.map { .number(Double($0.tokens)) }), "bytes": .array(o.map { .number(Double($0.bytes)) })]
            var choices: [String: JSON] = [:]
            for n in OptionNormalization.allCases {
                choices[n.rawValue] = .string(MultipleChoiceQuestion.letters[MultipleChoiceLikelihood.choice(o, n)])
            }
            line["choices"] = .object(choices)
            line["reward"] = .number(choices[options.optionNormalization.rawValue]?.string == q.answer ? 1 : 0)
            try dump.append(Data((JSON.object(line).serialized() + "\n").utf8))
        }
    }

    func write(_ outcomes: [ReasoningOutcome], of target: EvalTarget, to dump: StreamingAtomicFile) throws {
        for (i, o) in outcomes.enumerated() {
            var base: [String: JSON] = ["model": .string(target.path), "label": .string(target.label)]
            if options.mode == .mcq {
                let q = questions[i]
                base["question_id"] = .string(q.id); base["category"] = .string(q.category); base["target"] = .string(q.answer)
            } else {
                let r = records[i]
                base["doc_id"] = .string(r.docId); base["index"] = .number(Double(r.index)); base["target"] = .string(r.target)
                base["splits"] = .array((r.splits ?? []).map { .string($0.rawValue) })
            }
            let responses = (o.greedy.map { [("greedy", 0, $0)] } ?? []) + o.samples.enumerated().map { ("sample", $0.offset, $0.element) }
            for (kind, k, r) in responses {
                var line = base
                line["kind"] = .string(kind); line["sample"] = .number(Double(k)); line["completion"] = .string(r.text)
                line["prediction"] = r.prediction.map { .string($0) } ?? .null
                line["failure"] = r.failure.map { .string($0.rawValue) } ?? .null
                line["reward"] = .number(r.correct ? 1 : 0); line["response_tokens"] = .number(Double(r.tokens))
                try dump.append(Data((JSON.object(line).serialized() + "\n").utf8))
            }
        }
    }
}
