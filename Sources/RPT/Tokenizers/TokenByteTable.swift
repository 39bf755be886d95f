// The raw bytes of every token id, stored flat (one buffer plus offsets) so that `tokenBytes` is a slice copy.
// RPT's prefix-matching reward compares bytes, so these must be exact:
//   byte-level BPE (ByteLevel decoder): the byte-level alphabet mapped back to bytes (a token with a scalar outside
//     the alphabet, e.g. a non-ASCII added token, gives its own UTF-8, as tokenizers' ByteLevel decoder does);
//   SentencePiece-style BPE: <0xXX> → that byte, '▁' → ' ' (through the decoder's Replace / Metaspace steps).

struct TokenByteTable: Sendable {
    private var storage: [UInt8] = []
    private var offsets: [Int] = [0]

    /// Builds the table for ids 0..<count; `bytesFor` returns nil for ids without a token (they get no bytes).
    init(count: Int, _ bytesFor: (Int) -> [UInt8]?) {
        offsets.reserveCapacity(count + 1)
        for id in 0..<count {
            if let b = bytesFor(id) { storage.append(contentsOf: b) }
            offsets.append(storage.count)
        }
    }

    func bytes(_ id: Int) -> [UInt8] {
        guard id >= 0 && id < offsets.count - 1 else { return [] }
        return Array(storage[offsets[id]..<offsets[id + 1]])
    }

    /// The bytes one token string stands for under a tokenizer.json decoder.
    static func bytes(ofToken token: String, decoder: [DecoderStep]) -> [UInt8] {
        if decoder.contains(.byteLevel) { return ByteLevelAlphabet.bytes(of: token) ?? Array(token.utf8) }
        if decoder.contains(.byteFallback), let b = Decoding.byteFallbackValue(token) { return [b] }
        var bytes = Array(token.utf8)
        for step in decoder {
            switch step {
            case .replace(let pattern, let content):
                if let r = Normalization.replace(bytes[...], Array(pattern.utf8), Array(content.utf8)) { bytes = r }
            case .metaspace(let replacement, _):
                if let r = Normalization.replace(bytes[...], Array(String(Character(replacement)).utf8), [0x20]) { bytes = r }
            default:
                break
            }
        }
        return bytes
    }
}
