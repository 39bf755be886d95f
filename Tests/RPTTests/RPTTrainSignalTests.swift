// The pieces of `rpt train`'s run health, on their own: the learning-signal monitor (sequences of step
// metrics → exactly one warning per stall, with the cause and the fix), the dynamic-sampling start as a step
// or a share of the run (and old integer checkpoints), and the prompt/response budget fitted to a model.

import Foundation
import Testing
@testable import RPT

private func tally(answered: Int = 0, _ failures: [AnswerFailure: Int] = [:]) -> AnswerOutcomeTally {
    var t = AnswerOutcomeTally()
    t.answered = answered
    t.failures = failures
    return t
}

/// A step with no reward, every rollout a format failure (2 truncated, 1 without </think> of 3 per step… scaled).
private func zeroStep(_ step: Int, truncated: Int = 6, noThink: Int = 2) -> LearningSignalMonitor.StepSignal {
    .init(step: step, rewardMean: 0, gradNorm: 0, allGroupsEqual: true, answers: tally([.truncated: truncated, .missingThinkClose: noThink]),
          responseLengthMean: 48, maxResponseTokens: 48)
}

private func learningStep(_ step: Int, reward: Float = 0.4) -> LearningSignalMonitor.StepSignal {
    .init(step: step, rewardMean: reward, gradNorm: 0.3, allGroupsEqual: false, answers: tally(answered: 8), responseLengthMean: 20, maxResponseTokens: 48)
}

private func saturatedStep(_ step: Int) -> LearningSignalMonitor.StepSignal {
    .init(step: step, rewardMean: 1, gradNorm: 0, allGroupsEqual: true, answers: tally(answered: 8), responseLengthMean: 20, maxResponseTokens: 48)
}

@Suite struct RPTTrainSignalMonitorTests {
    @Test func zeroRewardWarnsOnceAfterThreeStepsNamingTheFormatFailures() throws {
        var m = LearningSignalMonitor(totalSteps: 100)
        var warnings: [LearningSignalMonitor.Warning] = []
        for s in 1...8 { if let w = m.observe(zeroStep(s)) { warnings.append(w) } }
        #expect(warnings.count == 1)
        let w = try #require(warnings.first)
        #expect(w.kind == .zeroReward && w.step == 3)
        #expect(w.message.hasPrefix("no rollout has earned a reward for 3 steps (steps 1–3): the policy does not produce the answer format"))
        #expect(w.message.contains("(format failures 24/24: 18 truncated at the length limit, 6 no </think>)"))
        #expect(w.message.contains("cold start") && w.message.contains("`rpt pretrain --sft`") && w.message.contains("--template"))
        // Mostly truncated: the length limit is named with the response length.
        #expect(w.message.contains("raise --max-response-tokens") && w.message.contains("(mean response length 48 of at most 48 tokens)"))
        #expect(m.warned == [.zeroReward])
    }

    @Test func aShortRunWarnsWhenEveryStepStalled() {
        var m = LearningSignalMonitor(totalSteps: 2)
        #expect(m.patience == 2)
        #expect(m.observe(zeroStep(1)) == nil)
        let w = m.observe(zeroStep(2))
        #expect(w?.kind == .zeroReward && w?.message.contains("for 2 steps (steps 1–2)") == true)
        #expect(LearningSignalMonitor(totalSteps: 1).patience == 1)
        var one = LearningSignalMonitor(totalSteps: 1)
        #expect(one.observe(zeroStep(1))?.message.contains("for 1 step (step 1)") == true)
    }

    @Test func aBrokenStreakDoesNotWarn() {
        var m = LearningSignalMonitor(totalSteps: 100)
        let steps = [zeroStep(1), zeroStep(2), learningStep(3, reward: 0.05), zeroStep(4), zeroStep(5), learningStep(6), zeroStep(7)]
        #expect(steps.compactMap { m.observe($0) }.isEmpty)
        #expect(m.warned.isEmpty)
    }

