// `rpt pretrain` end to end: loss goes down, N steps + resume + M steps equals N+M steps bit for bit,
// a run killed (SIGKILL) at random moments — mostly inside checkpoint writes — always leaves a loadable
// latest checkpoint and resumes to the same result, a non-finite loss stops the run naming the step,
// SFT trains on completion tokens only, and a model can be initialised from a config.json.

import Foundation
import Testing
@testable import RPT

func pretrainOptions(_ out: String, steps: Int, model: String = Repo.fixtureModel("qwen2_f32")) -> PretrainOptions {
    var o = PretrainOptions(model: model, data: Repo.path("Tests/Fixtures/data/short_stories.txt"), out: out)
    o.delimiter = "\n\n\n"
    o.steps = steps; o.seqLen = 32; o.batchSize = 2; o.lr = 3e-3; o.validation = 1
    o.saveEvery = 3; o.evalEvery = 3; o.evalBatches = 2; o.keepLast = 0
    return o
}

private func quiet(_ t: Pretrainer) -> Pretrainer { t.log = { _ in }; return t }

private func fileBytes(_ path: String) -> Data { FileManager.default.contents(atPath: path) ?? Data() }

@Suite(.serialized) struct PretrainTests {
    @Test func lossDecreasesAndCheckpointsAreWritten() throws {
        let out = temporaryDirectory("pt")
        try quiet(Pretrainer(options: pretrainOptions(out, steps: 12), resume: false)).run()
        let lines = String(decoding: fileBytes(out + "/metrics.jsonl"), as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 12)
        let typed = try lines.map { try JSON.parse(Data($0.utf8), file: "m").decode(PretrainMetricsLine.self, file: "m") }
        #expect(typed.map(\.step) == Array(1...12) && typed.last?.valLoss != nil && typed.allSatisfy { $0.tokens > 0 && $0.flops > 0 })
        let losses = typed.map(\.loss)
        let late: Double = losses.suffix(3).reduce(0, +), early: Double = losses.prefix(3).reduce(0, +)
        #expect(late < early * 0.9, "losses \(losses)")
        #expect(Checkpoint.latest(in: out) == out + "/step-000012")
        let reloaded = try Model.load(path: out + "/step-000012")
        let checkpoint = try Checkpoint.load(dir: out + "/step-000012")
        #expect(reloaded.config.hiddenSize == checkpoint.model.config.hiddenSize)
        #expect(Array(reloaded.params.buffer) == Array(checkpoint.model.params.buffer))
    }

    @Test func resumeIsBitExact() throws {
        let straight = temporaryDirectory("pt-straight"), resumed = temporaryDirectory("pt-resumed")
        try quiet(Pretrainer(options: pretrainOptions(straight, steps: 9), resume: false)).run()
        try quiet(Pretrainer(options: pretrainOptions(resumed, steps: 9), resume: false)).run(stopAfter: 5)
        try quiet(Pretrainer(options: pretrainOptions(resumed, steps: 9), resume: true)).run()
        for f in ["model.safetensors", "optimizer.safetensors"] {
            let a = fileBytes(straight + "/step-000009/" + f), b = fileBytes(resumed + "/step-000009/" + f)
            #expect(!a.isEmpty && a == b, "\(f) differs after resume")
        }
        // The metrics of the resumed run continue without duplicates.
        let steps = String(decoding: fileBytes(resumed + "/metrics.jsonl"), as: UTF8.self).split(separator: "\n")
            .map { try! JSON.parse(Data($0.utf8), file: "m")["step"]!.int! }
        #expect(steps == Array(1...9))
    }

