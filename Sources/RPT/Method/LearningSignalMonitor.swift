// Watches `rpt train`'s steps for a run that cannot learn and says so once, with the likely cause and the
// fix. GRPO learns only from differences between the rewards of a group's rollouts; three stalls remove them:
//   - zero reward: no rollout of the step earned any reward (reward_mean == 0), typically because the
//     policy does not write the answer format (no </think>, no \boxed{}, cut at the length limit);
//   - equal rewards: every group's rollouts scored alike, so every advantage is 0 (all right: too easy;
//     all alike otherwise: too little variety);
//   - zero gradient: the gradient norm was 0 although some group's rewards differed.
// A stall counts once it has lasted `patience` consecutive steps (3, or the whole run when it is shorter).
// Each kind warns at most once per run; when a warning is given, the other kinds that hold at that step
// describe the same stall and stay quiet until their condition breaks. The state is Codable so that a
// resumed run (checkpoint payload "learning_signal") neither repeats nor loses a warning.

import Foundation

public struct LearningSignalMonitor: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case zeroReward = "zero_reward"
        case equalRewards = "equal_rewards"
        case zeroGradient = "zero_gradient"
    }

    /// What one finished step tells the monitor.
    public struct StepSignal: Sendable {
        /// The step just finished (1-based, as in metrics.jsonl).
        public var step: Int
        public var rewardMean: Float
        public var gradNorm: Float
        /// Every group of the step (kept or dropped) had all-equal rewards.
        public var allGroupsEqual: Bool
        /// Extracted answers and format failures of the step's rollouts.
        public var answers: AnswerOutcomeTally
        public var responseLengthMean: Float
        public var maxResponseTokens: Int

        public init(step: Int, rewardMean: Float, gradNorm: Float, allGroupsEqual: Bool, answers: AnswerOutcomeTally = AnswerOutcomeTally(),
                    responseLengthMean: Float = 0, maxResponseTokens: Int = 0) {
            self.step = step; self.rewardMean = rewardMean; self.gradNorm = gradNorm; self.allGroupsEqual = allGroupsEqual
            self.answers = answers; self.responseLengthMean = responseLengthMean; self.maxResponseTokens = maxResponseTokens
        }
    }

    public struct Warning: Sendable, Equatable {
        public var kind: Kind
        public var step: Int
        /// One line: what happened, the likely cause, the fix.
        public var message: String
    }

    enum Status: String, Codable { case armed, quiet, warned }

    struct Track: Codable, Equatable {
        var streak = 0
        var since = 0
        var status = Status.armed
    }

    /// Consecutive steps a stall must last before it is reported.
    public let patience: Int
    var tracks: [Track] = Kind.allCases.map { _ in Track() }
    /// Answer outcomes over the current zero-reward streak.
    var answered = 0
    var failures: [String: Int] = [:]
    /// Sum of reward_mean over the current equal-rewards streak.
    var equalRewardSum: Double = 0

    /// A monitor for a run of `totalSteps` steps: patience min(3, totalSteps), at least 1.
    public init(totalSteps: Int, patience: Int = 3) {
        self.patience = max(1, min(patience, totalSteps))
    }

    /// Takes one finished step; returns the warning to give now, if any.
    public mutating func observe(_ s: StepSignal) -> Warning? {
        let holds: [Kind: Bool] = [.zeroReward: s.rewardMean == 0, .equalRewards: s.allGroupsEqual, .zeroGradient: s.gradNorm == 0]
        for (i, kind) in Kind.allCases.enumerated() {
            if holds[kind]! {
                if tracks[i].streak == 0 { tracks[i].since = s.step }
                tracks[i].streak += 1
            } else {
                tracks[i].streak = 0
                if tracks[i].status == .quiet { tracks[i].status = .armed }
            }
        }
        if holds[.zeroReward]! {
            answered += s.answers.answered
            for (reason, n) in s.answers.failures { failures[reason.rawValue, default: 0] += n }
        } else {
            answered = 0; failures = [:]
        }
        equalRewardSum = holds[.equalRewards]! ? equalRewardSum + Double(s.rewardMean) : 0

        guard let i = Kind.allCases.indices.first(where: { tracks[$0].streak >= patience && tracks[$0].status == .armed }) else { return nil }
        tracks[i].status = .warned
        for j in tracks.indices where j != i && tracks[j].streak > 0 && tracks[j].status == .armed { tracks[j].status = .quiet }
        let kind = Kind.allCases[i]
        return Warning(kind: kind, step: s.step, message: message(kind, track: tracks[i], last: s))
    }

    /// Kinds already reported.
    public var warned: [Kind] { Kind.allCases.enumerated().filter { tracks[$0.offset].status == .warned }.map(\.element) }

    func message(_ kind: Kind, track t: Track, last s: StepSignal) -> String {
        let span = "\(t.streak) step\(t.streak == 1 ? "" : "s")" + (t.streak > 1 ? " (steps \(t.since)–\(s.step))" : " (step \(s.step))")
        switch kind {
        case .zeroReward:
            let failed = failures.values.reduce(0, +), total = answered + failed
            let counts = "format failures \(failed)/\(total)" + (failed > 0 ? ": " + breakdown() : "")
            if total == 0 || failed * 2 >= total {
                var fix = "teach it the format first with a cold start (`rpt demos`, then `rpt pretrain --sft` on them; docs/demonstrations.md), "
                    + "use a template the model follows (--template), or raise --max-response-tokens if responses are truncated"
                if (failures[AnswerFailure.truncated.rawValue] ?? 0) * 2 >= max(failed, 1) {
                    fix += String(format: " (mean response length %.0f of at most %d tokens)", s.responseLengthMean, s.maxResponseTokens)
                }
                return "no rollout has earned a reward for \(span): the policy does not produce the answer format (\(counts)) — \(fix)"
            }
            return "no rollout has earned a reward for \(span): answers are extracted (\(counts)) but none is the next token — "
                + "the positions are too hard for this policy: start from a stronger or format-tuned model, prepare easier positions "
                + "(a lower --entropy-threshold in `rpt prepare`), or sample more per context (--group-size, --temperature)"
        case .equalRewards:
            let mean = equalRewardSum / Double(max(t.streak, 1))
            let head = String(format: "every group's rollouts have had equal rewards for %@ (mean reward %.3f): every advantage is 0, so GRPO has nothing to learn from — ", span, mean)
            if mean >= 0.999 {
                return head + "every rollout is already right: the positions are too easy for this policy; prepare harder ones (a higher --entropy-threshold in `rpt prepare`)"
            }
            return head + "the rollouts of a context do not differ: raise --temperature or --group-size for more varied rollouts, or use a reward that tells answers apart (--reward)"
        case .zeroGradient:
            return String(format: "the gradient norm has been 0 for %@ although some groups' rewards differ: no update reaches the weights "
                + "(mean response length %.1f tokens; empty responses give no gradient) — check the completions in completions.jsonl and the responses' length limit (--max-response-tokens)",
                span, s.responseLengthMean)
        }
    }

    /// "12 truncated at the length limit, 3 without </think>, …", largest first.
    func breakdown() -> String {
        let names: [String: String] = [
            AnswerFailure.truncated.rawValue: "truncated at the length limit", AnswerFailure.missingThinkClose.rawValue: "no </think>",
            AnswerFailure.noBoxed.rawValue: "no \\boxed{}", AnswerFailure.unclosedBrace.rawValue: "unclosed \\boxed{",
        ]
        return failures.filter { $0.value > 0 }.sorted { ($1.value, $0.key) < ($0.value, $1.key) }
            .map { "\($0.value) \(names[$0.key] ?? $0.key)" }.joined(separator: ", ")
    }
}