    @Test func eachStallIsReportedOnceAndOverlappingOnesOnlyOnce() {
        // Zero reward (equal rewards and zero gradient hold too: one warning), then learning, then saturation
        // (equal rewards: its own warning), then zero reward again (already reported: silent).
        var m = LearningSignalMonitor(totalSteps: 100)
        var seq: [LearningSignalMonitor.StepSignal] = (1...5).map { zeroStep($0) }
        seq += (6...9).map { learningStep($0) }
        seq += (10...14).map { saturatedStep($0) }
        seq += (15...20).map { zeroStep($0) }
        let warnings = seq.compactMap { m.observe($0) }
        #expect(warnings.map(\.kind) == [.zeroReward, .equalRewards])
        #expect(warnings.map(\.step) == [3, 12])
        let saturated = warnings[1].message
        #expect(saturated.hasPrefix("every group's rollouts have had equal rewards for 3 steps (steps 10–12) (mean reward 1.000): every advantage is 0"))
        #expect(saturated.contains("too easy") && saturated.contains("--entropy-threshold"))
    }

    @Test func equalButWrongRolloutsAskForVariety() {
        var m = LearningSignalMonitor(totalSteps: 100)
        let s = { (i: Int) in LearningSignalMonitor.StepSignal(step: i, rewardMean: 0.5, gradNorm: 0, allGroupsEqual: true, answers: tally(answered: 8)) }
        let w = [s(1), s(2), s(3)].compactMap { m.observe($0) }
        #expect(w.count == 1 && w[0].kind == .equalRewards)
        #expect(w[0].message.contains("(mean reward 0.500)") && w[0].message.contains("raise --temperature or --group-size"))
    }

    @Test func zeroGradientWithDifferingRewards() {
        var m = LearningSignalMonitor(totalSteps: 100)
        let s = { (i: Int) in LearningSignalMonitor.StepSignal(step: i, rewardMean: 0.25, gradNorm: 0, allGroupsEqual: false, answers: tally(answered: 8),
                                                              responseLengthMean: 0) }
        let w = (1...4).compactMap { m.observe(s($0)) }
        #expect(w.count == 1 && w[0].kind == .zeroGradient && w[0].step == 3)
        #expect(w[0].message.hasPrefix("the gradient norm has been 0 for 3 steps (steps 1–3) although some groups' rewards differ"))
    }

    @Test func wrongButWellFormedAnswersPointAtHardPositions() {
        var m = LearningSignalMonitor(totalSteps: 100)
        let s = { (i: Int) in LearningSignalMonitor.StepSignal(step: i, rewardMean: 0, gradNorm: 0, allGroupsEqual: true,
                                                              answers: tally(answered: 7, [.noBoxed: 1])) }
        let w = (1...3).compactMap { m.observe(s($0)) }
        #expect(w.count == 1)
        #expect(w[0].message.contains("answers are extracted (format failures 3/24: 3 no \\boxed{}) but none is the next token"))
        #expect(w[0].message.contains("too hard") && !w[0].message.contains("cold start"))
    }

    @Test func stateSurvivesACheckpoint() throws {
        var m = LearningSignalMonitor(totalSteps: 100)
        _ = m.observe(zeroStep(1)); _ = m.observe(zeroStep(2))
        let saved = try JSON.parse(JSONEncoder().encode(m), file: "state")
        var restored = try JSONDecoder().decode(LearningSignalMonitor.self, from: Data(saved.serialized().utf8))
        #expect(restored == m)
        let w = restored.observe(zeroStep(3))
        #expect(w?.kind == .zeroReward && w?.message.contains("format failures 24/24") == true)
        // And a warned kind stays warned across a save.
        var again = try JSONDecoder().decode(LearningSignalMonitor.self, from: JSONEncoder().encode(restored))
        #expect(again.observe(zeroStep(4)) == nil)
    }
}

@Suite struct RPTTrainOptionsTests {
    @Test func dynamicSamplingStartsHalfWayByDefault() throws {
        var o = RPTTrainOptions()
        #expect(o.dynamicSamplingFromStep == .percent(50))
        #expect(o.dynamicSamplingStart == 500)   // the paper: step 500 of 1000
        o.steps = 20
        #expect(o.dynamicSamplingStart == 10)
        o.steps = 7
        #expect(o.dynamicSamplingStart == 3)
        o.dynamicSamplingFromStep = .step(2)
        #expect(o.dynamicSamplingStart == 2)
        #expect(RelativeStep.percent(29).resolve(totalSteps: 100) == 29)
        #expect(RelativeStep.percent(12.5).resolve(totalSteps: 8) == 1)
    }

