// The lines of a run's JSONL files, one Codable type each for the writer and every reader: RUN/metrics.jsonl of
// `rpt pretrain` (PretrainMetricsLine) and of `rpt train` (TrainMetricsLine), and RUN/completions.jsonl of
// `rpt train` (CompletionLine). Field names are snake case, as TRL and verl log them; non-finite numbers are
// written as null (JSON.encoding). Readers that plot every numeric column (RunMetrics, `rpt tensorboard`) name
// the columns they single out through these types' keys.

import Foundation

/// One optimizer step of `rpt pretrain` (next-token or SFT loss).
public struct PretrainMetricsLine: Codable, Equatable, Sendable {
    public var step: Int
    public var loss: Double
    public var lr: Double
    public var gradNorm: Double
    /// Tokens trained on in this step.
    public var tokens: Int
    public var tokensPerSecond: Double
    public var elapsedSeconds: Double
    /// Cumulative training FLOPs (6N per trained token).
    public var flops: Double
    /// Validation loss, on the steps that evaluate.
    public var valLoss: Double?

    public enum CodingKeys: String, CodingKey {
        case step, loss, lr, gradNorm = "grad_norm", tokens, tokensPerSecond = "tokens_per_s", elapsedSeconds = "elapsed_s", flops
        case valLoss = "val_loss"
    }
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        // Non-finite numbers were written as null.
        func number(_ k: CodingKeys) throws -> Double { try c.decodeIfPresent(Double.self, forKey: k) ?? .nan }
        step = try c.decode(Int.self, forKey: .step)
        tokens = try c.decode(Int.self, forKey: .tokens)
        loss = try number(.loss); lr = try number(.lr); gradNorm = try number(.gradNorm)
        tokensPerSecond = try number(.tokensPerSecond); elapsedSeconds = try number(.elapsedSeconds); flops = try number(.flops)
        valLoss = try c.decodeIfPresent(Double.self, forKey: .valLoss)
    }
    public init(step: Int, loss: Double, lr: Double, gradNorm: Double, tokens: Int, tokensPerSecond: Double, elapsedSeconds: Double,
                flops: Double, valLoss: Double? = nil) {
        self.step = step; self.loss = loss; self.lr = lr; self.gradNorm = gradNorm; self.tokens = tokens
        self.tokensPerSecond = tokensPerSecond; self.elapsedSeconds = elapsedSeconds; self.flops = flops; self.valLoss = valLoss
    }
}

