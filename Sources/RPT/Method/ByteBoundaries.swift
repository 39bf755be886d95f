// Byte spans of a document's tokens (RPT §3.2, docs/method.md §3.3): the reward compares bytes and ends on
// ground-truth token boundaries, so every token needs its exact byte range in the document, computed from
// cumulative `tokenBytes` lengths (never from decoded strings, which turn split UTF-8 characters into U+FFFD).
//
// A leading BOS covers no document bytes. A SentencePiece dummy prefix (the token bytes spell " " + text)
// shifts every offset by one; the first token's leading space is not part of the document, so its span
// starts at byte 0.

/// The byte range in the document of each token of `ids` (BOS, when present, spans 0..<0).
public struct TokenByteSpans: Sendable, Equatable {
    /// Start byte offset of token i in the document.
    public var starts: [Int]
    /// End byte offset (exclusive) of token i in the document.
    public var ends: [Int]
    /// 1 when the tokenizer added a dummy-prefix space before the document, else 0.
    public var dummyPrefix: Int

    public var count: Int { starts.count }

    /// Spans of `ids` (optionally starting with BOS) over `document`; nil when the token bytes do not spell
    /// the document (or " " + document) exactly.
    public init?(tokenizer: any Tokenizer, ids: [Int], hasBOS: Bool, document: [UInt8]) {
        var cumulative: [Int] = [0]
        cumulative.reserveCapacity(ids.count + 1)
        var produced: [UInt8] = []
        produced.reserveCapacity(document.count + 1)
        for (i, id) in ids.enumerated() {
            if i == 0 && hasBOS { cumulative.append(0); continue }
            let b = tokenizer.tokenBytes(id)
            produced.append(contentsOf: b)
            cumulative.append(produced.count)
        }
        let shift: Int
        if produced == document {
            shift = 0
        } else if produced.count == document.count + 1, produced.first == 0x20, produced.dropFirst().elementsEqual(document) {
            shift = 1
        } else {
            return nil
        }
        dummyPrefix = shift
        starts = (0..<ids.count).map { max(0, cumulative[$0] - shift) }
        ends = (0..<ids.count).map { max(0, cumulative[$0 + 1] - shift) }
    }

    /// The cumulative byte lengths, measured from the start of token t, of tokens t..<t+horizon (clipped to
    /// the document): the boundary set L_gt of the prefix-matching reward.
    public func boundaries(from t: Int, horizon: Int) -> [Int] {
        let end = min(count, t + horizon)
        return (t..<end).map { ends[$0] - starts[t] }
    }

    /// The byte range of tokens t..<t+horizon in the document.
    public func continuationRange(from t: Int, horizon: Int) -> Range<Int> {
        let last = min(count, t + horizon) - 1
        return starts[t]..<ends[max(t, last)]
    }
}

extension Tokenizer {
    /// The ids of a document as positions are defined on them: BOS (when the tokenizer has one) + encode(text).
    public func documentIds(_ text: String) -> (ids: [Int], hasBOS: Bool) {
        var ids: [Int] = []
        if let bos = bosTokenId { ids.append(bos) }
        ids += encode(text)
        return (ids, bosTokenId != nil)
    }
}

/// NFC normalisation with the standard library (as the tokenizers' NFC normalizer does), so every
/// tokenizer sees the same document bytes.
public func nfcNormalized(_ text: String) -> String {
    String(decoding: Array(text._nfcCodeUnits), as: UTF8.self)
}
