// The fuzz targets: each names the loader it exercises and prepares its seeds, valid inputs taken from the
// repository's fixtures and assets (or, for positions and trainer state, written by the library itself), in a
// scratch directory of its own. A case is a mutated seed written to the seed's case path inside that directory,
// then loaded in-process; a loaded model or tokenizer is also used once, so a file that loads but cannot be used
// without trapping counts as a crash too.

import Foundation
import RPT

/// One valid input and how to load a case made from it.
struct Seed {
    /// Letters, digits and underscores: it is part of a reproducer's file name (`crash-<seed>-<hash>.<ext>`).
    let name: String
    let format: InputFormat
    let bytes: [UInt8]
    /// Where a case is written (inside the scratch directory) before `load` runs.
    let casePath: String
    let load: (_ casePath: String) throws -> Void
}

struct FuzzTarget: Sendable {
    let name: String
    /// What the target loads, for the summary.
    let loads: String
    let prepare: @Sendable (_ repo: String, _ scratch: String) throws -> [Seed]
}

enum Targets {
    static var all: [FuzzTarget] {
        [safetensors, modelConfig, safetensorsIndex, tokenizerJSON, tokenizerConfig, llama2cModel, llama2cTokenizer,
         positions, corpus, trainerState]
    }

    /// `all`, or the self-test target (not part of a normal run).
    static func named(_ name: String) -> FuzzTarget? { (all + [selfTest]).first { $0.name == name } }

    // MARK: Targets

    static let safetensors = FuzzTarget(name: "safetensors", loads: "SafeTensorsFile + every tensor read") { repo, scratch in
        let files = [("llama_f32", "Tests/Fixtures/models/llama_f32/model.safetensors"),
                     ("llama_bf16_tied", "Tests/Fixtures/models/llama_bf16_tied/model.safetensors"),
                     ("qwen3_f16_shard1", "Tests/Fixtures/models/qwen3_f16_tied_sharded/model-00001-of-00002.safetensors"),
                     ("qwen3_f16_shard2", "Tests/Fixtures/models/qwen3_f16_tied_sharded/model-00002-of-00002.safetensors")]
        return try files.map { name, path in
            Seed(name: name, format: .safetensors, bytes: try read(repo, path), casePath: try caseDir(scratch, name) + "/case.safetensors") { path in
                let file = try SafeTensorsFile(path: path)
                for name in file.tensors.keys.sorted() {
                    let t = try file.info(name)
                    switch t.dtype {
                    case .f32, .f16, .bf16, .f64: _ = try file.floats(name)
                    case .i64, .i32, .i16, .i8, .u8: _ = try file.ints(name)
                    default: _ = file.withBytes(t) { $0.count }
                    }
                }
            }
        }
    }

    /// config.json of every fixture model family, loaded with the model's weights.
    static let modelConfig = FuzzTarget(name: "model-config", loads: "ModelConfig via Model.load(path:) on an HF directory") { repo, scratch in
        try ["llama_f32", "qwen2_f32", "qwen3_f32", "llama_rope_llama3", "llama_bf16_tied", "qwen2_bf16_tied", "qwen3_f16_tied_sharded"].map { name in
            let dir = try copyModel(repo, "Tests/Fixtures/models/\(name)", scratch, name)
            return Seed(name: name, format: .json, bytes: try read(dir + "/config.json"), casePath: dir + "/config.json") { _ in
                try useModel(try Model.load(path: dir))
            }
        }
    }

    /// The shard index of a sharded checkpoint.
    static let safetensorsIndex = FuzzTarget(name: "safetensors-index", loads: "model.safetensors.index.json via Model.load(path:)") { repo, scratch in
        let name = "qwen3_f16_tied_sharded"
        let dir = try copyModel(repo, "Tests/Fixtures/models/\(name)", scratch, name)
        let index = dir + "/model.safetensors.index.json"
        return [Seed(name: name, format: .json, bytes: try read(index), casePath: index) { _ in try useModel(try Model.load(path: dir)) }]
    }

