// A Hugging Face `tokenizer.json` tokenizer with a BPE model: byte-level BPE (GPT-2, Qwen2, Llama 3 style) and
// SentencePiece-style BPE with byte fallback (Llama 2 style). Encoding follows tokenizers' `encode(text,
// add_special_tokens=False)`: added tokens matched in the raw text → normalizer → added tokens with
// `normalized: true` → pre-tokenizer → BPE per word. Decoding follows `decode(ids, skip_special_tokens=False)`.
// The post-processor is ignored (it only adds special tokens, which add_special_tokens=False leaves out).

public struct HFTokenizer: Tokenizer {
    /// The tokenizer.json this was loaded from (for messages).
    public let source: String
    public let vocabSize: Int
    public let bosTokenId: Int?
    public let eosTokenIds: [Int]

    let model: BPEModel
    let normalizer: [NormalizerStep]
    let preTokenizer: [PreTokenizerStep]
    let decoder: [DecoderStep]
    /// True when a ByteLevel pre-tokenizer maps bytes to the byte-level alphabet (the model then sees bytes).
    let byteLevel: Bool
    let addedById: [Int32: AddedToken]
    let addedByContent: ExactStringDictionary<Int32>
    /// The string the decoder sees for each added token (its normalized content when that differs).
    let addedDecodeString: [Int32: String]
    let rawMatcher: AddedTokenMatcher
    let normalizedMatcher: AddedTokenMatcher
    let tokenByteTable: TokenByteTable
    let cache = BPECache()

    /// Parses tokenizer.json bytes. `specialTokens` carries bos/eos names from tokenizer_config.json.
    init(json bytes: [UInt8], file: String, specialTokens: SpecialTokenNames = SpecialTokenNames()) throws {
        try self.init(root: try JSONReader.parse(bytes, file: file), file: file, specialTokens: specialTokens)
    }

    /// Builds the tokenizer from a parsed tokenizer.json tree (also one assembled in memory, as for
    /// vocab.json + merges.txt in VocabMergesTokenizer.swift). `file` names the source in errors.
    init(root: JSONValue, file: String, specialTokens: SpecialTokenNames = SpecialTokenNames()) throws {
        guard root.objectValue != nil else { throw RPTError("tokenizer.json is not a JSON object", file: file) }
        guard let modelJSON = root["model"], modelJSON.objectValue != nil else {
            throw RPTError("tokenizer.json has no \"model\" object", file: file)
        }
        if let type = modelJSON["type"]?.stringValue, type != "BPE" {
            throw RPTError("unknown tokenizer model type \"\(type)\" (only BPE is supported)", file: file)
        }
        if modelJSON["type"] == nil && modelJSON["merges"] == nil {
            throw RPTError("tokenizer model has no \"type\" and no \"merges\" (only BPE is supported)", file: file)
        }
        let model = try BPEModel(json: modelJSON, file: file)
        try Self.requireUniqueIds(model, file: file)
        let normalizer = try NormalizerStep.parse(root["normalizer"], file: file)
        let preTokenizer = try PreTokenizerStep.parse(root["pre_tokenizer"], file: file)
        let decoder = try DecoderStep.parse(root["decoder"], file: file)

        var addedById: [Int32: AddedToken] = [:]
        var addedByContent = ExactStringDictionary<Int32>()
        var addedDecode: [Int32: String] = [:]
        var raw: [(text: String, token: AddedToken)] = []
        var normalized: [(text: String, token: AddedToken)] = []
        if let items = root["added_tokens"], !items.isNull {
            guard let list = items.arrayValue else { throw RPTError("\"added_tokens\" is not an array", file: file) }
            for (k, item) in list.enumerated() {
                guard let id = item["id"]?.intValue, id >= 0, id <= BPEModel.maxId, let content = item["content"]?.stringValue else {
                    throw RPTError("added_tokens[\(k)] needs an integer \"id\" and a string \"content\"", file: file)
                }
                let special = item["special"]?.boolValue ?? false
                let token = AddedToken(id: Int32(id), content: content,
                                       singleWord: item["single_word"]?.boolValue ?? false,
                                       lstrip: item["lstrip"]?.boolValue ?? false,
                                       rstrip: item["rstrip"]?.boolValue ?? false,
                                       normalized: item["normalized"]?.boolValue ?? !special,
                                       special: special)
                addedById[token.id] = token
                addedByContent[content] = token.id
                if token.normalized {
                    let contentBytes = Array(content.utf8)
                    let normal = Normalization.apply(normalizer, to: contentBytes[...]).map { String(decoding: $0, as: UTF8.self) }
                    if let normal, normal != content { addedDecode[token.id] = normal }
                    normalized.append((normal ?? content, token))
                } else {
                    raw.append((content, token))
                }
            }
        }

        self.source = file
        self.model = model
        self.normalizer = normalizer
        self.preTokenizer = preTokenizer
        self.decoder = decoder
        self.byteLevel = preTokenizer.contains { if case .byteLevel = $0 { return true }; return false }
        self.addedById = addedById
        self.addedByContent = addedByContent
        self.addedDecodeString = addedDecode
        self.rawMatcher = AddedTokenMatcher(raw)
        self.normalizedMatcher = AddedTokenMatcher(normalized)
        self.vocabSize = max(model.tokens.count, Int(addedById.keys.max() ?? -1) + 1)
        self.tokenByteTable = TokenByteTable(count: vocabSize) { id in
            let s = addedById[Int32(id)].map { addedDecode[Int32(id)] ?? $0.content } ?? (id < model.tokens.count ? model.tokens[id] : nil)
            return s.map { TokenByteTable.bytes(ofToken: $0, decoder: decoder) }
        }

        let resolved = specialTokens.resolve(tokenId: { addedByContent[$0] ?? model.vocab[$0] },
                                             isSpecial: { addedById[$0]?.special ?? false })
        self.bosTokenId = resolved.bos
        self.eosTokenIds = resolved.eos
    }

