// `rpt report`: a page built from synthetic run inputs is self-contained (no URLs, scripts or external
// references), has every section with the input's numbers, draws one marker per finite metric / fit
// point and one bar per (result, split) / (set, group), escapes traces, survives NaN and empty metrics,
// keeps sections without input as notes, and names the file of a malformed input; a run whose reward never
// rose (all zero, or a flat last quarter) gets a warning box at the top, a learning run none. The chart
// building blocks (ticks, smoothing, trace selection, fit units) are checked on their own.

import Foundation
import Testing
@testable import RPT

/// A synthetic run directory: `steps` steps of noisy rising reward (one null reward, one "NaN" entropy,
/// an all-null column), completions with markup in them, two evaluation files, a fit and patterns.
func writeSyntheticRun(_ dir: String, steps: Int = 60, extras: Bool = true) throws {
    func write(_ name: String, _ text: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: dir + "/" + name))
    }
    var rng = RandomGenerator(seed: 20261205)
    var metrics = ""
    for s in 1...steps {
        let trend = 0.08 + 0.35 * Double(s) / Double(steps)
        let reward = s == 17 ? "null" : String(trend + Double.random(in: -0.04...0.04, using: &rng))
        let entropy = s == 5 ? "\"NaN\"" : String(1.9 - 0.01 * Double(s))
        metrics += "{\"step\":\(s),\"reward_mean\":\(reward),\"accuracy\":\(trend),\"groups_dropped_fraction\":0.25,"
            + "\"response_length\":\(500 - s),\"clip_fraction\":0.01,\"kl\":0,\"entropy\":\(entropy),\"grad_norm\":\(0.3 + 0.001 * Double(s)),"
            + "\"loss\":0.01,\"lr\":1e-6,\"flops\":\(Double(s) * 2.5e14),\"rollout_tokens_per_s\":900,\"rollout_s\":30,\"update_s\":10,"
            + "\"format_failures\":\(s % 3),\"answers_boxed\":30,\"always_null\":null,\"note\":\"ignored text\"}\n"
    }
    try write("metrics.jsonl", metrics)
    guard extras else { return }
    var completions = ""
    for s in 1...steps {
        for g in 0..<2 {
            let rewarded = (s + g) % 3 == 0
            let text = "Step \(s): if a < b && b > c then <b>bold</b> \\boxed{\(rewarded ? " the" : " a")}"
            completions += "{\"step\":\(s),\"doc_id\":\"doc\(g)\",\"index\":\(s * 10 + g),\"target\":\" the\","
                + "\"completion\":\(JSON.string(text).serialized()),\"prediction\":\(rewarded ? "\" the\"" : "\" a\""),\"reward\":\(rewarded ? 1 : 0)}\n"
        }
    }
    try write("completions.jsonl", completions)
    func split(_ acc: Double, _ n: Int, reasoning: Bool) -> String {
        var s = "{\"n\":\(n),\"accuracy\":\(acc),\"ci95\":[\(acc - 0.05),\(acc + 0.05)]"
        if reasoning {
            s += ",\"greedy\":{\"accuracy\":\(acc),\"ci95\":[\(acc - 0.05),\(acc + 0.05)]},"
                + "\"sampled\":{\"mean_accuracy\":\(acc - 0.01),\"ci95\":[0.1,0.5],\"pass_at_k\":0.6,\"k\":4}"
        }
        return s + ",\"extra_key\":1}"
    }
    func splits(_ base: Double, reasoning: Bool) -> String {
        "{\"easy\":\(split(base + 0.1, 100, reasoning: reasoning)),\"medium\":\(split(base, 100, reasoning: reasoning)),"
            + "\"hard\":\(split(base - 0.1, 100, reasoning: reasoning)),\"all\":\(split(base, 300, reasoning: reasoning))}"
    }
    try write("eval-ntp.json", "{\"format\":\"rpt-eval/1\",\"data\":\"val.jsonl\",\"mode\":\"ntp\",\"samples\":1,\"results\":["
        + "{\"model\":\"models/base\",\"label\":\"initial\",\"step\":null,\"flops\":null,\"splits\":\(splits(0.305, reasoning: false))}]}")
    try write("eval-reasoning.json", "{\"format\":\"rpt-eval/1\",\"data\":\"val.jsonl\",\"mode\":\"reasoning\",\"samples\":4,\"temperature\":0.8,\"results\":["
        + "{\"model\":\"models/base\",\"label\":\"initial\",\"step\":null,\"flops\":null,\"splits\":\(splits(0.05, reasoning: true))},"
        + "{\"model\":\"runs/x/step-000040\",\"label\":\"step-000040\",\"step\":40,\"flops\":1.2e15,\"splits\":\(splits(0.41, reasoning: true))}]}")
    // C in units of 1e15 FLOPs (the "predicted" values say so).
    var fits: [String] = []
    for (name, a, alpha, p, r2) in [("easy", -0.09, 0.55, 0.47, 0.995), ("medium", -0.075, 0.5, 0.35, 0.9973), ("hard", -0.06, 0.45, 0.245, 0.989)] {
        let points = [1.0, 2, 4, 8, 10, 12].map { k -> String in
            let c = k * 1e15, pred = a / pow(k, alpha) + p
            return "{\"compute\":\(c),\"accuracy\":\(pred + 0.002),\"predicted\":\(pred),\"residual\":0.002}"
        }
        fits.append("\"\(name)\":{\"A\":\(a),\"alpha\":\(alpha),\"p_star\":\(p),\"r2\":\(r2),\"n\":6,\"points\":[\(points.joined(separator: ","))]}")
    }
    try write("fit.json", "{\"format\":\"rpt-fit/1\",\"fits\":{\(fits.joined(separator: ","))}}")
    let groups = PatternsInput.paperGroups
    func set(_ name: String, _ props: [Double]) -> String {
        "{\"name\":\"\(name)\",\"n\":200,\"groups\":{" + zip(groups, props).map { g, p in
            "\"\(g)\":{\"count\":\(Int((p * 200).rounded())),\"proportion\":\(p)}"
        }.joined(separator: ",") + "}}"
    }
    try write("patterns.json", "{\"format\":\"rpt-patterns/1\",\"sets\":[\(set("before.jsonl", [0.09, 0.41, 0.12, 0.2, 0.3, 0.62])),"
        + "\(set("after.jsonl", [0.13, 0.33, 0.07, 0.36, 0.41, 0.58]))],\"relative_change\":{\"Transition\":44.4,\"Reflection\":-19.5,"
        + "\"Breakdown\":null,\"Hypothesis\":80,\"Divergent Thinking\":36.7,\"Deduction\":-6.5}}")
}

