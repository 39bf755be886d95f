// `rpt train` end to end on a small position file: metrics.jsonl (step, reward_mean, flops, …),
// completions.jsonl, checkpoints; N steps + resume + M steps equals N+M steps bit for bit; config files
// with unknown keys are refused.

import Foundation
import Testing
@testable import RPT

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

@Suite(.serialized) struct RPTTrainTests {
    @Test func writesMetricsCompletionsAndCheckpoints() throws {
        let dir = temporaryDirectory("train")
        let t = try RPTTrainer(options: trainOptions(dir, out: dir + "/run", steps: 3), resume: false)
        t.log = { _ in }
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
        let completions = String(decoding: FileManager.default.contents(atPath: dir + "/run/completions.jsonl")!, as: UTF8.self)
        #expect(completions.split(separator: "\n").count == 3 * 2)
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

    @Test func configFilesAreChecked() throws {
        let dir = temporaryDirectory("train-config")
        try Data(#"{"group_size": 4}"#.utf8).write(to: URL(fileURLWithPath: dir + "/bad.json"))
        expectRPTError(naming: dir + "/bad.json") { _ = try RPTTrainOptions.load(config: dir + "/bad.json") }
        try Data(#"{"groupSize": 4, "lr": 2e-6, "reward": "firstToken"}"#.utf8).write(to: URL(fileURLWithPath: dir + "/ok.json"))
        let o = try RPTTrainOptions.load(config: dir + "/ok.json")
        #expect(o.groupSize == 4 && o.lr == 2e-6 && o.reward == .firstToken && o.batchSize == 256 && o.temperature == 0.8)
    }
}
