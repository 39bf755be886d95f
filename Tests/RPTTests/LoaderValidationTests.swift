// Issue 13: checkpoint, config and tokenizer files that lie about sizes or types, or carry non-finite numbers,
// give an RPTError naming the file and the problem before anything large is allocated — never a trap, an abort
// on a huge allocation, a silently substituted default, or NaN output with exit status 0.

import Foundation
import Testing
@testable import RPT

/// Requires an RPTError that names `path` (anywhere in its text) and mentions every fragment (case-insensitive).
/// Returns the error for further checks.
@discardableResult
private func expectError(_ path: String, _ fragments: [String], sourceLocation: SourceLocation = #_sourceLocation,
                         _ body: () throws -> Void) -> RPTError? {
    guard let e = expectRPTError(naming: path, exactFile: false, sourceLocation: sourceLocation, body) else { return nil }
    for f in fragments {
        #expect(e.description.lowercased().contains(f.lowercased()), "error lacks '\(f)': \(e)", sourceLocation: sourceLocation)
    }
    return e
}

private func writeFile(_ data: Data, _ name: String, label: String = "loader") -> String {
    let path = temporaryDirectory(label) + "/" + name
    _ = FileManager.default.createFile(atPath: path, contents: data)
    return path
}

// MARK: - llama2.c checkpoints

/// stories260K.bin with header field `index` (0 dim … 6 seq_len) set to `value`.
private func llama2cWithHeader(_ index: Int, _ value: Int32) throws -> String {
    var data = try Data(contentsOf: URL(fileURLWithPath: Repo.stories260KBin))
    withUnsafeBytes(of: value.littleEndian) { data.replaceSubrange((4 * index)..<(4 * index + 4), with: $0) }
    return writeFile(data, "model.bin", label: "l2c")
}

/// stories260K.bin with the float at `floatIndex` (counted from the end of the 28-byte header) set to `value`.
private func llama2cWithWeight(_ floatIndex: Int, _ value: Float) throws -> String {
    var data = try Data(contentsOf: URL(fileURLWithPath: Repo.stories260KBin))
    let at = 28 + 4 * floatIndex
    withUnsafeBytes(of: value.bitPattern.littleEndian) { data.replaceSubrange(at..<(at + 4), with: $0) }
    return writeFile(data, "model.bin", label: "l2c")
}

// MARK: - Hugging Face checkpoints

/// A temporary model directory holding llama_f32's files, with config.json edited by `edit`.
private func fixtureCopy(_ name: String = "llama_f32", editConfig edit: (inout [String: JSON]) -> Void = { _ in }) throws -> String {
    let dir = temporaryDirectory("hf")
    for f in ["model.safetensors", "tokenizer.json", "tokenizer_config.json"] {
        try FileManager.default.copyItem(atPath: Repo.fixtureModel(name) + "/" + f, toPath: dir + "/" + f)
    }
    var config = try JSON.load(path: Repo.fixtureModel(name) + "/config.json").object ?? [:]
    edit(&config)
    try Data(JSON.object(config).serialized().utf8).write(to: URL(fileURLWithPath: dir + "/config.json"))
    return dir
}

/// Rewrites `dir`/model.safetensors (from llama_f32) with element `index` of `tensor` set to `value`.
private func poisonWeight(_ dir: String, _ tensor: String, index: Int, _ value: Float) throws {
    let src = try SafeTensorsFile(path: Repo.fixtureModel("llama_f32") + "/model.safetensors")
    var w = SafeTensorsWriter()
    for name in src.tensors.keys.sorted() {
        var values = try src.floats(name)
        if name == tensor { values[index] = value }
        w.add(name, shape: try src.info(name).shape, .f32(values))
    }
    try w.write(to: dir + "/model.safetensors")
}

/// Raw safetensors bytes: header length, the header JSON padded to 8 bytes, the body.
private func safetensors(header: String, body: [UInt8]) -> Data {
    var h = Array(header.utf8)
    while h.count % 8 != 0 { h.append(0x20) }
    var d = Data()
    withUnsafeBytes(of: UInt64(h.count).littleEndian) { d.append(contentsOf: $0) }
    d.append(contentsOf: h)
    d.append(contentsOf: body)
    return d
}

