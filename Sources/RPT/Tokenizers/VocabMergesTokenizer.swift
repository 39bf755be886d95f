// A GPT-2 style byte-level BPE from the original pair of files, `vocab.json` (token → id) and `merges.txt`
// (one "left right" merge per line, best first, an optional "#version" header), as OpenAI's GPT-2 release,
// nanoGPT and Hugging Face's slow GPT2Tokenizer ship it. The pair is turned into the tokenizer.json that
// Hugging Face `tokenizers` builds from it (models.BPE.from_file, as for Assets/gpt2-tokenizer/tokenizer.json):
//   model          BPE with this vocab and these merges (no unk token, no byte fallback, no dropout)
//   normalizer     none
//   pre-tokenizer  ByteLevel (GPT-2 split regex, bytes → byte-level alphabet), add_prefix_space false unless
//                  a tokenizer_config.json beside the files says true
//   decoder        ByteLevel
//   added tokens   `<|endoftext|>` and the tokenizer_config.json bos/eos tokens, when in the vocabulary, as
//                  special tokens matched in raw text (normalized false)
// bos/eos then resolve as for a tokenizer.json (SpecialTokenNames): for GPT-2, eos = <|endoftext|>, no bos.
// Errors name the file at fault: vocab.json for the vocabulary, merges.txt (with its line) for the merges.

import Foundation

/// The two files of a vocab.json + merges.txt tokenizer.
public struct VocabMergesFiles: Sendable, Equatable {
    public var vocab: String
    public var merges: String

    public static let vocabName = "vocab.json"
    public static let mergesName = "merges.txt"

    /// The pair in `directory`, when both files are there.
    public static func inDirectory(_ directory: String) -> VocabMergesFiles? {
        let pair = VocabMergesFiles(vocab: (directory as NSString).appendingPathComponent(vocabName),
                                    merges: (directory as NSString).appendingPathComponent(mergesName))
        let fm = FileManager.default
        return fm.fileExists(atPath: pair.vocab) && fm.fileExists(atPath: pair.merges) ? pair : nil
    }

    /// The pair that a path to one of its files (…/vocab.json or …/merges.txt) belongs to, when the other
    /// file is beside it.
    public static func forFile(_ path: String) -> VocabMergesFiles? {
        let name = (path as NSString).lastPathComponent
        guard name == vocabName || name == mergesName else { return nil }
        return inDirectory((path as NSString).deletingLastPathComponent)
    }
}

/// Loads a byte-level BPE from vocab.json + merges.txt (see the file header).
public func loadVocabMergesTokenizer(_ files: VocabMergesFiles) throws -> HFTokenizer {
    let vocab = try readVocabJSON(files.vocab)
    let merges = try readMergesTxt(files.merges)

    // bos/eos names and add_prefix_space from a tokenizer_config.json beside the files.
    let configPath = ((files.vocab as NSString).deletingLastPathComponent as NSString).appendingPathComponent("tokenizer_config.json")
    var names = SpecialTokenNames()
    var addPrefixSpace = false
    if FileManager.default.fileExists(atPath: configPath) {
        names = try SpecialTokenNames.read(tokenizerConfig: configPath)
        if let data = FileManager.default.contents(atPath: configPath),
           let flag = try JSONReader.parse([UInt8](data), file: configPath)["add_prefix_space"]?.boolValue {
            addPrefixSpace = flag
        }
    }

    // Special tokens, in id order, that exist in the vocabulary.
    var specials: [(content: String, id: Int)] = []
    let vocabObject = vocab.objectValue!
    var idOf: [String: Int] = [:]
    for name in ["<|endoftext|>", names.bos, names.eos].compactMap({ $0 }) where idOf[name] == nil {
        if let i = vocabObject.keys.firstIndex(of: name), let id = vocabObject.values[i].intValue { idOf[name] = id }
    }
    specials = idOf.map { ($0.key, $0.value) }.sorted { $0.id < $1.id }

    func object(_ pairs: [(String, JSONValue)]) -> JSONValue {
        .object(JSONObject(keys: pairs.map(\.0), values: pairs.map(\.1)))
    }
    let addedTokens: [JSONValue] = specials.map { s in
        object([("id", .number(Double(s.id))), ("content", .string(s.content)), ("single_word", .bool(false)),
                ("lstrip", .bool(false)), ("rstrip", .bool(false)), ("normalized", .bool(false)), ("special", .bool(true))])
    }
    let root = object([
        ("added_tokens", .array(addedTokens)),
        ("normalizer", .null),
        ("pre_tokenizer", object([("type", .string("ByteLevel")), ("add_prefix_space", .bool(addPrefixSpace)),
                                  ("trim_offsets", .bool(true)), ("use_regex", .bool(true))])),
        ("decoder", object([("type", .string("ByteLevel"))])),
        ("model", object([("type", .string("BPE")), ("vocab", vocab), ("merges", .array(merges.map { .string($0) }))])),
    ])
    // What remains to check (merge tokens in the vocabulary) concerns merges.txt.
    return try HFTokenizer(root: root, file: files.merges, specialTokens: names)
}

/// vocab.json: a JSON object of token → distinct non-negative integer id.
private func readVocabJSON(_ path: String) throws -> JSONValue {
    let value = try JSONReader.parse(try readTokenizerFile(path), file: path)
    guard let object = value.objectValue else {
        throw RPTError("vocab.json is not a JSON object of token → id", file: path)
    }
    guard object.count > 0 else { throw RPTError("vocab.json is empty", file: path) }
    var tokenOfId: [Int: String] = [:]
    tokenOfId.reserveCapacity(object.count)
    for (token, v) in zip(object.keys, object.values) {
        guard let id = v.intValue, id >= 0, id <= BPEModel.maxId else {
            throw RPTError("vocab entry \(RPTError.echo(token.debugDescription)) has an invalid id", file: path)
        }
        if let other = tokenOfId[id] {
            throw RPTError("vocab maps two tokens to id \(id): \(RPTError.echo(other.debugDescription)) and "
                           + "\(RPTError.echo(token.debugDescription))", file: path)
        }
        tokenOfId[id] = token
    }
    return value
}

/// merges.txt: its lines (a "#version" header kept, as BPEModel skips it and numbers merges by line), without
/// the line ends (\n or \r\n) and without the empty piece after a final newline.
private func readMergesTxt(_ path: String) throws -> [String] {
    let bytes = try readTokenizerFile(path)
    guard String(validating: bytes, as: UTF8.self) != nil else {
        throw RPTError("merges.txt is not valid UTF-8", file: path)
    }
    // Split on the bytes: "\r\n" is one Character, so a Character split would miss it.
    var pieces = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
    if pieces.last?.isEmpty == true { pieces.removeLast() }
    return pieces.map { line in
        String(decoding: line.last == 0x0D ? line.dropLast() : line, as: UTF8.self)
    }
}