    @Test func relativeStepParsing() throws {
        #expect(try RelativeStep(parsing: "500") == .step(500))
        #expect(try RelativeStep(parsing: "50%") == .percent(50))
        #expect(try RelativeStep(parsing: "12.5%") == .percent(12.5))
        #expect(RelativeStep.percent(50).description == "50%" && RelativeStep.percent(12.5).description == "12.5%")
        for bad in ["-1", "150%", "abc", "%", "1.5", ""] {
            #expect(throws: RPTError.self, "\(bad)") { _ = try RelativeStep(parsing: bad) }
        }
        let e = try #require(expectRPTError(naming: "--dynamic-sampling-from") { _ = try RelativeStep(parsing: "half") })
        #expect(e.message.contains("50%"))
    }

    @Test func optionsWithTheOldIntegerFieldStillDecode() throws {
        var object = try #require(try RPTTrainOptions().json.object)
        #expect(object["dynamicSamplingFromStep"] == .string("50%"))
        object["dynamicSamplingFromStep"] = .number(500)
        let old = try JSONDecoder().decode(RPTTrainOptions.self, from: Data(JSON.object(object).serialized().utf8))
        #expect(old.dynamicSamplingFromStep == .step(500))
        // Round trip of both forms.
        for v in [RelativeStep.step(7), .percent(30)] {
            var o = RPTTrainOptions()
            o.dynamicSamplingFromStep = v
            let back = try JSONDecoder().decode(RPTTrainOptions.self, from: Data(try o.json.serialized().utf8))
            #expect(back == o)
        }
        // A config file may use either form.
        let dir = temporaryDirectory("train-options")
        try Data(#"{"dynamicSamplingFromStep": "25%"}"#.utf8).write(to: URL(fileURLWithPath: dir + "/c.json"))
        #expect(try RPTTrainOptions.load(config: dir + "/c.json").dynamicSamplingFromStep == .percent(25))
        try Data(#"{"dynamicSamplingFromStep": "most"}"#.utf8).write(to: URL(fileURLWithPath: dir + "/bad.json"))
        expectRPTError(naming: dir + "/bad.json") { _ = try RPTTrainOptions.load(config: dir + "/bad.json") }
    }

    @Test func badLearningRateSchedulesAreRefusedUpFront() {
        var o = RPTTrainOptions()
        o.lrSchedule = "cosine:2000:0.1"   // warmup beyond the 1000 steps
        expectRPTError(naming: "--lr-schedule") { try o.validate() }
        o.lrSchedule = "warmup"
        expectRPTError(naming: "--lr-schedule") { try o.validate() }
        o.lrSchedule = "linear:10:0"
        #expect(throws: Never.self) { try o.validate() }
    }

    @Test func resumeTakesSafeOverridesAndRefusesTheRest() throws {
        var run = RPTTrainOptions()
        run.lrSchedule = "warmup:5"; run.model = "/a"; run.out = "/old/run"; run.steps = 10; run.seed = 3
        // Safe: steps, lr, save cadence; the directory is the one resumed, never the stored one.
        var asked = RPTTrainOptions()
        asked.model = "b"; asked.steps = 20; asked.lr = 1e-5; asked.keepLast = 0
        let merged = try ResumeOptions.merge(stored: run, requested: asked, defaults: RPTTrainOptions(), safe: RPTTrainOptions.safeOnResume, out: "/new/run")
        #expect(merged.out == "/new/run" && merged.model == "/a" && merged.steps == 20 && merged.lr == 1e-5 && merged.keepLast == 0)
        #expect(merged.lrSchedule == "warmup:5" && merged.seed == 3)
        // Anything else set to a value the run did not use is refused, each named.
        asked.lrSchedule = "cosine:0:0.1"; asked.groupSize = 4
        let e = expectRPTError(naming: "/new/run") {
            _ = try ResumeOptions.merge(stored: run, requested: asked, defaults: RPTTrainOptions(), safe: RPTTrainOptions.safeOnResume, out: "/new/run")
        }
        #expect(e?.message.contains(#"lrSchedule "cosine:0:0.1" (the run's: "warmup:5")"#) == true && e?.message.contains("groupSize 4") == true, "\(String(describing: e))")
        // The run's own values (or defaults) are no change.
        #expect(throws: Never.self) {
            _ = try ResumeOptions.merge(stored: run, requested: run, defaults: RPTTrainOptions(), safe: RPTTrainOptions.safeOnResume, out: "/x")
        }
    }
}

@Suite struct RPTTrainBudgetTests {
    @Test func aBudgetThatFitsIsKept() throws {
        let b = try SequenceBudget.fit(prompt: 400, response: 48, promptIsDefault: false, responseIsDefault: false,
                                       instructionTokens: 215, positions: 512)
        #expect(b == SequenceBudget(maxPromptTokens: 400, maxResponseTokens: 48))
    }

