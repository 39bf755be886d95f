// Everything `rpt pretrain` reads for continual next-token training, in one call: the corpus, its
// train/validation split, and a token stream for each part.
//
// The split rule (ValidationSize):
//   .count(k)      k whole documents, drawn with the seed (TrainValidationSplit).
//   .fraction(f)   by documents when f of the documents is at least one whole document (f · n ≥ 1): round(f · n)
//                  documents drawn with the seed, as for a JSONL corpus of many records. Otherwise — a single
//                  text file (nanoGPT's Tiny Shakespeare), or a few files such as WikiText-2's test + valid — by
//                  tokens: all documents are tokenized in corpus order into one stream and its last round(f · T)
//                  tokens are held out (nanoGPT's `data[int(n * 0.9):]`), at least one window of seqLen + 1 tokens;
//                  a document may then be cut in two.
// Both splits are deterministic (the same corpus, tokenizer, size and seed give the same streams), so a resumed
// run rebuilds the same training stream and its data cursor fits.

public struct PretrainingData: Sendable {
    /// How the corpus was split.
    public enum SplitUnit: String, Sendable, Equatable {
        /// No validation part.
        case none
        /// Whole documents were held out.
        case documents
        /// The last tokens of the corpus's token stream were held out.
        case tokens
    }

    /// The shuffled, resumable training stream.
    public var train: TokenStream
    /// The validation stream (nil when nothing was held out); use `orderedBatches(maxWindows:)`.
    public var validation: TokenStream?
    /// What the corpus reader read and skipped.
    public var corpusStats: CorpusStats
    /// Documents with tokens in the training stream (with a split by tokens, the document cut in two counts
    /// in both parts).
    public var trainDocuments: Int
    /// Documents with tokens in the validation stream.
    public var validationDocuments: Int
    /// Documents in the corpus.
    public var documents: Int
    public var splitUnit: SplitUnit
    /// Notes on the split for the log (why tokens, a held-out part enlarged to one window).
    public var notes: [String]

    public var trainTokens: Int { train.tokens.count }
    public var validationTokens: Int { validation?.tokens.count ?? 0 }
    /// All tokens of the corpus (BOS/EOS included): trainTokens + validationTokens.
    public var totalTokens: Int { trainTokens + validationTokens }

    /// One line for the log: documents and tokens of the corpus and of each part, and how it was split.
    public var summary: String {
        func docs(_ n: Int) -> String { "\(thousands(n)) document\(n == 1 ? "" : "s")" }
        var s = "data: \(docs(documents)), \(thousands(totalTokens)) tokens"
        guard splitUnit != .none else { return s + "; all for training (no validation split)" }
        func share(_ n: Int) -> String { sharePercent(Double(n) / Double(max(totalTokens, 1))) }
        s += "; train \(docs(trainDocuments)) / \(thousands(trainTokens)) tokens (\(share(trainTokens)))"
        s += ", validation \(docs(validationDocuments)) / \(thousands(validationTokens)) tokens (\(share(validationTokens)))"
        s += splitUnit == .tokens ? "; split by tokens (the last tokens held out)" : "; split by documents"
        return notes.isEmpty ? s : s + "; " + notes.joined(separator: "; ")
    }

    /// Reads the corpus at `path`, splits it (see the file header) with `seed`, and tokenizes both parts.
    /// Errors are RPTErrors naming `path`.
    public static func load(path: String, options: CorpusOptions = CorpusOptions(), tokenizer: any Tokenizer,
                            seqLen: Int, batchSize: Int, validation: ValidationSize, seed: UInt64,
                            onWarning: @escaping (String) -> Void = printDataWarning) throws -> PretrainingData {
        let corpus = try CorpusReader.read(path: path, options: options, onWarning: onWarning)
        let n = corpus.documents.count
        if case .fraction(let f) = validation, f.isFinite, f > 0, f < 1, !ValidationSize.fractionCoversADocument(f, of: n) {
            return try splitByTokens(corpus, fraction: f, path: path, tokenizer: tokenizer, seqLen: seqLen,
                                     batchSize: batchSize, seed: seed)
        }
        let split: TrainValidationSplit<CorpusDocument>
        do {
            split = try TrainValidationSplit(corpus.documents, validation: validation, seed: seed, source: path)
        } catch let e as RPTError where n == 1 && e.message.hasPrefix("validation would take") {
            throw RPTError(e.message + "; to hold out part of a single document, give --validation as a fraction "
                           + "below 1 (e.g. 0.1): it is then split by tokens", file: path)
        }
        let train = try TokenStream(documents: split.train, tokenizer: tokenizer, seqLen: seqLen,
                                    batchSize: batchSize, seed: seed, source: path)
        var validationStream: TokenStream?
        if !split.validation.isEmpty {
            do {
                validationStream = try TokenStream(documents: split.validation, tokenizer: tokenizer, seqLen: seqLen,
                                                   batchSize: batchSize, seed: seed, source: path)
            } catch let e as RPTError {
                throw RPTError("validation split (\(split.validation.count) documents): \(e.message)", file: path)
            }
        }
        return PretrainingData(train: train, validation: validationStream, corpusStats: corpus.stats,
                               trainDocuments: split.train.count, validationDocuments: split.validation.count,
                               documents: n, splitUnit: split.validation.isEmpty ? .none : .documents, notes: [])
    }

