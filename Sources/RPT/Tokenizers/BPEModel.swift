// The `model` of a Hugging Face tokenizer.json with type BPE (tokenizers `models/bpe/model.rs`): vocab, merges
// ranked by their order, unk_token / fuse_unk, byte_fallback (<0xXX> tokens for characters outside the vocab) and
// ignore_merges. `tokenize` follows merge_word: one symbol per character (per byte for byte-level text), then the
// rank-ordered merge loop.

struct BPEModel: Sendable {
    let vocab: ExactStringDictionary<Int32>
    /// Token strings by id (nil for ids the vocabulary skips).
    let tokens: [String?]
    let merges: BPEMerges
    let unkId: Int32?
    let fuseUnk: Bool
    let byteFallback: Bool
    let ignoreMerges: Bool
    /// For byte-level text: the id of the byte-level character standing for each byte, or -1.
    let byteLevelIds: [Int32]
    /// The ids of the tokens <0x00>...<0xFF>, -1 where missing.
    let byteFallbackIds: [Int32]

    /// Ids above this are rejected as corrupt (the largest real vocabularies have ~262k entries).
    static let maxId = 4_194_303

    init(json: JSONValue, file: String) throws {
        if let type = json["type"]?.stringValue, type != "BPE" {
            throw RPTError("unknown tokenizer model type \"\(type)\" (only BPE is supported)", file: file)
        }
        guard let vocabObject = json["vocab"]?.objectValue else {
            throw RPTError(json["vocab"] == nil ? "model has no \"vocab\"" : "model \"vocab\" is not an object", file: file)
        }
        guard let mergeItems = json["merges"]?.arrayValue else {
            throw RPTError(json["merges"] == nil ? "BPE model has no \"merges\"" : "BPE model \"merges\" is not an array", file: file)
        }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let v = json[key]?.stringValue, !v.isEmpty {
                throw RPTError("unsupported BPE option \(key) \(v.debugDescription)", file: file)
            }
        }
        if let d = json["dropout"]?.doubleValue, d > 0 {
            throw RPTError("unsupported BPE option dropout \(d) (encoding would be random)", file: file)
        }

        var vocab = ExactStringDictionary<Int32>()
        vocab.reserveCapacity(vocabObject.count)
        var maxSeen = -1
        for (token, value) in zip(vocabObject.keys, vocabObject.values) {
            guard let id = value.intValue, id >= 0, id <= BPEModel.maxId else {
                throw RPTError("vocab entry \(token.debugDescription) has an invalid id", file: file)
            }
            vocab[token] = Int32(id)
            maxSeen = max(maxSeen, id)
        }
        var tokens = [String?](repeating: nil, count: maxSeen + 1)
        for (token, id) in vocab.entries { tokens[Int(id)] = token }

        var merges = BPEMerges(capacity: mergeItems.count)
        var rank: UInt32 = 0
        for (index, item) in mergeItems.enumerated() {
            let left: String, right: String
            if let line = item.stringValue {
                if line.hasPrefix("#version") { continue }
                let parts = line.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else {
                    throw RPTError("invalid merge #\(index + 1) \(line.debugDescription): expected two tokens separated by one space",
                                   file: file)
                }
                left = String(parts[0]); right = String(parts[1])
            } else if let pair = item.arrayValue, pair.count == 2, let a = pair[0].stringValue, let b = pair[1].stringValue {
                left = a; right = b
            } else {
                throw RPTError("invalid merge #\(index + 1): expected \"a b\" or [\"a\", \"b\"]", file: file)
            }
            guard let l = vocab[left], let r = vocab[right] else {
                throw RPTError("invalid merge #\(index + 1) (\(left.debugDescription), \(right.debugDescription)): "
                               + "\((vocab[left] == nil ? left : right).debugDescription) is not in the vocabulary", file: file)
            }
            guard let m = vocab[left + right] else {
                throw RPTError("invalid merge #\(index + 1): the merged token \((left + right).debugDescription) is not in the vocabulary",
                               file: file)
            }
            merges.add(left: l, right: r, priority: rank, merged: m)
            rank += 1
        }

        var unkId: Int32? = nil
        if let unk = json["unk_token"]?.stringValue {
            guard let id = vocab[unk] else { throw RPTError("unk_token \(unk.debugDescription) is not in the vocabulary", file: file) }
            unkId = id
        }
        self.vocab = vocab
        self.tokens = tokens
        self.merges = merges
        self.unkId = unkId
        self.fuseUnk = json["fuse_unk"]?.boolValue ?? false
        self.byteFallback = json["byte_fallback"]?.boolValue ?? false
        self.ignoreMerges = json["ignore_merges"]?.boolValue ?? false
        self.byteLevelIds = ByteLevelAlphabet.scalarForByte.map { vocab[String(Character($0))] ?? -1 }
        self.byteFallbackIds = (0..<256).map { vocab[BPEModel.byteFallbackToken(UInt8($0))] ?? -1 }
    }

    static func byteFallbackToken(_ b: UInt8) -> String {
        let hex = String(b, radix: 16, uppercase: true)
        return "<0x" + (hex.count == 1 ? "0" + hex : hex) + ">"
    }

    /// Tokenizes one pre-tokenized piece, appending ids to `out`. `byteLevel` says the piece is raw bytes that the
    /// ByteLevel pre-tokenizer maps to its alphabet (one symbol per byte) rather than text (one symbol per scalar).
    func tokenize(_ piece: ArraySlice<UInt8>, byteLevel: Bool, into out: inout [Int32]) {
        if piece.isEmpty { return }
        if ignoreMerges {
            let key = byteLevel ? ByteLevelAlphabet.string(of: piece) : String(decoding: piece, as: UTF8.self)
            if let id = vocab[key] { out.append(id); return }
        }
        var symbols: [Int32] = []
        symbols.reserveCapacity(piece.count)
        var pendingUnk = false
        if byteLevel {
            for b in piece {
                let id = byteLevelIds[Int(b)]
                if id >= 0 {
                    if pendingUnk, let u = unkId { symbols.append(u); pendingUnk = false }
                    symbols.append(id)
                } else {
                    addUnknown(String(Character(ByteLevelAlphabet.scalarForByte[Int(b)])), &symbols, &pendingUnk)
                }
            }
        } else {
            for scalar in String(decoding: piece, as: UTF8.self).unicodeScalars {
                let ch = String(Character(scalar))
                if let id = vocab[ch] {
                    if pendingUnk, let u = unkId { symbols.append(u); pendingUnk = false }
                    symbols.append(id)
                } else {
                    addUnknown(ch, &symbols, &pendingUnk)
                }
            }
        }
        if pendingUnk, let u = unkId { symbols.append(u) }
        merges.apply(&symbols)
        out.append(contentsOf: symbols)
    }

    /// A character outside the vocabulary: its <0xXX> byte tokens with byte_fallback, else unk (consecutive unks
    /// fused into one with fuse_unk), else nothing. As in tokenizers, a pending unk is emitted only before the next
    /// known character, so byte-fallback tokens can precede it.
    private func addUnknown(_ ch: String, _ symbols: inout [Int32], _ pendingUnk: inout Bool) {
        if byteFallback && ch.utf8.allSatisfy({ byteFallbackIds[Int($0)] >= 0 }) {
            for b in ch.utf8 { symbols.append(byteFallbackIds[Int(b)]) }
            return
        }
        guard let u = unkId else { return }
        if pendingUnk && !fuseUnk { symbols.append(u) }
        pendingUnk = true
    }
}
