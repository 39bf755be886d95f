// `rpt eval` (paper §4.1 Table 1, §4.2, §4.4; docs/method.md §6.1–6.2, §6.4): next-token accuracy of one or
// more models on a prepared validation set, per difficulty split, in standard mode (argmax = x_t) or
// next-token-reasoning mode (template prompt, \boxed{} answer, prefix-matching reward; greedy and k samples),
// or multiple-choice accuracy per category. What is evaluated (positions or questions) is an EvalSet; how a model
// answers (EvalOptions.answering: argmax, option likelihood, generation) is the one switch here. The dataset, its
// subsample, the forward plan of standard mode and the tokenized prompts of reasoning mode are built once and
// reused for every model that shares the tokenizer.

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
    /// The positions or questions (EvalSet), subsampled.
    let evalSet: EvalSet
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
        var notes: [String] = []
        evalSet = try EvalSet.load(options) { notes.append($0) }
        (groupNames, itemGroups) = evalSet.groups
        for n in notes { log(n) }
    }

    public var itemCount: Int { evalSet.count }

    /// The evaluated items in order: positions (doc_id, index, splits) or questions (id, category).
    public var items: [EvalItem] { evalSet.items }
    var records: [PositionRecord] { evalSet.records }
    var questions: [MultipleChoiceQuestion] { evalSet.questions }

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
        try options.inferenceDType.requireSupported()
        lm.model.inferenceDType = options.inferenceDType
        lm.model.kvCacheDType = options.kvCacheDType
        try evalSet.checkVocabulary(lm.model.config.vocabSize, of: target.label, file: options.data)
        let backend = try lm.model.backend()
        let progress = ProgressLine(total: itemCount, label: "eval \(target.label)", plainEvery: ProgressLine.plainInterval)
        defer { progress.finish() }
        switch options.answering {
        case .argmax:
            let positions = lm.model.rope.positions
            if ntpPlan?.maxContext != positions { ntpPlan = NextTokenAccuracyPlan(records: records, maxContext: positions) }
            let correct = try ntpPlan!.evaluate(backend: backend, targets: records.map(\.targetId), batchTokens: options.batchTokens) {
                progress.update($0, unit: "positions")
            }
            let scores = correct.map { ItemScore(greedy: $0) }
            return ModelEvaluation(target: target, groups: groups(scores), answers: nil, seconds: Date().timeIntervalSince(start), scores: scores)
        case .likelihood:
            let optionScores = try MultipleChoiceLikelihood.score(backend: backend, tokenizer: lm.tokenizer, questions: questions,
                                                                  batchTokens: options.batchTokens) { progress.update($0, unit: "questions") }
            let scores = { (n: OptionNormalization) in
                zip(self.questions, optionScores).map { q, o in ItemScore(greedy: MultipleChoiceQuestion.letters[MultipleChoiceLikelihood.choice(o, n)] == q.answer) }
            }
            var byNormalization: [String: JSON] = [:]
            for n in OptionNormalization.allCases {
                var g: [String: JSON] = [:]
                for (name, a) in groups(scores(n)) { g[name] = .number(a.primary.accuracy) }
                byNormalization[n.rawValue] = .object(g)
            }
            if let dump { try write(optionScores, of: target, to: dump) }
            let chosen = scores(options.optionNormalization)
            return ModelEvaluation(target: target, groups: groups(chosen), answers: nil, seconds: Date().timeIntervalSince(start), scores: chosen,
                                   likelihood: .object(["normalization": .string(options.optionNormalization.rawValue),
                                                        "accuracy": .object(byNormalization)]))
        case .generation:
            let items = try reasoningItems(tokenizer: lm.tokenizer, positions: lm.model.rope.positions, tokenizerSource: target.tokenizer ?? target.path)
            let outcomes = try ReasoningRollouts.run(backend: backend, tokenizer: lm.tokenizer, items: items, options: options,
                                                     stopTokens: ReasoningFormat.stopTokens(tokenizer: lm.tokenizer, config: lm.model.config)) {
                progress.update($0, unit: "items")
            }
            let (tally, scores) = Evaluator.summarize(outcomes)
            if let dump { try write(outcomes, of: target, to: dump) }
            return ModelEvaluation(target: target, groups: groups(scores), answers: tally, seconds: Date().timeIntervalSince(start), scores: scores)
        }
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
        guard options.answering != .likelihood else {
            throw RPTError("a served model answers multiple choice by generating (--mcq in reasoning mode), not by the options' log-likelihood", file: server.url)
        }
        let start = Date()
        guard let source = target.tokenizer else { throw RPTError("no tokenizer for the served model \(server.model)", file: server.url) }
        let tokenizer = try loadTokenizer(path: source)
        var isDir: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: source, isDirectory: &isDir)
        let configPath = (isDir.boolValue ? source : (source as NSString).deletingLastPathComponent) + "/config.json"
        let config = FileManager.default.fileExists(atPath: configPath) ? try ModelConfig.load(path: configPath) : nil
        try evalSet.checkVocabulary(tokenizer.vocabSize, of: source, file: options.data)
        let client = try CompletionsClient(options: server)
        if options.answering == .argmax {
            let (scores, info) = try nextTokenThroughServer(client: client, tokenizer: tokenizer, positions: config?.maxPositions, label: target.label)
            return ModelEvaluation(target: target, groups: groups(scores), answers: nil, seconds: Date().timeIntervalSince(start), scores: scores,
                                   server: .object(["url": .string(server.url), "served_model": .string(server.model), "tokenizer": .string(source)]
                                                   .merging(info) { a, _ in a }))
        }
        let items = try reasoningItems(tokenizer: tokenizer, positions: config?.maxPositions, tokenizerSource: source)
        let caps = try ServerCapabilities.probe(client, tokenizer: tokenizer, samples: options.samples > 1)
        log("\(server.url) serves \(server.model): \(caps.summary)" + caps.notes.map { "\n  note: " + $0 }.joined())
        var stops = Set(tokenizer.eosTokenIds).union(config?.eosTokenIds ?? [])
        if let im = tokenizer.tokenId("<|im_end|>") { stops.insert(im) }
        let keys = evalSet.keys
        let jobs = ServerRollouts.jobs(items: items.count, options: options, capabilities: caps).count
        let progress = ProgressLine(total: jobs, label: "eval \(target.label) via \(server.url)", plainEvery: ProgressLine.plainInterval)
        let (outcomes, report) = try ServerRollouts.run(client: client, capabilities: caps, tokenizer: tokenizer, items: items, keys: keys,
                                                        options: options, stopTokens: stops) { done, _ in
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
        let budget = min(options.maxPromptTokens, (positions ?? Int.max / 2) - options.maxResponseTokens)
        if let p = preparedItems, p.key == key, p.budget == budget { return p.items }
        let format = try ReasoningFormat(template: options.template, chat: options.chat, tokenizerPath: tokenizerSource)
        guard budget >= 8 else {
            throw RPTError("max response tokens \(options.maxResponseTokens) leave no room for a prompt in \(positions ?? 0) positions", file: tokenizerSource)
        }
        let items = try evalSet.reasoningItems(format: format, tokenizer: tokenizer, budget: budget, externalReward: externalReward, file: options.data)
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
        for (i, (q, o)) in zip(questions, scores).enumerated() {
            var line: [String: JSON] = evalSet.dumpFields(i).merging(["model": .string(target.path), "label": .string(target.label), "kind": .string("loglikelihood"),
                                        "loglikelihoods": .array(o.map { .number($0.logLikelihood) }),
                                        "tokens": .array(o.map { .number(Double($0.tokens)) }), "bytes": .array(o.map { .number(Double($0.bytes)) })]) { a, _ in a }
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
            var base = evalSet.dumpFields(i)
            base["model"] = .string(target.path); base["label"] = .string(target.label)
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