    /// tokenizer.json: byte-level BPE with added tokens, SentencePiece-style BPE (Metaspace, normalizer), Llama 3 split.
    static let tokenizerJSON = FuzzTarget(name: "tokenizer-json", loads: "loadTokenizer(path:) on tokenizer.json, then encode/decode") { repo, scratch in
        let sources = [("bytelevel_bpe", "Tests/Fixtures/models/llama_f32", "tokenizer.json"),
                       ("added_tokens", "Tests/Fixtures/tokenizers/added-tokens", "tokenizer.json"),
                       ("metaspace", "Tests/Fixtures/tokenizers/stories260K-metaspace", "tokenizer.json"),
                       ("normalizer", "Tests/Fixtures/tokenizers/stories260K-normalizer", "tokenizer.json")]
        return try sources.map { name, dir, file in
            let out = try caseDir(scratch, name)
            let config = repo + "/" + dir + "/tokenizer_config.json"
            if file == "tokenizer.json", FileManager.default.fileExists(atPath: config) {
                try FileManager.default.copyItem(atPath: config, toPath: out + "/tokenizer_config.json")
            }
            return Seed(name: name, format: .json, bytes: try read(repo, dir + "/" + file), casePath: out + "/tokenizer.json") { path in
                useTokenizer(try loadTokenizer(path: path))
            }
        }
    }

    /// tokenizer_config.json beside a valid tokenizer.json (bos/eos names).
    static let tokenizerConfig = FuzzTarget(name: "tokenizer-config", loads: "tokenizer_config.json via loadTokenizer(path:)") { repo, scratch in
        try [("bytelevel_bpe", "Tests/Fixtures/models/llama_f32"), ("metaspace", "Tests/Fixtures/tokenizers/stories260K-metaspace")].map { name, dir in
            let out = try caseDir(scratch, name)
            try FileManager.default.copyItem(atPath: repo + "/" + dir + "/tokenizer.json", toPath: out + "/tokenizer.json")
            return Seed(name: name, format: .json, bytes: try read(repo, dir + "/tokenizer_config.json"), casePath: out + "/tokenizer_config.json") { _ in
                useTokenizer(try loadTokenizer(path: out + "/tokenizer.json"))
            }
        }
    }

    static let llama2cModel = FuzzTarget(name: "llama2c-model", loads: "Model.load(path:) on a llama2.c .bin checkpoint") { repo, scratch in
        [Seed(name: "stories260k", format: .llama2cModel, bytes: try read(repo, "Assets/stories260K/stories260K.bin"),
              casePath: try caseDir(scratch, "stories260k") + "/model.bin") { path in try useModel(try Model.load(path: path)) }]
    }

    static let llama2cTokenizer = FuzzTarget(name: "llama2c-tokenizer", loads: "loadTokenizer(path:) on a llama2.c tokenizer .bin, then encode/decode") { repo, scratch in
        [Seed(name: "tok512", format: .llama2cTokenizer, bytes: try read(repo, "Assets/stories260K/tok512.bin"),
              casePath: try caseDir(scratch, "tok512") + "/tokenizer.bin") { path in useTokenizer(try loadTokenizer(path: path)) }]
    }

