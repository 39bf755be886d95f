// Supervised fine-tuning data: each example becomes its own sequence, with loss only where the model should
// learn to write. A sequence holds at most seqLen + 1 tokens (seqLen predicted positions, as a pretraining
// window). Batches of B examples are variable-length sequences (no padding) in the same seeded, resumable
// epoch order as TokenStream.
//
// Text pairs: BOS? + prompt ids + completion ids + EOS (prompt and completion tokenized separately), loss on the
// completion and EOS. A long example loses prompt tokens from the left (the BOS stays); if the completion and
// EOS alone do not fit, the prompt is dropped and the completion is cut on the right, without EOS.
//
// Conversations (TRL's `messages` and conversational prompt/completion forms, SFTReader.swift) are rendered with
// the model's chat template and tokenized as one text, as TRL does; the loss covers the trained messages only:
// TRL's `assistant_only_loss` for `messages` (every assistant turn), its completion-only loss for
// prompt/completion (the completion's messages). A trained message's span is what rendering it adds to the
// conversation before it, after the template's generation prompt (the role header): its content and the
// template's end-of-turn token (Llama's <|eot_id|>, ChatML's <|im_end|>\n, DeepSeek's <｜end▁of▁sentence｜>),
// found by rendering each prefix of the conversation, so no `{% generation %}` markers are needed. A template
// that renders an earlier turn differently once later turns follow (Qwen3 drops the reasoning of earlier
// assistant turns) cannot give one sequence whose every trained turn reads as the model generated it; such a
// conversation becomes one sequence per trained turn, each ending with that turn, in the form the template
// gives it as the latest turn. Tokens are assigned to spans by their bytes; no EOS is appended (the template
// ends each turn); a sequence longer than seqLen + 1 is cut on the right (TRL's truncation keeps the start).

/// One tokenized example: positions before `promptCount` are context, the rest are trained on (text pairs), or
/// the tokens `trainedTokens` marks are (conversations).
public struct SFTSequence: Sendable, Equatable {
    public var tokens: [Int]
    /// Tokens of BOS plus the kept prompt (conversations: the tokens before the first trained one).
    public var promptCount: Int
    /// Conversations: per token, whether predicting it carries loss (it belongs to a trained message); nil for
    /// text pairs.
    public var trainedTokens: [Bool]?

    /// Entry j weights predicting token j+1: 1 when that token belongs to the completion (or is EOS), or to a
    /// trained message of a conversation.
    public var lossMask: [Float] {
        guard tokens.count >= 2 else { return [] }
        if let trainedTokens { return (1..<tokens.count).map { trainedTokens[$0] ? 1 : 0 } }
        return (1..<tokens.count).map { $0 >= promptCount ? 1 : 0 }
    }

    /// Whether any predicted position carries loss.
    var hasTargets: Bool {
        guard tokens.count >= 2 else { return false }
        if let trainedTokens { return trainedTokens.dropFirst().contains(true) }
        return promptCount < tokens.count
    }
}

/// A rendered conversation (or one turn of it): the text and the UTF-8 byte ranges that carry loss.
struct SFTRenderedText: Sendable, Equatable {
    var text: String
    var trainedBytes: [Range<Int>]
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

