// A tokenizer as GGUF `tokenizer.ggml.*` metadata, in the form llama.cpp reads (src/llama-vocab.cpp) and its
// converter writes (convert_hf_to_gguf.py with gguf-py's vocab.py); key names from gguf-py constants.py and the
// GGUF spec (github.com/ggml-org/ggml docs/gguf.md, "Tokenizer"). Two llama.cpp tokenizer models are produced:
//
//   "gpt2"   byte-level BPE (GPT-2, Qwen2, Llama 3 tokenizer.json; GPT-2 vocab.json + merges.txt): tokens are the
//            vocabulary strings in the byte-level alphabet, added tokens by content; `merges` "left right" in rank
//            order; `pre` names llama.cpp's pre-tokenizer: "gpt-2", "qwen2" or "llama-bpe", chosen from the
//            tokenizer.json pre-tokenizer (only these three regexes have an exact llama.cpp counterpart).
//   "llama"  SentencePiece-style BPE with byte fallback (llama2.c tokenizer.bin, Llama-2-style tokenizer.json):
//            tokens with '▁' for spaces, <0xNN> byte tokens of type BYTE, and `scores`. llama.cpp merges the
//            adjacent pair whose concatenation has the highest score (leftmost on ties). A llama2.c file carries
//            SentencePiece's scores. A tokenizer.json carries ranked merges instead, so each merged token gets
//            score −(rank group) — exact when every merge producing a token is adjacent in rank and every split of
//            a merged token into two formable tokens is itself a merge (true of tokenizers converted from
//            SentencePiece); a tokenizer where that fails is refused rather than exported to tokenize differently.
//
// Token types (llama.cpp `llama_token_type`): 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte. The
// token list is padded to the model's vocab_size with "[PADn]" (type unused), as the converter does. Special ids:
// bos/eos from the tokenizer (tokenizer_config.json names), else config.json; `add_bos_token` is true exactly when
// `rpt` prepends BOS (the tokenizer has one), so llama.cpp and `rpt` feed the model the same ids.

import Foundation

/// llama.cpp's token types (llama.h `enum llama_token_type`).
public enum GGUFTokenType: Int32, Sendable {
    case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
}

/// `tokenizer.ggml.*` metadata for one tokenizer.
public struct GGUFVocabulary: Sendable {
    /// `tokenizer.ggml.model`: "gpt2" or "llama".
    public var model: String
    /// `tokenizer.ggml.pre`.
    public var pre: String
    public var tokens: [String]
    public var tokenTypes: [GGUFTokenType]
    /// `tokenizer.ggml.scores` ("llama" only).
    public var scores: [Float]?
    /// `tokenizer.ggml.merges` ("gpt2" only).
    public var merges: [String]?
    public var bos: Int?, eos: Int?, unk: Int?, pad: Int?
    public var addBOS: Bool
    /// `tokenizer.ggml.add_space_prefix` ("llama" only: SentencePiece's dummy prefix).
    public var addSpacePrefix: Bool?
    public var chatTemplate: String?

    /// Writes the metadata into `w`.
    public func apply(to w: inout GGUFWriter) {
        w.set("tokenizer.ggml.model", .string(model))
        w.set("tokenizer.ggml.pre", .string(pre))
        w.set("tokenizer.ggml.tokens", .stringArray(tokens))
        if let scores { w.set("tokenizer.ggml.scores", .float32Array(scores)) }
        w.set("tokenizer.ggml.token_type", .int32Array(tokenTypes.map(\.rawValue)))
        if let merges { w.set("tokenizer.ggml.merges", .stringArray(merges)) }
        for (key, id) in [("bos", bos), ("eos", eos), ("unknown", unk), ("padding", pad)] {
            if let id { w.set("tokenizer.ggml.\(key)_token_id", .uint32(UInt32(id))) }
        }
        w.set("tokenizer.ggml.add_bos_token", .bool(addBOS))
        w.set("tokenizer.ggml.add_eos_token", .bool(false))
        if let addSpacePrefix { w.set("tokenizer.ggml.add_space_prefix", .bool(addSpacePrefix)) }
        if let chatTemplate, !chatTemplate.isEmpty { w.set("tokenizer.chat_template", .string(chatTemplate)) }
    }

