// Teacher-forced scoring of a token sequence: for each position t ≥ 1, log p(x_t | x_<t) and the top-k
// entropy of the distribution that predicts x_t (RPT §3.3's proxy-model entropy).

import Foundation

public struct TokenScore: Sendable, Equatable {
    /// Position of the predicted token in the sequence.
    public var index: Int
    public var token: Int
    public var logProb: Float
    public var entropy: Float
}

public struct TokenScorer: Sendable {
    public let model: Model
    public init(model: Model) { self.model = model }

    /// Scores every position after the first of `tokens` (which must fit the model's context).
    public func score(_ tokens: [Int], topK: Int = 16) throws -> [TokenScore] {
        guard tokens.count >= 2 else { return [] }
        let cache = KVCache(config: model.config, slots: 1, capacity: tokens.count)
        let batch = ForwardBatch(tokens: tokens, segments: [.init(slot: 0, count: tokens.count)])
        let logits = try model.forward(batch, cache: cache, logits: .all)
        let v = model.config.vocabSize
        return logits.withUnsafeBufferPointer { p in
            (1..<tokens.count).map { t in
                let row = p.baseAddress! + (t - 1) * v
                return TokenScore(index: t, token: tokens[t],
                                  logProb: Distribution.logProb(row, vocab: v, token: tokens[t]),
                                  entropy: Distribution.topKEntropy(row, vocab: v, k: topK))
            }
        }
    }
}
