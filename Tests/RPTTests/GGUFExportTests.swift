// `rpt export --to gguf` (GGUFWriter.swift, GGUFVocabulary.swift, GGUFExport.swift; GGUF spec: github.com/ggml-org/ggml
// docs/gguf.md) against llama.cpp's own converter. Tests/Fixtures/gguf/*.json hold what gguf-py's GGUFReader saw in
// convert_hf_to_gguf.py's output for the same models (scripts/make_gguf_fixtures.py): every metadata key and value
// (long arrays by SHA-256 of their GGUF encoding), every tensor's name, ggml shape, type and byte SHA-256. Each export
// must match it exactly, tensor bytes included, except for the keys the fixture lists under "rpt_differences" with the
// reason, where rpt's value is pinned instead. Two more fixtures cover the real Qwen2.5/Qwen3 and GPT-2 tokenizers at
// full size (tokenizer.* keys only). Then: bfloat16 rounding and the header layout from the spec's definitions, the
// training-run directory form of --model, and bad input refused with an error naming the file, exit 1...127, no file.

import Foundation
import Testing
@testable import RPT

/// A GGUF file read back for comparison: metadata as records in the fixture's vocabulary, tensors with byte hashes.
private struct GGUFReadBack {
    struct Record: Equatable, CustomStringConvertible {
        var type: String
        var value: JSON?
        var elementType: String?
        var count: Int?
        var sha256: String?
        var values: [JSON]?

        var description: String {
            if type == "ARRAY" { return "ARRAY<\(elementType ?? "?")>[\(count ?? -1)] sha256 \(sha256?.prefix(12) ?? "?")" }
            return "\(type) \(value?.serialized().prefix(120) ?? "nil")"
        }

        /// The same thing, ignoring `values` (the hash covers them).
        func matches(_ o: Record) -> Bool {
            type == o.type && elementType == o.elementType && count == o.count && sha256 == o.sha256 && value == o.value
        }

        init(type: String, value: JSON? = nil, elementType: String? = nil, count: Int? = nil, sha256: String? = nil, values: [JSON]? = nil) {
            self.type = type; self.value = value; self.elementType = elementType; self.count = count; self.sha256 = sha256; self.values = values
        }

        /// From the fixture's JSON.
        init?(fixture j: JSON?) {
            guard let j, let type = j["type"]?.string else { return nil }
            self.init(type: type, value: j["value"], elementType: j["element_type"]?.string, count: j["count"]?.int,
                      sha256: j["sha256"]?.string, values: j["values"]?.array)
        }
    }

    struct Tensor: Equatable { var shape: [Int]; var type: String; var sha256: String }

    var version: UInt32 = 0
    var metadata: [String: Record] = [:]
    var tensors: [String: Tensor] = [:]

    static let typeNames = ["UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32", "FLOAT32", "BOOL", "STRING", "ARRAY",
                            "UINT64", "INT64", "FLOAT64"]

