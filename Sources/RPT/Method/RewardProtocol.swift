// The reward interface of RPT (§3.2 Eq. 3 and App. A; docs/method.md §3): a reward scores the G rollouts of
// one context together, because the conditional dense reward (App. A) depends on the whole group. Users add
// their own rewards by conforming to `RPTReward`; config files name the built-in ones with `RewardKind`.
// Format failures (AnswerFailure) always score 0 (or a reward's fallback) and are tallied for metrics.

/// What a reward sees of one rollout of a context.
public struct RewardInput {
    /// The prediction extracted from the rollout, or why there is none.
    public var answer: ExtractedAnswer
    /// The ground-truth continuation x_{≥t} as bytes, over a horizon of N tokens.
    public var continuationBytes: [UInt8]
    /// L_gt: cumulative byte lengths of the horizon's tokens (|bytes(x_t)|, |bytes(x_t x_{t+1})|, …).
    public var boundaries: [Int]
    /// The ground-truth next token x_t.
    public var nextTokenId: Int
    /// P(id | x_{<t}) under the model, supplied by the trainer for the dense rewards.
    public var probabilityOfToken: ((Int) -> Float)?
    /// The policy tokenizer, used to tokenize predictions (first-token and dense rewards).
    public var tokenizer: (any Tokenizer)?
    /// The whole response text (for rewards computed by another program, ExternalReward).
    public var response: String?

    public init(answer: ExtractedAnswer, continuationBytes: [UInt8], boundaries: [Int], nextTokenId: Int,
                probabilityOfToken: ((Int) -> Float)? = nil, tokenizer: (any Tokenizer)? = nil, response: String? = nil) {
        self.answer = answer
        self.continuationBytes = continuationBytes
        self.boundaries = boundaries
        self.nextTokenId = nextTokenId
        self.probabilityOfToken = probabilityOfToken
        self.tokenizer = tokenizer
        self.response = response
    }

    /// The first token of the prediction under the policy tokenizer (nil on failure, an empty prediction,
    /// or no tokenizer). The prediction is encoded on its own, as App. A's y_t^i[0].
    public var firstPredictedToken: Int? {
        guard let prediction = answer.prediction, !prediction.isEmpty, let tokenizer else { return nil }
        return tokenizer.encode(prediction).first
    }
}

/// A reward over the G rollouts of one context: one value per rollout, in order.
public protocol RPTReward: Sendable {
    var name: String { get }
    func rewards(_ group: [RewardInput]) -> [Float]
}

/// A reward that scores every rollout on its own.
public protocol PerRolloutReward: RPTReward {
    func reward(_ input: RewardInput) -> Float
}

extension PerRolloutReward {
    public func rewards(_ group: [RewardInput]) -> [Float] { group.map(reward) }
}

/// The built-in rewards, by the names config files use.
public enum RewardKind: String, Codable, Sendable, CaseIterable {
    case prefix
    case firstToken
    case dense
    case conditionalDense

    /// The reward; `conditionalFallback` is the value every rollout of an all-wrong group gets under
    /// `.conditionalDense` (ignored by the others).
    public func makeReward(conditionalFallback: Float = 0) -> any RPTReward {
        switch self {
        case .prefix: return PrefixMatchReward()
        case .firstToken: return FirstTokenReward()
        case .dense: return DenseReward()
        case .conditionalDense: return ConditionalDenseReward(fallback: conditionalFallback)
        }
    }
}

/// Counts of extracted answers by outcome, for metrics.
public struct AnswerOutcomeTally: Sendable, Equatable {
    /// Rollouts with a prediction.
    public var answered = 0
    /// Rollouts without one, by reason.
    public var failures: [AnswerFailure: Int] = [:]

    public init() {}

    public init(_ answers: [ExtractedAnswer]) {
        for a in answers { add(a) }
    }

    public init(_ inputs: [RewardInput]) {
        self.init(inputs.map(\.answer))
    }

    public mutating func add(_ answer: ExtractedAnswer) {
        switch answer {
        case .answer: answered += 1
        case .failure(let reason): failures[reason, default: 0] += 1
        }
    }

    public mutating func merge(_ other: AnswerOutcomeTally) {
        answered += other.answered
        for (reason, n) in other.failures { failures[reason, default: 0] += n }
    }

    public var total: Int { answered + failures.values.reduce(0, +) }
    public var failed: Int { total - answered }

    /// "answered", "failed" and one "failure_<reason>" entry per reason (zeros included), for a metrics record.
    public var metrics: [String: Int] {
        var out = ["answered": answered, "failed": failed]
        for reason in AnswerFailure.allCases { out["failure_\(reason.rawValue)"] = failures[reason, default: 0] }
        return out
    }
}