/// The `<svg id="ID" …>…</svg>` element of `html`.
func chart(_ id: String, in html: String) -> String? {
    guard let start = html.range(of: "<svg id=\"\(id)\"") else { return nil }
    guard let end = html.range(of: "</svg>", range: start.upperBound..<html.endIndex) else { return nil }
    return String(html[start.lowerBound..<end.upperBound])
}

/// The `<section id="ID">…</section>` element of `html`.
func section(_ id: String, in html: String) -> String? {
    guard let start = html.range(of: "<section id=\"\(id)\"") else { return nil }
    guard let end = html.range(of: "</section>", range: start.upperBound..<html.endIndex) else { return nil }
    return String(html[start.lowerBound..<end.upperBound])
}

func occurrences(_ needle: String, in s: String) -> Int { s.components(separatedBy: needle).count - 1 }

@Suite struct ReportTests {
    func build(_ dir: String, configure: (inout RunReportOptions) -> Void = { _ in }) throws -> String {
        var o = RunReportOptions(run: dir, out: dir + "/report.html")
        configure(&o)
        try RunReport.write(o)
        return try String(contentsOfFile: dir + "/report.html", encoding: .utf8)
    }

    @Test func pageIsSelfContainedWithEverySection() throws {
        let dir = temporaryDirectory("report-full")
        try writeSyntheticRun(dir)
        let html = try build(dir)
        for banned in ["http://", "https://", "<script", "url(", "@import", "<link", "<img", "<iframe", " src=", "xlink:href"] {
            #expect(!html.contains(banned), "page contains \(banned)")
        }
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.contains("<style>") && html.hasSuffix("</html>\n"))
        for id in ["training", "evaluation", "scaling", "patterns", "traces"] {
            let s = try #require(section(id, in: html), "section \(id)")
            #expect(!s.contains("class=\"note\">No "), "section \(id) should have content")
        }
        // Written atomically: no temporary file left beside it.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty)
    }

    @Test func sectionsCarryTheInputsNumbers() throws {
        let dir = temporaryDirectory("report-numbers")
        try writeSyntheticRun(dir)
        let html = try build(dir) { $0.title = "Run <A> & B" }
        #expect(html.contains("<title>Run &lt;A&gt; &amp; B</title>"))
        // Header: steps and total FLOPs (60 × 2.5e14 = 1.5e16).
        #expect(html.contains("<div class=\"v\">60</div>") && html.contains("1.5×10¹⁶"))
        // Evaluation: bar names, a split accuracy with its CI and n, greedy/sampled/pass@k.
        let eval = try #require(section("evaluation", in: html))
        for name in ["initial · ntp", "initial · reasoning", "step-000040 · reasoning"] { #expect(eval.contains(name), "\(name)") }
        #expect(eval.contains("51.0% <span class=\"ci\">[46.0, 56.0]</span> <span class=\"ci\">n=100</span>"))  // step-000040 easy
        #expect(eval.contains("30.5%") && eval.contains("n=300"))
        #expect(eval.contains("pass@4") && eval.contains("60.0"))
        // Scaling: R² to four decimals, parameters, and the recovered compute unit.
        let scaling = try #require(section("scaling", in: html))
        #expect(scaling.contains("0.9973") && scaling.contains("0.9950") && scaling.contains("0.9890"))
        #expect(scaling.contains("−0.075") && scaling.contains("0.245"))
        #expect(scaling.contains("units of 10¹⁵ FLOPs"))
        // Patterns: proportions with counts, relative change with sign, null change as a dash.
        let patterns = try #require(section("patterns", in: html))
        #expect(patterns.contains("41.0% <span class=\"ci\">(82)</span>") && patterns.contains("+44.4%") && patterns.contains("−19.5%"))
        #expect(patterns.contains("<td>Breakdown</td><td class=\"num\">12.0% <span class=\"ci\">(24)</span></td><td class=\"num\">7.0% <span class=\"ci\">(14)</span></td><td class=\"num\">—</td>"))
    }

    @Test func chartsDrawOneMarkOfEachDatum() throws {
        let dir = temporaryDirectory("report-charts")
        try writeSyntheticRun(dir)
        let html = try build(dir)
        // 60 steps, one null reward: 59 markers; accuracy has all 60.
        let reward = try #require(chart("chart-reward-mean", in: html))
        #expect(occurrences("class=\"pt\"", in: reward) == 59)
        #expect(occurrences("class=\"pt\"", in: try #require(chart("chart-accuracy", in: html))) == 60)
        #expect(reward.contains("cumulative training FLOPs"))
        // Entropy: one "NaN" string → 59 markers, and no NaN anywhere in the page's coordinates.
        #expect(occurrences("class=\"pt\"", in: try #require(chart("chart-entropy", in: html))) == 59)
        #expect(!html.contains("NaN") && !html.contains("nan\"") && !html.contains("inf\""))
        // Constant and never-finite columns are not charted.
        #expect(chart("chart-kl", in: html) == nil && chart("chart-lr", in: html) == nil)
        #expect(html.contains("kl = 0"))
        // Fit: 3 splits × 6 points; one curve per split.
        let scaling = try #require(chart("chart-scaling", in: html))
        #expect(occurrences("class=\"pt fit-", in: scaling) == 18)
        #expect(occurrences("class=\"pt fit-hard\"", in: scaling) == 6)
        #expect(occurrences("class=\"series\"", in: scaling) == 3)
        // Evaluation: 3 results × 4 splits, each with a CI whisker; patterns: 2 sets × 6 groups.
        let bars = try #require(chart("chart-eval-splits", in: html))
        #expect(occurrences("class=\"bar\"", in: bars) == 12 && occurrences("class=\"whisker\"", in: bars) == 12)
        #expect(occurrences("class=\"category\"", in: bars) == 4)
        #expect(occurrences("class=\"bar\"", in: try #require(chart("chart-patterns", in: html))) == 12)
    }

    @Test func tracesAreEscapedAndCoverRunStartAndEnd() throws {
        let dir = temporaryDirectory("report-traces")
        try writeSyntheticRun(dir)
        let html = try build(dir)
        let traces = try #require(section("traces", in: html))
        #expect(traces.contains("if a &lt; b &amp;&amp; b &gt; c then &lt;b&gt;bold&lt;/b&gt; \\boxed{ the}"))
        #expect(traces.contains("\\boxed{ a}"))
        #expect(!traces.contains("<b>bold</b>"))
        #expect(traces.contains("<code>␣the</code>"))  // the target's leading space made visible
        #expect(occurrences("<article class=\"trace rewarded\"", in: traces) >= 2)
        #expect(occurrences("<article class=\"trace unrewarded\"", in: traces) >= 2)
        let steps = traces.components(separatedBy: "step <b>").dropFirst().compactMap { Int($0.prefix { $0.isNumber }) }
        #expect(steps.count == 8 && steps.min()! < 20 && steps.max()! > 40)
        #expect(traces.contains("8 of 120 logged completions"))
    }

    @Test func sectionsWithoutInputBecomeNotes() throws {
        let dir = temporaryDirectory("report-sparse")
        try writeSyntheticRun(dir, steps: 5, extras: false)
        // A JSON file matching eval*.json but of another kind is passed over by discovery.
        try Data("{\"something\":\"else\"}".utf8).write(to: URL(fileURLWithPath: dir + "/eval-config.json"))
        var o = RunReportOptions(run: dir, out: dir + "/out/report.html")
        let written = try RunReport.write(o)
        #expect(written.sections == ["training"])
        #expect(written.notes.count == 4)
        let html = try String(contentsOfFile: o.out, encoding: .utf8)
        #expect(section("evaluation", in: html)!.contains("eval-config.json is not rpt-eval/1"))
        #expect(section("scaling", in: html)!.contains("No scaling fit"))
        #expect(section("patterns", in: html)!.contains("No reasoning-pattern comparison"))
        #expect(section("traces", in: html)!.contains("completions.jsonl not found"))
        // Five steps: no smoothing, one series per chart.
        #expect(!chart("chart-reward-mean", in: html)!.contains("moving average"))

        // An empty metrics file, then no metrics at all.
        try Data().write(to: URL(fileURLWithPath: dir + "/metrics.jsonl"))
        o.out = dir + "/empty.html"
        try RunReport.write(o)
        #expect(try String(contentsOfFile: o.out, encoding: .utf8).contains("metrics.jsonl has no records yet"))
        try FileManager.default.removeItem(atPath: dir + "/metrics.jsonl")
        let none = try RunReport.write(o)
        #expect(none.sections.isEmpty && none.notes.count == 5)
        #expect(try String(contentsOfFile: o.out, encoding: .utf8).contains("<div class=\"v\">—</div>"))
    }

    @Test func aCutShortLastMetricsLineIsDroppedAndFlagged() throws {
        let dir = temporaryDirectory("report-live")
        try writeSyntheticRun(dir, steps: 10, extras: false)
        let handle = try #require(FileHandle(forWritingAtPath: dir + "/metrics.jsonl"))
        handle.seekToEndOfFile()
        handle.write(Data("{\"step\":11,\"reward_me".utf8))
        try handle.close()
        let html = try build(dir)
        #expect(html.contains("was incomplete"))
        #expect(occurrences("class=\"pt\"", in: try #require(chart("chart-accuracy", in: html))) == 10)
    }

    /// metrics.jsonl of `rewards.count` steps with the given rewards and per-step answer counts.
    func writeMetrics(_ dir: String, rewards: [Double], gradNorm: Double, answered: Int, truncated: Int, noThink: Int,
                      warningAt: Int? = nil) throws {
        var text = ""
        for (i, r) in rewards.enumerated() {
            let s = i + 1
            text += "{\"step\":\(s),\"reward_mean\":\(r),\"accuracy\":\(r),\"grad_norm\":\(gradNorm),\"lr\":1e-6,"
                + "\"format_failures\":\(truncated + noThink),\"answers_answered\":\(answered),\"answers_failed\":\(truncated + noThink),"
                + "\"answers_failure_truncated\":\(truncated),\"answers_failure_missingThinkClose\":\(noThink),\"answers_failure_noBoxed\":0"
                + (s == warningAt ? ",\"warning\":\"no rollout has earned a reward for 3 steps (steps 1–3): the policy does not produce the answer format\",\"warning_kind\":\"zero_reward\"" : "")
                + "}\n"
        }
        try Data(text.utf8).write(to: URL(fileURLWithPath: dir + "/metrics.jsonl"))
    }

    @Test func aRunWithoutAnyRewardIsFlaggedAtTheTop() throws {
        let dir = temporaryDirectory("report-zero")
        try writeMetrics(dir, rewards: Array(repeating: 0, count: 20), gradNorm: 0, answered: 0, truncated: 48, noThink: 16, warningAt: 3)
        let written = try RunReport.write(RunReportOptions(run: dir, out: dir + "/report.html"))
        #expect(written.warning == "no rollout earned a reward in 20 steps: the run never learned")
        let html = try String(contentsOfFile: dir + "/report.html", encoding: .utf8)
        let start = try #require(html.range(of: "<div class=\"warning-box\""))
        let box = String(html[start.lowerBound..<(html.range(of: "</div>", range: start.upperBound..<html.endIndex)?.upperBound ?? html.endIndex)])
        // At the top: before the summary cards and every section.
        #expect(html.range(of: "warning-box")!.lowerBound < html.range(of: "class=\"kpis\"")!.lowerBound)
        #expect(box.contains("This run never learned"))
        #expect(box.contains("Every one of the 20 logged steps has <code>reward_mean</code> = 0: no rollout earned any reward."))
        #expect(box.contains("The policy did not produce the answer format: 100% of 1,280 rollouts had no extractable answer (960 cut at the length limit, 320 without &lt;/think&gt;)."))
        #expect(box.contains("a cold start (<code>rpt demos</code>, then <code>rpt pretrain --sft</code> on them; docs/demonstrations.md)"))
        #expect(box.contains("The gradient norm was 0 at every step"))
        #expect(box.contains("<li>step 3: no rollout has earned a reward for 3 steps (steps 1–3)"))
        // The logged warning is quoted in the training section too.
        #expect(section("training", in: html)?.contains("rpt train warned at step 3: no rollout has earned a reward") == true)
        #expect(occurrences("class=\"warning-box\"", in: html) == 1)
    }

    @Test func aFlatRewardIsFlaggedWithTheNumbers() throws {
        let dir = temporaryDirectory("report-flat")
        // 20 steps around 0.30 (±0.01): first quarter (5 steps) mean 0.300, last quarter 0.302 (< 0.300 + 0.02).
        let rewards = (1...20).map { 0.30 + ($0 % 2 == 0 ? 0.01 : -0.01) + ($0 <= 5 ? 0.002 : 0) }
        try writeMetrics(dir, rewards: rewards, gradNorm: 0.2, answered: 60, truncated: 3, noThink: 1)
        let written = try RunReport.write(RunReportOptions(run: dir, out: dir + "/report.html"))
        let html = try String(contentsOfFile: dir + "/report.html", encoding: .utf8)
        let first = rewards.prefix(5).reduce(0, +) / 5, last = rewards.suffix(5).reduce(0, +) / 5
        #expect(written.warning == String(format: "the reward never rose above its first steps' level: mean %.4f over the last 5 steps vs %.4f over the first 5", last, first))
        #expect(html.contains(String(format: "reward_mean over the last 5 of 20 steps: %.4f; over the first 5: %.4f (change %+.4f).", last, first, last - first)))
        #expect(html.contains("Criterion: last-quarter mean ≤ first-quarter mean + 0.02."))
        #expect(html.contains("The reward did not trend up: the learning rate") && !html.contains("did not produce the answer format"))
        // Rising by more than the margin: no warning.
        try writeMetrics(dir, rewards: rewards.enumerated().map { $1 + 0.003 * Double($0) }, gradNorm: 0.2, answered: 60, truncated: 3, noThink: 1)
        let rising = try RunReport.write(RunReportOptions(run: dir, out: dir + "/rising.html"))
        #expect(rising.warning == nil)
        #expect(!(try String(contentsOfFile: dir + "/rising.html", encoding: .utf8)).contains("class=\"warning-box\""))
    }

    @Test func aLearningRunHasNoWarning() throws {
        let dir = temporaryDirectory("report-learning")
        try writeSyntheticRun(dir)
        let written = try RunReport.write(RunReportOptions(run: dir, out: dir + "/report.html"))
        #expect(written.warning == nil)
        let html = try String(contentsOfFile: dir + "/report.html", encoding: .utf8)
        #expect(!html.contains("class=\"warning-box\"") && !html.contains("never learned"))
    }

    @Test func malformedInputsNameTheFile() throws {
        let dir = temporaryDirectory("report-bad")
        try writeSyntheticRun(dir, steps: 10, extras: false)
        func bad(_ name: String, _ text: String, _ set: (inout RunReportOptions, String) -> Void, message: String) throws {
            let path = dir + "/" + name
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            var o = RunReportOptions(run: dir, out: dir + "/r.html")
            set(&o, path)
            let e = expectRPTError(naming: path) { try RunReport.write(o) }
            #expect(e?.message.contains(message) == true, "\(String(describing: e)) should say \(message)")
            try FileManager.default.removeItem(atPath: path)
        }
        try bad("e.json", "{\"format\":\"rpt-eval/1\",\"results\":[", { $0.evals = [$1] }, message: "malformed JSON")
        try bad("e.json", "{\"format\":\"rpt-eval/2\",\"results\":[]}", { $0.evals = [$1] }, message: "not an rpt-eval/1 file")
        try bad("e.json", "{\"format\":\"rpt-eval/1\",\"results\":[{\"label\":\"x\",\"splits\":{\"easy\":{\"accuracy\":\"high\"}}}]}",
                { $0.evals = [$1] }, message: "results[0].splits.easy.accuracy: expected a number")
        try bad("e.json", "{\"format\":\"rpt-eval/1\",\"results\":[{\"label\":\"x\",\"splits\":{\"all\":{\"accuracy\":0.3,\"ci95\":[0.2]}}}]}",
                { $0.evals = [$1] }, message: "results[0].splits.all.ci95: expected [low, high]")
        try bad("f.json", "{\"format\":\"rpt-fit/1\",\"fits\":[]}", { $0.fit = $1 }, message: "fits: expected an object")
        try bad("f.json", "{\"format\":\"rpt-fit/1\",\"fits\":{\"easy\":{\"A\":1,\"points\":[{\"compute\":1}]}}}", { $0.fit = $1 },
                message: "fits.easy.points[0].accuracy is missing")
        try bad("p.json", "{\"format\":\"rpt-patterns/1\",\"sets\":[{\"name\":\"a\",\"groups\":{\"Reflection\":3}}]}", { $0.patterns = $1 },
                message: "sets[0].groups.Reflection: expected an object")
        // Auto-discovered files are read as strictly.
        try bad("fit.json", "{not json", { _, _ in }, message: "malformed JSON")
        try bad("eval-x.json", "[1,", { _, _ in }, message: "malformed JSON")
        // A bad line inside metrics.jsonl (not the last) is an error with its line number.
        let metrics = dir + "/metrics.jsonl"
        let good = try String(contentsOfFile: metrics, encoding: .utf8)
        try Data(("{\"step\":1}\n{oops}\n" + good).utf8).write(to: URL(fileURLWithPath: metrics))
        let e = expectRPTError(naming: metrics) { try RunReport.write(RunReportOptions(run: dir, out: dir + "/r.html")) }
        #expect(e?.message.contains("line 2") == true)
        try Data("{\"reward_mean\":1}\n".utf8).write(to: URL(fileURLWithPath: metrics))
        expectRPTError(naming: metrics) { try RunReport.write(RunReportOptions(run: dir, out: dir + "/r.html")) }
        // A run directory that does not exist.
        expectRPTError(naming: dir + "/missing") { try RunReport.write(RunReportOptions(run: dir + "/missing", out: dir + "/r.html")) }
        #expect(!FileManager.default.fileExists(atPath: dir + "/r.html"))
    }

    @Test func mcqCategoriesBecomeATable() throws {
        let dir = temporaryDirectory("report-mcq")
        try writeSyntheticRun(dir, steps: 10, extras: false)
        let path = dir + "/eval-mcq.json"
        try Data(("{\"format\":\"rpt-eval/1\",\"mode\":\"mcq\",\"results\":[{\"label\":\"step-000010\",\"categories\":"
            + "{\"Math\":{\"n\":200,\"accuracy\":0.915,\"ci95\":[0.87,0.95]},\"Law\":{\"n\":200,\"accuracy\":0.445}}}]}").utf8)
            .write(to: URL(fileURLWithPath: path))
        let html = try build(dir)
        let eval = try #require(section("evaluation", in: html))
        #expect(eval.contains("Categories · eval-mcq.json"))
        #expect(eval.contains("<td>Law</td><td class=\"num\">44.5% <span class=\"ci\">n=200</span></td>"))
        #expect(eval.contains("<td>Math</td><td class=\"num\">91.5% <span class=\"ci\">[87.0, 95.0]</span>"))
        #expect(chart("chart-eval-splits", in: html) == nil)  // no splits, no split chart
    }

    @Test func niceTicksAndLogTicks() {
        let s = ChartScale.linear([0.07, 0.47])
        #expect(s.ticks.count == 6 && s.ticks.enumerated().allSatisfy { abs($1 - Double($0) * 0.1) < 1e-12 })
        #expect(s.lower == 0 && abs(s.upper - 0.5) < 1e-12 && s.label(0.3) == "0.3")
        let steps = ChartScale.linear([1, 60], targetTicks: 6)
        #expect(steps.ticks == [0, 10, 20, 30, 40, 50, 60])
        let flat = ChartScale.linear([5, 5])
        #expect(flat.lower < 5 && flat.upper > 5)
        // Non-negative data (a reward stuck at 0) never gets a negative axis; steps tick at whole numbers.
        #expect(ChartScale.linear([0, 0]).lower == 0 && ChartScale.linear([0, 0]).upper == 1)
        #expect(ChartScale.linear([1, 2], targetTicks: 6, minStep: 1).ticks == [1, 2])
        let log = ChartScale.logarithmic([1.2e15, 1.4e16])
        #expect(log.ticks.map { $0 / 1e15 }.map { ($0 * 1000).rounded() / 1000 } == [2, 5, 10])
        #expect(log.lower < 1.2e15 && log.upper > 1.4e16 && log.label(1e16) == "10¹⁶" && log.label(2e15) == "2×10¹⁵")
        let wide = ChartScale.logarithmic([1e10, 1e22])
        #expect(wide.ticks.allSatisfy { LineChart.isDecade($0) } && wide.ticks.count <= 7)
        #expect(ChartFormat.percent(0.4107) == "41.1%" && ChartFormat.grouped(1234567) == "1,234,567")
        #expect(ChartFormat.decimals(forStep: 0.09999999) == 1 && ChartFormat.decimals(forStep: 5) == 0)
        #expect(HTML.escape("<a href='x'>&\"") == "&lt;a href=&#39;x&#39;&gt;&amp;&quot;")
    }

    @Test func movingAverageAndTraceSelection() {
        let ma = RunMetrics.movingAverage([1, 2, .nan, 4, 5], window: 3)
        #expect(ma[0] == 1.5 && ma[1] == 1.5 && ma[2].isNaN && ma[3] == 4.5 && ma[4] == 4.5)
        #expect(RunMetrics.smoothingWindow(count: 5) == 1 && RunMetrics.smoothingWindow(count: 60) == 7)
        let traces = (1...20).flatMap { s in
            [TraceSample(step: s, docId: "d", completion: "x", reward: 1), TraceSample(step: s, docId: "d", completion: "y", reward: 0)]
        }
        let chosen = TraceSamples.select(traces, count: 8)
        #expect(chosen.count == 8)
        #expect(chosen.filter { $0.step <= 10 && $0.rewarded }.count == 2 && chosen.filter { $0.step <= 10 && !$0.rewarded }.count == 2)
        #expect(chosen.filter { $0.step > 10 && $0.rewarded }.count == 2 && chosen.map(\.step).max() == 20 && chosen.map(\.step).min() == 1)
        // Only unrewarded traces: the selection still fills up.
        #expect(TraceSamples.select(traces.filter { !$0.rewarded }, count: 6).count == 6)
        #expect(TraceSamples.select([], count: 6).isEmpty)
    }

    @Test func fitComputeUnitIsRecoveredFromPredictions() {
        func curve(scale: Double) -> FitCurve {
            let points = [1e15, 4e15, 1.2e16].map { c in
                FitCurve.Point(compute: c, accuracy: 0, predicted: -0.1 / pow(c / scale, 0.5) + 0.4, residual: nil)
            }
            var f = FitCurve(split: "easy", a: -0.1, alpha: 0.5, pStar: 0.4, r2: 0.99, n: 3, points: points)
            f.inferComputeScale()
            return f
        }
        #expect(curve(scale: 1).computeScale == 1)
        let scaled = curve(scale: 1e20)
        #expect(abs(scaled.computeScale / 1e20 - 1) < 1e-9)
        #expect(abs(scaled.predict(4e15)! - (-0.1 / pow(4e-5, 0.5) + 0.4)) < 1e-9)
    }

    /// Several runs: one overlay chart per logged curve with one line (and one marker per finite smoothed point)
    /// per run, FLOPs charts only with the runs that log FLOPs, a table with each run's numbers, labels from the
    /// directory names (the parent's added when they clash) or --label; a run without metrics is named.
    @Test func severalRunsAreOverlaid() throws {
        let root = temporaryDirectory("report-compare")
        let a = root + "/a/run", b = root + "/b/run", c = root + "/c"
        for d in [a, b, c] { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) }
        try writeSyntheticRun(a, steps: 60)
        try writeSyntheticRun(b, steps: 30, extras: false)
        // c: 12 steps, reward only, no FLOPs; reward 0.9 at the end.
        try Data((1...12).map { "{\"step\":\($0),\"reward_mean\":\($0 < 7 ? 0.1 : 0.9)}\n" }.joined().utf8)
            .write(to: URL(fileURLWithPath: c + "/metrics.jsonl"))
        let html = try build(a) { $0.compare = [b, c] }
        let s = try #require(section("comparison", in: html))
        #expect(s.contains("■</span>\u{00A0}a/run</td>") && s.contains("■</span>\u{00A0}b/run</td>") && s.contains("■</span>\u{00A0}c</td>"))
        let reward = try #require(chart("compare-reward-mean", in: html))
        #expect(occurrences("class=\"pt run-0\"", in: reward) == 59)   // one null reward in a
        #expect(occurrences("class=\"pt run-1\"", in: reward) == 29)   // b: 30 steps, step 17 null
        #expect(occurrences("class=\"pt run-2\"", in: reward) == 12)
        // Against FLOPs: only a and b log them.
        let byFlops = try #require(chart("compare-reward-mean-by-flops", in: html))
        #expect(occurrences("class=\"pt run-0\"", in: byFlops) == 59 && occurrences("class=\"pt run-1\"", in: byFlops) == 29)
        #expect(occurrences("class=\"pt run-2\"", in: byFlops) == 0)
        // Entropy is logged by a and b only; c's line is absent there.
        let entropy = try #require(chart("compare-entropy", in: html))
        #expect(occurrences("class=\"pt run-2\"", in: entropy) == 0 && occurrences("class=\"pt run-1\"", in: entropy) > 0)
        // The table: steps per run, and c's last-window reward mean 0.9 (its window is 5 steps, all 0.9).
        #expect(s.contains("<td class=\"num\">60</td>") && s.contains("<td class=\"num\">30</td>") && s.contains("<td class=\"num\">12</td>"))
        #expect(s.contains("<td class=\"num\">0.9</td>"))
        // The other sections are the first run's.
        #expect(section("evaluation", in: html)?.contains("step-000040 · reasoning") == true)
        // Given labels; too many labels and clashing labels are refused; a run without metrics is named.
        let labelled = try build(a) { $0.compare = [b]; $0.labels = ["lr 1e-4", "lr <2e-4>"] }
        #expect(labelled.contains("lr 1e-4") && labelled.contains("lr &lt;2e-4&gt;"))
        #expect(throws: RPTError.self) { try build(a) { $0.compare = [b]; $0.labels = ["x", "x"] } }
        #expect(throws: RPTError.self) { try build(a) { $0.compare = [b]; $0.labels = ["x", "y", "z"] } }
        do {
            _ = try build(a) { $0.compare = [root] }
            Issue.record("a run without metrics.jsonl was accepted")
        } catch let e as RPTError { #expect(e.file == root) }
        // The CLI: repeated --run and --label.
        let out = root + "/compare.html"
        let r = try runRPT(["report", "--run", a, "--run", c, "--label", "first", "--out", out])
        #expect(r.status == 0 && r.stdout.contains("comparison"), "\(r.stderr)")
        let cli = try String(contentsOfFile: out, encoding: .utf8)
        #expect(cli.contains("first") && chart("compare-reward-mean", in: cli) != nil)
    }

    @Test func cliWritesTheReportAndFailsNamingBadFiles() throws {
        let dir = temporaryDirectory("report-cli")
        try writeSyntheticRun(dir, steps: 20)
        let out = dir + "/page.html"
        let r = try runRPT(["report", "--run", dir, "--out", out, "--eval", dir + "/eval-reasoning.json", "--title", "CLI run"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("wrote \(out)") && r.stdout.contains("sections: training, evaluation, scaling, patterns, traces"))
        let html = try String(contentsOfFile: out, encoding: .utf8)
        #expect(html.contains("<title>CLI run</title>"))
        #expect(html.contains("step-000040 · reasoning") && !html.contains("initial · ntp"))  // --eval replaces discovery
        let badEval = dir + "/broken.json"
        try Data("{\"format\":".utf8).write(to: URL(fileURLWithPath: badEval))
        let b = try runRPT(["report", "--run", dir, "--out", dir + "/b.html", "--eval", badEval])
        #expect(b.status != 0 && b.stderr.contains(badEval))
        #expect(!FileManager.default.fileExists(atPath: dir + "/b.html"))
    }
}
