// The checkpoint format (Sources/RPT/Training/Checkpoint.swift): bit-exact F32 round trips of weights, AdamW
// moments, step counts and generator states; the model part loads like any HF checkpoint with the same logits
// (and matches the PyTorch reference logits of the fixture); a tied head is not written; interrupted saves
// leave the previous checkpoint loadable and are cleaned up; keep-last-K pruning; corrupt files are named.

import Foundation
import Testing
@testable import RPT

private func bits(_ b: ParameterBuffer) -> [UInt32] {
    b.specs.flatMap { s in b.values(s.name).map(\.bitPattern) }
}

/// A fixture model after a few AdamW steps on random gradients (so parameters, m and v are all non-trivial),
/// with the gradient buffer and the optimizer.
private func trainedFixture(_ name: String, steps: Int = 3) throws -> (Model, ParameterBuffer, AdamW) {
    let model = try Model.load(path: Repo.fixtureModel(name))
    let grads = ParameterBuffer(specs: model.layout.specs)
    let opt = try AdamW(params: model.params, grads: grads, lr: 1e-3, beta1: 0.9, beta2: 0.95, weightDecay: 0.1)
    var rng = RandomGenerator(seed: 99)
    for _ in 0..<steps {
        for s in grads.specs { for i in 0..<s.count { grads.base[s.offset + i] = Float(rng.nextUnit() - 0.5) } }
        opt.step()
    }
    return (model, grads, opt)
}

private func sampleState(step: Int) -> TrainerState {
    var sampling = RandomGenerator(seed: 7)
    for _ in 0..<13 { _ = sampling.next() }
    return TrainerState(step: step, rngStates: ["sampling": sampling, "data": RandomGenerator(seed: 8, stream: 3)],
                        dataCursor: .object(["file": .string("shard-00001.jsonl"), "offset": .number(123_456_789_012)]),
                        options: .object(["lr": .number(1e-3), "schedule": .string("cosine:10:0.1"), "group": .number(8)]),
                        metrics: ["loss": 2.718281828459045, "reward": -0.125, "grad_norm": 0.1 + 0.2],
                        payload: .array([.bool(true), .null, .string("ünïcode \"quoted\"")]))
}

private let probeTokens = [1, 17, 300, 42, 7, 255, 381, 3]

@Suite struct CheckpointTests {
    @Test(arguments: ["qwen2_bf16_tied", "llama_f32"])
    func roundTripIsBitExact(_ fixture: String) throws {
        let (model, grads, opt) = try trainedFixture(fixture)
        let out = temporaryDirectory("ckpt-roundtrip")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let state = sampleState(step: 3)
        let dir = try Checkpoint.save(model: model, optimizer: opt.state, state: state, in: out)
        #expect(dir == out + "/step-000003")

        let loaded = try Checkpoint.load(dir: dir)
        #expect(bits(loaded.model.params) == bits(model.params))
        #expect(bits(loaded.m) == bits(opt.m))
        #expect(bits(loaded.v) == bits(opt.v))
        var expectedState = state
        expectedState.adamwStep = opt.t
        expectedState.checksums = loaded.state.checksums
        #expect(loaded.state == expectedState)
        #expect(loaded.state.checksums?.keys.sorted() == [Checkpoint.modelFile, Checkpoint.optimizerFile])
        #expect(loaded.state.rngStates["sampling"]!.state == state.rngStates["sampling"]!.state)
        #expect(loaded.model.config.family == model.config.family)
        let config = try JSON.load(path: dir + "/config.json")
        #expect((config["torch_dtype"] ?? config["dtype"]) == .string("float32"))

        // Resuming continues exactly: one more step on both sides with the same gradients.
        let resumedGrads = ParameterBuffer(specs: loaded.model.layout.specs)
        resumedGrads.base.update(from: grads.base, count: grads.count)
        let resumed = try AdamW(params: loaded.model.params, grads: resumedGrads, lr: 1e-3, beta1: 0.9, beta2: 0.95, weightDecay: 0.1)
        try resumed.restore(m: loaded.m, v: loaded.v, t: loaded.state.adamwStep)
        opt.step()
        resumed.step()
        #expect(bits(resumed.params) == bits(opt.params))
        #expect(bits(resumed.v) == bits(opt.v))
    }