    /// Tokenizes `examples`; conversations are rendered with `chatTemplate`. Errors (RPTError naming `source`):
    /// bad sizes, no EOS id when `appendEOS` for text pairs, conversations without a chat template, a chat
    /// template failing on an example (its raise_exception; the error names the example), no example left.
    public init(examples: [SFTExample], tokenizer: any Tokenizer, seqLen: Int, batchSize: Int, seed: UInt64,
                source: String, appendEOS: Bool = true, chatTemplate: ChatTemplate? = nil) throws {
        guard seqLen >= 1 else { throw RPTError("sequence length must be ≥ 1, got \(seqLen)", file: source) }
        guard batchSize >= 1 else { throw RPTError("batch size must be ≥ 1, got \(batchSize)", file: source) }
        var eos: Int?
        let hasPairs = examples.contains { $0.conversation == nil }
        if appendEOS && hasPairs {
            guard let id = tokenizer.eosTokenIds.first else {
                throw RPTError("the tokenizer has no EOS token to end completions with", file: source)
            }
            eos = id
        }
        let conversational = examples.contains { $0.conversation != nil }
        if conversational && (chatTemplate == nil || chatTemplate == .raw) {
            throw RPTError("conversational examples (\"messages\" or prompt/completion message lists) need the model's chat template, and \(chatTemplate == nil ? "none was given" : "raw is not one")", file: source)
        }
        let tokenized = DataParallel.map(examples.count) { i -> Result<[(SFTSequence, Bool, Bool)], RPTError> in
            let example = examples[i]
            guard let conversation = example.conversation, let chatTemplate else {
                let t = SFTDataset.tokenize(example, tokenizer: tokenizer, maxTokens: seqLen + 1, eos: eos)
                return .success([(t.sequence, t.promptTruncated, t.completionTruncated)])
            }
            do {
                let pieces = try SFTDataset.render(conversation, with: chatTemplate)
                return .success(pieces.map { piece in
                    let t = SFTDataset.tokenize(piece, tokenizer: tokenizer, maxTokens: seqLen + 1)
                    return (t.sequence, false, t.truncated)
                })
            } catch let e as RPTError {
                return .failure(RPTError("example \(example.id): \(e.message)", file: e.file))
            } catch {
                return .failure(RPTError("example \(example.id): \(error)", file: source))
            }
        }
        var sequences: [SFTSequence] = [], ids: [String] = [], stats = SFTTruncationStats()
        for (example, result) in zip(examples, tokenized) {
            let pieces = try result.get()
            for (k, (sequence, promptTruncated, completionTruncated)) in pieces.enumerated() {
                if promptTruncated { stats.promptsTruncated += 1 }
                if completionTruncated { stats.completionsTruncated += 1 }
                guard sequence.hasTargets else {
                    stats.droppedWithoutTargets += 1
                    continue
                }
                sequences.append(sequence)
                ids.append(pieces.count > 1 ? "\(example.id)#\(k + 1)" : example.id)
            }
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

    /// The texts a conversation trains on, with the byte ranges that carry loss (see the file header): the whole
    /// conversation once when every trained message renders as a prefix of it, else one text per trained message.
    static func render(_ conversation: SFTConversation, with template: ChatTemplate) throws -> [SFTRenderedText] {
        let m = conversation.messages
        let full = try template.apply(messages: m, addGenerationPrompt: false)
        let fullBytes = Array(full.utf8)
        var turns: [SFTRenderedText] = []
        var consistent = true
        for i in m.indices where conversation.trained[i] {
            let upTo = try template.apply(messages: Array(m[...i]), addGenerationPrompt: false)
            let bytes = Array(upTo.utf8)
            var start = 0
            if i > 0 {
                let prompt = Array(try template.apply(messages: Array(m[..<i]), addGenerationPrompt: true).utf8)
                start = zip(prompt, bytes).prefix { $0 == $1 }.count
            }
            turns.append(SFTRenderedText(text: upTo, trainedBytes: start < bytes.count ? [start..<bytes.count] : []))
            if !fullBytes.starts(with: bytes) { consistent = false }
        }
        if consistent { return [SFTRenderedText(text: full, trainedBytes: turns.flatMap(\.trainedBytes))] }
        return turns
    }

    /// A rendered conversation's tokens (BOS first when the tokenizer has one and the text does not start with
    /// it), each trained when its first byte lies in a trained range, cut on the right to `maxTokens`.
    static func tokenize(_ piece: SFTRenderedText, tokenizer: any Tokenizer, maxTokens: Int) -> (sequence: SFTSequence, truncated: Bool) {
        func inSpan(_ offset: Int) -> Bool { piece.trainedBytes.contains { $0.contains(offset) } }
        var tokens = tokenizer.encode(piece.text)
        var trained: [Bool] = []
        if tokenizer.bytes(of: tokens) == Array(piece.text.utf8) {
            var offset = 0
            for id in tokens {
                trained.append(inSpan(offset))
                offset += tokenizer.tokenBytes(id).count
            }
        } else {
            // The tokenizer does not reproduce the text byte for byte (a normalizer): tokenize span by span.
            let bytes = Array(piece.text.utf8)
            var cuts = Set([0, bytes.count])
            for r in piece.trainedBytes { cuts.insert(r.lowerBound); cuts.insert(r.upperBound) }
            let points = cuts.sorted()
            tokens = []
            for (a, b) in zip(points, points.dropFirst()) where a < b {
                let ids = tokenizer.encode(String(decoding: bytes[a..<b], as: UTF8.self))
                tokens += ids
                trained += Array(repeating: inSpan(a), count: ids.count)
            }
        }
        if let bos = tokenizer.bosTokenId, tokens.first != bos {
            tokens.insert(bos, at: 0)
            trained.insert(false, at: 0)
        }
        let truncated = tokens.count > maxTokens
        if truncated {
            tokens = Array(tokens.prefix(maxTokens))
            trained = Array(trained.prefix(maxTokens))
        }
        let first = trained.firstIndex(of: true) ?? tokens.count
        return (SFTSequence(tokens: tokens, promptCount: first, trainedTokens: trained), truncated)
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

    /// Reads the JSONL at `path`, splits the examples with `seed`, and tokenizes both parts. Conversations are
    /// rendered with `chatTemplate`, by default the chat template of the tokenizer_config.json beside the
    /// tokenizer (as `--chat auto` finds it). Errors name `path` (or the tokenizer_config.json).
    public static func load(path: String, options: SFTOptions = SFTOptions(), tokenizer: any Tokenizer,
                            seqLen: Int, batchSize: Int, validation: ValidationSize, seed: UInt64,
                            appendEOS: Bool = true, chatTemplate: ChatTemplate? = nil,
                            onWarning: @escaping (String) -> Void = printDataWarning) throws -> SFTData {
        let (examples, stats) = try SFTReader.read(path: path, options: options, onWarning: onWarning)
        var template = chatTemplate
        if template == nil, examples.contains(where: { $0.conversation != nil }) {
            template = try modelChatTemplate(tokenizer, source: path)
        }
        let split = try TrainValidationSplit(examples, validation: validation, seed: seed, source: path)
        let train = try SFTDataset(examples: split.train, tokenizer: tokenizer, seqLen: seqLen, batchSize: batchSize,
                                   seed: seed, source: path, appendEOS: appendEOS, chatTemplate: template)
        var validationSet: SFTDataset?
        if !split.validation.isEmpty {
            do {
                validationSet = try SFTDataset(examples: split.validation, tokenizer: tokenizer, seqLen: seqLen,
                                               batchSize: batchSize, seed: seed, source: path, appendEOS: appendEOS,
                                               chatTemplate: template)
            } catch let e as RPTError {
                throw RPTError("validation split (\(split.validation.count) examples): \(e.message)", file: path)
            }
        }
        return SFTData(train: train, validation: validationSet, readStats: stats)
    }

    /// The chat template of the tokenizer_config.json beside a Hugging Face tokenizer (conversational data needs
    /// one); an RPTError naming `source` when there is none.
    static func modelChatTemplate(_ tokenizer: any Tokenizer, source: String) throws -> ChatTemplate {
        let hint = "conversational SFT examples are rendered with the model's chat template"
        guard let hf = tokenizer as? HFTokenizer, let config = ChatTemplate.tokenizerConfigPath(near: hf.source) else {
            throw RPTError("\(hint), but the tokenizer has no tokenizer_config.json beside it", file: source)
        }
        let template = try ChatTemplate.detect(tokenizerConfig: config)
        guard template != .raw else { throw RPTError("\(hint), but \(config) has no chat_template", file: source) }
        return template
    }
}
