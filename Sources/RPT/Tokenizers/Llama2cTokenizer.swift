// karpathy/llama2.c `tokenizer.bin` (written by its tokenizer.py export; read by run.c build_tokenizer):
//   int32 max_token_length, then for each token: float32 score, int32 byte length, the piece's bytes
// (little-endian; the vocabulary size is the number of records). Pieces are SentencePiece pieces with '▁' already
// written as ' '; ids 0, 1, 2 are <unk>, BOS ("\n<s>\n"), EOS ("\n</s>\n"); ids 3...258 are <0x00>...<0xFF>.
//
// Encoding is run.c `encode(text, bos=0, eos=0)`: a dummy-prefix " " token when the text is non-empty, one token per
// UTF-8 code point (byte fallback id = byte + 3 when the code point is not a piece), then repeatedly merge the
// adjacent pair whose concatenation is the highest-scoring piece (leftmost on ties). Decoding is run.c `decode`:
// a piece after BOS loses its leading space, and <0xXX> pieces are raw bytes.

import Foundation

public struct Llama2cTokenizer: Tokenizer {
    public let source: String
    public let maxTokenLength: Int
    /// Piece bytes and scores by id, as stored in the file.
    public let pieces: [[UInt8]]
    public let scores: [Float]
    public var vocabSize: Int { pieces.count }
    public let bosTokenId: Int? = 1
    public let eosTokenIds: [Int] = [2]

    /// Piece (as a string; pieces are valid UTF-8) → lowest id with that piece.
    let lookup: ExactStringDictionary<Int32>
    let merges: BPEMerges
    let dummyPrefixId: Int32

    public init(path: String) throws {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw RPTError("cannot read llama2.c tokenizer: \(error.localizedDescription)", file: path)
        }
        try self.init(bytes: [UInt8](data), file: path)
    }

    init(bytes: [UInt8], file: String) throws {
        func int32(at o: Int) -> Int32 {
            Int32(bitPattern: UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24)
        }
        guard bytes.count >= 4 else { throw RPTError("truncated llama2.c tokenizer: no max_token_length header", file: file) }
        let maxLen = Int(int32(at: 0))
        guard maxLen > 0 && maxLen < 1 << 20 else {
            throw RPTError("not a llama2.c tokenizer: max_token_length \(maxLen) is implausible", file: file)
        }
        var pieces: [[UInt8]] = []
        var scores: [Float] = []
        var off = 4
        while off < bytes.count {
            guard off + 8 <= bytes.count else {
                throw RPTError("truncated llama2.c tokenizer: token \(pieces.count) header cut off at byte \(off)", file: file)
            }
            let score = Float(bitPattern: UInt32(bitPattern: int32(at: off)))
            // A NaN or infinite score would silently change which merges apply (run.c compares scores).
            guard score.isFinite else {
                throw RPTError("corrupt llama2.c tokenizer: token \(pieces.count) has a non-finite score (\(score))", file: file)
            }
            let len = Int(int32(at: off + 4))
            off += 8
            guard len >= 0 && len <= maxLen * 4 + 16 else {
                throw RPTError("not a llama2.c tokenizer: token \(pieces.count) has length \(len)", file: file)
            }
            guard off + len <= bytes.count else {
                throw RPTError("truncated llama2.c tokenizer: token \(pieces.count) needs \(len) bytes, file ends at \(bytes.count)",
                               file: file)
            }
            pieces.append(Array(bytes[off..<(off + len)]))
            scores.append(score)
            off += len
        }
        guard pieces.count >= 259 else {
            throw RPTError("llama2.c tokenizer has \(pieces.count) tokens; expected at least 259 (<unk>, <s>, </s>, 256 bytes)", file: file)
        }
        for b in 0..<256 where pieces[3 + b] != Array(BPEModel.byteFallbackToken(UInt8(b)).utf8) {
            throw RPTError("llama2.c tokenizer: token \(3 + b) should be the byte-fallback piece \(BPEModel.byteFallbackToken(UInt8(b)))",
                           file: file)
        }
        var lookup = ExactStringDictionary<Int32>()
        for (id, p) in pieces.enumerated() {
            let s = String(decoding: p, as: UTF8.self)
            if lookup[s] == nil { lookup[s] = Int32(id) }
        }
        guard let space = lookup[" "] else { throw RPTError("llama2.c tokenizer has no \" \" piece for the dummy prefix", file: file) }

        // Every split of a piece into two pieces is a merge. Priority: dense rank of the merged piece's score,
        // highest first, so that equal scores tie and the leftmost pair wins (run.c uses a strict `>`).
        // run.c never merges into a piece scoring <= -1e10 (its initial best score); NaN and ±Inf were refused above.
        let distinct = Array(Set(scores.filter { $0 > -1e10 })).sorted(by: >)
        var rankOfScore: [Float: UInt32] = [:]
        for (r, s) in distinct.enumerated() { rankOfScore[s] = UInt32(r) }
        var merges = BPEMerges()
        for (id, p) in pieces.enumerated() where p.count >= 2 {
            guard let rank = rankOfScore[scores[id]], lookup[String(decoding: p, as: UTF8.self)] == Int32(id) else { continue }
            for k in 1..<p.count {
                guard let l = String(validating: p[..<k], as: UTF8.self), let r = String(validating: p[k...], as: UTF8.self),
                      let li = lookup[l], let ri = lookup[r] else { continue }
                merges.add(left: li, right: ri, priority: rank, merged: Int32(id))
            }
        }
        self.source = file
        self.maxTokenLength = maxLen
        self.pieces = pieces
        self.scores = scores
        self.lookup = lookup
        self.merges = merges
        self.dummyPrefixId = space
    }

    public func encode(_ text: String) -> [Int] {
        if text.isEmpty { return [] }
        var ids: [Int32] = [dummyPrefixId]
        ids.reserveCapacity(text.utf8.count + 1)
        for scalar in text.unicodeScalars {
            if let id = lookup[String(Character(scalar))] {
                ids.append(id)
            } else {
                for b in String(Character(scalar)).utf8 { ids.append(Int32(b) + 3) }
            }
        }
        merges.apply(&ids)
        return ids.map { Int($0) }
    }

    /// The piece's bytes; <0xXX> pieces are that byte. BOS/EOS give their pieces as stored ("\n<s>\n", "\n</s>\n").
    public func tokenBytes(_ id: Int) -> [UInt8] {
        guard id >= 0 && id < pieces.count else { return [] }
        if id >= 3 && id < 259 { return [UInt8(id - 3)] }
        return pieces[id]
    }

    /// run.c `decode` over the sequence: a piece following BOS (id 1) drops one leading space. Unknown ids are skipped.
    public func decode(_ ids: [Int]) -> String {
        var bytes: [UInt8] = []
        var prev = -1
        for id in ids where id >= 0 && id < pieces.count {
            var piece = tokenBytes(id)
            if prev == 1 && piece.first == 0x20 { piece.removeFirst() }
            bytes.append(contentsOf: piece)
            prev = id
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A piece written as text (' ' for '▁'); "<s>" and "</s>" also name BOS and EOS.
    public func tokenId(_ token: String) -> Int? {
        if let id = lookup[token] { return Int(id) }
        switch token {
        case "<s>": return 1
        case "</s>": return 2
        default: return nil
        }
    }

    public func isSpecial(_ id: Int) -> Bool { id >= 0 && id < 3 }
}