    init(path: String) throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var p = 0
        func need(_ n: Int) throws {
            guard p + n <= bytes.count else { throw RPTError("GGUF ends early at byte \(p)", file: path) }
        }
        func uint(_ n: Int) throws -> UInt64 {
            try need(n)
            var v: UInt64 = 0
            for i in 0..<n { v |= UInt64(bytes[p + i]) << (8 * UInt64(i)) }
            p += n
            return v
        }
        func string() throws -> String {
            let n = Int(try uint(8))
            try need(n)
            defer { p += n }
            return String(decoding: bytes[p..<(p + n)], as: UTF8.self)
        }
        func scalar(_ t: UInt32) throws -> JSON {
            switch t {
            case 0: return .number(Double(try uint(1)))
            case 1: return .number(Double(Int8(truncatingIfNeeded: try uint(1))))
            case 2: return .number(Double(try uint(2)))
            case 3: return .number(Double(Int16(truncatingIfNeeded: try uint(2))))
            case 4: return .number(Double(try uint(4)))
            case 5: return .number(Double(Int32(truncatingIfNeeded: try uint(4))))
            case 6: return .number(Double(Float(bitPattern: UInt32(try uint(4)))))
            case 7: return .bool(try uint(1) != 0)
            case 8: return .string(try string())
            case 10: return .number(Double(try uint(8)))
            case 11: return .number(Double(Int64(bitPattern: try uint(8))))
            case 12: return .number(Double(bitPattern: try uint(8)))
            default: throw RPTError("unknown GGUF value type \(t) at byte \(p)", file: path)
            }
        }
        let magic = try uint(4)
        guard magic == 0x4655_4747 else { throw RPTError("not a GGUF file (magic \(magic))", file: path) }
        version = UInt32(try uint(4))
        let tensorCount = Int(try uint(8)), kvCount = Int(try uint(8))
        for _ in 0..<kvCount {
            let key = try string()
            let t = UInt32(try uint(4))
            guard metadata[key] == nil else { throw RPTError("duplicate key \(key)", file: path) }
            if t == 9 {
                let element = UInt32(try uint(4)), n = Int(try uint(8))
                let start = p
                var values: [JSON] = []
                for _ in 0..<n { values.append(try scalar(element)) }
                metadata[key] = Record(type: "ARRAY", elementType: Self.typeNames[Int(element)], count: n,
                                       sha256: SHA256Digest.hex(Array(bytes[start..<p])),
                                       values: n <= 1024 ? values : nil)
            } else {
                metadata[key] = Record(type: Self.typeNames[Int(t)], value: try scalar(t))
            }
        }
        let alignment = metadata["general.alignment"]?.value?.int ?? 32
        var infos: [(String, [Int], UInt32, Int)] = []
        for _ in 0..<tensorCount {
            let name = try string()
            let nd = Int(try uint(4))
            var dims: [Int] = []
            for _ in 0..<nd { dims.append(Int(try uint(8))) }
            let type = UInt32(try uint(4)), offset = Int(try uint(8))
            infos.append((name, dims, type, offset))
        }
        let dataStart = (p + alignment - 1) / alignment * alignment
        guard bytes[p..<min(dataStart, bytes.count)].allSatisfy({ $0 == 0 }) else { throw RPTError("non-zero header padding", file: path) }
        var end = dataStart
        for (name, dims, type, offset) in infos {
            guard offset % alignment == 0 else { throw RPTError("tensor \(name) offset \(offset) is not aligned", file: path) }
            let size: Int
            switch type {
            case 0: size = 4
            case 30: size = 2
            default: throw RPTError("tensor \(name) has ggml type \(type)", file: path)
            }
            let n = dims.reduce(1, *) * size
            guard dataStart + offset >= end, dataStart + offset + n <= bytes.count else {
                throw RPTError("tensor \(name) overlaps another or runs past the end", file: path)
            }
            tensors[name] = Tensor(shape: dims, type: type == 0 ? "F32" : "BF16",
                                   sha256: SHA256Digest.hex(Array(bytes[(dataStart + offset)..<(dataStart + offset + n)])))
            end = dataStart + offset + n
        }
        guard bytes.count == (end + alignment - 1) / alignment * alignment else {
            throw RPTError("file size \(bytes.count) is not the padded end of the data \(end)", file: path)
        }
    }
}

