// The run files' line types (MetricsLines.swift) round-trip through the JSON their writers produce, keep the
// field names the report, TensorBoard export and other tools read, and read non-finite numbers (written as null)
// back as NaN.

import Foundation
import Testing
@testable import RPT

@Suite struct MetricsLinesTests {
    @Test func trainLinesRoundTripWithTheirFieldNames() throws {
        var line = TrainMetricsLine(step: 3, rewardMean: 0.25, accuracy: 0.25, groupsDroppedFraction: 0.5, responseLength: 12.5,
                                    clipFraction: 0.125, kl: 0.01, entropy: 1.5, gradNorm: 0.75, loss: -0.5, lr: 1e-4, flops: 3e12,
                                    rolloutTokensPerSecond: 900, rolloutSeconds: 2, updateSeconds: 1, formatFailures: 4)
        line.answers = ["boxed": 12, "failed": 4]
        line.warning = "no signal"
        line.warningKind = "zero_reward"
        let json = try JSON.encoding(line, file: "metrics.jsonl")
        #expect(Set(json.object?.keys ?? [:].keys) == Set(TrainMetricsLine.CodingKeys.allCases.map(\.stringValue) + ["answers_boxed", "answers_failed"]))
        #expect(json["reward_mean"]?.double == 0.25 && json["answers_boxed"]?.int == 12 && json["rollout_tokens_per_s"]?.double == 900)
        let back = try JSON.parse(Data(json.serialized().utf8), file: "m").decode(TrainMetricsLine.self, file: "m")
        #expect(back == line)
    }

    @Test func nonFiniteNumbersComeBackAsNaN() throws {
        let line = PretrainMetricsLine(step: 1, loss: .nan, lr: 1e-3, gradNorm: .infinity, tokens: 64, tokensPerSecond: 100,
                                       elapsedSeconds: 1, flops: 1e9)
        let text = try JSON.encoding(line, file: "m").serialized()
        #expect(text.contains("\"loss\":null") && !text.contains("val_loss"), "\(text)")
        let back = try JSON.parse(Data(text.utf8), file: "m").decode(PretrainMetricsLine.self, file: "m")
        #expect(back.loss.isNaN && back.gradNorm.isNaN && back.tokens == 64 && back.valLoss == nil)
    }

    @Test func aMissingFieldIsNamed() throws {
        let bad = JSON.object(["step": .number(1), "doc_id": .string("d"), "index": .number(2), "target": .string("x"), "reward": .number(1)])
        #expect(throws: RPTError.self) { _ = try bad.decode(CompletionLine.self, file: "completions.jsonl") }
        do { _ = try bad.decode(CompletionLine.self, file: "completions.jsonl") } catch let e as RPTError {
            #expect(e.message.contains("completion is missing"), "\(e)")
        }
        let line = CompletionLine(step: 1, docId: "d", index: 2, target: "x", completion: "c", prediction: nil, reward: 1)
        let json = try JSON.encoding(line, file: "c")
        #expect(json["prediction"] == .null, "an absent prediction is written as null")
        #expect(try json.decode(CompletionLine.self, file: "c") == line)
    }
}