/// One GRPO step of `rpt train`. `answers` are the answer-outcome counts of the step's rollouts (AnswerOutcomeTally),
/// written as `answers_<outcome>` fields.
public struct TrainMetricsLine: Codable, Equatable, Sendable {
    public var step: Int
    public var rewardMean: Double
    /// Share of the step's rollouts with reward 1.
    public var accuracy: Double
    /// Share of groups dropped by dynamic sampling (all rewards equal).
    public var groupsDroppedFraction: Double
    public var responseLength: Double
    public var clipFraction: Double
    public var kl: Double
    public var entropy: Double
    public var gradNorm: Double
    public var loss: Double
    public var lr: Double
    /// Cumulative training FLOPs (rollouts and update).
    public var flops: Double
    public var rolloutTokensPerSecond: Double
    public var rolloutSeconds: Double
    public var updateSeconds: Double
    public var formatFailures: Int
    public var answers: [String: Int] = [:]
    /// A stalled learning signal (LearningSignalMonitor), on the step that noticed it.
    public var warning: String?
    public var warningKind: String?

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case step, rewardMean = "reward_mean", accuracy, groupsDroppedFraction = "groups_dropped_fraction"
        case responseLength = "response_length", clipFraction = "clip_fraction", kl, entropy, gradNorm = "grad_norm", loss, lr, flops
        case rolloutTokensPerSecond = "rollout_tokens_per_s", rolloutSeconds = "rollout_s", updateSeconds = "update_s"
        case formatFailures = "format_failures", warning, warningKind = "warning_kind"
    }
    public static let answersPrefix = "answers_"

    public init(step: Int, rewardMean: Double, accuracy: Double, groupsDroppedFraction: Double, responseLength: Double,
                clipFraction: Double, kl: Double, entropy: Double, gradNorm: Double, loss: Double, lr: Double, flops: Double,
                rolloutTokensPerSecond: Double, rolloutSeconds: Double, updateSeconds: Double, formatFailures: Int) {
        self.step = step; self.rewardMean = rewardMean; self.accuracy = accuracy; self.groupsDroppedFraction = groupsDroppedFraction
        self.responseLength = responseLength; self.clipFraction = clipFraction; self.kl = kl; self.entropy = entropy
        self.gradNorm = gradNorm; self.loss = loss; self.lr = lr; self.flops = flops
        self.rolloutTokensPerSecond = rolloutTokensPerSecond; self.rolloutSeconds = rolloutSeconds; self.updateSeconds = updateSeconds
        self.formatFailures = formatFailures
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func number(_ k: CodingKeys) throws -> Double { try c.decodeIfPresent(Double.self, forKey: k) ?? .nan }
        step = try c.decode(Int.self, forKey: .step)
        rewardMean = try number(.rewardMean); accuracy = try number(.accuracy); groupsDroppedFraction = try number(.groupsDroppedFraction)
        responseLength = try number(.responseLength); clipFraction = try number(.clipFraction); kl = try number(.kl)
        entropy = try number(.entropy); gradNorm = try number(.gradNorm); loss = try number(.loss); lr = try number(.lr)
        flops = try number(.flops); rolloutTokensPerSecond = try number(.rolloutTokensPerSecond)
        rolloutSeconds = try number(.rolloutSeconds); updateSeconds = try number(.updateSeconds)
        formatFailures = try c.decode(Int.self, forKey: .formatFailures)
        warning = try c.decodeIfPresent(String.self, forKey: .warning)
        warningKind = try c.decodeIfPresent(String.self, forKey: .warningKind)
        let all = try decoder.container(keyedBy: AnyKey.self)
        for k in all.allKeys where k.stringValue.hasPrefix(Self.answersPrefix) {
            answers[String(k.stringValue.dropFirst(Self.answersPrefix.count))] = try all.decode(Int.self, forKey: k)
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(step, forKey: .step)
        for (k, v) in [(CodingKeys.rewardMean, rewardMean), (.accuracy, accuracy), (.groupsDroppedFraction, groupsDroppedFraction),
                       (.responseLength, responseLength), (.clipFraction, clipFraction), (.kl, kl), (.entropy, entropy),
                       (.gradNorm, gradNorm), (.loss, loss), (.lr, lr), (.flops, flops), (.rolloutTokensPerSecond, rolloutTokensPerSecond),
                       (.rolloutSeconds, rolloutSeconds), (.updateSeconds, updateSeconds)] {
            try c.encode(v, forKey: k)
        }
        try c.encode(formatFailures, forKey: .formatFailures)
        try c.encodeIfPresent(warning, forKey: .warning)
        try c.encodeIfPresent(warningKind, forKey: .warningKind)
        var extra = encoder.container(keyedBy: AnyKey.self)
        for (k, v) in answers { try extra.encode(v, forKey: AnyKey(Self.answersPrefix + k)) }
    }
}

/// One sampled rollout of a logged group of `rpt train` (RUN/completions.jsonl): the position, its true
/// continuation, the completion, the answer read from it (nil when none) and its reward.
public struct CompletionLine: Codable, Equatable, Sendable {
    public var step: Int
    public var docId: String
    public var index: Int
    public var target: String
    public var completion: String
    public var prediction: String?
    public var reward: Double

    public enum CodingKeys: String, CodingKey {
        case step, docId = "doc_id", index, target, completion, prediction, reward
    }

    public init(step: Int, docId: String, index: Int, target: String, completion: String, prediction: String?, reward: Double) {
        self.step = step; self.docId = docId; self.index = index; self.target = target
        self.completion = completion; self.prediction = prediction; self.reward = reward
    }

    /// `prediction` is written as null when there is none.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(step, forKey: .step); try c.encode(docId, forKey: .docId); try c.encode(index, forKey: .index)
        try c.encode(target, forKey: .target); try c.encode(completion, forKey: .completion)
        try c.encode(prediction, forKey: .prediction); try c.encode(reward, forKey: .reward)
    }
}

/// A coding key named at run time (the `answers_*` fields).
struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ s: String) { stringValue = s }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
