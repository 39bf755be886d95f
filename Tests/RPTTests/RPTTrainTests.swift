// `rpt train` end to end on a small position file: metrics.jsonl (step, reward_mean, flops, …),
// completions.jsonl, checkpoints; N steps + resume + M steps equals N+M steps bit for bit; config files
// with unknown keys are refused; the lr schedule is applied over the run's steps and kept on resume;
// dynamic sampling starts half-way by default; a stalled learning signal is logged once; the default token
// budget is fitted to a small model; the CLI flags (--lr-schedule, --dynamic-sampling-from, --resume).

import Foundation
import Testing
@testable import RPT
import RPTKernels

/// Positions of a short text under the fixture tokenizer, with exact continuation bytes and boundaries.
func positionFile(_ dir: String, model: String = Repo.fixtureModel("qwen2_f32")) throws -> String {
    let tok = try loadTokenizer(path: model)
    let ids = tok.encode("To be, or not to be, that is the question: whether 'tis nobler in the mind to suffer.")
    var records: [PositionRecord] = []
    for t in stride(from: 4, to: ids.count - 4, by: 3) {
        let horizon = Array(ids[t..<min(ids.count, t + 8)])
        var boundaries: [Int] = [], total = 0
        for id in horizon { total += tok.tokenBytes(id).count; boundaries.append(total) }
        records.append(PositionRecord(docId: "doc", index: t, context: String(decoding: tok.bytes(of: Array(ids[..<t])), as: UTF8.self),
                                      contextIds: Array(ids[..<t]), targetId: ids[t],
                                      target: String(decoding: tok.tokenBytes(ids[t]), as: UTF8.self),
                                      continuation: tok.bytes(of: horizon), boundaries: boundaries, proxyEntropy: 2, proxyLogProb: -3))
    }
    let path = dir + "/train.jsonl"
    try PositionDataset.write(records, to: path)
    return path
}

private func trainOptions(_ dir: String, out: String, steps: Int) throws -> RPTTrainOptions {
    var o = RPTTrainOptions()
    o.model = Repo.fixtureModel("qwen2_f32"); o.data = try positionFile(dir); o.out = out
    o.steps = steps; o.batchSize = 2; o.groupSize = 4; o.maxResponseTokens = 6; o.maxPromptTokens = 240
    o.lr = 1e-3; o.saveEvery = 2; o.chat = "raw"; o.dynamicSampling = false
    return o
}

/// The records of RUN/metrics.jsonl.
private func metricsRecords(_ run: String) throws -> [JSON] {
    let text = String(decoding: try #require(FileManager.default.contents(atPath: run + "/metrics.jsonl")), as: UTF8.self)
    return try text.split(separator: "\n").map { try JSON.parse(Data($0.utf8), file: "metrics.jsonl") }
}

/// Equal lengths and each value within 1e-6 relative (learning rates are Floats).
private func approximately(_ a: [Double], _ b: [Double]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-6 * max(abs($1), 1e-9) }
}

/// A trainer whose log lines are collected.
private final class LogLines: @unchecked Sendable { var lines: [String] = [] }
private func trainer(_ o: RPTTrainOptions, resume: Bool = false, log: LogLines? = nil) throws -> RPTTrainer {
    let t = try RPTTrainer(options: o, resume: resume)
    t.log = { line in log?.lines.append(line) }
    return t
}