    /// The vocabulary of `tokenizer` (loaded from `path`) for a model with `config`. Throws an RPTError naming the
    /// tokenizer file when llama.cpp has no exact counterpart.
    public static func make(tokenizer: any Tokenizer, path: String, config: ModelConfig) throws -> GGUFVocabulary {
        var vocab: GGUFVocabulary
        let file: String
        if let t = tokenizer as? Llama2cTokenizer {
            file = t.source
            vocab = try fromLlama2c(t, vocabSize: config.vocabSize)
        } else if let t = tokenizer as? HFTokenizer {
            file = t.source
            vocab = try fromHF(t, vocabSize: config.vocabSize)
        } else {
            throw RPTError("this tokenizer type cannot be exported to GGUF", file: path)
        }
        try vocab.requireLlamaCppCompatible(file: file)

        // Special ids: the tokenizer's, else config.json's (as the converter's SpecialVocab falls back).
        vocab.bos = tokenizer.bosTokenId ?? config.bosTokenId
        vocab.eos = tokenizer.eosTokenIds.first ?? config.eosTokenIds.first
        vocab.addBOS = tokenizer.bosTokenId != nil
        let settings = TokenizerSettings(near: file)
        if let name = settings.padToken, let id = tokenizer.tokenId(name) { vocab.pad = id }
        else if let id = config.raw["pad_token_id"]?.int { vocab.pad = id }
        vocab.chatTemplate = settings.chatTemplate
        for (label, id) in [("bos", vocab.bos), ("eos", vocab.eos), ("unk", vocab.unk), ("pad", vocab.pad)] {
            if let id, id < 0 || id >= vocab.tokens.count {
                throw RPTError("\(label) token id \(id) is outside the vocabulary of \(vocab.tokens.count) tokens", file: file)
            }
        }
        return vocab
    }

    /// llama.cpp asserts that token strings are distinct, and renames empty ones.
    func requireLlamaCppCompatible(file: String) throws {
        var seen: [String: Int] = [:]
        seen.reserveCapacity(tokens.count)
        for (id, t) in tokens.enumerated() {
            guard !t.isEmpty else { throw RPTError("token \(id) is empty; llama.cpp needs every token to have text", file: file) }
            if let other = seen[t] {
                throw RPTError("tokens \(other) and \(id) are both \(RPTError.echo(t.debugDescription)); llama.cpp needs distinct token strings",
                               file: file)
            }
            seen[t] = id
        }
    }

    // MARK: llama2.c tokenizer.bin

    /// SentencePiece pieces as llama2.c stored them: ' ' back to '▁', BOS/EOS back to "<s>"/"</s>".
    static func fromLlama2c(_ t: Llama2cTokenizer, vocabSize: Int) throws -> GGUFVocabulary {
        guard t.pieces.count <= vocabSize else {
            throw RPTError("the tokenizer has \(t.pieces.count) tokens but the model only \(vocabSize)", file: t.source)
        }
        var tokens: [String] = [], types: [GGUFTokenType] = [], scores: [Float] = []
        for (id, piece) in t.pieces.enumerated() {
            guard let text = String(validating: piece, as: UTF8.self) else {
                throw RPTError("token \(id) is not valid UTF-8; GGUF token strings must be", file: t.source)
            }
            switch id {
            case 0: tokens.append(text); types.append(.unknown)
            case 1: tokens.append("<s>"); types.append(.control)
            case 2: tokens.append("</s>"); types.append(.control)
            case 3..<259: tokens.append(text); types.append(.byte)
            default: tokens.append(text.replacingOccurrences(of: " ", with: "\u{2581}")); types.append(.normal)
            }
            scores.append(t.scores[id])
        }
        var v = GGUFVocabulary(model: "llama", pre: "default", tokens: tokens, tokenTypes: types, scores: scores, merges: nil,
                               bos: 1, eos: 2, unk: 0, pad: nil, addBOS: true, addSpacePrefix: true, chatTemplate: nil)
        v.pad(to: vocabSize, score: -1000)
        return v
    }

