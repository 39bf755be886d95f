// Issue 13, fuzzing: every case the fuzzer (rpt-fuzz, scripts/fuzz.sh) ever saved in Tests/Fixtures/fuzz/<target>/
// is replayed through the target's loader and must not crash; the harness itself must catch a crash, a hang and an
// absurd allocation; and hand-made hostile inputs for each target must be refused with an RPTError naming the file.

import Foundation
import Testing
@testable import RPT

/// Runs the `rpt-fuzz` binary built next to the test bundle (as runRPT does for `rpt`).
private func runFuzz(_ args: [String]) throws -> CLIResult {
    let p = Process()
    p.executableURL = try rptBinary("rpt-fuzz")
    p.arguments = args
    p.currentDirectoryURL = URL(fileURLWithPath: Repo.root)
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return CLIResult(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
}

/// `data` written to `name` in a fresh temporary directory; returns the path.
private func write(_ data: Data, _ name: String, in dir: String = temporaryDirectory("fuzz")) -> String {
    let path = dir + "/" + name
    _ = FileManager.default.createFile(atPath: path, contents: data)
    return path
}

private func write(_ text: String, _ name: String, in dir: String = temporaryDirectory("fuzz")) -> String {
    write(Data(text.utf8), name, in: dir)
}

/// A copy of a fixture model directory (config and weights only).
private func modelCopy(_ name: String) throws -> String {
    let dir = temporaryDirectory("fuzz-model")
    for f in try FileManager.default.contentsOfDirectory(atPath: Repo.fixtureModel(name))
    where f == "config.json" || (f.hasPrefix("model") && f.contains(".safetensors")) {
        try FileManager.default.copyItem(atPath: Repo.fixtureModel(name) + "/" + f, toPath: dir + "/" + f)
    }
    return dir
}

@Suite(.serialized) struct FuzzRegressionTests {
    static let targets = ["safetensors", "model-config", "safetensors-index", "tokenizer-json", "tokenizer-config",
                          "llama2c-model", "llama2c-tokenizer", "positions-jsonl", "corpus", "trainer-state"]

    @Test func targetListMatchesTheFuzzer() throws {
        let r = try runFuzz(["list"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.split(separator: "\n").map { String($0.split(separator: " ")[0]) } == Self.targets)
    }

    /// Reproducers are named <kind>-<seed>-<hash>.<ext>; `rpt-fuzz replay` loads each as the fuzzer did and prints
    /// "ok" or "error" for it. A trap, a hang (SIGALRM) or an allocation beyond its address-space limit kills it.
    @Test(arguments: targets) func savedCasesReplayWithoutCrashing(_ target: String) throws {
        let dir = Repo.path("Tests/Fixtures/fuzz/\(target)")
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { !$0.hasPrefix(".") && !$0.hasSuffix(".md") }
        guard !files.isEmpty else { return }
        let r = try runFuzz(["replay", "--target", target, dir])
        #expect(r.status == 0, "replay of \(dir) died or failed: \(r.stderr.suffix(3000))")
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.count == files.count, "\(r.stdout)")
        for line in lines { #expect(line.hasPrefix("ok ") || line.hasPrefix("error "), "\(line)") }
    }

    /// The harness catches each way a loader can fail, saves the case and goes on after it: the self-test target
    /// traps in case 3, hangs in case 5 and allocates 64 GiB in case 7.
    @Test func harnessCatchesCrashHangAndOutOfMemory() throws {
        let corpus = temporaryDirectory("fuzz-corpus")
        let r = try runFuzz(["--targets", "selftest", "--cases", "10", "--timeout", "2", "--corpus", corpus])
        #expect(r.status == 1, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("| selftest | 10 | 7 | 0 | 1 | 1 | 1 |"), "\(r.stdout)")
        let saved = try FileManager.default.contentsOfDirectory(atPath: corpus + "/selftest").sorted()
        #expect(saved.map { String($0.prefix(while: { $0 != "-" })) } == ["crash", "hang", "oom"], "\(saved)")
        #expect(saved.allSatisfy { $0.hasSuffix(".txt") && $0.contains("-selftest-") })
    }

    // MARK: Hand-made hostile inputs, one or two per target

    @Test func safetensorsWithAHugeHeaderLengthOrShape() throws {
        var d = Data()
        withUnsafeBytes(of: (UInt64(1) << 63).littleEndian) { d.append(contentsOf: $0) }
        d.append(contentsOf: Array("{}".utf8))
        let huge = write(d, "huge-header.safetensors")
        expectRPTError(naming: huge) { _ = try SafeTensorsFile(path: huge) }

        let header = Array(#"{"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,16]}}"#.utf8)
        var e = Data()
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { e.append(contentsOf: $0) }
        e.append(contentsOf: header + [UInt8](repeating: 0, count: 16))
        let lying = write(e, "lying-shape.safetensors")
        expectRPTError(naming: lying) { _ = try SafeTensorsFile(path: lying) }
    }

    @Test func configWithATrillionLayersOrADeeplyNestedValue() throws {
        let dir = try modelCopy("llama_f32")
        let config = dir + "/config.json"
        var json = try JSON.load(path: config).object!
        json["num_hidden_layers"] = .number(1e12)
        try Data(JSON.object(json).serialized().utf8).write(to: URL(fileURLWithPath: config))
        let e = expectRPTError(naming: config) { _ = try Model.load(path: dir) }
        #expect(e?.message.contains("num_hidden_layers") == true, "\(String(describing: e))")

        json["num_hidden_layers"] = .number(2)
        json["rope_scaling"] = .string(String(repeating: "[", count: 100_000))
        let nested = JSON.object(json).serialized().replacingOccurrences(of: "\"" + String(repeating: "[", count: 100_000) + "\"",
                                                                          with: String(repeating: "[", count: 100_000))
        try Data(nested.utf8).write(to: URL(fileURLWithPath: config))
        expectRPTError(naming: config) { _ = try Model.load(path: dir) }
    }

    @Test func shardIndexNamingAFileOutsideTheDirectory() throws {
        let dir = try modelCopy("qwen3_f16_tied_sharded")
        let index = dir + "/model.safetensors.index.json"
        var json = try JSON.load(path: index).object!
        var map = json["weight_map"]!.object!
        map[map.keys.sorted()[0]] = .string("../model-00001-of-00002.safetensors")
        json["weight_map"] = .object(map)
        try Data(JSON.object(json).serialized().utf8).write(to: URL(fileURLWithPath: index))
        expectRPTError(naming: index) { _ = try Model.load(path: dir) }
    }

    @Test func tokenizerJSONWithAnIdOf2To31() throws {
        var json = try JSON.load(path: Repo.fixtureModel("llama_f32") + "/tokenizer.json").object!
        var model = json["model"]!.object!
        var vocab = model["vocab"]!.object!
        vocab["hostile"] = .number(2_147_483_648)
        model["vocab"] = .object(vocab)
        json["model"] = .object(model)
        let path = write(JSON.object(json).serialized(), "tokenizer.json")
        let e = expectRPTError(naming: path) { _ = try loadTokenizer(path: path) }
        #expect(e?.message.contains("invalid id") == true, "\(String(describing: e))")
    }

    @Test func tokenizerConfigThatIsNotAnObject() throws {
        let dir = temporaryDirectory("fuzz-tok")
        try FileManager.default.copyItem(atPath: Repo.fixtureModel("llama_f32") + "/tokenizer.json", toPath: dir + "/tokenizer.json")
        let config = write("[" + String(repeating: "{\"eos_token\": ", count: 600), "tokenizer_config.json", in: dir)
        expectRPTError(naming: config) { _ = try loadTokenizer(path: dir + "/tokenizer.json") }
        _ = write("[\"<|endoftext|>\"]", "tokenizer_config.json", in: dir)
        expectRPTError(naming: config) { _ = try loadTokenizer(path: dir + "/tokenizer.json") }
    }

    @Test func llama2cHeaderWithAVocabularyOf2To31Minus1() throws {
        var data = try Data(contentsOf: URL(fileURLWithPath: Repo.stories260KBin))
        withUnsafeBytes(of: Int32.max.littleEndian) { data.replaceSubrange(20..<24, with: $0) }   // vocab_size
        let path = write(data, "model.bin")
        let e = expectRPTError(naming: path) { _ = try Model.load(path: path) }
        #expect(e?.message.contains("vocab_size") == true, "\(String(describing: e))")
    }

    @Test func llama2cTokenizerWithHugeLengths() throws {
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Repo.stories260KTokenizer)))
        var maxLength = original
        maxLength.replaceSubrange(0..<4, with: [0xFF, 0xFF, 0xFF, 0x7F])           // max_token_length 2^31 - 1
        let a = write(Data(maxLength), "a.bin")
        expectRPTError(naming: a) { _ = try loadTokenizer(path: a) }
        var pieceLength = original
        pieceLength.replaceSubrange(8..<12, with: [0xFF, 0xFF, 0xFF, 0x7F])         // token 0's length 2^31 - 1
        let b = write(Data(pieceLength), "b.bin")
        expectRPTError(naming: b) { _ = try loadTokenizer(path: b) }
    }

    @Test func positionLinesWithAHugeIndexOrNoBoundaries() throws {
        let record = PositionRecord(docId: "d:1", index: 3, context: "ab", contextIds: [1, 2], targetId: 3, target: "c",
                                    continuation: Array("cd".utf8), boundaries: [1, 2], proxyEntropy: 1, proxyLogProb: -1)
        let valid = record.line
        let hugeIndex = write(valid + "\n" + valid.replacingOccurrences(of: "\"index\":3", with: "\"index\":1e300") + "\n", "positions.jsonl")
        let e = expectRPTError(naming: hugeIndex) { _ = try PositionDataset.read(path: hugeIndex) }
        #expect(e?.message.hasPrefix("line 2:") == true, "\(String(describing: e))")
        let noBoundaries = write(valid.replacingOccurrences(of: "\"boundaries\":[1,2]", with: "\"boundaries\":[]"), "positions.jsonl")
        expectRPTError(naming: noBoundaries) { _ = try PositionDataset.read(path: noBoundaries) }
    }

    @Test func corpusWhoseEveryLineIsBroken() throws {
        let lines = ["{\"text\": " + String(repeating: "[", count: 10_000), "{\"text\": \"\\ud800\"}", "[\"text\"]", "{\"other\": 1}"]
        let invalidUTF8: [UInt8] = [0x7B, 0x22, 0x74, 0x65, 0x78, 0x74, 0x22, 0x3A, 0x22, 0xFF, 0x22, 0x7D]   // {"text":"\xFF"}
        let path = write(Data(lines.joined(separator: "\n").utf8 + [0x0A] + invalidUTF8), "corpus.jsonl")
        let e = expectRPTError(naming: path) { _ = try CorpusReader.read(path: path, onWarning: { _ in }) }
        #expect(e?.message.contains("no usable documents") == true, "\(String(describing: e))")
    }

    @Test func trainerStateWithHostileFields() throws {
        let model = try Model.load(path: Repo.fixtureModel("llama_f32"))
        let optimizer = try AdamW(params: model.params, grads: ParameterBuffer(specs: model.layout.specs))
        let dir = try Checkpoint.save(model: model, optimizer: optimizer.state, state: TrainerState(step: 1), in: temporaryDirectory("fuzz-ckpt"))
        let path = dir + "/trainer_state.json"
        let original = try String(contentsOfFile: path, encoding: .utf8)
        let json = try JSON.load(path: path).object!
        let edits: [(key: String, value: JSON, named: String)] = [
            ("step", .number(1e300), path),                                                          // not an Int
            ("rng_states", .object(["data": .object(["state": .array([.number(1), .number(2), .number(3)])])]), path),   // 3 words
            ("format_version", .number(2), path),                                                    // from a newer build
            ("checksums", .object(["../config.json": .string("0000000000000000")]), dir + "/../config.json"),   // outside it
        ]
        for edit in edits {
            var edited = json
            edited[edit.key] = edit.value
            try Data(JSON.object(edited).serialized().utf8).write(to: URL(fileURLWithPath: path))
            expectRPTError(naming: edit.named) { _ = try Checkpoint.load(dir: dir) }
        }
        try original.write(toFile: path, atomically: false, encoding: .utf8)
        #expect(try Checkpoint.load(dir: dir).state.step == 1)
    }
}