@Suite(.serialized) struct RPTTrainTests {
    @Test func writesMetricsCompletionsAndCheckpoints() throws {
        let dir = temporaryDirectory("train")
        let log = LogLines()
        let t = try trainer(trainOptions(dir, out: dir + "/run", steps: 3), log: log)
        try t.run()
        let lines = String(decoding: FileManager.default.contents(atPath: dir + "/run/metrics.jsonl")!, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 3)
        var lastFlops = 0.0
        for (i, l) in lines.enumerated() {
            let j = try JSON.parse(Data(l.utf8), file: "metrics")
            #expect(j["step"]?.int == i + 1)
            #expect(j["reward_mean"]?.double != nil && j["accuracy"]?.double != nil && j["entropy"]?.double != nil)
            let f = try #require(j["flops"]?.double)
            #expect(f > lastFlops)
            lastFlops = f
            // 8 rollouts of 6 tokens without any \boxed{}: all are format failures (truncated).
            #expect(j["format_failures"]?.int == 8)
        }
        // The step lines carry the format failures; the stalled signal (no reward in all 3 steps) is said once,
        // in the log and in the metrics record of the step that completed the stall.
        let stepLines = log.lines.filter { $0.hasPrefix("step ") }
        #expect(stepLines.count == 3 && stepLines.allSatisfy { $0.contains(" | format failures 8/8 | ") && $0.contains(" | lr 0.001 | ") })
        let warnings = log.lines.filter { $0.hasPrefix("warning: ") }
        #expect(warnings.count == 1)
        #expect(warnings.first?.hasPrefix("warning: no rollout has earned a reward for 3 steps (steps 1–3): the policy does not produce the answer format (format failures 24/24: ") == true)
        let records = try metricsRecords(dir + "/run")
        #expect(records.map { $0["warning"]?.string != nil } == [false, false, true])
        #expect(records[2]["warning_kind"]?.string == "zero_reward")
        #expect(records[2]["warning"]?.string.map { "warning: " + $0 } == warnings.first)
        #expect(log.lines.first?.contains("lr 0.001 (constant over 3 steps), no dynamic sampling") == true)
        let completions = String(decoding: FileManager.default.contents(atPath: dir + "/run/completions.jsonl")!, as: UTF8.self)
        #expect(completions.split(separator: "\n").count == 3 * 2)
        // Every line is its Codable type (MetricsLines.swift), the one the report reads.
        let typed = try records.map { try $0.decode(TrainMetricsLine.self, file: "metrics.jsonl") }
        #expect(typed.map(\.step) == [1, 2, 3] && typed.allSatisfy { $0.formatFailures == 8 && !$0.answers.isEmpty })
        #expect(typed[2].warningKind == "zero_reward" && typed[0].warning == nil)
        let samples = try completions.split(separator: "\n").map { try JSON.parse(Data($0.utf8), file: "c").decode(CompletionLine.self, file: "c") }
        #expect(samples.map(\.step) == [1, 1, 2, 2, 3, 3] && samples.allSatisfy { $0.reward == 0 && $0.prediction == nil && !$0.target.isEmpty })
        #expect(Checkpoint.latest(in: dir + "/run") == dir + "/run/step-000003")
    }

    @Test func resumeIsBitExact() throws {
        let dir = temporaryDirectory("train-resume")
        let a = try RPTTrainer(options: trainOptions(dir, out: dir + "/a", steps: 4), resume: false)
        a.log = { _ in }
        try a.run()
        let b = try RPTTrainer(options: trainOptions(dir, out: dir + "/b", steps: 4), resume: false)
        b.log = { _ in }
        try b.run(stopAfter: 1)
        let c = try RPTTrainer(options: trainOptions(dir, out: dir + "/b", steps: 4), resume: true)
        c.log = { _ in }
        try c.run()
        for f in ["model.safetensors", "optimizer.safetensors"] {
            let x = FileManager.default.contents(atPath: dir + "/a/step-000004/" + f)
            let y = FileManager.default.contents(atPath: dir + "/b/step-000004/" + f)
            #expect(x != nil && x == y, "\(f) differs after resume")
        }
        // And the optimizer ran (the random policy never boxes an answer, so every reward is 0 and only
        // weight decay moves the matrices here; learning itself is tested in GRPOTrainerTests).
        let before = try Model.load(path: Repo.fixtureModel("qwen2_f32")).params.values("model.embed_tokens.weight")
        let after = try Model.load(path: dir + "/a/step-000004").params.values("model.embed_tokens.weight")
        #expect(after != before)
    }

    /// Rollouts from the bf16 copy of the weights: the copy follows every update (a resumed run, which builds it
    /// from the loaded checkpoint, ends bit-identical to an uninterrupted one), and the option is stored; the same
    /// with the update's products in bf16 too (`--train-dtype bf16`, whose packed weights also follow the updates).
    @Test(.enabled(if: MatmulBF16.isSupported), arguments: TrainingDType.allCases)
    func bf16RolloutsFollowTheUpdatesAndResumeBitExact(_ trainDType: TrainingDType) throws {
        let dir = temporaryDirectory("train-bf16")
        func options(_ out: String) throws -> RPTTrainOptions {
            var o = try trainOptions(dir, out: dir + out, steps: 4)
            o.inferenceDType = .bf16
            o.trainDType = trainDType
            return o
        }
        let a = try trainer(options("/a"))
        try a.run()
        let b = try trainer(options("/b"))
        try b.run(stopAfter: 2)
        let c = try trainer(options("/b"), resume: true)
        try c.run()
        for f in ["model.safetensors", "optimizer.safetensors"] {
            let x = FileManager.default.contents(atPath: dir + "/a/step-000004/" + f)
            let y = FileManager.default.contents(atPath: dir + "/b/step-000004/" + f)
            #expect(x != nil && x == y, "\(f) differs after resume")
        }
        let stored = try RPTTrainOptions.stored(TrainerState.load(path: dir + "/a/step-000004/" + Checkpoint.stateFile).options)
        #expect(stored.inferenceDType == .bf16 && stored.trainDType == trainDType)
    }