    /// Position files as `rpt prepare` writes them: training lines, and validation lines with entropy and splits.
    static let positions = FuzzTarget(name: "positions-jsonl", loads: "PositionDataset.read(path:)") { _, scratch in
        let train = [
            PositionRecord(docId: "omni_tiny.jsonl:1", index: 7, context: "Consider pairs $(f,g)$", contextIds: [1, 30, 31, 32, 33, 34],
                           targetId: 35, target: " of", continuation: Array(" of functions".utf8), boundaries: [3, 13],
                           proxyEntropy: 1.25, proxyLogProb: -0.75),
            PositionRecord(docId: "gsm8k.jsonl:2", index: 3, context: "She sells \u{1F95A} 16-3-4", contextIds: [1, 9],
                           targetId: 12, target: "=", continuation: Array("=9 eggs".utf8), boundaries: [1, 2, 7],
                           proxyEntropy: 2.5, proxyLogProb: -3.125, calculation: "16-3-4=9"),
        ]
        let validation = [
            PositionRecord(docId: "val.jsonl:4", index: 2, context: "Once", contextIds: [1], targetId: 5, target: " upon",
                           continuation: Array(" upon a time".utf8), boundaries: [5, 7, 12], proxyEntropy: 0.9, proxyLogProb: -1.5,
                           entropy: 1.75, splits: [.easy, .medium, .hard]),
            PositionRecord(docId: "val.jsonl:9", index: 4, context: "\"quoted\"\n\ttab", contextIds: [1, 2, 3, 4], targetId: 6, target: "é",
                           continuation: [0xC3, 0xA9], boundaries: [2], proxyEntropy: 0.6, proxyLogProb: -0.25, entropy: 0.75, splits: [.easy]),
        ]
        return try [("train", train), ("validation", validation)].map { name, records in
            let bytes: [UInt8] = records.flatMap { $0.lineBytes + [UInt8(0x0A)] }
            return Seed(name: name, format: .jsonl, bytes: bytes, casePath: try caseDir(scratch, name) + "/positions.jsonl") { path in
                _ = try PositionDataset.read(path: path)
            }
        }
    }

    /// Corpora as `rpt prepare` reads them: JSONL through a field or a template (with GSM8K calculator
    /// annotations), and plain text split on a delimiter.
    static let corpus = FuzzTarget(name: "corpus", loads: "CorpusReader.read(path:options:) on JSONL and text") { repo, scratch in
        let gsm8k: [UInt8] = try read(repo, "Assets/gsm8k/test.jsonl").split(separator: 0x0A).prefix(4).flatMap { Array($0) + [UInt8(0x0A)] }
        let sources: [(String, InputFormat, [UInt8], String, CorpusOptions)] = [
            ("omni_tiny", .jsonl, try read(repo, "Tests/Fixtures/prepare/omni_tiny.jsonl"), "corpus.jsonl",
             CorpusOptions(template: try TextTemplate("{problem}\n\n{solution}"))),
            ("omni_sample", .jsonl, try read(repo, "Tests/Fixtures/data/omni_math_sample.jsonl"), "corpus.jsonl",
             CorpusOptions(textField: "problem")),
            ("gsm8k", .jsonl, gsm8k, "corpus.jsonl", CorpusOptions(template: try TextTemplate("{question}\n{answer}"), calculations: true)),
            ("short_stories", .text, try read(repo, "Tests/Fixtures/data/short_stories.txt"), "corpus.txt",
             CorpusOptions(format: .text, documentDelimiter: "\n\n\n")),
        ]
        return try sources.map { name, format, bytes, file, options in
            Seed(name: name, format: format, bytes: bytes, casePath: try caseDir(scratch, name) + "/" + file) { path in
                _ = try CorpusReader.read(path: path, options: options, onWarning: { _ in })
            }
        }
    }

    /// trainer_state.json of a checkpoint the library writes (with and without the checksums of its files),
    /// loaded through Checkpoint.load(dir:), which also checks the files against it.
    static let trainerState = FuzzTarget(name: "trainer-state", loads: "TrainerState via Checkpoint.load(dir:)") { repo, scratch in
        let model = try Model.load(path: repo + "/Tests/Fixtures/models/llama_f32")
        let optimizer = try AdamW(params: model.params, grads: ParameterBuffer(specs: model.layout.specs))
        let state = TrainerState(step: 12, rngStates: ["sampling": RandomGenerator(seed: 1), "data": RandomGenerator(seed: 2, stream: 3)],
                                 dataCursor: .object(["epoch": .number(1), "offset": .number(17), "order": .array([.number(2), .number(0)])]),
                                 options: .object(["lr": .number(1e-4), "steps": .number(100), "model": .string("llama_f32")]),
                                 metrics: ["loss": 2.5, "reward": .nan, "grad_norm": .infinity, "lr": 1e-4],
                                 payload: .object(["note": .string("fuzz seed")]))
        return try ["checksummed", "unchecksummed"].map { name in
            let dir = try Checkpoint.save(model: model, optimizer: optimizer.state, state: state, in: try caseDir(scratch, name))
            let path = dir + "/trainer_state.json"
            if name == "unchecksummed" {   // as written before checksums existed
                var loaded = try TrainerState.load(path: path)
                loaded.checksums = nil
                try loaded.serialized().write(to: URL(fileURLWithPath: path))
            }
            return Seed(name: name, format: .json, bytes: try read(path), casePath: path) { _ in _ = try Checkpoint.load(dir: dir) }
        }
    }