@Suite struct LoaderValidationTests {
    // MARK: Bug 1: llama2.c header fields against bounds and the file's size

    @Test(arguments: [
        (5, Int32.max, "vocab_size"), (5, Int32.min + 1, "vocab_size"), (1, Int32.max, "hidden_dim"),
        (6, Int32.max, "seq_len"), (6, 1_500_000_000, "seq_len"), (6, 100_000_000, "seq_len"),
        (2, Int32.max, "n_layers"), (3, 0, "n_heads"), (4, -1, "n_kv_heads"), (0, Int32.max, "dim"),
    ] as [(Int, Int32, String)])
    func llama2cHeaderFieldOutOfBounds(_ index: Int, _ value: Int32, _ field: String) throws {
        let path = try llama2cWithHeader(index, value)
        expectError(path, ["implausible", field]) { _ = try Model.load(path: path) }
    }

    /// Within the bounds, but describing more (or fewer) weights than the file holds: refused before allocating.
    @Test(arguments: [
        (6, 1 << 20), (5, 1 << 22), (1, 1 << 18), (2, 1024), (6, 511),
    ] as [(Int, Int32)])
    func llama2cHeaderDisagreesWithFileSize(_ index: Int, _ value: Int32) throws {
        let path = try llama2cWithHeader(index, value)
        let e = expectError(path, []) { _ = try Model.load(path: path) }
        #expect(e.map { $0.message.contains("truncated") || $0.message.contains("trailing bytes") } == true, "\(String(describing: e))")
    }

    @Test func llama2cHeadsThatDoNotSplitDim() throws {
        let path = try llama2cWithHeader(3, 7)     // dim 64 is not a multiple of 7 heads
        expectError(path, ["implausible", "head"]) { _ = try Model.load(path: path) }
    }

    // MARK: Bug 2: config.json sizes within bounds; the implied model against the files and memory

    @Test(arguments: [
        ("hidden_size", JSON.number(2_147_483_648)), ("vocab_size", .number(1e10)), ("max_position_embeddings", .number(1e12)),
        ("num_hidden_layers", .number(1e6)), ("num_hidden_layers", .number(1e12)), ("intermediate_size", .number(1e9)),
        ("num_attention_heads", .number(Double(1 << 20))), ("num_key_value_heads", .number(Double(1 << 20))), ("head_dim", .number(Double(1 << 20))),
        ("max_position_embeddings", .number(0)), ("max_position_embeddings", .number(-5)),
    ] as [(String, JSON)])
    func configSizeOutOfBounds(_ key: String, _ value: JSON) throws {
        let dir = try fixtureCopy { $0[key] = value }
        expectError(dir + "/config.json", [key]) { _ = try Model.load(path: dir) }
    }

    @Test func ropeTablesTooLarge() throws {
        // Each within its bound, but 2^20 positions × head_dim 1024 would be 4 GiB of cos/sin tables.
        let dir = try fixtureCopy { $0["max_position_embeddings"] = .number(Double(1 << 20)); $0["head_dim"] = .number(1024) }
        expectError(dir + "/config.json", ["RoPE tables"]) { _ = try Model.load(path: dir) }
    }

    /// A 1e12-element embedding: a config whose sizes multiply past the bounds is refused by config.json.
    @Test func configImplyingATerascaleEmbedding() throws {
        let dir = try fixtureCopy { $0["vocab_size"] = .number(15_258_790); $0["hidden_size"] = .number(65536) }
        expectError(dir + "/config.json", ["vocab_size"]) { _ = try Model.load(path: dir) }
    }