    @Test func learningRateScheduleIsAppliedOverTheRunAndKeptOnResume() throws {
        let dir = temporaryDirectory("train-lr")
        // Warmup over 2 steps (HF convention: the t-th update uses lr(t − 1), so the first update has lr 0).
        var w = try trainOptions(dir, out: dir + "/warmup", steps: 4)
        w.lrSchedule = "warmup:2"
        try trainer(w).run()
        let warm = try metricsRecords(dir + "/warmup").map { $0["lr"]?.double ?? -1 }
        #expect(approximately(warm, [0, 5e-4, 1e-3, 1e-3]), "\(warm)")
        // Cosine to 0 over the run's 4 steps: peak · ½(1 + cos(π k / 4)), k = 0…3.
        var c = try trainOptions(dir, out: dir + "/cosine", steps: 4)
        c.lrSchedule = "cosine:0:0"
        try trainer(c).run()
        let cosine = try metricsRecords(dir + "/cosine").map { $0["lr"]?.double ?? -1 }
        let expected = (0..<4).map { k in 1e-3 * 0.5 * (1 + cos(Double.pi * Double(k) / 4)) }
        #expect(approximately(cosine, expected), "\(cosine)")
        // Interrupted after 2 steps: resuming with a different schedule is refused (it would change the run
        // mid-way); resumed as it was, it keeps the schedule over the same horizon and matches the uninterrupted
        // run bit for bit.
        c.out = dir + "/cosine-resumed"
        try trainer(c).run(stopAfter: 2)
        var other = c
        other.lrSchedule = "linear:1:0.5"
        let refused = expectRPTError(naming: c.out) { _ = try trainer(other, resume: true) }
        #expect(refused?.message.contains(#"lrSchedule "linear:1:0.5" (the run's: "cosine:0:0")"#) == true)
        let log = LogLines()
        let resumed = try trainer(c, resume: true, log: log)
        #expect(resumed.options.lrSchedule == "cosine:0:0" && resumed.options.steps == 4)
        try resumed.run()
        #expect(log.lines.first == "train: resumed at step 2 of 4 with the checkpoint's options: lr 0.001 (cosine:0:0 over 4 steps), no dynamic sampling")
        #expect(try metricsRecords(c.out).map { $0["lr"]?.double ?? -1 } == cosine)
        for f in ["model.safetensors", "optimizer.safetensors"] {
            let x = FileManager.default.contents(atPath: dir + "/cosine/step-000004/" + f)
            #expect(x != nil && x == FileManager.default.contents(atPath: c.out + "/step-000004/" + f), "\(f) differs after resume")
        }
    }

    @Test func dynamicSamplingStartsHalfWayByDefaultOrWhereAsked() throws {
        let dir = temporaryDirectory("train-dynamic")
        // The random policy never earns a reward: every group has equal rewards, so once dynamic sampling is on
        // every group is dropped (groups_dropped_fraction 1) and refilled up to maxRefillRounds.
        var o = try trainOptions(dir, out: dir + "/default", steps: 4)
        o.dynamicSampling = true; o.maxRefillRounds = 1
        #expect(o.dynamicSamplingFromStep == .percent(50))
        let log = LogLines()
        try trainer(o, log: log).run()
        #expect(try metricsRecords(o.out).map { $0["groups_dropped_fraction"]?.double } == [0, 0, 1, 1])
        #expect(log.lines.first?.contains("dynamic sampling after step 2 (50% of the run)") == true)
        var explicit = try trainOptions(dir, out: dir + "/explicit", steps: 4)
        explicit.dynamicSampling = true; explicit.maxRefillRounds = 1; explicit.dynamicSamplingFromStep = .step(1)
        try trainer(explicit).run()
        #expect(try metricsRecords(explicit.out).map { $0["groups_dropped_fraction"]?.double } == [0, 1, 1, 1])
    }