    /// Checks the harness itself (FuzzRegressionTests): case 3 traps, case 5 hangs, case 7 allocates 64 GiB, every
    /// other case loads. The case index comes from the harness's `current` note.
    static let selfTest = FuzzTarget(name: "selftest", loads: "nothing: cases 3, 5 and 7 crash, hang and run out of memory") { _, scratch in
        [Seed(name: "selftest", format: .text, bytes: Array("self test".utf8), casePath: try caseDir(scratch, "selftest") + "/case.txt") { _ in
            let note = (try? String(contentsOfFile: scratch + "/current", encoding: .utf8)) ?? ""
            switch Int(note.split(separator: "\n").first ?? "") {
            case 3: fatalError("rpt-fuzz self test: a trap")
            case 5: while true { sleep(1) }
            case 7:
                let huge = [UInt8](repeating: 1, count: 1 << 36)
                FileHandle.standardError.write(Data("unreachable: \(huge[12345])".utf8))
            default: break
            }
        }]
    }

    // MARK: Helpers

    static func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else { throw RPTError("cannot read seed", file: path) }
        return [UInt8](data)
    }

    static func read(_ repo: String, _ relative: String) throws -> [UInt8] { try read(repo + "/" + relative) }

    /// `scratch/name`, created.
    static func caseDir(_ scratch: String, _ name: String) throws -> String {
        let dir = scratch + "/" + name
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// A copy of a model directory's config and weights (not its reference outputs) in `scratch/name`.
    static func copyModel(_ repo: String, _ relative: String, _ scratch: String, _ name: String) throws -> String {
        let dir = try caseDir(scratch, name)
        let source = repo + "/" + relative
        for file in try FileManager.default.contentsOfDirectory(atPath: source).sorted()
        where file == "config.json" || (file.hasPrefix("model") && file.contains(".safetensors")) {
            try FileManager.default.copyItem(atPath: source + "/" + file, toPath: dir + "/" + file)
        }
        return dir
    }

    /// One short forward pass over the first, second and last token ids.
    static func useModel(_ model: Model) throws {
        let v = model.config.vocabSize
        let tokens = [0, min(1, v - 1), v - 1]
        let backend = try model.backend()
        let cache = try backend.makeCache(slots: 1, capacity: tokens.count)
        _ = try backend.scores(backend.forward(ForwardBatch(tokens: tokens, segments: [.init(slot: 0, count: tokens.count)]),
                                               cache: cache, rows: .lastOfEachSegment), targets: [-1], topK: 16)
    }

    static let sampleText = "Hello world! It's 2024: naïve café, 東京 😀\n\n\t<|endoftext|><s></s> <unk> <0x41>  12345 end "

    /// Encodes and decodes a sample, and asks for the bytes of ids in and out of range.
    static func useTokenizer(_ tokenizer: any Tokenizer) {
        let ids = tokenizer.encode(sampleText)
        _ = tokenizer.decode(ids + [-1, tokenizer.vocabSize, Int.max])
        for id in [-1, 0, 1, 2, 3, 258, tokenizer.vocabSize - 1, tokenizer.vocabSize, Int.max] + ids.prefix(8) {
            _ = tokenizer.tokenBytes(id)
            _ = tokenizer.isSpecial(id)
        }
        for token in ["<s>", "</s>", "<|endoftext|>", "", " "] { _ = tokenizer.tokenId(token) }
    }
}