    @Test func sigkillDuringCheckpointWritesLosesNothing() throws {
        // A 3M-parameter model with a save every step: most wall time is spent writing checkpoints.
        let dir = temporaryDirectory("pt-kill")
        var cfg = try JSON.load(path: Repo.fixtureModel("llama_f32") + "/config.json").object!
        cfg["hidden_size"] = .number(256); cfg["intermediate_size"] = .number(704); cfg["num_hidden_layers"] = .number(4)
        try Data(JSON.object(cfg).serialized().utf8).write(to: URL(fileURLWithPath: dir + "/config.json"))
        for f in ["tokenizer.json", "tokenizer_config.json"] {
            try FileManager.default.copyItem(atPath: Repo.fixtureModel("llama_f32") + "/" + f, toPath: dir + "/" + f)
        }
        let out = dir + "/run"
        let args = ["pretrain", "--model", dir + "/config.json", "--data", Repo.path("Tests/Fixtures/data/short_stories.txt"),
                    "--delimiter", "\\n\\n\\n", "--out", out, "--steps", "40", "--seq-len", "16", "--batch-size", "1",
                    "--validation", "1", "--save-every", "1", "--keep-last", "2", "--lr", "1e-3"]
        var rng = RandomGenerator(seed: 7)
        var kills = 0, killedMidWrite = 0
        for attempt in 0..<6 {
            let p = Process()
            p.executableURL = try rptBinary()
            p.arguments = args + (attempt == 0 ? [] : ["--resume"])
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            usleep(UInt32(150_000 + rng.next() % 400_000))
            if p.isRunning { kill(p.processIdentifier, SIGKILL); kills += 1 }
            p.waitUntilExit()
            let tmps = ((try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []).filter { $0.hasPrefix(".step-") }
            if !tmps.isEmpty { killedMidWrite += 1 }
            // Invariant: latest names a complete checkpoint, and every step-* directory is complete.
            if let latest = Checkpoint.latest(in: out) {
                _ = try Checkpoint.load(dir: latest)
                for ck in Checkpoint.completeCheckpoints(in: out) { _ = try Checkpoint.load(dir: ck.path) }
            }
        }
        #expect(kills >= 3)
        print("SIGKILL test: \(kills) kills, \(killedMidWrite) inside a checkpoint write")
        // Finish, then compare with an uninterrupted run.
        let finish = try runRPT(args + ["--resume"])
        #expect(finish.status == 0, "\(finish.stderr)")
        let clean = try runRPT(args.map { $0 == out ? dir + "/clean" : $0 })
        #expect(clean.status == 0)
        let a = fileBytes(out + "/step-000040/model.safetensors"), b = fileBytes(dir + "/clean/step-000040/model.safetensors")
        #expect(!a.isEmpty && a == b, "killed-and-resumed run differs from the uninterrupted one")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.contains(".tmp") }
        #expect(leftovers.isEmpty, "stale temporary entries: \(leftovers)")
    }

    @Test func nonFiniteLossStopsNamingTheStep() throws {
        let out = temporaryDirectory("pt-nan")
        var o = pretrainOptions(out, steps: 30)
        o.lr = 1e6
        #expect(throws: RPTError.self) { _ = try Pretrainer(options: o, resume: false) }   // an absurd rate is refused outright
        o.lr = 3e-3; o.saveEvery = 1
        try quiet(Pretrainer(options: o, resume: false)).run(stopAfter: 2)
        // A weight gone NaN (as a diverged update leaves it): the next step stops, naming it, and nothing is saved.
        let t = quiet(try Pretrainer(options: o, resume: true))
        t.model.params.base[0] = .nan
        do {
            try t.run()
            Issue.record("a NaN weight should have produced a non-finite loss")
        } catch let e as RPTError {
            #expect(e.message.hasPrefix("step 3"), "\(e)")
            #expect(e.message.contains("non-finite") || e.message.contains("nan") || e.message.contains("inf"))
            #expect(Checkpoint.latest(in: out) == out + "/step-000002")
            let weights = try Checkpoint.load(dir: out + "/step-000002").model.params.buffer
            #expect(weights.allSatisfy { $0.isFinite })
        }
    }

    @Test func sftTrainsOnCompletionTokensOnly() throws {
        let dir = temporaryDirectory("sft")
        let lines = (0..<12).map { i in
            #"{"prompt": "Question \#(i): what follows \#(i)?", "completion": " It is \#(i + 1)."}"#
        }
        try Data(lines.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: dir + "/sft.jsonl"))
        var o = pretrainOptions(dir + "/run", steps: 15)
        o.data = dir + "/sft.jsonl"; o.sft = true; o.delimiter = nil; o.validation = 2; o.batchSize = 4
        let t = quiet(try Pretrainer(options: o, resume: false))
        let before = try #require(try t.validationLoss())
        try t.run()
        let after = try #require(try t.validationLoss())
        #expect(after < before, "validation loss on completions \(before) → \(after)")
    }

    @Test func initialisesFromConfigJSON() throws {
        let dir = temporaryDirectory("init")
        for f in ["config.json", "tokenizer.json", "tokenizer_config.json"] {
            try FileManager.default.copyItem(atPath: Repo.fixtureModel("qwen3_f32") + "/" + f, toPath: dir + "/" + f)
        }
        let a = quiet(try Pretrainer(options: pretrainOptions(dir + "/a", steps: 1, model: dir + "/config.json"), resume: false))
        let b = quiet(try Pretrainer(options: pretrainOptions(dir + "/b", steps: 1, model: dir + "/config.json"), resume: false))
        #expect(Array(a.model.params.buffer) == Array(b.model.params.buffer))
        let emb = a.model.params.values("model.embed_tokens.weight")
        let sumSquares: Float = emb.reduce(0) { $0 + $1 * $1 }
        let std = (sumSquares / Float(emb.count)).squareRoot()
        #expect(abs(std - 0.02) < 0.002)
        #expect(a.model.params.values("model.norm.weight").allSatisfy { $0 == 1 })
    }
}


@Suite struct PretrainGuardTests {
    @Test func refusesToOverwriteCheckpointsWithoutResume() throws {
        let out = temporaryDirectory("pt-guard")
        var o = pretrainOptions(out, steps: 3)
        o.saveEvery = 3
        let t = try Pretrainer(options: o, resume: false)
        t.log = { _ in }
        try t.run()
        #expect(throws: RPTError.self) { _ = try Pretrainer(options: o, resume: false) }
    }
}
