// Alignment between two tokenizations of the same document bytes (RPT §3.3's proxy entropy applied to the
// policy's positions): policy token t takes the value of the other tokenizer's token that starts at the same
// byte offset. Only tokens with at least one byte take part (BOS and zero-length tokens never align).
// Identical tokenizers give the identity map.

public struct TokenAlignment: Sendable, Equatable {
    /// For each policy token index, the index of the other tokenization's token starting at the same byte,
    /// or nil when no such token exists.
    public var otherIndex: [Int?]

    public init(policy: TokenByteSpans, other: TokenByteSpans) {
        var byStart: [Int: Int] = [:]
        for j in 0..<other.count where other.ends[j] > other.starts[j] {
            if byStart[other.starts[j]] == nil { byStart[other.starts[j]] = j }
        }
        otherIndex = (0..<policy.count).map { t in
            policy.ends[t] > policy.starts[t] ? byStart[policy.starts[t]] : nil
        }
    }
}