    // MARK: Hugging Face tokenizer.json / vocab.json + merges.txt

    static func fromHF(_ t: HFTokenizer, vocabSize: Int) throws -> GGUFVocabulary {
        guard t.vocabSize <= vocabSize else {
            throw RPTError("the tokenizer has \(t.vocabSize) ids but the model only \(vocabSize)", file: t.source)
        }
        let merges = try rawMerges(of: t)
        if t.byteLevel {
            return try byteLevel(t, merges: merges, vocabSize: vocabSize)
        }
        return try sentencePieceStyle(t, merges: merges, vocabSize: vocabSize)
    }

    /// Token strings and types by id: added tokens by content (control when special or `<|…|>`-shaped, as the
    /// converter marks them), vocabulary entries as stored.
    private static func tokenTable(_ t: HFTokenizer, count: Int,
                                   vocabType: (Int, String) -> GGUFTokenType) -> ([String], [GGUFTokenType]) {
        var tokens: [String] = [], types: [GGUFTokenType] = []
        tokens.reserveCapacity(count); types.reserveCapacity(count)
        for id in 0..<count {
            if let added = t.addedById[Int32(id)] {
                tokens.append(added.content)
                let looksSpecial = added.content.hasPrefix("<|") && added.content.hasSuffix("|>")
                types.append(added.special || looksSpecial ? .control : .userDefined)
            } else if id < t.model.tokens.count, let s = t.model.tokens[id] {
                tokens.append(s)
                types.append(vocabType(id, s))
            } else {
                tokens.append("[PAD\(id)]")
                types.append(.unused)
            }
        }
        return (tokens, types)
    }

    private static func byteLevel(_ t: HFTokenizer, merges: [(String, String)], vocabSize: Int) throws -> GGUFVocabulary {
        func fail(_ m: String) -> RPTError { RPTError(m, file: t.source) }
        // llama.cpp's byte-level pre-tokenizers, by the tokenizer.json steps they stand for.
        let pre: String
        switch t.preTokenizer {
        case [.byteLevel(addPrefixSpace: false, useRegex: true)],
             [.split(.gpt2), .byteLevel(addPrefixSpace: false, useRegex: false)]:
            pre = "gpt-2"
        case [.split(.qwen2(maxDigits: 1)), .byteLevel(addPrefixSpace: false, useRegex: false)]:
            pre = "qwen2"
        case [.split(.qwen2(maxDigits: 3)), .byteLevel(addPrefixSpace: false, useRegex: false)]:
            pre = "llama-bpe"
        default:
            throw fail("the pre-tokenizer \(t.preTokenizer) has no llama.cpp counterpart (GGUF export supports the GPT-2, "
                       + "Qwen2 and Llama 3 byte-level pre-tokenizers without add_prefix_space)")
        }
        // llama.cpp applies no normalizer to byte-level BPE; NFC (Qwen2's) only matters for non-NFC input.
        guard t.normalizer.allSatisfy({ $0 == .nfc }) else {
            throw fail("the normalizer \(t.normalizer) has no llama.cpp counterpart for byte-level BPE (only NFC or none)")
        }
        guard !t.model.byteFallback else { throw fail("byte-level BPE with byte_fallback has no llama.cpp counterpart") }
        let (tokens, types) = tokenTable(t, count: vocabSize) { _, _ in .normal }
        // Merge strings are "left right"; a space inside a part (possible in the [a, b] form) is written as U+0120,
        // as the converter does, so the line still splits at its one real space.
        let mergeLines = merges.map { l, r in
            l.replacingOccurrences(of: " ", with: "\u{0120}") + " " + r.replacingOccurrences(of: " ", with: "\u{0120}")
        }
        return GGUFVocabulary(model: "gpt2", pre: pre, tokens: tokens, tokenTypes: types, scores: nil, merges: mergeLines,
                              bos: nil, eos: nil, unk: nil, pad: nil, addBOS: false, addSpacePrefix: nil, chatTemplate: nil)
    }