    /// The last round(f · T) tokens (at least one window) of the corpus's token stream for validation.
    private static func splitByTokens(_ corpus: Corpus, fraction f: Double, path: String, tokenizer: any Tokenizer,
                                      seqLen: Int, batchSize: Int, seed: UInt64) throws -> PretrainingData {
        let encoded = try TokenStream.tokenizeEach(corpus.documents, tokenizer: tokenizer, source: path)
        var tokens: [Int32] = []
        tokens.reserveCapacity(encoded.reduce(0) { $0 + $1.count })
        var ends: [Int] = []   // the end of each document in `tokens`, to say which documents each part touches
        for ids in encoded {
            tokens += ids
            ends.append(tokens.count)
        }
        let total = tokens.count
        let window = seqLen + 1
        let requested = Int((f * Double(total)).rounded())
        let held = max(requested, window)
        guard seqLen >= 1, total - held >= window else {
            throw RPTError("corpus has \(total) tokens: too few to hold out \(sharePercent(f)) of them (at least one window of "
                           + "\(window) tokens, sequence length \(seqLen) + 1) and train on one more window; use a shorter "
                           + "--seq-len, more data, or --validation 0", file: path)
        }
        let cut = total - held
        var notes: [String] = []
        let need = ValidationSize.documentsForADocumentSplit(f)
        notes.append("\(corpus.documents.count) document\(corpus.documents.count == 1 ? " is" : "s are") fewer than the "
                     + "\(need) a split by documents at \(f) needs")
        if held > requested {
            notes.append("validation enlarged from \(thousands(requested)) to one window of \(window) tokens")
        }
        let train = try TokenStream(tokens: Array(tokens[..<cut]), seqLen: seqLen, batchSize: batchSize, seed: seed, source: path)
        let validation = try TokenStream(tokens: Array(tokens[cut...]), seqLen: seqLen, batchSize: batchSize, seed: seed, source: path)
        // Documents touching [0, cut) and [cut, total).
        let trainDocuments = ends.firstIndex { $0 >= cut }.map { $0 + 1 } ?? ends.count
        let validationDocuments = ends.count - (ends.firstIndex { $0 > cut } ?? ends.count)
        return PretrainingData(train: train, validation: validation, corpusStats: corpus.stats,
                               trainDocuments: trainDocuments, validationDocuments: validationDocuments,
                               documents: corpus.documents.count, splitUnit: .tokens, notes: notes)
    }
}

extension ValidationSize {
    /// Whether a validation fraction `f` of `n` documents amounts to at least one whole document (f · n ≥ 1, with
    /// a little slack for rounding such as 0.05 · 20), so that a split by documents can honour it.
    public static func fractionCoversADocument(_ f: Double, of n: Int) -> Bool {
        f * Double(n) >= 1 - 1e-9
    }

    /// The fewest documents for which a fraction `f` is split by documents.
    public static func documentsForADocumentSplit(_ f: Double) -> Int {
        guard f > 0 else { return Int.max }
        var n = max(1, Int((1 / f).rounded(.down)))
        while !fractionCoversADocument(f, of: n) { n += 1 }
        return n
    }
}

/// 1234567 → "1,234,567".
func thousands(_ n: Int) -> String {
    let digits = String(n.magnitude)
    var out = ""
    for (i, c) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(c)
    }
    return n < 0 ? "-" + out : out
}

/// 0.1 → "10.0%".
func sharePercent(_ x: Double) -> String {
    let tenths = Int((x * 1000).rounded())
    return "\(tenths / 10).\(tenths % 10)%"
}
