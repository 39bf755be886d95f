// A batch for training: variable-length sequences packed one after another (no padding). Position j
// of a sequence predicts token j+1 of the same sequence; the last position of each sequence predicts
// nothing. The loss is any weighted sum of the predicted tokens' log-probabilities, given to the
// backward pass as dLoss/dlogp per position — cross-entropy, SFT on completions only, and policy
// gradients with per-token advantages all take this one path.

public struct TrainingBatch: Sendable {
    /// All tokens, sequence after sequence.
    public var tokens: [Int]
    /// Length of each sequence.
    public var lengths: [Int]
    /// For every position, the next token of its sequence, or -1 at a sequence's last position.
    public var targets: [Int]

    public init(sequences: [[Int]]) {
        tokens = sequences.flatMap { $0 }
        lengths = sequences.map(\.count)
        targets = []
        targets.reserveCapacity(tokens.count)
        for s in sequences {
            for j in 0..<s.count { targets.append(j + 1 < s.count ? s[j + 1] : -1) }
        }
    }

    public var count: Int { tokens.count }

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