    @Test func defaultsAreFittedToASmallModelWithANote() throws {
        let b = try SequenceBudget.fit(prompt: 4096, response: 8192, promptIsDefault: true, responseIsDefault: true,
                                       instructionTokens: 215, positions: 512)
        // 297 positions after the instruction: a third (99) for context, the rest (198) for the response.
        #expect(b.maxPromptTokens == 314 && b.maxResponseTokens == 198)
        let note = try #require(b.note)
        #expect(note.contains("512 positions (max_position_embeddings)") && note.contains("--max-response-tokens"))
        // One default: it takes what the other leaves.
        let r = try SequenceBudget.fit(prompt: 400, response: 8192, promptIsDefault: false, responseIsDefault: true,
                                       instructionTokens: 215, positions: 512)
        #expect(r.maxPromptTokens == 400 && r.maxResponseTokens == 112 && r.note != nil)
        let p = try SequenceBudget.fit(prompt: 4096, response: 48, promptIsDefault: true, responseIsDefault: false,
                                       instructionTokens: 215, positions: 512)
        #expect(p.maxPromptTokens == 464 && p.maxResponseTokens == 48)
        #expect(p.note?.hasPrefix("the default prompt budget (4096 tokens) + --max-response-tokens 48 exceed") == true)
    }

    @Test func anExplicitResponseBudgetIsKeptAndPromptsAreCut() throws {
        // Prompts are cut from the left anyway; a prompt longer than 512 − 48 could not have been generated from.
        let b = try SequenceBudget.fit(prompt: 600, response: 48, promptIsDefault: false, responseIsDefault: false,
                                       instructionTokens: 215, positions: 512)
        #expect(b.maxPromptTokens == 464 && b.maxResponseTokens == 48)
        #expect(b.note == "--max-prompt-tokens 600 + --max-response-tokens 48 exceed the policy's 512 positions (max_position_embeddings): prompts are cut (oldest context first) to 464 tokens")
    }

    @Test func budgetsThatLeaveNoRoomFailNamingTheFlag() {
        let response = expectRPTError(naming: "rpt train") {
            _ = try SequenceBudget.fit(prompt: 4096, response: 400, promptIsDefault: true, responseIsDefault: false, instructionTokens: 215, positions: 512)
        }
        #expect(response?.message.contains("--max-response-tokens 400 leaves 112 of the policy's 512 positions (max_position_embeddings) for the prompt, but the prompt template alone takes 215") == true)
        #expect(response?.message.contains("lower --max-response-tokens to at most 296 (e.g. --max-prompt-tokens 314 --max-response-tokens 198)") == true)
        let both = expectRPTError(naming: "rpt train") {
            _ = try SequenceBudget.fit(prompt: 300, response: 400, promptIsDefault: false, responseIsDefault: false, instructionTokens: 215, positions: 512)
        }
        #expect(both?.message.contains("lower --max-response-tokens") == true)
        let prompt = expectRPTError(naming: "rpt train") {
            _ = try SequenceBudget.fit(prompt: 600, response: 8192, promptIsDefault: false, responseIsDefault: true, instructionTokens: 215, positions: 512)
        }
        #expect(prompt?.message.contains("--max-prompt-tokens 600 leaves no room for a response") == true)
        let template = expectRPTError(naming: "rpt train") {
            _ = try SequenceBudget.fit(prompt: 4096, response: 8192, promptIsDefault: true, responseIsDefault: true, instructionTokens: 600, positions: 512)
        }
        #expect(template?.message.contains("--template") == true)
    }
}
