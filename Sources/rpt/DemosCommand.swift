// `rpt demos`: cold-start demonstrations of the next-token-reasoning format from prepared positions
// (Demonstrations.swift, docs/demonstrations.md), for `rpt pretrain --sft`. A seeded share of the documents
// becomes demonstrations; the positions of the other documents go to --rest, the pool RL trains on, so that
// demonstrations and RL never share a document.

import ArgumentParser
import Foundation
import RPT
import RPTKernels

struct DemosCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "demos",
        abstract: "Write cold-start demonstrations ({trace}</think>\\boxed{answer}) from prepared positions.",
        discussion: """
        Example:
          rpt demos --data prep/train.jsonl --model runs/base --template Assets/reproduce/prompt.txt --chat raw \\
              --docs 0.3 --out demos.jsonl --rest rl.jsonl
        """)

    @Option(help: "Positions from `rpt prepare` (train.jsonl).") var data: String
    @Option(help: "Base model: its next token is the boxed answer (--answer sample|argmax); its tokenizer builds the prompts.") var model: String
    @Option(help: "Tokenizer for a llama2.c .bin model.") var tokenizer: String?
    @Option(help: "Demonstrations JSONL {prompt, completion} to write.") var out: String
    @Option(help: "Positions of the other documents (the RL pool) to write.") var rest: String?
    @Option(help: "Documents for demonstrations: a fraction (< 1) or a count.") var docs: Double = 0.3
    @Option(name: .customLong("docs-of"), help: "Use the documents of this positions file instead of --docs (e.g. an RL pool, for a supervised control).") var docsOf: String?
    @Option(help: "sample (a token drawn from the base model, seeded) | argmax (its greedy token) | target (the true next token).") var answer: String = "sample"
    @Option(name: .customLong("calculation-answers"), help: "Share of demonstrations with a calculation whose answer follows it (0…1).") var calculationAnswers: Double = 0
    @Option(name: .customLong("untraced-every"), help: "Keep one in N demonstrations without a calculation trace (1 = all).") var untracedEvery: Int = 1
    @Option(name: .customLong("rest-entropy-threshold"), help: "Keep only rest (RL) positions with proxy entropy above this (nats).") var restEntropyThreshold: Float?
    @Option(name: .customLong("plain-text-every"), help: "One plain-text document per N demonstrations (0 = none).") var plainTextEvery: Int = 8
    @Option(help: "Prompt template: v0…v6 or a file with {context}.") var template: String = "v0"
    @Option(help: "auto | raw | chatml | deepseek-r1") var chat: String = "auto"
    @Option(name: .customLong("max-prompt-tokens")) var maxPromptTokens: Int = 4096
    @Option(help: "Seed of the document choice.") var seed: UInt64 = 0
    @Option(help: "Threads (default: all cores).") var threads: Int?

    func run() throws {
        if let t = threads { Parallel.setThreads(t) }
        guard let kind = DemonstrationAnswer(rawValue: answer) else { throw ValidationError("--answer must be sample, argmax or target") }
        guard docs > 0, plainTextEvery >= 0 else { throw ValidationError("--docs must be > 0 and --plain-text-every ≥ 0") }
        var o = DemonstrationOptions()
        o.documents = docs; o.seed = seed; o.answer = kind; o.plainTextEvery = plainTextEvery; o.maxPromptTokens = maxPromptTokens
        o.restEntropyThreshold = restEntropyThreshold; o.untracedEvery = untracedEvery
        guard (0...1).contains(calculationAnswers) else { throw ValidationError("--calculation-answers must be in [0, 1]") }
        o.calculationAnswers = calculationAnswers
        if let f = docsOf { o.documentIds = Set(try PositionDataset.read(path: f).map(\.docId)) }
        let records = try PositionDataset.read(path: data)
        guard !records.isEmpty else { throw RPTError("no positions", file: data) }
        let lm = try LanguageModel.load(model: model, tokenizer: tokenizer)
        let format = try ReasoningFormat(template: template, chat: chat, tokenizerPath: tokenizer ?? model)
        var drafts: [Int]? = nil
        if kind.needsModel {
            let plan = NextTokenAccuracyPlan(records: records, maxContext: lm.model.rope.positions)
            drafts = try plan.predictions(backend: lm.model.backend(), sampling: kind == .sample ? SamplingParameters(temperature: 1) : .greedy, seed: seed)
        }
        let set = try Demonstrations.build(records: records, format: format, tokenizer: lm.tokenizer, drafts: drafts, options: o)
        try AtomicFile.write(Data(set.lines.map { $0 + "\n" }.joined().utf8), to: out)
        if let rest { try PositionDataset.write(set.rest, to: rest) }
        print("demos: \(set.demonstrations) demonstrations (\(set.withTrace) with a calculation trace) and \(set.plainText) plain-text documents "
              + "from \(set.demoDocuments.count) documents → \(out)")
        if let rest { print("demos: \(set.rest.count) positions of \(Set(set.rest.map(\.docId)).count) other documents → \(rest)") }
    }
}