    /// Config and safetensors header agree on a 2^38-element embedding, but the file does not hold it.
    @Test func consistentHeaderDescribingAHugeEmbedding() throws {
        let dir = try fixtureCopy {
            $0["vocab_size"] = .number(Double(1 << 22)); $0["hidden_size"] = .number(Double(1 << 16))
            $0["num_attention_heads"] = .number(64); $0["num_key_value_heads"] = .number(64); $0["head_dim"] = .number(1024)
            $0["max_position_embeddings"] = .number(16)
        }
        let bytes = (1 << 22) * (1 << 16) * 2
        let header = #"{"model.embed_tokens.weight":{"dtype":"BF16","shape":[4194304,65536],"data_offsets":[0,\#(bytes)]}}"#
        try safetensors(header: header, body: [UInt8](repeating: 0, count: 64)).write(to: URL(fileURLWithPath: dir + "/model.safetensors"))
        expectError(dir + "/model.safetensors", ["outside the data buffer"]) { _ = try Model.load(path: dir) }
    }

    /// The memory check that runs after every tensor's shape is confirmed, before the one big allocation.
    @Test func modelLargerThanMemoryIsRefused() throws {
        let config = try ModelConfig.load(path: Repo.fixtureModel("llama_f32") + "/config.json")
        try Model.checkAllocation(config: config, file: "config.json")
        let e = expectError("config.json", ["memory"]) { try Model.checkAllocation(config: config, file: "config.json", availableBytes: 100_000) }
        #expect(e?.message.contains("parameters") == true)
        #expect(config.impliedParameterCount == ModelLayout(config: config).specs.reduce(0) { $0 + $1.count })
        for name in ["qwen2_f32", "qwen3_f32", "llama_bf16_tied"] {
            let c = try ModelConfig.load(path: Repo.fixtureModel(name) + "/config.json")
            #expect(c.impliedParameterCount == ModelLayout(config: c).specs.reduce(0) { $0 + $1.count }, "\(name)")
        }
    }

    @Test func safetensorsShapeWhoseByteSizeOverflows() {
        // 2^31 × 2^31 elements fit an Int, their 4-byte size does not (the old check trapped computing it).
        let path = writeFile(safetensors(header: #"{"a":{"dtype":"F32","shape":[2147483648,2147483648],"data_offsets":[0,16]}}"#,
                                         body: [UInt8](repeating: 0, count: 16)), "t.safetensors")
        expectError(path, ["tensor 'a'", "shape"]) { _ = try SafeTensorsFile(path: path) }
    }

    @Test func integerTensorWhereWeightsAreExpectedIsRefusedBeforeAllocating() throws {
        let dir = try fixtureCopy()
        let src = try SafeTensorsFile(path: dir + "/model.safetensors")
        var w = SafeTensorsWriter()
        for name in src.tensors.keys.sorted() {
            let shape = try src.info(name).shape
            if name == "model.norm.weight" { w.add(name, shape: shape, .i64([Int](repeating: 1, count: shape.reduce(1, *)))) }
            else { w.add(name, shape: shape, .f32(try src.floats(name))) }
        }
        try w.write(to: dir + "/model.safetensors")
        expectError(dir + "/model.safetensors", ["model.norm.weight", "floating-point"]) { _ = try Model.load(path: dir) }
    }

    // MARK: Bug 3: present fields of the wrong type are errors, not defaults

    @Test(arguments: [
        ("rope_theta", JSON.string("1000000"), "rope_theta"),
        ("rope_parameters", .object(["rope_type": .string("default"), "rope_theta": .string("1000000")]), "rope_theta"),
        ("rope_scaling", .object(["rope_type": .null, "factor": .number(8), "low_freq_factor": .number(1),
                                  "high_freq_factor": .number(4), "original_max_position_embeddings": .number(64)]), "rope_type"),
        ("rope_scaling", .object(["rope_type": .number(0), "factor": .number(8)]), "rope_type"),
        ("rope_scaling", .object(["rope_type": .array([.string("llama3")]), "factor": .number(8)]), "rope_type"),
        ("rope_scaling", .object(["type": .number(0), "factor": .number(8)]), "'type'"),
        ("rope_scaling", .string("llama3"), "rope_scaling"),
        ("rope_scaling", .object(["rope_type": .string("llama3"), "factor": .number(8), "low_freq_factor": .number(1),
                                  "high_freq_factor": .number(4), "original_max_position_embeddings": .number(1e300)]),
         "original_max_position_embeddings"),
        ("hidden_act", .array([.string("gelu")]), "hidden_act"),
        ("hidden_act", .null, "hidden_act"),
        ("hidden_act", .string("gelu"), "unsupported hidden_act 'gelu'"),
        ("torch_dtype", .number(5), "torch_dtype"),
        ("architectures", .string("LlamaForCausalLM"), "architectures"),
        ("architectures", .array([.number(1)]), "architectures"),
        ("rms_norm_eps", .string("1e-6"), "rms_norm_eps"),
        ("rms_norm_eps", .number(-1), "rms_norm_eps"),
        ("tie_word_embeddings", .string("false"), "tie_word_embeddings"),
        ("eos_token_id", .array([.number(1), .string("2")]), "eos_token_id"),
    ] as [(String, JSON, String)])
    func wrongTypeIsAnError(_ key: String, _ value: JSON, _ fragment: String) throws {
        let dir = try fixtureCopy { $0[key] = value }
        expectError(dir + "/config.json", [fragment]) { _ = try Model.load(path: dir) }
    }