    @Test func aCheckpointWithTheOldIntegerFieldResumes() throws {
        let dir = temporaryDirectory("train-old-checkpoint")
        var o = try trainOptions(dir, out: dir + "/run", steps: 4)
        o.dynamicSampling = true; o.maxRefillRounds = 1; o.dynamicSamplingFromStep = .step(3)
        try trainer(o).run(stopAfter: 2)
        // Rewrite the checkpoint as an older build wrote it: an integer start, no learning-signal state.
        let statePath = dir + "/run/step-000002/" + Checkpoint.stateFile
        var state = try TrainerState.load(path: statePath)
        var options = try #require(state.options.object)
        #expect(options["dynamicSamplingFromStep"] == .number(3))
        options["dynamicSamplingFromStep"] = .number(1)
        state.options = .object(options)
        state.payload = .object(["flops": state.payload["flops"] ?? .number(0)])
        try AtomicFile.write(try state.serialized(), to: statePath)
        var asked = o
        asked.dynamicSamplingFromStep = .step(1)   // the stored value (a different one would be refused)
        let resumed = try trainer(asked, resume: true)
        #expect(resumed.options.dynamicSamplingFromStep == .step(1))
        try resumed.run()
        #expect(try metricsRecords(o.out).map { $0["groups_dropped_fraction"]?.double } == [0, 0, 1, 1])
    }

    @Test func theDefaultTokenBudgetIsFittedToASmallModel() throws {
        let dir = temporaryDirectory("train-budget")
        var o = try trainOptions(dir, out: dir + "/run", steps: 1)
        let defaults = RPTTrainOptions()
        o.maxPromptTokens = defaults.maxPromptTokens; o.maxResponseTokens = defaults.maxResponseTokens
        o.batchSize = 1; o.groupSize = 2
        let log = LogLines()
        let t = try trainer(o, log: log)
        let positions = t.policy.rope.positions
        #expect(positions == 256)
        // The instruction whole, then the positions after it: a third for context, the rest for the response.
        let instruction = try t.prompt.promptTokens(contextIds: [], tokenizer: t.tokenizer, maxPromptTokens: Int.max).ids.count
        #expect(t.options.maxPromptTokens == instruction + (positions - instruction) / 3)
        #expect(t.options.maxPromptTokens + t.options.maxResponseTokens == positions)
        try t.run()
        #expect(log.lines.contains { $0.hasPrefix("train: note: the default budget (prompts ≤ 4096, responses ≤ 8192 tokens) exceeds the policy's 256 positions") })
        #expect(try metricsRecords(o.out).count == 1)
        // The fitted budget is what the checkpoint stores.
        let stored = try RPTTrainOptions.stored(in: o.out)
        #expect(stored?.maxResponseTokens == t.options.maxResponseTokens)
        // A response budget set by hand is kept and prompts are cut to what it leaves…
        var both = try trainOptions(dir, out: dir + "/explicit", steps: 1)
        both.maxPromptTokens = 250; both.maxResponseTokens = 256 - instruction - 1
        let cut = try trainer(both)
        #expect(cut.options.maxPromptTokens == instruction + 1 && cut.options.maxResponseTokens == 256 - instruction - 1)
        #expect(cut.notes == ["--max-prompt-tokens 250 + --max-response-tokens \(256 - instruction - 1) exceed the policy's 256 positions (max_position_embeddings): prompts are cut (oldest context first) to \(instruction + 1) tokens"])
        // …unless it leaves no room for the instruction: refused before any rollout, naming the flag.
        both.maxResponseTokens = 256 - instruction
        let e = expectRPTError(naming: "rpt train") { _ = try RPTTrainer(options: both, resume: false) }
        #expect(e?.message.contains("lower --max-response-tokens to at most \(256 - instruction - 1)") == true)
    }

