// Teacher-forced proxy scoring of whole documents (RPT §3.3; docs/method.md §4.2): for every position j ≥ 1
// of a token sequence, the top-k entropy (k = 16, renormalised over the top k, nats) of the distribution
// predicting token j and the log-probability of the true token.
//
// Batching: sequences are cut into windows, and several windows are packed into one forward call as separate
// segments in separate cache slots, up to `batchTokens` tokens per call. A sequence longer than `window` is
// scored in overlapping windows: each later window starts `minContext` tokens before the first position it
// scores, so every scored position has at least `minContext` tokens of left context (fewer only near the
// start of the sequence). A window covering the whole sequence scores it exactly as one forward pass would.

import Foundation

/// Entropy and log-probability of every position of one sequence (index 0, which nothing predicts, is NaN).
public struct SequenceScores: Sendable, Equatable {
    public var entropy: [Float]
    public var logProb: [Float]
    /// The largest log-probability at each position (ServerEntropyScorer; NaN where unknown, or where `logProb`
    /// is only a bound): a position's token is the argmax when its log-probability reaches it.
    public var topLogProb: [Float] = []
}

public struct EntropyScorer {
    public let backend: any ComputeBackend
    public let topK: Int
    public let window: Int
    public let minContext: Int
    public let batchTokens: Int

    /// `window` is clamped to the model's maximum positions; it must exceed `minContext`.
    public init(backend: any ComputeBackend, topK: Int = 16, window: Int, minContext: Int, batchTokens: Int) throws {
        self.backend = backend
        self.topK = topK
        self.window = min(window, backend.model.config.maxPositions)
        self.minContext = minContext
        self.batchTokens = max(1, batchTokens)
        guard topK >= 1 else { throw RPTError("top-k must be ≥ 1, got \(topK)", file: "--top-k") }
        guard self.window > minContext, self.window >= 2 else {
            throw RPTError("window (\(self.window) tokens) must exceed the minimum context (\(minContext))", file: "--window")
        }
    }

    /// A scorer on `model`'s default backend.
    public init(model: Model, topK: Int = 16, window: Int, minContext: Int, batchTokens: Int) throws {
        try self.init(backend: model.backend(), topK: topK, window: window, minContext: minContext, batchTokens: batchTokens)
    }

    /// One window: tokens [start, start + count) of sequence `sequence`, scoring positions from `firstScored`.
    struct Window {
        var sequence: Int, start: Int, count: Int, firstScored: Int
    }

    /// The windows of a sequence of `n` tokens.
    func windows(sequence: Int, length n: Int) -> [Window] {
        EntropyScorer.windows(sequence: sequence, length: n, window: window, minContext: minContext)
    }

    /// The windows of a sequence of `n` tokens for a window size and minimum context (shared with
    /// ServerEntropyScorer, so a server scores exactly the windows local scoring does).
    static func windows(sequence: Int, length n: Int, window: Int, minContext: Int) -> [Window] {
        guard n >= 2 else { return [] }
        if n <= window { return [Window(sequence: sequence, start: 0, count: n, firstScored: 1)] }
        var out = [Window(sequence: sequence, start: 0, count: window, firstScored: 1)]
        var next = window  // first position not yet scored
        while next < n {
            let start = next - minContext
            let count = min(window, n - start)
            out.append(Window(sequence: sequence, start: start, count: count, firstScored: next))
            next = start + count
        }
        return out
    }

    /// Scores every sequence.
    public func score(_ sequences: [[Int]]) throws -> [SequenceScores] {
        var results = sequences.map {
            SequenceScores(entropy: [Float](repeating: .nan, count: $0.count), logProb: [Float](repeating: .nan, count: $0.count))
        }
        var pending: [Window] = []
        var pendingTokens = 0
        func flush() throws {
            guard !pending.isEmpty else { return }
            try run(pending, sequences: sequences, into: &results)
            pending.removeAll()
            pendingTokens = 0
        }
        for (s, seq) in sequences.enumerated() {
            for w in windows(sequence: s, length: seq.count) {
                if pendingTokens + w.count > batchTokens { try flush() }
                pending.append(w)
                pendingTokens += w.count
            }
        }
        try flush()
        return results
    }

    private func run(_ batch: [Window], sequences: [[Int]], into results: inout [SequenceScores]) throws {
        var tokens: [Int] = []
        var segments: [ForwardBatch.Segment] = []
        for (slot, w) in batch.enumerated() {
            tokens += sequences[w.sequence][w.start..<(w.start + w.count)]
            segments.append(.init(slot: slot, count: w.count))
        }
        // (row of the batch predicting the token, sequence, position) for every scored position.
        var jobs: [(row: Int, sequence: Int, position: Int)] = []
        var rowBase = 0
        for w in batch {
            for p in w.firstScored..<(w.start + w.count) {
                jobs.append((rowBase + (p - w.start) - 1, w.sequence, p))
            }
            rowBase += w.count
        }
        let cache = try backend.makeCache(slots: batch.count, capacity: batch.map(\.count).max() ?? 1)
        let rows = try backend.forward(ForwardBatch(tokens: tokens, segments: segments), cache: cache, rows: .selected(jobs.map(\.row)))
        let scores = try backend.scores(rows, targets: jobs.map { sequences[$0.sequence][$0.position] }, topK: topK)
        let entropy = scores.map(\.entropy), logProb = scores.map(\.logProb)
        for (i, j) in jobs.enumerated() {
            results[j.sequence].entropy[j.position] = entropy[i]
            results[j.sequence].logProb[j.position] = logProb[i]
        }
    }
}