    /// Valid inputs keep their meaning: null optional fields are "none", swish is SiLU, absent fields default.
    @Test func validVariantsStillLoad() throws {
        let reference = try Model.load(path: Repo.fixtureModel("llama_f32"))
        let tokens = [1, 5, 9, 42, 7]
        let expected = try allLogits(reference, tokens)
        let variants: [(inout [String: JSON]) -> Void] = [
            { $0["rope_scaling"] = .null },
            { $0["hidden_act"] = .string("swish") },
            { $0["hidden_act"] = nil; $0["torch_dtype"] = .null },
            { $0["max_position_embeddings"] = .number(Double(1 << 20)) },      // the bound itself (head_dim 16)
            { $0["rope_parameters"] = nil; $0["rope_theta"] = .number(10000) },
        ]
        for edit in variants {
            let model = try Model.load(path: try fixtureCopy(editConfig: edit))
            #expect(maxAbsDiff(try allLogits(model, tokens), expected) == 0)
        }
        let llama3 = try Model.load(path: Repo.fixtureModel("llama_rope_llama3"))
        guard case .llama3 = llama3.config.ropeScaling else { Issue.record("llama3 scaling dropped"); return }
    }

    // MARK: Bug 4: non-finite weights

    @Test(arguments: [
        ("model.layers.1.self_attn.k_proj.weight", 17, Float.nan), ("lm_head.weight", 0, Float.infinity),
        ("model.embed_tokens.weight", 383 * 64 + 63, -Float.infinity), ("model.norm.weight", 5, Float.nan),
    ] as [(String, Int, Float)])
    func nonFiniteHFWeightIsRefused(_ tensor: String, _ index: Int, _ value: Float) throws {
        let dir = try fixtureCopy()
        try poisonWeight(dir, tensor, index: index, value)
        let e = expectError(dir + "/model.safetensors", ["tensor '\(tensor)'", "non-finite", "element \(index)"]) {
            _ = try Model.load(path: dir)
        }
        #expect(e?.file == dir + "/model.safetensors")
    }

    @Test func largeFiniteWeightsAreLeftAlone() throws {
        let dir = try fixtureCopy()
        try poisonWeight(dir, "model.layers.0.mlp.up_proj.weight", index: 3, Float.greatestFiniteMagnitude)
        let model = try Model.load(path: dir)
        #expect(model.params.values("model.layers.0.mlp.up_proj.weight")[3] == Float.greatestFiniteMagnitude)
    }

