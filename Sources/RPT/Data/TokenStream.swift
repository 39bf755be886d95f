// The pretraining data stream (continual next-token training): documents are tokenized (BOS first when the
// tokenizer has one, its first EOS id after each), concatenated into one token stream, and cut into windows
// of seqLen + 1 tokens. Window w holds tokens [w·seqLen, (w+1)·seqLen], so consecutive windows share one
// boundary token and every token after the first is predicted exactly once per epoch (inputs are the first
// seqLen tokens, targets the last seqLen). Training batches take B windows at a time in a seeded shuffled
// order per epoch, resumable from a DataCursor; validation batches are the first windows in order.

import Foundation

public struct TokenStream: Sendable {
    /// The corpus (or split) this stream was built from, for error messages.
    public let source: String
    /// Predicted positions per window (a window holds seqLen + 1 tokens).
    public let seqLen: Int
    /// Windows per training batch.
    public let batchSize: Int
    public let seed: UInt64
    /// The concatenated token stream.
    public let tokens: [Int32]
    private var order: EpochOrder

    /// Tokenizes `documents` into one stream. Errors (RPTError naming `source`): no EOS id, bad sizes, fewer
    /// tokens than one window.
    public init(documents: [CorpusDocument], tokenizer: any Tokenizer, seqLen: Int, batchSize: Int,
                seed: UInt64, source: String) throws {
        let tokens = try TokenStream.tokenize(documents, tokenizer: tokenizer, source: source)
        try self.init(tokens: tokens, seqLen: seqLen, batchSize: batchSize, seed: seed, source: source)
    }

    /// A stream over already tokenized text.
    public init(tokens: [Int32], seqLen: Int, batchSize: Int, seed: UInt64, source: String) throws {
        guard seqLen >= 1 else { throw RPTError("sequence length must be ≥ 1, got \(seqLen)", file: source) }
        guard batchSize >= 1 else { throw RPTError("batch size must be ≥ 1, got \(batchSize)", file: source) }
        guard tokens.count >= seqLen + 1 else {
            throw RPTError("corpus has \(tokens.count) tokens, fewer than one window of \(seqLen + 1) "
                           + "(sequence length \(seqLen) + 1)", file: source)
        }
        self.source = source
        self.seqLen = seqLen
        self.batchSize = batchSize
        self.seed = seed
        self.tokens = tokens
        self.order = EpochOrder(count: (tokens.count - 1) / seqLen, seed: seed)
    }

    /// BOS (if the tokenizer has one) + ids + EOS for each document, concatenated.
    public static func tokenize(_ documents: [CorpusDocument], tokenizer: any Tokenizer,
                                source: String) throws -> [Int32] {
        let encoded = try tokenizeEach(documents, tokenizer: tokenizer, source: source)
        var tokens: [Int32] = []
        tokens.reserveCapacity(encoded.reduce(0) { $0 + $1.count })
        for ids in encoded { tokens += ids }
        return tokens
    }

    /// BOS (if the tokenizer has one) + ids + EOS for each document, one array per document.
    public static func tokenizeEach(_ documents: [CorpusDocument], tokenizer: any Tokenizer,
                                    source: String) throws -> [[Int32]] {
        guard let eos = tokenizer.eosTokenIds.first else {
            throw RPTError("the tokenizer has no EOS token to end documents with", file: source)
        }
        let bos = tokenizer.bosTokenId
        return DataParallel.map(documents.count) { i -> [Int32] in
            var ids: [Int32] = []
            if let bos { ids.append(Int32(bos)) }
            ids += tokenizer.encode(documents[i].text).map { Int32($0) }
            ids.append(Int32(eos))
            return ids
        }
    }

    /// Windows in one epoch.
    public var windowCount: Int { order.count }
    /// Training batches per epoch (fractional when B does not divide the window count).
    public var batchesPerEpoch: Double { Double(windowCount) / Double(batchSize) }

    /// The seqLen + 1 tokens of window `w`.
    public func window(_ w: Int) -> [Int] {
        precondition(w >= 0 && w < windowCount, "window \(w) out of range 0..<\(windowCount)")
        return tokens[(w * seqLen)...(w * seqLen + seqLen)].map { Int($0) }
    }

    /// Where the training order stands; save it with a checkpoint.
    public var cursor: DataCursor { order.cursor }

    /// Continues from a saved cursor: the following `next()` calls give the batches an uninterrupted run would.
    public mutating func restore(_ cursor: DataCursor) throws {
        try order.restore(cursor, source: source)
    }

    /// The next training batch: `batchSize` windows in shuffled order, all positions weighted 1.
    public mutating func next() -> TokenSequenceBatch {
        var sequences: [[Int]] = []
        sequences.reserveCapacity(batchSize)
        for _ in 0..<batchSize { sequences.append(window(order.next())) }
        return TokenSequenceBatch(fullyMasked: sequences)
    }

    /// Fixed evaluation batches: the first `maxWindows` windows (all if fewer) in order, `batchSize` per batch
    /// (the last batch may be smaller). Does not move the cursor.
    public func orderedBatches(maxWindows: Int) -> [TokenSequenceBatch] {
        let n = min(max(maxWindows, 0), windowCount)
        return stride(from: 0, to: n, by: batchSize).map { start in
            TokenSequenceBatch(fullyMasked: (start..<min(start + batchSize, n)).map(window))
        }
    }
}
