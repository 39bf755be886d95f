// A batch for training: variable-length sequences packed one after another (no padding). Position j
// of a sequence predicts token j+1 of the same sequence; the last position of each sequence predicts
// nothing. The loss is any weighted sum of the predicted tokens' log-probabilities, given to the
// backward pass as dLoss/dlogp per position — cross-entropy, SFT on completions only, and policy
// gradients with per-token advantages all take this one path.
//
// Shared prefixes (the GRPO update: G responses to one prompt): a sequence may continue a `parent` sequence of
// the batch. Its positions then start after the parent's, and its attention sees every row of the parent and its
// own rows causally — exactly the attention of parent + sequence written out whole, with the parent's rows
// computed once for all its continuations instead of once per continuation.

public struct TrainingBatch: Sendable {
    /// All tokens, sequence after sequence.
    public var tokens: [Int]
    /// Length of each sequence.
    public var lengths: [Int]
    /// For every position, the next token of its sequence, or -1 at a sequence's last position.
    public var targets: [Int]
    /// For every sequence, the earlier sequence it continues (a shared prefix without a parent of its own), or nil.
    public var parents: [Int?]

    public init(sequences: [[Int]]) {
        tokens = sequences.flatMap { $0 }
        lengths = sequences.map(\.count)
        parents = Array(repeating: nil, count: sequences.count)
        targets = []
        targets.reserveCapacity(tokens.count)
        for s in sequences {
            for j in 0..<s.count { targets.append(j + 1 < s.count ? s[j + 1] : -1) }
        }
    }

    /// Groups of sequences sharing a prefix: each group is its prefix (a sequence) followed by its continuations,
    /// each continuing the prefix. A group's prefix must be non-empty; its last position predicts nothing (the
    /// continuations differ), so a continuation usually starts with the prefix's would-be last token.
    public init(sharedPrefixes groups: [(prefix: [Int], continuations: [[Int]])]) throws {
        var sequences: [[Int]] = [], parents: [Int?] = []
        for g in groups {
            guard !g.prefix.isEmpty else { throw RPTError("a shared prefix must hold at least one token") }
            let root = sequences.count
            sequences.append(g.prefix); parents.append(nil)
            for c in g.continuations {
                guard !c.isEmpty else { throw RPTError("a continuation of a shared prefix must hold at least one token") }
                sequences.append(c); parents.append(root)
            }
        }
        self.init(sequences: sequences)
        self.parents = parents
    }

    public var count: Int { tokens.count }

    /// Position (RoPE index) of the first row of each sequence: 0, or its parent's length.
    public var firstPositions: [Int] { parents.map { $0.map { lengths[$0] } ?? 0 } }

    /// Start offset of every sequence in the packed arrays.
    public var starts: [Int] {
        var out: [Int] = [], o = 0
        for l in lengths { out.append(o); o += l }
        return out
    }

    /// Per-position weights from per-sequence masks over predicted positions (mask i has length L_i − 1),
    /// laid out like `targets` (0 at each sequence's last position).
    public func packed(_ perSequence: [[Float]]) -> [Float] {
        var out: [Float] = []
        out.reserveCapacity(tokens.count)
        for (i, l) in lengths.enumerated() {
            precondition(perSequence[i].count == max(l - 1, 0), "mask \(i) has \(perSequence[i].count) entries, expected \(l - 1)")
            out += perSequence[i]
            if l > 0 { out.append(0) }
        }
        return out
    }
}
