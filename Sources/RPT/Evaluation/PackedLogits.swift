// Logits of many independent sequences (evaluation): packed into forward calls of about `batchTokens` tokens,
// each sequence whole in its own cache slot (Forward.swift), every row's logits kept. Standard next-token
// accuracy and multiple choice by log-likelihood read their positions off these rows.

import Foundation

extension Model {
    /// Runs every sequence through the model and hands each one's logits, rows [count, vocab], to `body` with the
    /// sequence's index, in order; `afterBatch` gets the number of sequences done after each forward call.
    public func forEachSequenceLogits(_ sequences: [[Int]], batchTokens: Int, afterBatch: ((Int) -> Void)? = nil,
                                      _ body: (Int, UnsafePointer<Float>) throws -> Void) throws {
        let v = config.vocabSize
        let ws = ForwardWorkspace()
        var next = 0
        while next < sequences.count {
            let first = next
            var tokens = 0
            while next < sequences.count && (next == first || tokens + sequences[next].count <= batchTokens) {
                tokens += sequences[next].count; next += 1
            }
            let members = sequences[first..<next]
            let cache = KVCache(config: config, slots: members.count, capacity: members.map(\.count).max()!)
            let batch = ForwardBatch(tokens: members.flatMap { $0 },
                                     segments: members.enumerated().map { .init(slot: $0.offset, count: $0.element.count) })
            let logits = try forward(batch, cache: cache, logits: .all, workspace: ws)
            try logits.withUnsafeBufferPointer { lp in
                var offset = 0
                for (i, s) in zip(first..<next, members) {
                    try body(i, lp.baseAddress! + offset * v)
                    offset += s.count
                }
            }
            afterBatch?(next)
        }
    }
}