    /// Two vocabulary tokens with one id would decode that id as either of them (which one is arbitrary), so a
    /// tokenizer.json whose `model.vocab` repeats an id is refused, naming both tokens.
    private static func requireUniqueIds(_ model: BPEModel, file: String) throws {
        let distinctIds = model.tokens.reduce(0) { $1 == nil ? $0 : $0 + 1 }
        guard distinctIds < model.vocab.count else { return }
        // By id, then by bytes, so the message is the same on every run.
        let entries = model.vocab.entries.sorted { a, b in
            a.value != b.value ? a.value < b.value : a.key.utf8.lexicographicallyPrecedes(b.key.utf8)
        }
        var first: [Int32: String] = [:]
        for (token, id) in entries {
            if let other = first[id] {
                throw RPTError("vocab maps two tokens to id \(id): \(RPTError.echo(other.debugDescription)) and "
                               + "\(RPTError.echo(token.debugDescription))", file: file)
            }
            first[id] = token
        }
    }

    // MARK: - Tokenizer

    public func encode(_ text: String) -> [Int] {
        var ids: [Int32] = []
        let bytes = Array(text.utf8)
        ids.reserveCapacity(bytes.count / 3 + 4)
        for split in rawMatcher.split(bytes) {
            switch split {
            case .token(let id): ids.append(id)
            case .text(let r): encodeSegment(bytes[r], startsAtOrigin: r.lowerBound == 0, into: &ids)
            }
        }
        return ids.map { Int($0) }
    }

    /// Text between raw added tokens: normalize, match normalized added tokens, pre-tokenize, BPE.
    private func encodeSegment(_ segment: ArraySlice<UInt8>, startsAtOrigin: Bool, into ids: inout [Int32]) {
        let text = Normalization.apply(normalizer, to: segment) ?? Array(segment)
        if normalizedMatcher.isEmpty {
            encodeWords(text, startsAtOrigin: startsAtOrigin, into: &ids)
            return
        }
        for split in normalizedMatcher.split(text) {
            switch split {
            case .token(let id): ids.append(id)
            case .text(let r): encodeWords(Array(text[r]), startsAtOrigin: startsAtOrigin && r.lowerBound == 0, into: &ids)
            }
        }
    }

    private func encodeWords(_ text: [UInt8], startsAtOrigin: Bool, into ids: inout [Int32]) {
        let pieces = PreTokenization.apply(preTokenizer, to: text, startsAtOrigin: startsAtOrigin)
        for r in pieces.ranges {
            let word = pieces.bytes[r]
            if word.count >= BPECache.maxWordBytes {
                model.tokenize(word, byteLevel: byteLevel, into: &ids)
                continue
            }
            let key = String(decoding: word, as: UTF8.self)
            if let hit = cache.get(key) {
                ids.append(contentsOf: hit)
                continue
            }
            var wordIds: [Int32] = []
            model.tokenize(word, byteLevel: byteLevel, into: &wordIds)
            cache.set(key, wordIds)
            ids.append(contentsOf: wordIds)
        }
    }

    public func tokenBytes(_ id: Int) -> [UInt8] {
        tokenByteTable.bytes(id)
    }

    public func decode(_ ids: [Int]) -> String {
        if decoder == [.byteLevel] {
            // ByteLevel alone: each token's bytes, concatenated, then lossy UTF-8 — exactly tokenBytes.
            var bytes: [UInt8] = []
            for id in ids where tokenString(id) != nil { bytes.append(contentsOf: tokenBytes(id)) }
            return String(decoding: bytes, as: UTF8.self)
        }
        return Decoding.apply(decoder, to: ids.compactMap { tokenString($0) })
    }

    public func tokenId(_ token: String) -> Int? {
        (addedByContent[token] ?? model.vocab[token]).map { Int($0) }
    }

    public func isSpecial(_ id: Int) -> Bool {
        guard id >= 0 && id <= Int(Int32.max) else { return false }
        return addedById[Int32(id)]?.special ?? false
    }

    /// The token string the decoder sees for an id (added tokens first, as tokenizers does), nil when unknown.
    func tokenString(_ id: Int) -> String? {
        guard id >= 0 && id <= Int(Int32.max) else { return nil }
        if let added = addedById[Int32(id)] { return addedDecodeString[Int32(id)] ?? added.content }
        return id < model.tokens.count ? model.tokens[id] : nil
    }
}
