// Many independent sequences through one backend (evaluation): packed into forward calls of about `batchTokens`
// tokens, each sequence whole in its own cache slot, and only the rows a caller reads kept for the LM head.
// Standard next-token accuracy and multiple choice by log-likelihood read their positions this way.

import Foundation

extension ComputeBackend {
    /// Runs every sequence and hands `body` each forward call's sequences (a range of indices) with the head rows
    /// `rows(i)` (positions within sequence i) of each, sequence after sequence; `afterBatch` gets the number of
    /// sequences done after each call.
    public func forEachPacked(_ sequences: [[Int]], rows: (Int) -> [Int], batchTokens: Int,
                              afterBatch: ((Int) -> Void)? = nil,
                              _ body: (Range<Int>, any HeadRows) throws -> Void) throws {
        var next = 0
        while next < sequences.count {
            let first = next
            var tokens = 0
            while next < sequences.count && (next == first || tokens + sequences[next].count <= batchTokens) {
                tokens += sequences[next].count; next += 1
            }
            let members = first..<next
            let cache = try makeCache(slots: members.count, capacity: members.map { sequences[$0].count }.max()!)
            var selected: [Int] = [], offset = 0
            for i in members {
                selected += rows(i).map { offset + $0 }
                offset += sequences[i].count
            }
            let batch = ForwardBatch(tokens: members.flatMap { sequences[$0] },
                                     segments: members.enumerated().map { .init(slot: $0.offset, count: sequences[$0.element].count) })
            try body(members, try forward(batch, cache: cache, rows: .selected(selected)))
            afterBatch?(next)
        }
    }
}
