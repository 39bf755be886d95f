// Multiple choice by log-likelihood (`rpt eval --mcq --mode ntp`): lm-eval's `loglikelihood` method in its cloze
// form (the `mmlu_continuation` and ARC tasks): the context "Question: {question}\nAnswer:", each option a
// continuation " {option}", scored by the sum of the continuation tokens' log-probabilities given the context.
// The chosen option is the argmax (the first on ties, as numpy's argmax) of the sum (lm-eval's "acc"), of the sum
// per continuation token, or of the sum per continuation byte (lm-eval's "acc_norm" divides by the
// continuation's length in characters: the same for ASCII text). Tokenization follows lm-eval's `_encode_pair`:
// the context's tokens, then the tokens of context + continuation after as many tokens as the context has (the
// BOS token first when the tokenizer has one, as every local prompt); a sequence longer than the model's positions
// keeps its newest tokens. No sampling: the result is deterministic. Checked against PyTorch + transformers on
// committed fixtures (Tests/Fixtures/mcq, scripts/make_mcq_fixtures.py).

import Foundation

public enum MultipleChoiceMethod: String, Codable, Sendable, CaseIterable {
    /// Generate a reasoned answer and read the letter in \boxed{} (paper §4.4).
    case reasoning
    /// Score every option's text by its log-likelihood (lm-eval).
    case loglikelihood
}

/// What an option's log-likelihood is divided by before the argmax.
public enum OptionNormalization: String, Codable, Sendable, CaseIterable {
    /// The sum (lm-eval "acc").
    case none
    /// Per continuation token.
    case token
    /// Per continuation byte (UTF-8; lm-eval "acc_norm" uses characters).
    case byte
}

public enum MultipleChoiceLikelihood {
    /// One option's score.
    public struct OptionScore: Sendable, Equatable {
        public var logLikelihood: Double
        public var tokens: Int
        public var bytes: Int

        public func value(_ n: OptionNormalization) -> Double {
            switch n {
            case .none: return logLikelihood
            case .token: return logLikelihood / Double(max(1, tokens))
            case .byte: return logLikelihood / Double(max(1, bytes))
            }
        }
    }

    public static func context(_ q: MultipleChoiceQuestion) -> String { "Question: " + q.question + "\nAnswer:" }
    public static func continuation(_ option: String) -> String { " " + option }

    /// The context ids and each option's continuation ids (lm-eval's `_encode_pair`, BOS first when there is one).
    public static func encode(_ q: MultipleChoiceQuestion, tokenizer: any Tokenizer) -> (context: [Int], continuations: [[Int]]) {
        let ctx = context(q)
        var contextIds = tokenizer.encode(ctx)
        let continuations = q.options.map { o -> [Int] in
            let whole = tokenizer.encode(ctx + continuation(o))
            return Array(whole.dropFirst(min(contextIds.count, whole.count)))
        }
        if let bos = tokenizer.bosTokenId, contextIds.first != bos { contextIds.insert(bos, at: 0) }
        return (contextIds, continuations)
    }

    /// The option chosen under `n`: the first maximum.
    public static func choice(_ scores: [OptionScore], _ n: OptionNormalization) -> Int {
        var best = 0
        for i in scores.indices.dropFirst() where scores[i].value(n) > scores[best].value(n) { best = i }
        return best
    }

    /// Every question's option scores. Sequences (context + one option) are packed into forward calls of about
    /// `batchTokens` tokens; `progress` gets the number of questions done.
    public static func score(backend: any ComputeBackend, tokenizer: any Tokenizer, questions: [MultipleChoiceQuestion],
                             batchTokens: Int = 1024, progress: ((Int) -> Void)? = nil) throws -> [[OptionScore]] {
        let vocab = backend.model.config.vocabSize, positions = backend.model.rope.positions
        // Input rows first..<ids.count predict the continuation's tokens in order.
        struct Sequence { var question: Int; var option: Int; var ids: [Int]; var first: Int; var continuation: [Int] }
        var sequences: [Sequence] = []
        var out: [[OptionScore]] = questions.map { q in Array(repeating: OptionScore(logLikelihood: 0, tokens: 0, bytes: 0), count: q.options.count) }
        for (qi, q) in questions.enumerated() {
            let (ctx, conts) = encode(q, tokenizer: tokenizer)
            for (oi, cont) in conts.enumerated() {
                let bytes = continuation(q.options[oi]).utf8.count
                guard !cont.isEmpty else {
                    throw RPTError("question \(q.id), option \(MultipleChoiceQuestion.letters[oi]): the option adds no token to the context", file: "--data")
                }
                guard cont.count < positions else {
                    throw RPTError("question \(q.id), option \(MultipleChoiceQuestion.letters[oi]) is \(cont.count) tokens, not fewer than the model's \(positions) positions", file: "--data")
                }
                // The input is context + continuation without its last token; the newest `positions` tokens.
                let full = ctx + cont
                let input = Array(full.dropLast().suffix(positions))
                for t in full where t < 0 || t >= vocab {
                    throw RPTError("question \(q.id): token id \(t) is outside the model's vocabulary (0..<\(vocab))", file: "--data")
                }
                sequences.append(Sequence(question: qi, option: oi, ids: input, first: input.count - cont.count, continuation: cont))
                out[qi][oi].tokens = cont.count
                out[qi][oi].bytes = bytes
            }
        }
        var remaining = questions.map(\.options.count), done = 0
        // Only the rows that predict a continuation token go through the LM head.
        try backend.forEachPacked(sequences.map(\.ids), rows: { Array(sequences[$0].first..<sequences[$0].ids.count) },
                                  batchTokens: batchTokens, afterBatch: { _ in progress?(done) }) { members, head in
            let scores = try backend.scores(head, targets: members.flatMap { sequences[$0].continuation }, topK: 0)
            var row = 0
            for i in members {
                let s = sequences[i]
                var sum = 0.0
                for j in s.continuation.indices { sum += Double(scores[row + j].logProb) }
                row += s.continuation.count
                out[s.question][s.option].logLikelihood = sum
                remaining[s.question] -= 1
                if remaining[s.question] == 0 { done += 1 }
            }
        }
        return out
    }
}