    /// The saved model directory loads through Model.load with identical logits (F32), and a BF16 save of a
    /// model whose weights are already bf16 values is lossless.
    @Test(arguments: [("llama_f32", CheckpointDType.float32), ("qwen2_bf16_tied", .float32), ("qwen2_bf16_tied", .bfloat16)])
    func savedModelGivesIdenticalLogits(_ fixture: String, _ dtype: CheckpointDType) throws {
        let model = try Model.load(path: Repo.fixtureModel(fixture))
        let opt = try AdamW(params: model.params, grads: ParameterBuffer(specs: model.layout.specs))
        let out = temporaryDirectory("ckpt-logits")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let dir = try Checkpoint.save(model: model, optimizer: opt.state, state: TrainerState(step: 0), in: out,
                                      options: CheckpointOptions(modelDType: dtype))
        let reloaded = try Model.load(path: dir)
        #expect(try allLogits(reloaded, probeTokens).map(\.bitPattern) == allLogits(model, probeTokens).map(\.bitPattern))
    }

    /// model.safetensors holds exactly the layout's tensors (no lm_head for a tied model, as save_pretrained),
    /// config.json is the original with the dtype updated, and the tokenizer files are copied.
    @Test func writesAnHFModelDirectory() throws {
        let fixture = Repo.fixtureModel("qwen2_bf16_tied")
        let model = try Model.load(path: fixture)
        let opt = try AdamW(params: model.params, grads: ParameterBuffer(specs: model.layout.specs))
        let out = temporaryDirectory("ckpt-hf")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let dir = try Checkpoint.save(model: model, optimizer: opt.state, state: TrainerState(step: 12), in: out,
                                      options: CheckpointOptions(modelDType: .bfloat16, tokenizerSources: [fixture]))
        let weights = try SafeTensorsFile(path: dir + "/model.safetensors")
        #expect(Set(weights.tensors.keys) == Set(model.layout.specs.map(\.name)))
        #expect(weights.tensors["lm_head.weight"] == nil)
        #expect(weights.tensors.values.allSatisfy { $0.dtype == .bf16 })
        #expect(weights.metadata["format"] == "pt")

        var original = try JSON.load(path: fixture + "/config.json").object!
        let written = try JSON.load(path: dir + "/config.json").object!
        #expect(written["torch_dtype"] == .string("bfloat16"))
        original["torch_dtype"] = .string("bfloat16")
        #expect(written == original)
        #expect(try JSON.load(path: dir + "/generation_config.json")["eos_token_id"] == .number(381))
        for name in ["tokenizer.json", "tokenizer_config.json"] {
            #expect(FileManager.default.contents(atPath: dir + "/" + name) == FileManager.default.contents(atPath: fixture + "/" + name))
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/reference.safetensors"))
        // A tokenizer loads from the checkpoint directory.
        #expect(try loadTokenizer(path: dir).encode("What say you").isEmpty == false)

        // The untied model writes its head; a transformers-5 config ("dtype", no "torch_dtype") gets "dtype" updated.
        let untied = try Model.load(path: Repo.fixtureModel("llama_f32"))
        let dir2 = try Checkpoint.save(model: untied, optimizer: try AdamW(params: untied.params, grads: ParameterBuffer(specs: untied.layout.specs)).state,
                                       state: TrainerState(step: 13), in: out, options: CheckpointOptions(modelDType: .bfloat16))
        #expect(try SafeTensorsFile(path: dir2 + "/model.safetensors").tensors["lm_head.weight"]?.dtype == .bf16)
        let config2 = try JSON.load(path: dir2 + "/config.json")
        #expect(config2["dtype"] == .string("bfloat16"))
        #expect(config2["torch_dtype"] == nil)
    }

    /// A llama2.c model (config built on import) with its tokenizer.bin copied as is.
    @Test func llama2cModelAndTokenizer() throws {
        let model = try Model.load(path: Repo.stories260KBin)
        let opt = try AdamW(params: model.params, grads: ParameterBuffer(specs: model.layout.specs))
        let out = temporaryDirectory("ckpt-llama2c")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let dir = try Checkpoint.save(model: model, optimizer: opt.state, state: TrainerState(step: 1), in: out,
                                      options: CheckpointOptions(tokenizerSources: [Repo.stories260KTokenizer]))
        #expect(FileManager.default.contents(atPath: dir + "/tok512.bin") == FileManager.default.contents(atPath: Repo.stories260KTokenizer))
        let reloaded = try Checkpoint.load(dir: dir).model
        #expect(reloaded.config.tiedEmbeddings == model.config.tiedEmbeddings)
        let tokens = [1, 403, 407, 261, 378, 5]
        #expect(try allLogits(reloaded, tokens).map(\.bitPattern) == allLogits(model, tokens).map(\.bitPattern))
        #expect(try loadTokenizer(path: dir).encode("Once upon a time") == loadTokenizer(path: Repo.stories260KTokenizer).encode("Once upon a time"))
    }

    /// A model whose config was built in code (no config.json behind it) gets a config.json synthesised that
    /// loads back into the same configuration.
    @Test func synthesizedConfigLoadsBack() throws {
        var config = ModelConfig(family: .qwen3, hiddenSize: 32, intermediateSize: 48, numLayers: 2, numHeads: 4,
                                 numKVHeads: 2, headDim: 16, vocabSize: 50, maxPositions: 64, rmsNormEps: 1e-5,
                                 ropeTheta: 5e5, ropeScaling: .linear(factor: 2), tiedEmbeddings: true,
                                 bosTokenId: 3, eosTokenIds: [4, 5])
        config.qkvBias = true
        config.oBias = true
        let model = Model(config: config)
        var rng = RandomGenerator(seed: 5)
        for s in model.layout.specs { for i in 0..<s.count { model.params.base[s.offset + i] = Float(rng.nextUnit() - 0.5) } }
        let out = temporaryDirectory("ckpt-synth")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let dir = try Checkpoint.save(model: model, optimizer: try AdamW(params: model.params, grads: ParameterBuffer(specs: model.layout.specs)).state,
                                      state: TrainerState(step: 0), in: out)
        let reloaded = try Model.load(path: dir)
        var expected = config
        expected.raw = reloaded.config.raw
        #expect(reloaded.config == expected)
        #expect(try JSON.load(path: dir + "/generation_config.json")["eos_token_id"] == .array([.number(4), .number(5)]))
        #expect(try allLogits(reloaded, [1, 2, 3]).map(\.bitPattern) == allLogits(model, [1, 2, 3]).map(\.bitPattern))
    }

    /// A crash mid-save leaves a half-written temporary directory (and AtomicFile's temp of `latest`); the
    /// previous checkpoint still loads through `latest`, and the next save removes the leftovers.
    @Test func interruptedSaveLeavesPreviousCheckpoint() throws {
        let (model, _, opt) = try trainedFixture("qwen2_bf16_tied", steps: 1)
        let out = temporaryDirectory("ckpt-crash")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let first = try Checkpoint.save(model: model, optimizer: opt.state, state: sampleState(step: 1), in: out)
        let fm = FileManager.default

        let tmp = out + "/.step-000002.tmp-99999"
        try fm.createDirectory(atPath: tmp, withIntermediateDirectories: false)
        let good = fm.contents(atPath: first + "/model.safetensors")!
        fm.createFile(atPath: tmp + "/model.safetensors", contents: good.prefix(good.count / 2))
        fm.createFile(atPath: out + "/.latest.tmp-99999", contents: Data("step-0000".utf8))
        // A resume killed while it cut metrics.jsonl back (AtomicFile) leaves its temporary too.
        fm.createFile(atPath: out + "/.metrics.jsonl.tmp-99998", contents: Data("{\"step\":1}\n".utf8))
        // A step directory someone left without its state file is not a checkpoint.
        try fm.createDirectory(atPath: out + "/step-000009", withIntermediateDirectories: false)
        fm.createFile(atPath: out + "/step-000009/model.safetensors", contents: Data([1, 2, 3]))

        #expect(Checkpoint.latest(in: out) == first)
        #expect(try Checkpoint.load(dir: Checkpoint.latest(in: out)!).state.step == 1)
        // Without `latest`, the highest complete step directory is found.
        try fm.removeItem(atPath: out + "/latest")
        #expect(Checkpoint.latest(in: out) == first)
        // A `latest` naming a missing directory falls back the same way.
        try Data("step-000005\n".utf8).write(to: URL(fileURLWithPath: out + "/latest"))
        #expect(Checkpoint.latest(in: out) == first)

        opt.step()
        let second = try Checkpoint.save(model: model, optimizer: opt.state, state: sampleState(step: 2), in: out)
        #expect(Checkpoint.latest(in: out) == second)
        #expect(try String(contentsOfFile: out + "/latest", encoding: .utf8) == "step-000002\n")
        let names = Set(try fm.contentsOfDirectory(atPath: out))
        #expect(names == ["latest", "step-000001", "step-000002", "step-000009"])
        #expect(try Checkpoint.load(dir: second).state.adamwStep == 2)
    }

    @Test func keepsTheLastKCheckpoints() throws {
        let (model, _, opt) = try trainedFixture("qwen2_bf16_tied", steps: 1)
        let out = temporaryDirectory("ckpt-prune")
        defer { try? FileManager.default.removeItem(atPath: out) }
        for step in [10, 20, 30, 40] {
            try Checkpoint.save(model: model, optimizer: opt.state, state: TrainerState(step: step), in: out,
                                options: CheckpointOptions(keepLast: 2))
        }
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: out)) == ["latest", "step-000030", "step-000040"])
        #expect(Checkpoint.latest(in: out) == out + "/step-000040")
        #expect(Checkpoint.completeCheckpoints(in: out).map(\.step) == [30, 40])
        // keepLast 0 keeps everything; re-saving an existing step replaces it.
        opt.step()
        try Checkpoint.save(model: model, optimizer: opt.state, state: TrainerState(step: 30), in: out)
        #expect(try Checkpoint.load(dir: out + "/step-000030").state.adamwStep == opt.t)
        #expect(Checkpoint.latest(in: out) == out + "/step-000030")
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: out)) == ["latest", "step-000030", "step-000040"])
    }

    @Test func corruptOrMissingFilesAreNamed() throws {
        let (model, _, opt) = try trainedFixture("qwen2_bf16_tied", steps: 1)
        let out = temporaryDirectory("ckpt-corrupt")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let fm = FileManager.default
        func failure(_ dir: String) -> RPTError? {
            do { _ = try Checkpoint.load(dir: dir); return nil } catch let e as RPTError { return e } catch { return nil }
        }
        func fresh(_ step: Int) throws -> String {
            try Checkpoint.save(model: model, optimizer: opt.state, state: sampleState(step: step), in: out)
        }

        var dir = try fresh(1)
        let opt1 = fm.contents(atPath: dir + "/optimizer.safetensors")!
        fm.createFile(atPath: dir + "/optimizer.safetensors", contents: opt1.prefix(opt1.count - 100))
        #expect(failure(dir)?.file == dir + "/optimizer.safetensors")

        dir = try fresh(2)
        fm.createFile(atPath: dir + "/trainer_state.json", contents: Data("{\"step\": 2,".utf8))
        #expect(failure(dir)?.file == dir + "/trainer_state.json")

        dir = try fresh(3)
        var json = try String(contentsOfFile: dir + "/trainer_state.json", encoding: .utf8)
        json = json.replacingOccurrences(of: "\"adamw_step\" : 1", with: "\"adamw_step\" : 5")
        try json.write(toFile: dir + "/trainer_state.json", atomically: false, encoding: .utf8)
        let mismatch = failure(dir)
        #expect(mismatch?.file == dir + "/optimizer.safetensors")
        #expect(mismatch?.message.contains("adamw_step") == true)

        dir = try fresh(4)
        try fm.removeItem(atPath: dir + "/trainer_state.json")
        #expect(failure(dir)?.file == dir + "/trainer_state.json")

        dir = try fresh(5)
        let weights = fm.contents(atPath: dir + "/model.safetensors")!
        fm.createFile(atPath: dir + "/model.safetensors", contents: weights.prefix(weights.count - 4))
        #expect(failure(dir)?.file == dir + "/model.safetensors")

        dir = try fresh(6)
        try fm.removeItem(atPath: dir + "/config.json")
        #expect(failure(dir)?.file == dir)
        #expect(failure(out + "/step-000077")?.file == out + "/step-000077")

        // A failed save names the bad input and leaves no temporary directory behind.
        let missing = out + "/no-such-tokenizer.json"
        #expect(throws: RPTError("tokenizer source not found", file: missing)) {
            try Checkpoint.save(model: model, optimizer: opt.state, state: sampleState(step: 8), in: out,
                                options: CheckpointOptions(tokenizerSources: [missing]))
        }
        #expect(try fm.contentsOfDirectory(atPath: out).filter { $0.hasPrefix(".") }.isEmpty)
        #expect(!fm.fileExists(atPath: out + "/step-000008"))
    }

    /// Probe files for scripts/check_hf_load.py: F32 and BF16 checkpoints of two fixtures, each with the logits
    /// of the reloaded checkpoint on the fixture's reference input; lossless saves also match its PyTorch logits. Written to
    /// $RPT_CHECKPOINT_PROBE_DIR when set (kept), else a temporary directory.
    @Test func logitsProbesOfSavedCheckpoints() throws {
        let keep = ProcessInfo.processInfo.environment["RPT_CHECKPOINT_PROBE_DIR"]
        let root = keep ?? temporaryDirectory("ckpt-probe")
        defer { if keep == nil { try? FileManager.default.removeItem(atPath: root) } }
        for fixture in ["llama_f32", "qwen2_bf16_tied"] {
            // The fixture's first reference sequence (12 tokens) and its PyTorch logits.
            let reference = try SafeTensorsFile(path: Repo.fixtureModel(fixture) + "/reference.safetensors")
            let tokens = Array(try reference.ints("input_ids").prefix(12))
            let referenceLogits = Array(try reference.floats("logits").prefix(12 * 384))
            for dtype in [CheckpointDType.float32, .bfloat16] {
                let model = try Model.load(path: Repo.fixtureModel(fixture))
                let opt = try AdamW(params: model.params, grads: ParameterBuffer(specs: model.layout.specs))
                let out = root + "/\(fixture)-\(dtype.rawValue)"
                let dir = try Checkpoint.save(model: model, optimizer: opt.state, state: TrainerState(step: 0), in: out,
                                              options: CheckpointOptions(modelDType: dtype, tokenizerSources: [Repo.fixtureModel(fixture)]))
                let reloaded = try Model.load(path: dir)
                let probe = out + "/logits.safetensors"
                try writeLogitsProbe(model: reloaded, tokens: tokens, to: probe)
                let file = try SafeTensorsFile(path: probe)
                #expect(try file.ints("input_ids") == tokens)
                #expect(try file.info("logits").shape == [1, tokens.count, 384])
                let logits = try file.floats("logits")
                #expect(logits.map(\.bitPattern) == (try allLogits(reloaded, tokens)).map(\.bitPattern))
                // Lossless saves (F32, or BF16 of bf16 weights) keep PyTorch's logits.
                if dtype == .float32 || fixture == "qwen2_bf16_tied" { #expect(maxAbsDiff(logits, referenceLogits) < 1e-4) }
            }
        }
        // A llama2.c import (wq/wk rows permuted into the HF convention on load) for the script to check too.
        let stories = try Model.load(path: Repo.stories260KBin)
        let out = root + "/stories260K-float32"
        let dir = try Checkpoint.save(model: stories, optimizer: try AdamW(params: stories.params, grads: ParameterBuffer(specs: stories.layout.specs)).state,
                                      state: TrainerState(step: 0), in: out,
                                      options: CheckpointOptions(tokenizerSources: [Repo.stories260KTokenizer]))
        let tokens = [1, 403, 407, 261, 378, 5, 66, 300]
        try writeLogitsProbe(model: try Model.load(path: dir), tokens: tokens, to: out + "/logits.safetensors")
        #expect(try SafeTensorsFile(path: out + "/logits.safetensors").floats("logits").map(\.bitPattern) == allLogits(stories, tokens).map(\.bitPattern))
    }
}

