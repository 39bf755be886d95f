// Everything `rpt pretrain` reads for continual next-token training, in one call: the corpus, its
// train/validation split by document, and a token stream for each part.

public struct PretrainingData: Sendable {
    /// The shuffled, resumable training stream.
    public var train: TokenStream
    /// The validation stream (nil when no documents were held out); use `orderedBatches(maxWindows:)`.
    public var validation: TokenStream?
    /// What the corpus reader read and skipped.
    public var corpusStats: CorpusStats
    public var trainDocuments: Int
    public var validationDocuments: Int

    /// Reads the corpus at `path`, splits it by document with `seed`, and tokenizes both parts.
    /// Errors are RPTErrors naming `path`.
    public static func load(path: String, options: CorpusOptions = CorpusOptions(), tokenizer: any Tokenizer,
                            seqLen: Int, batchSize: Int, validation: ValidationSize, seed: UInt64,
                            onWarning: @escaping (String) -> Void = printDataWarning) throws -> PretrainingData {
        let corpus = try CorpusReader.read(path: path, options: options, onWarning: onWarning)
        let split = try TrainValidationSplit(corpus.documents, validation: validation, seed: seed, source: path)
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
                               trainDocuments: split.train.count, validationDocuments: split.validation.count)
    }
}