/// Compares an export read back with a fixture: the converter's records, or where listed, rpt's pinned ones.
private func compare(_ ours: GGUFReadBack, fixture: JSON, keys include: (String) -> Bool = { _ in true },
                     tensors checkTensors: Bool = true) {
    let reference = fixture["metadata"]?.object ?? [:]
    let differences = fixture["rpt_differences"]?.object ?? [:]
    let keys = Set(reference.keys).union(ours.metadata.keys).union(differences.keys).filter(include)
    for key in keys.sorted() {
        let expected: GGUFReadBack.Record?
        if let d = differences[key] { expected = GGUFReadBack.Record(fixture: d["rpt"]) } else { expected = GGUFReadBack.Record(fixture: reference[key]) }
        let actual = ours.metadata[key]
        switch (expected, actual) {
        case (nil, nil): break
        case (let e?, let a?):
            #expect(a.matches(e), "\(fixture["case"]?.string ?? ""): \(key): rpt \(a), expected \(e)")
            if !a.matches(e), let ev = e.values, let av = a.values, let i = ev.indices.first(where: { $0 < av.count && ev[$0] != av[$0] }) {
                Issue.record("\(key): first difference at element \(i): rpt \(av[i].serialized()), expected \(ev[i].serialized())")
            }
        default:
            Issue.record("\(fixture["case"]?.string ?? ""): \(key): rpt \(actual.map(\.description) ?? "absent"), expected \(expected.map(\.description) ?? "absent")")
        }
    }
    guard checkTensors else { return }
    let tensors = fixture["tensors"]?.object ?? [:]
    #expect(Set(tensors.keys) == Set(ours.tensors.keys), "tensor names: rpt \(ours.tensors.keys.sorted()) vs \(tensors.keys.sorted())")
    for (name, t) in tensors {
        guard let a = ours.tensors[name] else { continue }
        let e = GGUFReadBack.Tensor(shape: t["shape"]?.array?.compactMap(\.int) ?? [], type: t["type"]?.string ?? "", sha256: t["sha256"]?.string ?? "")
        #expect(a == e, "tensor \(name): rpt \(a.shape) \(a.type) \(a.sha256.prefix(12)), converter \(e.shape) \(e.type) \(e.sha256.prefix(12))")
    }
}

private func fixture(_ name: String) throws -> JSON { try JSON.load(path: Repo.path("Tests/Fixtures/gguf/\(name).json")) }

@Suite struct GGUFExportTests {
    static let modelCases = ["llama_f32", "llama_bf16_tied", "llama_rope_llama3", "qwen2_f32", "qwen2_bf16_tied", "qwen3_f32",
                             "qwen3_f16_tied_sharded", "stories260K_hf", "stories260K_bin"]

    /// The whole file (metadata and tensor bytes) against llama.cpp's converter on the same model.
    @Test(arguments: modelCases) func exportMatchesTheConverter(_ name: String) throws {
        let f = try fixture(name)
        let dir = temporaryDirectory("gguf-\(name)")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let type = try #require(GGUFFileType(rawValue: f["type"]?.string ?? ""))
        let out = dir + "/model.gguf"
        let summary = try GGUFExport.export(model: Repo.path(try #require(f["model"]?.string)), tokenizer: f["tokenizer"]?.string.map(Repo.path),
                                            out: out, type: type)
        let ours = try GGUFReadBack(path: out)
        #expect(ours.version == 3)
        #expect(summary.tensors == ours.tensors.count)
        compare(ours, fixture: f)
        // Nothing but the file itself is left in the directory (the temporary file was renamed into place).
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["model.gguf"])
    }