@Suite struct CheckpointTrainerStateTests {
    @Test func jsonRoundTripIsExact() throws {
        var state = sampleState(step: 41)
        state.metrics["nan"] = .nan
        state.metrics["inf"] = -.infinity
        let data = try state.serialized()
        let path = temporaryDirectory("state") + "/trainer_state.json"
        try data.write(to: URL(fileURLWithPath: path))
        let back = try TrainerState.load(path: path)
        #expect(back.rngStates == state.rngStates)
        #expect(back.rngStates["sampling"]!.state.contains { $0 > 1 << 53 })
        #expect(back.dataCursor == state.dataCursor)
        #expect(back.options == state.options)
        #expect(back.payload == state.payload)
        #expect(back.metrics["loss"]!.bitPattern == state.metrics["loss"]!.bitPattern)
        #expect(back.metrics["grad_norm"]!.bitPattern == (0.1 + 0.2).bitPattern)
        #expect(back.metrics["nan"]!.isNaN)
        #expect(back.metrics["inf"] == -.infinity)
        #expect(String(decoding: data, as: UTF8.self).contains("\"format_version\" : 1"))
    }

    @Test func rejectsNewerFormatAndBadGenerators() throws {
        let dir = temporaryDirectory("state")
        var state = sampleState(step: 1)
        state.formatVersion = TrainerState.currentFormatVersion + 1
        try state.serialized().write(to: URL(fileURLWithPath: dir + "/a.json"))
        #expect(throws: RPTError("unsupported checkpoint format_version 2 (this build reads 1...1)", file: dir + "/a.json")) {
            try TrainerState.load(path: dir + "/a.json")
        }
        state = sampleState(step: 1)
        state.rngStates["bad"] = RandomGenerator(seed: 1)
        state.rngStates["bad"]!.state = [0, 0, 0, 0]
        try state.serialized().write(to: URL(fileURLWithPath: dir + "/b.json"))
        #expect(throws: RPTError.self) { try TrainerState.load(path: dir + "/b.json") }
    }

    /// One changed byte in a checkpoint's weight or optimizer file is refused on load (and so on resume),
    /// naming the file; weights made non-finite by an update are never saved.
    @Test func checksumsCatchChangedBytesAndNonFiniteWeightsAreNotSaved() throws {
        let (model, _, opt) = try trainedFixture("llama_f32")
        let out = temporaryDirectory("ckpt-checksum")
        defer { try? FileManager.default.removeItem(atPath: out) }
        for file in [Checkpoint.modelFile, Checkpoint.optimizerFile] {
            let dir = try Checkpoint.save(model: model, optimizer: opt.state, state: sampleState(step: 3), in: out)
            var bytes = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + file))
            bytes[bytes.count - 3] ^= 0x01   // a low mantissa bit of the last tensor: still a finite, loadable float
            try bytes.write(to: URL(fileURLWithPath: dir + "/" + file))
            let e = expectRPTError(naming: dir + "/" + file) { _ = try Checkpoint.load(dir: dir) }
            #expect(e?.message.contains("checksum") == true)
        }
        model.params.base[5] = .infinity
        let e = expectRPTError(naming: out) { _ = try Checkpoint.save(model: model, optimizer: opt.state, state: sampleState(step: 4), in: out) }
        #expect(e?.message.contains("non-finite") == true)
        #expect(!FileManager.default.fileExists(atPath: out + "/step-000004"))
    }
}
