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

public struct TokenScorer {
    public let backend: any ComputeBackend
    public init(backend: any ComputeBackend) { self.backend = backend }
    /// A scorer on `model`'s default backend.
    public init(model: Model) throws { self.init(backend: try model.backend()) }

    /// Scores every position after the first of `tokens` (which must fit the model's context).
    public func score(_ tokens: [Int], topK: Int = 16) throws -> [TokenScore] {
        guard tokens.count >= 2 else { return [] }
        let cache = try backend.makeCache(slots: 1, capacity: tokens.count)
        let batch = ForwardBatch(tokens: tokens, segments: [.init(slot: 0, count: tokens.count)])
        let rows = try backend.forward(batch, cache: cache, rows: .selected(Array(0..<(tokens.count - 1))))
        let scores = try backend.scores(rows, targets: Array(tokens.dropFirst()), topK: topK)
        return scores.enumerated().map { i, s in
            TokenScore(index: i + 1, token: tokens[i + 1], logProb: s.logProb, entropy: s.entropy)
        }
    }
}