    @Test func commandLineFlags() throws {
        let dir = temporaryDirectory("train-cli")
        let data = try positionFile(dir)
        func base(_ out: String) -> [String] {
            ["train", "--model", Repo.fixtureModel("qwen2_f32"), "--data", data, "--out", dir + "/" + out, "--batch-size", "2",
             "--group-size", "4", "--max-response-tokens", "6", "--max-prompt-tokens", "240", "--chat", "raw", "--lr", "1e-3",
             "--save-every", "1", "--threads", "1"]
        }
        let a = try runRPT(base("run") + ["--steps", "4", "--lr-schedule", "linear:2:0.5", "--dynamic-sampling-from", "75%", "--stop-after", "2"])
        #expect(a.status == 0, "\(a.stderr)")
        #expect(a.stdout.contains("lr 0.001 (linear:2:0.5 over 4 steps), dynamic sampling after step 3 (75% of the run)"), "\(a.stdout)")
        #expect(!a.stdout.contains("warning:"), "2 of the 3 steps a stall must last")
        // A flag that would change the stored options mid-run is refused, named; --resume without --steps keeps
        // the run's 4 steps.
        let refused = try runRPT(base("run") + ["--resume", "--lr-schedule", "cosine:0:0.1"])
        #expect(refused.status != 0 && refused.stderr.contains(#"lrSchedule "cosine:0:0.1" (the run's: "linear:2:0.5")"#), "\(refused.stderr)")
        let b = try runRPT(base("run") + ["--resume"])
        #expect(b.status == 0, "\(b.stderr)")
        #expect(b.stdout.contains("train: resumed at step 2 of 4"))
        let lrs = try metricsRecords(dir + "/run").map { $0["lr"]?.double ?? -1 }
        // linear:2:0.5 over 4 steps: 0, ½ peak (warmup), then peak · (0.5 + 0.5 · (1 − (k − 2) / 2)) at k = 2, 3.
        #expect(approximately(lrs, [0, 5e-4, 1e-3, 7.5e-4]), "\(lrs)")
        // The monitor's count went through the checkpoint: the stall completes at step 3, reported once.
        #expect(b.stdout.components(separatedBy: "warning: ").count == 2, "\(b.stdout)")
        #expect(b.stdout.contains("warning: no rollout has earned a reward for 3 steps (steps 1–3)"))
        // eval --run evaluates in the run's own format (template, chat, budgets) unless a flag says otherwise.
        let evalArgs = ["eval", "--run", dir + "/run", "--data", data, "--mode", "reasoning", "--max-positions", "2", "--threads", "1"]
        let own = try runRPT(evalArgs + ["--out", dir + "/own.json"])
        #expect(own.status == 0, "\(own.stderr)")
        #expect(own.stdout.contains("the run's training format where not given: template v0, chat raw, max prompt 240, max response 6 tokens"), "\(own.stdout)")
        #expect(try JSON.load(path: dir + "/own.json")["max_response_tokens"]?.int == 6)
        let given = try runRPT(evalArgs + ["--out", dir + "/given.json", "--template", "v0", "--chat", "raw", "--max-prompt-tokens", "230",
                                           "--max-response-tokens", "4"])
        #expect(given.status == 0 && !given.stdout.contains("training format"), "\(given.stdout)")
        #expect(try JSON.load(path: dir + "/given.json")["max_response_tokens"]?.int == 4)
        let bad = try runRPT(base("bad") + ["--steps", "2", "--dynamic-sampling-from", "half"])
        #expect(bad.status != 0 && bad.stderr.contains("--dynamic-sampling-from"))
    }