    private static func sentencePieceStyle(_ t: HFTokenizer, merges: [(String, String)], vocabSize: Int) throws -> GGUFVocabulary {
        func fail(_ m: String) -> RPTError { RPTError(m, file: t.source) }
        guard t.model.byteFallback else {
            throw fail("a BPE that is neither byte-level nor byte_fallback has no llama.cpp counterpart")
        }
        // llama.cpp's SentencePiece tokenizer turns spaces into '▁' and optionally prepends one.
        let space = "\u{2581}"
        var addPrefix: Bool? = nil
        if t.preTokenizer.isEmpty, t.normalizer == [.prepend(space), .replace(pattern: " ", content: space)] {
            addPrefix = true
        } else if t.preTokenizer.isEmpty, t.normalizer == [.replace(pattern: " ", content: space)] {
            addPrefix = false
        } else if t.normalizer.isEmpty, t.preTokenizer.count == 1,
                  case .metaspace(replacement: space, let scheme, _) = t.preTokenizer[0] {
            addPrefix = scheme != .never
        }
        guard let addPrefix else {
            throw fail("the normalizer \(t.normalizer) and pre-tokenizer \(t.preTokenizer) have no llama.cpp counterpart "
                       + "(SentencePiece-style BPE needs ' ' → '▁', optionally with a '▁' prefix)")
        }
        let unk = t.model.unkId.map(Int.init)
        let (tokens, tableTypes) = tokenTable(t, count: vocabSize) { _, s in
            if s.utf8.count == 6, s.hasPrefix("<0x"), s.hasSuffix(">"), UInt8(s.dropFirst(3).prefix(2), radix: 16) != nil { return .byte }
            return .normal
        }
        var types = tableTypes
        if let unk, unk < types.count { types[unk] = .unknown }   // SentencePiece's type for it, even as an added token
        let scores = try mergeScores(t, merges: merges, count: vocabSize)
        return GGUFVocabulary(model: "llama", pre: "default", tokens: tokens, tokenTypes: types, scores: scores, merges: nil,
                              bos: nil, eos: nil, unk: unk, pad: nil, addBOS: false, addSpacePrefix: addPrefix, chatTemplate: nil)
    }

    /// Scores under which llama.cpp's highest-score-first merging equals BPE's lowest-rank-first merging: each merged
    /// token scores −(the index of its group of merges in rank order); other tokens 0 (never a merge result).
    static func mergeScores(_ t: HFTokenizer, merges: [(String, String)], count: Int) throws -> [Float] {
        func fail(_ m: String) -> RPTError {
            RPTError(m + "; llama.cpp's SentencePiece tokenizer merges by token score and would tokenize differently", file: t.source)
        }
        var scores = [Float](repeating: 0, count: count)
        var group = [Int: Int]()          // merged id → its group index
        var pairs = Set<String>()         // "left\u{0}right" of every merge
        var last: Int? = nil
        for (l, r) in merges {
            guard let id = t.model.vocab[l + r].map(Int.init) else { continue }   // validated at load
            pairs.insert(l + "\u{0}" + r)
            if let g = group[id] {
                guard last == id else {
                    throw fail("the merges producing \(RPTError.echo((l + r).debugDescription)) are not adjacent in rank (group \(g) and later)")
                }
            } else {
                group[id] = group.count
                guard group.count < 1 << 24 else { throw fail("more than 2^24 merged tokens") }
                scores[id] = -Float(group.count - 1)
            }
            last = id
        }
        // Tokens that can become a symbol: single characters and merge results.
        func formable(_ s: String) -> Bool {
            guard let id = t.model.vocab[s] else { return false }
            return s.unicodeScalars.count == 1 || group[Int(id)] != nil
        }
        for id in group.keys.sorted() {
            guard id < t.model.tokens.count, let s = t.model.tokens[id] else { continue }
            let scalars = Array(s.unicodeScalars)
            for k in 1..<max(scalars.count, 1) {
                let l = String(String.UnicodeScalarView(scalars[..<k])), r = String(String.UnicodeScalarView(scalars[k...]))
                if formable(l), formable(r), !pairs.contains(l + "\u{0}" + r) {
                    throw fail("token \(RPTError.echo(s.debugDescription)) can be formed from \(RPTError.echo(l.debugDescription)) + "
                               + "\(RPTError.echo(r.debugDescription)), which is not a merge")
                }
            }
        }
        return scores
    }

