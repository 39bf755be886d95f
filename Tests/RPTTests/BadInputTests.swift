// Bad checkpoints give an RPTError that names the file and the problem, never a trap: truncated files,
// header lengths past EOF, overlapping or out-of-range offsets, unknown dtypes, missing or extra
// tensors, shapes that disagree with config.json, malformed config.json, llama2.c headers that lie.

import Foundation
import Testing
@testable import RPT

/// Copies a fixture model into a temp directory so a test can damage one file.
private func copyOfFixture(_ name: String = "llama_f32") throws -> String {
    let dir = temporaryDirectory("bad-input")
    for f in ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"] {
        try FileManager.default.copyItem(atPath: Repo.fixtureModel(name) + "/" + f, toPath: dir + "/" + f)
    }
    return dir
}

/// Runs `body`, requiring an RPTError whose text mentions `path` and every fragment.
private func expectError(mentioning path: String, _ fragments: [String], sourceLocation: SourceLocation = #_sourceLocation,
                         _ body: () throws -> Void) {
    guard let e = expectRPTError(naming: path, exactFile: false, sourceLocation: sourceLocation, body) else { return }
    for f in fragments {
        #expect(e.description.lowercased().contains(f.lowercased()), "error lacks '\(f)': \(e)", sourceLocation: sourceLocation)
    }
}

/// A valid safetensors file with two tensors, as raw bytes with its header JSON swappable.
private func safetensorsBytes(header: String, body: [UInt8]) -> Data {
    var h = Array(header.utf8)
    while h.count % 8 != 0 { h.append(0x20) }
    var d = Data()
    var n = UInt64(h.count).littleEndian
    withUnsafeBytes(of: &n) { d.append(contentsOf: $0) }
    d.append(contentsOf: h)
    d.append(contentsOf: body)
    return d
}

@Suite struct BadInputTests {
    let body = [UInt8](repeating: 0, count: 24) // 6 floats

    private func write(_ data: Data) -> String {
        let path = temporaryDirectory("st") + "/t.safetensors"
        _ = FileManager.default.createFile(atPath: path, contents: data)
        return path
    }

