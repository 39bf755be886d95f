// Supervised fine-tuning data: each example becomes its own sequence BOS? + prompt ids + completion ids + EOS
// (prompt and completion tokenized separately), with loss only on the completion and EOS. A sequence holds at
// most seqLen + 1 tokens (seqLen predicted positions, as a pretraining window): a long example loses prompt
// tokens from the left (the BOS stays); if the completion and EOS alone do not fit, the prompt is dropped and
// the completion is cut on the right, without EOS. Batches of B examples are variable-length sequences (no
// padding) in the same seeded, resumable epoch order as TokenStream.

/// One tokenized example: positions before `promptCount` are context, the rest are trained on.
public struct SFTSequence: Sendable, Equatable {
    public var tokens: [Int]
    /// Tokens of BOS plus the kept prompt.
    public var promptCount: Int

    /// Entry j weights predicting token j+1: 1 when that token belongs to the completion (or is EOS).
    public var lossMask: [Float] {
        tokens.count < 2 ? [] : (1..<tokens.count).map { $0 >= promptCount ? 1 : 0 }
    }
}

/// How many examples were shortened or dropped while tokenizing.
public struct SFTTruncationStats: Sendable, Equatable {
    /// Examples that lost prompt tokens from the left.
    public var promptsTruncated = 0
    /// Examples whose completion (or its EOS) was cut on the right.
    public var completionsTruncated = 0
    /// Examples left with no trained position (dropped).
    public var droppedWithoutTargets = 0
}

public struct SFTDataset: Sendable {
    public let source: String
    /// Predicted positions per sequence at most (a sequence holds at most seqLen + 1 tokens).
    public let seqLen: Int
    public let batchSize: Int
    public let seed: UInt64
    public let sequences: [SFTSequence]
    /// The example id of each sequence.
    public let ids: [String]
    public let truncation: SFTTruncationStats
    private var order: EpochOrder

    /// Tokenizes `examples`. Errors (RPTError naming `source`): bad sizes, no EOS id when `appendEOS`, no example left.
    public init(examples: [SFTExample], tokenizer: any Tokenizer, seqLen: Int, batchSize: Int, seed: UInt64,
                source: String, appendEOS: Bool = true) throws {
        guard seqLen >= 1 else { throw RPTError("sequence length must be ≥ 1, got \(seqLen)", file: source) }
        guard batchSize >= 1 else { throw RPTError("batch size must be ≥ 1, got \(batchSize)", file: source) }
        var eos: Int?
        if appendEOS {
            guard let id = tokenizer.eosTokenIds.first else {
                throw RPTError("the tokenizer has no EOS token to end completions with", file: source)
            }
            eos = id
        }
        let tokenized = DataParallel.map(examples.count) { i in
            SFTDataset.tokenize(examples[i], tokenizer: tokenizer, maxTokens: seqLen + 1, eos: eos)
        }
        var sequences: [SFTSequence] = [], ids: [String] = [], stats = SFTTruncationStats()
        for (example, t) in zip(examples, tokenized) {
            if t.promptTruncated { stats.promptsTruncated += 1 }
            if t.completionTruncated { stats.completionsTruncated += 1 }
            guard t.sequence.tokens.count >= 2, t.sequence.promptCount < t.sequence.tokens.count else {
                stats.droppedWithoutTargets += 1
                continue
            }
            sequences.append(t.sequence)
            ids.append(example.id)
        }
        guard !sequences.isEmpty else {
            throw RPTError("no SFT example has a completion token to train on (\(examples.count) examples)", file: source)
        }
        self.source = source
        self.seqLen = seqLen
        self.batchSize = batchSize
        self.seed = seed
        self.sequences = sequences
        self.ids = ids
        self.truncation = stats
        self.order = EpochOrder(count: sequences.count, seed: seed)
    }

    /// One example's tokens under the truncation rules (see the file header).
    static func tokenize(_ example: SFTExample, tokenizer: any Tokenizer, maxTokens: Int,
                         eos: Int?) -> (sequence: SFTSequence, promptTruncated: Bool, completionTruncated: Bool) {
        let bos = tokenizer.bosTokenId.map { [$0] } ?? []
        let prompt = tokenizer.encode(example.prompt)
        var completion = tokenizer.encode(example.completion)
        if let eos { completion.append(eos) }
        let budget = max(maxTokens - bos.count, 0)
        if completion.count > budget {
            let tokens = bos + completion.prefix(budget)
            return (SFTSequence(tokens: tokens, promptCount: bos.count), !prompt.isEmpty, true)
        }
        let kept = prompt.suffix(budget - completion.count)
        return (SFTSequence(tokens: bos + kept + completion, promptCount: bos.count + kept.count),
                kept.count < prompt.count, false)
    }

    /// Examples per epoch.
    public var count: Int { sequences.count }

    /// Where the training order stands; save it with a checkpoint.
    public var cursor: DataCursor { order.cursor }

    /// Continues from a saved cursor: the following `next()` calls give the batches an uninterrupted run would.
    public mutating func restore(_ cursor: DataCursor) throws {
        try order.restore(cursor, source: source)
    }

    /// The next training batch: `batchSize` examples in shuffled order.
    public mutating func next() -> TokenSequenceBatch {
        var picked: [SFTSequence] = []
        for _ in 0..<batchSize { picked.append(sequences[order.next()]) }
        return TokenSequenceBatch(sequences: picked.map(\.tokens), lossMasks: picked.map(\.lossMask))
    }

    /// Fixed evaluation batches: the first `maxExamples` examples (all if fewer) in order, `batchSize` per
    /// batch (the last may be smaller). Does not move the cursor.
    public func orderedBatches(maxExamples: Int) -> [TokenSequenceBatch] {
        let n = min(max(maxExamples, 0), count)
        return stride(from: 0, to: n, by: batchSize).map { start in
            let picked = sequences[start..<min(start + batchSize, n)]
            return TokenSequenceBatch(sequences: picked.map(\.tokens), lossMasks: picked.map(\.lossMask))
        }
    }
}

/// Everything `rpt pretrain --sft` reads, in one call: the examples, their train/validation split and a dataset
/// for each part.
public struct SFTData: Sendable {
    public var train: SFTDataset
    public var validation: SFTDataset?
    public var readStats: CorpusStats

    /// Reads the JSONL at `path`, splits the examples with `seed`, and tokenizes both parts. Errors name `path`.
    public static func load(path: String, options: SFTOptions = SFTOptions(), tokenizer: any Tokenizer,
                            seqLen: Int, batchSize: Int, validation: ValidationSize, seed: UInt64,
                            appendEOS: Bool = true,
                            onWarning: @escaping (String) -> Void = printDataWarning) throws -> SFTData {
        let (examples, stats) = try SFTReader.read(path: path, options: options, onWarning: onWarning)
        let split = try TrainValidationSplit(examples, validation: validation, seed: seed, source: path)
        let train = try SFTDataset(examples: split.train, tokenizer: tokenizer, seqLen: seqLen, batchSize: batchSize,
                                   seed: seed, source: path, appendEOS: appendEOS)
        var validationSet: SFTDataset?
        if !split.validation.isEmpty {
            do {
                validationSet = try SFTDataset(examples: split.validation, tokenizer: tokenizer, seqLen: seqLen,
                                               batchSize: batchSize, seed: seed, source: path, appendEOS: appendEOS)
            } catch let e as RPTError {
                throw RPTError("validation split (\(split.validation.count) examples): \(e.message)", file: path)
            }
        }
        return SFTData(train: train, validation: validationSet, readStats: stats)
    }
}