    /// The merges in rank order as (left, right): tokenizer.json `model.merges` ("a b" strings or [a, b] pairs), or
    /// merges.txt's lines for a vocab.json + merges.txt tokenizer (whose `source` is the merges.txt).
    static func rawMerges(of t: HFTokenizer) throws -> [(String, String)] {
        let bytes = try readTokenizerFile(t.source)
        if (t.source as NSString).lastPathComponent == VocabMergesFiles.mergesName {
            let text = String(decoding: bytes, as: UTF8.self)
            return text.split(separator: "\n", omittingEmptySubsequences: true).compactMap { line in
                let l = line.hasSuffix("\r") ? line.dropLast() : line[...]
                if l.hasPrefix("#version") { return nil }
                let parts = l.split(separator: " ", omittingEmptySubsequences: false)
                return parts.count == 2 ? (String(parts[0]), String(parts[1])) : nil
            }
        }
        let root = try JSONReader.parse(bytes, file: t.source)
        guard let items = root["model"]?["merges"]?.arrayValue else { return [] }
        return items.compactMap { item in
            if let line = item.stringValue {
                if line.hasPrefix("#version") { return nil }
                let parts = line.split(separator: " ", omittingEmptySubsequences: false)
                return parts.count == 2 ? (String(parts[0]), String(parts[1])) : nil
            }
            if let pair = item.arrayValue, pair.count == 2, let a = pair[0].stringValue, let b = pair[1].stringValue { return (a, b) }
            return nil
        }
    }

    /// Pads the token list to `count` with "[PADn]" tokens of type unused (the converter's padding).
    mutating func pad(to count: Int, score: Float) {
        for id in tokens.count..<max(count, tokens.count) {
            tokens.append("[PAD\(id)]")
            tokenTypes.append(.unused)
            scores?.append(score)
        }
    }
}

/// The pad token and chat template from the tokenizer_config.json (or chat_template.jinja) beside a tokenizer file.
struct TokenizerSettings {
    var padToken: String?
    var chatTemplate: String?

    init(near file: String) {
        let dir = (file as NSString).deletingLastPathComponent
        let configPath = ((dir.isEmpty ? "." : dir) as NSString).appendingPathComponent("tokenizer_config.json")
        if let data = FileManager.default.contents(atPath: configPath),
           let root = try? JSONReader.parse([UInt8](data), file: configPath) {
            padToken = root["pad_token"]?.stringValue ?? root["pad_token"]?["content"]?.stringValue
            chatTemplate = root["chat_template"]?.stringValue
        }
        let jinja = ((dir.isEmpty ? "." : dir) as NSString).appendingPathComponent("chat_template.jinja")
        if chatTemplate == nil, let data = FileManager.default.contents(atPath: jinja) {
            chatTemplate = String(decoding: data, as: UTF8.self)
        }
    }
}