    /// stories260K: dim 64, 5 layers, 8 heads, 4 kv heads, vocab 512, tied. Float offsets after the header.
    @Test(arguments: [
        (0, Float.nan, "token_embedding"),                                        // first embedding value
        (512 * 64 + 5 * 64 + 3 * 64 * 64 + 10, Float.infinity, "wq"),             // wq, layer 3
        (512 * 64 + 5 * 64 + 5 * 64 * 64 + 2 * 32 * 64 + 1, -Float.infinity, "wk"), // wk, layer 2
    ] as [(Int, Float, String)])
    func nonFiniteLlama2cWeightIsRefused(_ index: Int, _ value: Float, _ group: String) throws {
        let path = try llama2cWithWeight(index, value)
        let e = expectError(path, ["tensor group '\(group)'", "non-finite"]) { _ = try Model.load(path: path) }
        if group == "wq" { #expect(e?.message.contains("layer 3") == true, "\(String(describing: e))") }
        if group == "wk" { #expect(e?.message.contains("layer 2") == true, "\(String(describing: e))") }
    }

    @Test func nonFiniteScan() {
        var values = [Float](repeating: 1, count: 1000)
        values[1] = .greatestFiniteMagnitude; values[2] = -.greatestFiniteMagnitude
        values[3] = .leastNonzeroMagnitude; values[4] = -0.0; values[5] = .leastNormalMagnitude
        #expect(firstNonFinite(values, count: values.count) == nil)
        for bad in [Float.nan, .infinity, -.infinity, Float(bitPattern: 0x7F80_0001), Float(bitPattern: 0xFFFF_FFFF), -.nan] {
            var v = values
            v[737] = bad
            v[900] = .nan
            #expect(firstNonFinite(v, count: v.count) == 737, "\(bad.bitPattern)")
            #expect(firstNonFinite(v, count: 737) == nil)
        }
        #expect(firstNonFinite(values, count: 0) == nil)
    }

    // MARK: Bug 5: tokenizers

    @Test func duplicateVocabIdsAreRefused() throws {
        let path = try writeTemporary(Array(#"{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "c": 1}, "merges": []}}"#.utf8),
                                      name: "tokenizer.json")
        expectError(path, ["two tokens to id 1", "\"b\"", "\"c\""]) { _ = try loadTokenizer(path: path) }
    }

    @Test(arguments: [Float.nan, .infinity, -.infinity])
    func nonFiniteLlama2cTokenScoreIsRefused(_ score: Float) throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Repo.stories260KTokenizer)))
        // Walk to token 300's record: int32 max_token_length, then (float32 score, int32 length, bytes) per token.
        var off = 4
        for _ in 0..<300 {
            let len = Int(UInt32(bytes[off + 4]) | UInt32(bytes[off + 5]) << 8 | UInt32(bytes[off + 6]) << 16 | UInt32(bytes[off + 7]) << 24)
            off += 8 + len
        }
        withUnsafeBytes(of: score.bitPattern.littleEndian) { bytes.replaceSubrange(off..<(off + 4), with: $0) }
        let path = try writeTemporary(bytes, name: "tok512.bin")
        expectError(path, ["token 300", "non-finite score"]) { _ = try loadTokenizer(path: path) }
    }

    // MARK: Bug 6: echoed values are cut short

    @Test func hugeValuesAreNotEchoedInFull() throws {
        let long = String(repeating: "x", count: 100_000)
        let cases: [(String, JSON)] = [
            ("hidden_size", .string(long)), ("hidden_act", .string(long)), ("architectures", .array([.string(long)])),
            ("rope_scaling", .object(["rope_type": .string(long)])), ("eos_token_id", .array(Array(repeating: .string("x"), count: 50_000))),
        ]
        for (key, value) in cases {
            let dir = try fixtureCopy { $0[key] = value }
            let e = expectError(dir + "/config.json", []) { _ = try Model.load(path: dir) }
            #expect((e?.message.count ?? 0) < 400, "\(key): \(e?.message.count ?? 0) characters")
            #expect(e?.message.contains("characters)") == true, "\(key): \(String(describing: e))")
        }
        let st = writeFile(safetensors(header: "{\"\(long)\":{\"dtype\":\"F17\",\"shape\":[1],\"data_offsets\":[0,4]}}", body: [0, 0, 0, 0]),
                           "t.safetensors")
        let e = expectError(st, ["unknown dtype"]) { _ = try SafeTensorsFile(path: st) }
        #expect((e?.message.count ?? 0) < 400)
        #expect(RPTError.echo("short") == "short")
        #expect(RPTError.echo(String(repeating: "é", count: 81)).hasSuffix("(81 characters)"))
    }
}