    /// Real tokenizers at full size: Qwen2.5/Qwen3's 151,665 tokens and GPT-2's 50,257 (tokenizer.json, and GPT-2 also from
    /// its vocab.json + merges.txt), against the converter's --vocab-only output for the same config.json.
    @Test(arguments: [("vocab_qwen2", "Assets/qwen2-tokenizer"), ("vocab_gpt2", "Assets/gpt2-tokenizer"),
                      ("vocab_gpt2", "Assets/gpt2-tokenizer/vocab.json")])
    func vocabularyMatchesTheConverter(_ name: String, _ tokenizerPath: String) throws {
        let f = try fixture(name)
        let config = try ModelConfig.load(path: Repo.path(try #require(f["config"]?.string)))
        let tokenizer = try loadTokenizer(path: Repo.path(tokenizerPath))
        let w = try GGUFExport.writer(model: Model(config: config), tokenizer: tokenizer, tokenizerPath: Repo.path(tokenizerPath),
                                      source: name, name: name, type: .f32)
        let dir = temporaryDirectory("gguf-\(name)")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try w.write(to: dir + "/vocab.gguf")
        compare(try GGUFReadBack(path: dir + "/vocab.gguf"), fixture: f, keys: { $0.hasPrefix("tokenizer.") }, tensors: false)
    }

    /// bfloat16 by its definition (the top 16 bits of a Float32, rounded to nearest, ties to even).
    @Test func bfloat16RoundsToNearestEven() {
        let cases: [(UInt32, UInt16)] = [
            (0x3F80_0000, 0x3F80),   // 1
            (0x3F80_8000, 0x3F80),   // 1 + 2^-8: a tie, kept even
            (0x3F81_8000, 0x3F82),   // 1 + 3·2^-8: a tie, rounded up to even
            (0x3F80_8001, 0x3F81),   // just above the tie
            (0x3F80_7FFF, 0x3F80),   // just below
            (0xBF80_8001, 0xBF81),   // sign kept
            (0x7F7F_FFFF, 0x7F80),   // the largest float rounds to +inf
            (0x7F80_0000, 0x7F80),   // +inf
            (0x0000_0001, 0x0000),   // the smallest subnormal rounds to 0
            (0x7F80_0001, 0x7FC0),   // a signalling NaN becomes a quiet NaN
            (0xFFC1_2345, 0xFFC1),   // a quiet NaN keeps its sign and top payload
        ]
        for (bits, expected) in cases {
            #expect(GGUFWriter.bfloat16Bits(Float(bitPattern: bits)) == expected, "\(String(bits, radix: 16))")
        }
    }

    /// The header and data layout of docs/gguf.md, byte by byte, for one key and one 2×3 F32 tensor.
    @Test func headerLayoutFollowsTheSpec() throws {
        var w = GGUFWriter()
        w.set("a", .uint8(7))
        try w.addTensor("t", shape: [2, 3], type: .f32, source: .values([1, 2, 3, 4, 5, 6]))
        let h = w.encodeHeader()
        var expected: [UInt8] = Array("GGUF".utf8) + [3, 0, 0, 0] + le(1, 8) + le(2, 8)
        expected += le(17, 8) + Array("general.alignment".utf8) + le(4, 4) + le(32, 4)    // u32 32
        expected += le(1, 8) + Array("a".utf8) + le(0, 4) + [7]                             // u8 7
        expected += le(1, 8) + Array("t".utf8) + le(2, 4) + le(3, 8) + le(2, 8) + le(0, 4) + le(0, 8)   // ne = (3, 2), F32, offset 0
        expected += [UInt8](repeating: 0, count: (expected.count + 31) / 32 * 32 - expected.count)
        #expect(h == expected)
        let dir = temporaryDirectory("gguf-layout")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let size = try w.write(to: dir + "/t.gguf")
        let file = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/t.gguf")))
        #expect(file.count == size && file.count == h.count + 32)
        #expect(Array(file[h.count..<(h.count + 8)]) == le(Int(Float(1).bitPattern), 4) + le(Int(Float(2).bitPattern), 4))
        #expect(file[(h.count + 24)...].allSatisfy { $0 == 0 })
    }

    private func le(_ v: Int, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }

    /// A training run directory stands for its newest checkpoint.
    @Test func aRunDirectoryExportsItsNewestCheckpoint() throws {
        let dir = temporaryDirectory("gguf-run")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fm = FileManager.default
        let model = Repo.fixtureModel("qwen2_f32")
        for step in ["step-000001", "step-000002"] {
            try fm.createDirectory(atPath: "\(dir)/run/\(step)", withIntermediateDirectories: true)
            for f in ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"] {
                try fm.copyItem(atPath: model + "/" + f, toPath: "\(dir)/run/\(step)/\(f)")
            }
            for f in ["trainer_state.json", "optimizer.safetensors"] { try Data("{}".utf8).write(to: URL(fileURLWithPath: "\(dir)/run/\(step)/\(f)")) }
        }
        try Data("step-000002\n".utf8).write(to: URL(fileURLWithPath: dir + "/run/latest"))
        let r = try runRPT(["export", "--to", "gguf", "--model", dir + "/run", "--out", dir + "/run.gguf"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("step-000002"), "\(r.stdout)")
        compare(try GGUFReadBack(path: dir + "/run.gguf"), fixture: try fixture("qwen2_f32"), keys: { $0 != "general.name" })
    }

    // MARK: Bad input

    /// Runs `rpt export --to gguf` and expects a refusal: exit 1...127, `fragments` in stderr, no output file.
    private func expectRefusal(_ args: [String], out: String, _ fragments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let r = try runRPT(["export", "--to", "gguf"] + args + ["--out", out])
        #expect((1...127).contains(r.status), "exit \(r.status): \(r.stderr)", sourceLocation: sourceLocation)
        for f in fragments { #expect(r.stderr.contains(f), "missing \(f.debugDescription) in: \(r.stderr)", sourceLocation: sourceLocation) }
        #expect(!r.stderr.contains("Fatal error") && !r.stderr.contains("Stack dump"), sourceLocation: sourceLocation)
        #expect(!FileManager.default.fileExists(atPath: out), "an output file was left behind", sourceLocation: sourceLocation)
    }

    /// Copies a fixture model's files into `dir` (leaving out `except`).
    private func copyModel(_ source: String, to dir: String, except: Set<String> = []) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for f in try FileManager.default.contentsOfDirectory(atPath: source) where !except.contains(f) && f != "reference.safetensors" {
            try FileManager.default.copyItem(atPath: source + "/" + f, toPath: dir + "/" + f)
        }
    }

    @Test func unsupportedArchitectureIsRefused() throws {
        let dir = temporaryDirectory("gguf-bad-arch")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try copyModel(Repo.fixtureModel("llama_f32"), to: dir + "/m", except: ["config.json"])
        var config = try JSON.load(path: Repo.fixtureModel("llama_f32") + "/config.json").object ?? [:]
        config["architectures"] = .array([.string("MistralForCausalLM")])
        config["model_type"] = .string("mistral")
        try Data(JSON.object(config).serialized().utf8).write(to: URL(fileURLWithPath: dir + "/m/config.json"))
        try expectRefusal(["--model", dir + "/m"], out: dir + "/o.gguf", [dir + "/m/config.json", "unsupported architecture 'MistralForCausalLM'"])
    }

    @Test func missingTokenizerIsRefused() throws {
        let dir = temporaryDirectory("gguf-no-tok")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try copyModel(Repo.fixtureModel("qwen2_f32"), to: dir + "/m", except: ["tokenizer.json", "tokenizer_config.json"])
        try expectRefusal(["--model", dir + "/m"], out: dir + "/o.gguf", [dir + "/m", "no tokenizer.json"])
        try expectRefusal(["--model", Repo.stories260KBin], out: dir + "/o.gguf", ["--tokenizer"])
        try expectRefusal(["--model", Repo.stories260KBin, "--tokenizer", dir + "/none.bin"], out: dir + "/o.gguf", [dir + "/none.bin", "not found"])
    }

    /// A byte-level pre-tokenizer llama.cpp has no counterpart for (GPT-2's regex with a prefix space).
    @Test func unrepresentablePreTokenizerIsRefused() throws {
        let dir = temporaryDirectory("gguf-bad-pre")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try copyModel(Repo.fixtureModel("qwen2_f32"), to: dir + "/m", except: ["tokenizer.json"])
        var tok = try JSON.load(path: Repo.fixtureModel("qwen2_f32") + "/tokenizer.json").object ?? [:]
        tok["pre_tokenizer"] = .object(["type": .string("ByteLevel"), "add_prefix_space": .bool(true), "trim_offsets": .bool(true),
                                        "use_regex": .bool(true)])
        try Data(JSON.object(tok).serialized().utf8).write(to: URL(fileURLWithPath: dir + "/m/tokenizer.json"))
        try expectRefusal(["--model", dir + "/m"], out: dir + "/o.gguf", [dir + "/m/tokenizer.json", "no llama.cpp counterpart"])
    }

    /// A SentencePiece-style tokenizer.json whose merges no score order reproduces: "▁the" can be formed by a split that
    /// is not a merge once one of its two merges is removed.
    @Test func unrepresentableSentencePieceMergesAreRefused() throws {
        let dir = temporaryDirectory("gguf-bad-merges")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try copyModel(Repo.stories260KHF, to: dir + "/m", except: ["tokenizer.json"])
        var tok = try JSON.load(path: Repo.stories260KHF + "/tokenizer.json").object ?? [:]
        var model = tok["model"]?.object ?? [:]
        var merges = model["merges"]?.array ?? []
        let producing = merges.indices.filter { i in
            let parts = merges[i].string.map { $0.split(separator: " ").map(String.init) } ?? merges[i].array?.compactMap(\.string) ?? []
            return parts.joined() == "\u{2581}the"
        }
        try #require(producing.count == 2)
        merges.remove(at: producing[1])
        model["merges"] = .array(merges)
        tok["model"] = .object(model)
        try Data(JSON.object(tok).serialized().utf8).write(to: URL(fileURLWithPath: dir + "/m/tokenizer.json"))
        try expectRefusal(["--model", dir + "/m"], out: dir + "/o.gguf", [dir + "/m/tokenizer.json", "which is not a merge"])
    }

    @Test func badOptionsAreRefused() throws {
        let dir = temporaryDirectory("gguf-bad-opts")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try expectRefusal(["--model", Repo.fixtureModel("qwen2_f32"), "--type", "q4_0"], out: dir + "/o.gguf", ["--type"])
        try expectRefusal([], out: dir + "/o.gguf", ["--model"])
        try expectRefusal(["--model", dir + "/nothing"], out: dir + "/o.gguf", [dir + "/nothing"])
        let r = try runRPT(["export", "--to", "gguf", "--model", Repo.fixtureModel("qwen2_f32"), "--out", dir])
        #expect((1...127).contains(r.status) && r.stderr.contains("is a directory"), "\(r.stderr)")
        // The model's own files are never overwritten.
        let m = Repo.fixtureModel("qwen2_f32") + "/model.safetensors"
        let before = try Data(contentsOf: URL(fileURLWithPath: m))
        let same = try runRPT(["export", "--to", "gguf", "--model", Repo.fixtureModel("qwen2_f32"), "--out", m])
        #expect((1...127).contains(same.status) && same.stderr.contains("overwrite"), "\(same.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: m)) == before)
    }

    /// What llama.cpp's graphs cannot hold is refused before anything is written.
    @Test func unrepresentableConfigsAreRefused() throws {
        let tokenizer = try loadTokenizer(path: Repo.fixtureModel("qwen3_f32"))
        var json = try JSON.load(path: Repo.fixtureModel("qwen3_f32") + "/config.json").object ?? [:]
        json["attention_bias"] = .bool(true)
        let biased = try ModelConfig(json: .object(json), file: "qwen3/config.json")
        #expect(throws: RPTError.self) {
            _ = try GGUFExport.writer(model: Model(config: biased), tokenizer: tokenizer, tokenizerPath: "t", source: "qwen3/config.json",
                                      name: "x", type: .f32)
        }
        do {
            _ = try GGUFExport.writer(model: Model(config: biased), tokenizer: tokenizer, tokenizerPath: "t", source: "qwen3/config.json",
                                      name: "x", type: .f32)
        } catch let e as RPTError {
            #expect(e.file == "qwen3/config.json" && e.message.contains("o_proj bias"), "\(e)")
        }
        var q2 = try JSON.load(path: Repo.fixtureModel("qwen2_f32") + "/config.json").object ?? [:]
        q2["rope_scaling"] = .object(["rope_type": .string("llama3"), "factor": .number(8), "low_freq_factor": .number(1),
                                      "high_freq_factor": .number(4), "original_max_position_embeddings": .number(64)])
        let scaled = try ModelConfig(json: .object(q2), file: "qwen2/config.json")
        #expect(throws: RPTError.self) {
            _ = try GGUFExport.writer(model: Model(config: scaled), tokenizer: tokenizer, tokenizerPath: "t", source: "qwen2/config.json",
                                      name: "x", type: .f32)
        }
    }
}
