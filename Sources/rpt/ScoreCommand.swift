// `rpt score`: teacher-force a text and print, for every predicted position, one JSON line with the
// token, the log-probability the model gave it, and RPT's top-k entropy of that prediction.

import ArgumentParser
import Foundation
import RPT

struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "score",
        abstract: "Per-token log-probabilities and top-k entropy (JSON lines).")

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Text to score.")
    var text: String

    @Option(name: .customLong("top-k"), help: "k of the top-k entropy (RPT uses 16).")
    var topK: Int = 16

    func run() throws {
        guard topK >= 1 else { throw ValidationError("--top-k must be ≥ 1") }
        let lm = try modelOptions.load()
        let ids = try lm.promptTokens(text)
        let scores = try TokenScorer(model: lm.model).score(ids, topK: topK)
        let vocab = lm.tokenizer
        for s in scores {
            let line: JSON = .object([
                "index": .number(Double(s.index)),
                "id": .number(Double(s.token)),
                "token": .string(String(decoding: vocab.tokenBytes(s.token), as: UTF8.self)),
                "logprob": .number(Double(s.logProb)),
                "entropy": .number(Double(s.entropy)),
            ])
            print(line.serialized())
        }
    }
}
