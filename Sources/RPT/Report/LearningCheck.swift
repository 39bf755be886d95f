// "Did this run learn?" for the top of the report (docs/report.md). From the finite reward_mean values of
// metrics.jsonl, in step order:
//   - all zero: no rollout earned any reward at any step (any number of steps);
//   - flat: with at least 4 steps, the mean over the last quarter of the steps (at least one) is at most the
//     mean over the first quarter plus 0.02 (rewards are in [0, 1]): the reward never rose above its start.
// Either gives a warning box with the numbers and the likely cause, read from the other columns: the share of
// format failures (answers_*), a reward that started near its maximum, a gradient norm that stayed 0, the
// learning rate; the warnings `rpt train` logged are listed under it.

import Foundation

struct LearningCheck {
    enum Verdict { case allZero, flat }

    var verdict: Verdict
    var steps: Int
    /// Steps per quarter, and the means of the first and last quarters (flat only).
    var quarter = 0
    var firstMean = 0.0
    var lastMean = 0.0
    var causes: [String] = []
    var logged: [(step: Double, text: String)] = []

    /// The margin a run's last-quarter mean reward must clear over its first quarter's.
    static let margin = 0.02
    /// Fewer finite rewards than this are judged only by the all-zero rule.
    static let minimumSteps = 4

    /// The warning for `metrics`, nil when the run learned (or there is too little to judge).
    static func assess(_ metrics: RunMetrics, options: [String: JSON]?) -> LearningCheck? {
        guard let column = metrics.column(TrainMetricsLine.CodingKeys.rewardMean.stringValue) else { return nil }
        let rewards = column.filter(\.isFinite)
        var check: LearningCheck
        if rewards.allSatisfy({ $0 == 0 }) {
            check = LearningCheck(verdict: .allZero, steps: rewards.count)
        } else if rewards.count >= minimumSteps {
            let q = max(1, rewards.count / 4)
            let first = rewards.prefix(q).reduce(0, +) / Double(q), last = rewards.suffix(q).reduce(0, +) / Double(q)
            guard last <= first + margin else { return nil }
            check = LearningCheck(verdict: .flat, steps: rewards.count, quarter: q, firstMean: first, lastMean: last)
        } else {
            return nil
        }
        check.causes = causes(check, metrics: metrics, options: options)
        check.logged = metrics.warnings
        return check
    }

    /// The likely causes, most specific first.
    static func causes(_ c: LearningCheck, metrics m: RunMetrics, options: [String: JSON]?) -> [String] {
        func sum(_ key: String) -> Double? { m.column(key).map { $0.filter(\.isFinite).reduce(0, +) } }
        var out: [String] = []
        let failed = sum("answers_failed") ?? sum("format_failures"), answered = sum("answers_answered")
        if let failed, let answered, failed + answered > 0 {
            let share = failed / (failed + answered)
            let reasons: [(String, String)] = [("truncated", "cut at the length limit"), ("missingThinkClose", "without </think>"),
                                               ("noBoxed", "without \\boxed{}"), ("unclosedBrace", "with an unclosed \\boxed{")]
            let parts = reasons.compactMap { key, name -> (Double, String)? in
                guard let n = sum("answers_failure_" + key), n > 0 else { return nil }
                return (n, "\(ChartFormat.grouped(Int(n))) \(name)")
            }.sorted { $0.0 > $1.0 }.map(\.1)
            let detail = String(format: "%.0f%% of %@ rollouts had no extractable answer", 100 * share, ChartFormat.grouped(Int(failed + answered)))
                + (parts.isEmpty ? "" : " (" + parts.joined(separator: ", ") + ")")
            if share >= 0.5 {
                out.append("The policy did not produce the answer format: \(detail). Teach it the format first with a cold start "
                    + "(`rpt demos`, then `rpt pretrain --sft` on them; docs/demonstrations.md), use a template the model follows, "
                    + "or raise --max-response-tokens if responses were truncated.")
            } else if c.verdict == .allZero {
                out.append("Answers were extracted (\(detail)) but none was the next token: the positions are too hard for this policy "
                    + "(start from a stronger model, or prepare easier positions with a lower --entropy-threshold).")
            }
        }
        if c.verdict == .flat, c.firstMean >= 0.9 {
            out.append(String(format: "The reward started near its maximum (%.3f): groups whose rollouts are all right have equal rewards and "
                + "no advantage, so there is little left to learn; harder positions (a higher --entropy-threshold) give a signal.", c.firstMean))
        }
        if let g = m.column(TrainMetricsLine.CodingKeys.gradNorm.stringValue)?.filter(\.isFinite), !g.isEmpty, g.allSatisfy({ $0 == 0 }) {
            out.append("The gradient norm was 0 at every step: no update changed the policy.")
        }
        if c.verdict == .flat, out.isEmpty {
            var lr = ""
            if let v = options?["lr"]?.double { lr = " (lr \(ChartFormat.significant(v, digits: 3))" + (options?["lrSchedule"]?.string.map { ", schedule \($0)" } ?? "") + ")" }
            out.append("The reward did not trend up: the learning rate\(lr) may be too low or the run too short for this model; "
                + "see the reward and gradient-norm curves below.")
        }
        return out
    }

    /// One line for the command's output.
    var headline: String {
        switch verdict {
        case .allZero:
            return "no rollout earned a reward in \(steps) step\(steps == 1 ? "" : "s"): the run never learned"
        case .flat:
            return String(format: "the reward never rose above its first steps' level: mean %.4f over the last %d steps vs %.4f over the first %d",
                          lastMean, quarter, firstMean, quarter)
        }
    }

    /// The warning box.
    var html: String {
        var body = "<div class=\"warning-box\" id=\"learning-warning\" role=\"alert\"><p class=\"warning-title\">⚠ This run never learned</p>"
        switch verdict {
        case .allZero:
            body += "<p>Every one of the \(steps) logged step\(steps == 1 ? "" : "s") has <code>reward_mean</code> = 0: no rollout earned any reward.</p>"
        case .flat:
            body += "<p>" + HTML.escape(String(format: "reward_mean over the last %d of %d steps: %.4f; over the first %d: %.4f (change %+.4f). ",
                                                 quarter, steps, lastMean, quarter, firstMean, lastMean - firstMean))
                + HTML.escape(String(format: "Criterion: last-quarter mean ≤ first-quarter mean + %.2f.", LearningCheck.margin)) + "</p>"
        }
        if !causes.isEmpty {
            body += "<p><b>Likely cause.</b> " + causes.map(LearningCheck.markup).joined(separator: " ") + "</p>"
        }
        if !logged.isEmpty {
            body += "<p><b>Logged by <code>rpt train</code>:</b></p><ul>"
                + logged.map { "<li>step \(Int($0.step)): \(LearningCheck.markup($0.text))</li>" }.joined() + "</ul>"
        }
        return body + "</div>"
    }

    /// Escaped text with `backquoted` spans (commands) as code.
    static func markup(_ text: String) -> String {
        let parts = text.split(separator: "`", omittingEmptySubsequences: false).map { HTML.escape(String($0)) }
        guard parts.count % 2 == 1 else { return HTML.escape(text) }   // an unpaired backquote: plain text
        return parts.enumerated().map { $0.offset % 2 == 1 ? "<code>\($0.element)</code>" : $0.element }.joined()
    }
}