    @Test func validFileLoads() throws {
        let p = write(safetensorsBytes(header: #"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"BF16","shape":[4],"data_offsets":[16,24]}}"#, body: body))
        let f = try SafeTensorsFile(path: p)
        let b = try f.floats("b")
        #expect(f.tensors.count == 2 && b.count == 4)
    }

    @Test func truncatedFiles() {
        let p = write(Data([1, 2, 3]))
        expectError(mentioning: p, ["truncated"]) { _ = try SafeTensorsFile(path: p) }
        let full = safetensorsBytes(header: #"{"a":{"dtype":"F32","shape":[6],"data_offsets":[0,24]}}"#, body: body)
        let q = write(full.prefix(full.count - 5))
        expectError(mentioning: q, ["outside the data buffer"]) { _ = try SafeTensorsFile(path: q) }
    }

    @Test func headerLengthPastEOF() {
        var d = Data()
        var n = UInt64(5000).littleEndian
        withUnsafeBytes(of: &n) { d.append(contentsOf: $0) }
        d.append(contentsOf: Array("{}".utf8))
        let p = write(d)
        expectError(mentioning: p, ["header length 5000", "past the end"]) { _ = try SafeTensorsFile(path: p) }
    }

    @Test func overlappingAndOutOfRangeOffsets() {
        let overlap = write(safetensorsBytes(header: #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}}"#, body: [UInt8](repeating: 0, count: 20)))
        expectError(mentioning: overlap, ["overlap"]) { _ = try SafeTensorsFile(path: overlap) }
        let outside = write(safetensorsBytes(header: #"{"a":{"dtype":"F32","shape":[10],"data_offsets":[0,40]}}"#, body: body))
        expectError(mentioning: outside, ["outside"]) { _ = try SafeTensorsFile(path: outside) }
        let gap = write(safetensorsBytes(header: #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}"#, body: body))
        expectError(mentioning: gap, ["gap"]) { _ = try SafeTensorsFile(path: gap) }
        let lying = write(safetensorsBytes(header: #"{"a":{"dtype":"F32","shape":[5],"data_offsets":[0,24]}}"#, body: body))
        expectError(mentioning: lying, ["needs 20 bytes"]) { _ = try SafeTensorsFile(path: lying) }
    }

    @Test func unknownDTypeAndMalformedHeader() {
        let p = write(safetensorsBytes(header: #"{"a":{"dtype":"F17","shape":[6],"data_offsets":[0,24]}}"#, body: body))
        expectError(mentioning: p, ["unknown dtype 'F17'"]) { _ = try SafeTensorsFile(path: p) }
        let q = write(safetensorsBytes(header: #"{"a":{"dtype":"F32","shape":[6],"#, body: body))
        expectError(mentioning: q, ["not valid JSON"]) { _ = try SafeTensorsFile(path: q) }
        let r = write(safetensorsBytes(header: #"{"a":{"dtype":"I64","shape":[3],"data_offsets":[0,24]}}"#, body: body))
        expectError(mentioning: r, ["floating-point"]) { _ = try SafeTensorsFile(path: r).floats("a") }
    }

    @Test func missingExtraAndMisshapenTensors() throws {
        let src = try SafeTensorsFile(path: Repo.fixtureModel("llama_f32") + "/model.safetensors")
        func rewrite(_ dir: String, _ edit: (inout [(String, [Int], [Float])]) -> Void) throws {
            var tensors = try src.tensors.keys.sorted().map { ($0, src.tensors[$0]!.shape, try src.floats($0)) }
            edit(&tensors)
            var w = SafeTensorsWriter()
            for t in tensors { w.add(t.0, shape: t.1, .f32(t.2)) }
            try w.write(to: dir + "/model.safetensors")
        }
        let missing = try copyOfFixture()
        try rewrite(missing) { $0.removeAll { $0.0 == "model.layers.1.mlp.up_proj.weight" } }
        expectError(mentioning: missing, ["missing tensor 'model.layers.1.mlp.up_proj.weight'"]) { _ = try Model.load(path: missing) }

        let extra = try copyOfFixture()
        try rewrite(extra) { $0.append(("model.layers.7.mlp.up_proj.weight", [2], [1, 2])) }
        expectError(mentioning: extra, ["unexpected tensor 'model.layers.7.mlp.up_proj.weight'"]) { _ = try Model.load(path: extra) }

        let shape = try copyOfFixture()
        try rewrite(shape) { t in
            let i = t.firstIndex { $0.0 == "model.norm.weight" }!
            t[i] = (t[i].0, [32, 2], t[i].2)
        }
        expectError(mentioning: shape, ["model.norm.weight", "shape [32, 2]", "expected [64]"]) { _ = try Model.load(path: shape) }

        let wrongConfig = try copyOfFixture()
        var cfg = try JSON.load(path: wrongConfig + "/config.json").object!
        cfg["intermediate_size"] = .number(128)
        try Data(JSON.object(cfg).serialized().utf8).write(to: URL(fileURLWithPath: wrongConfig + "/config.json"))
        expectError(mentioning: wrongConfig, ["gate_proj", "expected [128, 64]"]) { _ = try Model.load(path: wrongConfig) }
    }

    @Test func malformedConfig() throws {
        let cases: [(String, [String])] = [
            (#"{"architectures": ["LlamaForCausalLM"], "hidden_size": 64"#, ["malformed JSON"]),
            (#"{"architectures": ["GPT2LMHeadModel"]}"#, ["unsupported architecture 'GPT2LMHeadModel'"]),
            (#"{"architectures": ["LlamaForCausalLM"], "hidden_size": "big"}"#, ["hidden_size"]),
            (#"{"architectures": ["LlamaForCausalLM"], "hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 3, "intermediate_size": 8, "num_hidden_layers": 1, "vocab_size": 10}"#, ["multiple of num_key_value_heads"]),
            (#"{"architectures": ["LlamaForCausalLM"], "hidden_size": 64, "num_attention_heads": 4, "intermediate_size": 8, "num_hidden_layers": 1, "vocab_size": 10, "rope_scaling": {"rope_type": "yarn", "factor": 4}}"#, ["unsupported rope_scaling type 'yarn'"]),
            (#"{"architectures": ["LlamaForCausalLM"], "hidden_size": 64, "num_attention_heads": 4, "intermediate_size": 8, "num_hidden_layers": 1}"#, ["missing field 'vocab_size'"]),
        ]
        for (text, fragments) in cases {
            let dir = temporaryDirectory("cfg")
            try Data(text.utf8).write(to: URL(fileURLWithPath: dir + "/config.json"))
            expectError(mentioning: dir + "/config.json", fragments) { _ = try Model.load(path: dir) }
        }
        let none = temporaryDirectory("empty")
        expectError(mentioning: none, ["missing config.json"]) { _ = try Model.load(path: none) }
        expectError(mentioning: "/no/such/model", ["no such file"]) { _ = try Model.load(path: "/no/such/model") }
    }

    @Test func shardIndexProblems() throws {
        let dir = temporaryDirectory("shards")
        for f in ["config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"] {
            try FileManager.default.copyItem(atPath: Repo.fixtureModel("qwen3_f16_tied_sharded") + "/" + f, toPath: dir + "/" + f)
        }
        let index = dir + "/model.safetensors.index.json"
        try Data(#"{"weight_map": {"model.norm.weight": "model-00001-of-00002.safetensors", "model.embed_tokens.weight": "model-00009-of-00009.safetensors"}}"#.utf8).write(to: URL(fileURLWithPath: index))
        expectError(mentioning: dir + "/model-00009-of-00009.safetensors", ["cannot read"]) { _ = try Model.load(path: dir) }
        try Data(#"{"weight_map": 3}"#.utf8).write(to: URL(fileURLWithPath: index))
        expectError(mentioning: index, ["weight_map"]) { _ = try Model.load(path: dir) }
    }

    @Test func llama2cHeaderProblems() throws {
        let good = try Data(contentsOf: URL(fileURLWithPath: Repo.stories260KBin))
        let dir = temporaryDirectory("l2c")
        let truncated = dir + "/truncated.bin"
        _ = FileManager.default.createFile(atPath: truncated, contents: good.prefix(good.count / 2))
        expectError(mentioning: truncated, ["truncated"]) { _ = try Model.load(path: truncated) }
        let tiny = dir + "/tiny.bin"
        _ = FileManager.default.createFile(atPath: tiny, contents: good.prefix(10))
        expectError(mentioning: tiny, ["truncated"]) { _ = try Model.load(path: tiny) }
        var lying = good
        lying.replaceSubrange(0..<4, with: [0xFF, 0xFF, 0xFF, 0x7F]) // dim = 2^31 - 1
        let liar = dir + "/liar.bin"
        _ = FileManager.default.createFile(atPath: liar, contents: lying)
        expectError(mentioning: liar, ["implausible"]) { _ = try Model.load(path: liar) }
        let trailing = dir + "/trailing.bin"
        _ = FileManager.default.createFile(atPath: trailing, contents: good + Data([0, 0, 0, 0]))
        expectError(mentioning: trailing, ["trailing bytes"]) { _ = try Model.load(path: trailing) }
    }

    @Test func tokenIdsOutsideVocabularyAreRejected() throws {
        let model = try Model.load(path: Repo.fixtureModel("llama_f32"))
        #expect(throws: RPTError.self) { _ = try allLogits(model, [1, 2, 100_000]) }
    }

    @Test func writerRoundTripsAndRoundsBF16() throws {
        var w = SafeTensorsWriter()
        w.add("x", shape: [3], .f32([1, -2.5, 3e-8]))
        w.add("y", shape: [2], .bf16([1.00390625, 3.0]))
        w.add("i", shape: [2], .i64([-7, 9]))
        let path = temporaryDirectory("w") + "/w.safetensors"
        try w.write(to: path)
        let f = try SafeTensorsFile(path: path)
        let x = try f.floats("x"), y = try f.floats("y"), i = try f.ints("i")
        #expect(x == [1, -2.5, 3e-8])
        #expect(y == [1.0, 3.0]) // 1 + 2^-8 rounds to even (1.0)
        #expect(i == [-7, 9])
    }
}