    @Test func configFilesAreChecked() throws {
        let dir = temporaryDirectory("train-config")
        try Data(#"{"group_sise": 4}"#.utf8).write(to: URL(fileURLWithPath: dir + "/bad.json"))
        expectRPTError(naming: dir + "/bad.json") { _ = try RPTTrainOptions.load(config: dir + "/bad.json") }
        try Data(#"{"groupSize": 4, "lr": 2e-6, "reward": "firstToken"}"#.utf8).write(to: URL(fileURLWithPath: dir + "/ok.json"))
        let o = try RPTTrainOptions.load(config: dir + "/ok.json")
        #expect(o.groupSize == 4 && o.lr == 2e-6 && o.reward == .firstToken && o.batchSize == 256 && o.temperature == 0.8)
    }
}

/// `--reward-command`: a real Python program computes the reward over JSON lines; its answers become the
/// rollouts' rewards, and a program that misbehaves stops the run with an error naming it.
@Suite(.serialized) struct ExternalRewardTests {
    @Test func aPythonRewardProgramScoresTheRollouts() throws {
        let dir = temporaryDirectory("train-external")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A logging wrapper around the documented example: every request is kept for inspection.
        let script = dir + "/reward.py"
        try Data("""
            import json, sys
            sys.path.insert(0, sys.argv[1])
            import length_reward as example
            import base64
            log = open(sys.argv[2], "a")
            for line in sys.stdin:
                group = json.loads(line)
                log.write(line)
                log.flush()
                cont = base64.b64decode(group["continuation_b64"])
                rewards = [example.reward(p, f, cont, set(group["boundaries"])) for p, f in zip(group["predictions"], group["failures"])]
                print(json.dumps({"rewards": rewards}), flush=True)
            """.utf8).write(to: URL(fileURLWithPath: script))
        var o = try trainOptions(dir, out: dir + "/run", steps: 2)
        o.rewardCommand = "python3 \(script) \(Repo.path("docs/examples")) \(dir)/requests.jsonl"
        try trainer(o).run()
        let requests = try String(contentsOfFile: dir + "/requests.jsonl", encoding: .utf8).split(separator: "\n")
            .map { try JSON.parse(Data($0.utf8), file: "requests") }
        #expect(requests.count == 2 * o.batchSize, "one request per group")
        for r in requests {
            #expect(r["responses"]?.array?.count == o.groupSize && r["predictions"]?.array?.count == o.groupSize)
            #expect(r["target"]?.string?.isEmpty == false && r["boundaries"]?.array?.isEmpty == false && r["doc_id"]?.string == "doc")
        }
        // The step's mean reward is the mean of what the program answered: 0, 0.1 or 1 per rollout.
        let means = try metricsRecords(o.out).compactMap { $0["reward_mean"]?.double }
        #expect(means.count == 2)
        for m in means { #expect(m >= 0 && m <= 1) }
        let expected = try requests.prefix(o.batchSize).flatMap { r -> [Double] in
            let cont = try #require(Data(base64Encoded: r["continuation_b64"]?.string ?? ""))
            let boundaries = Set((r["boundaries"]?.array ?? []).compactMap(\.int))
            return (r["predictions"]?.array ?? []).map { p -> Double in
                guard let text = p.string else { return 0 }
                let bytes = Array(text.utf8)
                return !bytes.isEmpty && bytes.count <= cont.count && boundaries.contains(bytes.count) && Array(cont.prefix(bytes.count)) == bytes ? 1 : 0.1
            }
        }
        #expect(abs(means[0] - expected.reduce(0, +) / Double(expected.count)) < 1e-6, "\(means[0]) vs \(expected)")
    }

    @Test func aMisbehavingProgramIsAnErrorNamingIt() throws {
        let dir = temporaryDirectory("train-external-bad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (command, why) in [("python3 -c 'import sys; [print(\"[1]\", flush=True) for l in sys.stdin]'", "expected {\"rewards\": [4 finite numbers]}"),
                               ("python3 -c 'import sys; [print(\"no\", flush=True) for l in sys.stdin]'", "not JSON"),
                               ("python3 -c 'import sys, time; sys.stdin.readline(); time.sleep(30)'", "no answer within 1.0 s"),
                               ("exit 3", "closed its output")] {
            var o = try trainOptions(dir, out: dir + "/run-\(why.count)", steps: 1)
            o.rewardCommand = command; o.rewardTimeout = 1
            do {
                try trainer(o).run()
                Issue.record("\(command) was accepted")
            } catch let e as RPTError {
                // A program that exits is seen either when writing to it or when reading its answer.
                let seen = e.message.contains(why) || (command == "exit 3" && (e.message.contains("status 3") || e.message.contains("Broken pipe")))
                #expect(e.message.hasPrefix("the reward command") && seen, "\(e)")
                #expect(e.file == command)
            }
        }
    }

    /// `rpt eval --reward-command`: the documented example (1 for the right answer) gives the built-in rule's
    /// accuracy; a program that rewards everything gives 100%.
    @Test func evalTakesARewardProgram() throws {
        let dir = temporaryDirectory("eval-external")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try positionFile(dir)
        func accuracy(_ extra: [String]) throws -> Double {
            let out = dir + "/eval-\(extra.count).json"
            let r = try runRPT(["eval", "--model", Repo.fixtureModel("qwen2_f32"), "--data", data, "--mode", "reasoning", "--chat", "raw",
                                "--max-response-tokens", "6", "--max-prompt-tokens", "240", "--samples", "2", "--out", out] + extra)
            #expect(r.status == 0, "\(r.stderr)")
            let results = try JSON.load(path: out)["results"]?.array
            return try #require(results?.first?["splits"]?["all"]?["accuracy"]?.double ?? results?.first?["accuracy"]?.double)
        }
        let builtIn = try accuracy([])
        let example = try accuracy(["--reward-command", "python3 " + Repo.path("docs/examples/length_reward.py")])
        let always = try accuracy(["--reward-command", #"python3 -c 'import sys; [print("[1]", flush=True) for l in sys.stdin]'"#, "--reward-timeout", "30"])
        #expect(example == builtIn)
        #expect(always == 1)
    }
}
