// The alternative rewards of RPT App. A (docs/method.md §3.4), all on the FIRST token of the prediction as
// the policy tokenizer encodes it on its own (y_t^i[0]):
//   first-token   1 when y[0] = x_t, else 0.
//   dense         1 when y[0] = x_t, else P(y[0] | x_{<t}) from the trainer's probability closure
//                 (docs/method.md §3.5: the policy's direct next-token distribution on the raw context).
//   conditional   the dense reward in groups with at least one correct rollout (y[0] = x_t); every rollout of
//                 an all-wrong group gets a fallback (default 0; the paper also names "a uniform small penalty").
// A format failure, an empty prediction or a missing tokenizer gives 0.
// With a SentencePiece dummy-prefix tokenizer the prediction's own encoding gains a leading "▁"; these rewards
// then compare that encoding as it is (byte-level BPE, e.g. Qwen, has no such prefix).

/// App. A first-token matching: only whether the prediction's first token is x_t.
public struct FirstTokenReward: PerRolloutReward {
    public init() {}

    public var name: String { "firstToken" }

    public func reward(_ input: RewardInput) -> Float {
        input.firstPredictedToken == input.nextTokenId ? 1 : 0
    }
}

/// App. A dense reward: 1 for a correct first token, else the model's probability of the predicted first token.
public struct DenseReward: PerRolloutReward {
    public init() {}

    public var name: String { "dense" }

    public func reward(_ input: RewardInput) -> Float {
        guard let first = input.firstPredictedToken else { return 0 }
        if first == input.nextTokenId { return 1 }
        guard let p = input.probabilityOfToken?(first), p.isFinite else { return 0 }
        return min(1, max(0, p))
    }
}

/// App. A conditional dense reward: dense rewards only in groups where some rollout's first token is correct.
public struct ConditionalDenseReward: RPTReward {
    /// What every rollout of a group with no correct rollout gets.
    public var fallback: Float

    public init(fallback: Float = 0) {
        self.fallback = fallback
    }

    public var name: String { "conditionalDense" }

    public func rewards(_ group: [RewardInput]) -> [Float] {
        let anyCorrect = group.contains { $0.firstPredictedToken == $0.nextTokenId }
        guard anyCorrect else { return Array(repeating: fallback, count: group.count) }
        return DenseReward().rewards(group)
    }
}
