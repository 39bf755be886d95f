// Training checkpoints: a Hugging Face model directory (what `save_pretrained` writes) plus the optimizer and
// trainer state, written atomically.
//
//   OUT/step-000123/
//     model.safetensors        every parameter under its HF name, F32 (or BF16 when asked), metadata
//                              {"format": "pt"}; a tied LM head is not written, exactly as save_pretrained
//     config.json              the model's original config.json with torch_dtype/dtype set to the written dtype
//     generation_config.json   bos/eos
//     tokenizer files          copied from the given sources (tokenizer.json, tokenizer_config.json, …; a llama2.c
//                              tokenizer .bin as is)
//     optimizer.safetensors    AdamW moments, F32: `m.<param name>`, `v.<param name>`; metadata adamw_step
//     trainer_state.json       TrainerState (CheckpointState.swift)
//   OUT/latest                 the name of the newest checkpoint directory ("step-000123")
//
// So the model part loads with `Model.load(path:)` and `transformers.AutoModelForCausalLM.from_pretrained`.
//
// Atomicity: everything is written into OUT/.step-000123.tmp-<pid>/, every file and the directory are
// fsynced, the directory is renamed to OUT/step-000123 (OUT fsynced), and only then `latest` is replaced
// atomically (AtomicFile). A crash at any point leaves the previous checkpoint and `latest` intact; stale
// temporary entries are removed by the next successful save. Re-saving an existing step swaps the old
// directory out first (a crash between the two renames leaves that step missing; `latest` then falls back
// to the highest complete step). One writer per OUT directory.
// Saving F32 and loading back reproduces parameters, moments, step counts and generator states bit for bit.

import Foundation
#if canImport(Glibc)
import Glibc
private let systemWrite = Glibc.write
#elseif canImport(Darwin)
import Darwin
private let systemWrite = Darwin.write
#endif

#if _endian(big)
#error("checkpoint files are written from memory as little-endian")
#endif

/// Element type of the weights in model.safetensors (the optimizer state is always F32).
public enum CheckpointDType: String, Sendable, Codable {
    case float32, bfloat16

    var safeTensorsName: String { self == .float32 ? "F32" : "BF16" }
}

public struct CheckpointOptions: Sendable {
    /// dtype of model.safetensors; only float32 resumes bit for bit.
    public var modelDType: CheckpointDType
    /// Keep only the newest K step directories after a save (0 keeps all).
    public var keepLast: Int
    /// Tokenizer files or directories to copy into the checkpoint (see `Checkpoint.tokenizerFileNames`).
    public var tokenizerSources: [String]

    public init(modelDType: CheckpointDType = .float32, keepLast: Int = 0, tokenizerSources: [String] = []) {
        self.modelDType = modelDType
        self.keepLast = keepLast
        self.tokenizerSources = tokenizerSources
    }
}

/// A loaded checkpoint: the model, AdamW's moments (same layout as the parameters) and the trainer state.
public struct Checkpoint {
    public static let modelFile = "model.safetensors"
    public static let optimizerFile = "optimizer.safetensors"
    public static let stateFile = "trainer_state.json"
    public static let latestFile = "latest"
    /// Names copied from a tokenizer source directory when present (plus llama2.c `tokenizer.bin` / `tok*.bin`).
    public static let tokenizerFileNames = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                                            "added_tokens.json", "vocab.json", "merges.txt", "tokenizer.model",
                                            "chat_template.jinja", "chat_template.json"]

    public let directory: String
    public let model: Model
    public let m: ParameterBuffer
    public let v: ParameterBuffer
    public let state: TrainerState

    /// "step-000123".
    public static func directoryName(step: Int) -> String {
        let digits = String(step)
        return "step-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    /// The step of a directory named by `directoryName(step:)`, else nil.
    public static func step(ofDirectoryName name: String) -> Int? {
        guard name.hasPrefix("step-") else { return nil }
        let digits = name.dropFirst(5)
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(digits)
    }

    // MARK: Saving

    /// Writes OUT/step-NNNNNN (NNNNNN = `state.step`) atomically, points `latest` at it, removes stale
    /// temporary entries and prunes old checkpoints. `state.adamwStep` is taken from the optimizer. A backend's
    /// parameters and optimizer state are downloaded to the host before this is called.
    /// Returns the checkpoint directory's path.
    @discardableResult
    public static func save(model: Model, optimizer: OptimizerState, state: TrainerState, in outDir: String,
                            options: CheckpointOptions = CheckpointOptions()) throws -> String {
        guard state.step >= 0 else { throw RPTError("checkpoint step must be non-negative, got \(state.step)", file: outDir) }
        guard optimizer.m.specs == model.layout.specs else {
            throw RPTError("optimizer state does not match the model's parameter layout", file: outDir)
        }
        guard options.keepLast >= 0 else { throw RPTError("keepLast must be ≥ 0, got \(options.keepLast)", file: outDir) }
        var state = state
        state.adamwStep = optimizer.step
        // A diverged update is not saved: resuming it could only fail again.
        if let i = firstNonFinite(model.params.base, count: model.params.count) {
            throw RPTError("step \(state.step): the update made weight \(i) non-finite (\(model.params.base[i])); not checkpointed. "
                           + "Resume from the last checkpoint (--resume --lr with a lower rate)", file: outDir)
        }
        let fm = FileManager.default
        do { try fm.createDirectory(atPath: outDir, withIntermediateDirectories: true) } catch {
            throw RPTError("cannot create output directory (\(error.localizedDescription))", file: outDir)
        }
        let name = directoryName(step: state.step)
        let pid = getpid()
        let tmp = join(outDir, ".\(name).tmp-\(pid)")
        let final = join(outDir, name)
        if fm.fileExists(atPath: tmp) { try remove(tmp) }
        do { try fm.createDirectory(atPath: tmp, withIntermediateDirectories: false) } catch {
            throw RPTError("cannot create temporary checkpoint directory (\(error.localizedDescription))", file: tmp)
        }

        do {
            try writeModelFiles(model: model, into: tmp, dtype: options.modelDType, tokenizerSources: options.tokenizerSources)
            let moments = model.layout.specs.map { ("m." + $0.name, $0, optimizer.m) } + model.layout.specs.map { ("v." + $0.name, $0, optimizer.v) }
            try writeSafeTensors(path: join(tmp, optimizerFile),
                                 tensors: moments.map { StreamedTensor(name: $0.0, shape: $0.1.shape, data: $0.2.base + $0.1.offset) },
                                 dtype: .float32, metadata: ["format": "pt", "adamw_step": String(optimizer.step)])
            // Checksums of the weight and optimizer files, verified by `load`.
            state.checksums = [modelFile: try FileChecksum.of(join(tmp, modelFile)), optimizerFile: try FileChecksum.of(join(tmp, optimizerFile))]
            try writeFileSynced(join(tmp, stateFile), try state.serialized())
            try fsyncDirectory(tmp)
        } catch {
            try? FileManager.default.removeItem(atPath: tmp)
            throw error
        }

        // Move into place. Re-saving an existing step swaps the old directory out first.
        if fm.fileExists(atPath: final) {
            let old = join(outDir, ".\(name).old-\(pid)")
            if fm.fileExists(atPath: old) { try remove(old) }
            try renameOrThrow(final, old)
            try renameOrThrow(tmp, final)
            try fsyncDirectory(outDir)
            try remove(old)
        } else {
            try renameOrThrow(tmp, final)
        }
        try fsyncDirectory(outDir)
        try AtomicFile.write(Data((name + "\n").utf8), to: join(outDir, latestFile))
        try fsyncDirectory(outDir)

        try removeStaleEntries(in: outDir)
        if options.keepLast > 0 { try prune(outDir, keepLast: options.keepLast, keeping: name) }
        return final
    }

    /// Writes the Hugging Face part (model.safetensors, config.json, generation_config.json, tokenizer files)
    /// into the existing directory `dir`, every file fsynced. Used by `save`; also a plain model export.
    public static func writeModelFiles(model: Model, into dir: String, dtype: CheckpointDType = .float32,
                                       tokenizerSources: [String] = []) throws {
        let specs = model.layout.specs
        try writeSafeTensors(path: join(dir, modelFile),
                             tensors: specs.map { StreamedTensor(name: $0.name, shape: $0.shape, data: model.params.base + $0.offset) },
                             dtype: dtype, metadata: ["format": "pt"])
        try writeFileSynced(join(dir, "config.json"), try CheckpointJSON.pretty(configJSON(model.config, dtype: dtype)))
        try writeFileSynced(join(dir, "generation_config.json"), try CheckpointJSON.pretty(generationConfigJSON(model.config)))
        try copyTokenizerFiles(tokenizerSources, into: dir)
    }

    /// config.json to write: the original with the dtype updated (a config built in code gets one synthesised).
    static func configJSON(_ c: ModelConfig, dtype: CheckpointDType) -> JSON {
        var object = c.raw.object ?? synthesizedConfig(c)
        var updated = false
        for key in ["torch_dtype", "dtype"] where object[key] != nil {
            object[key] = .string(dtype.rawValue)
            updated = true
        }
        if !updated { object["torch_dtype"] = .string(dtype.rawValue) }
        return .object(object)
    }

    private static func synthesizedConfig(_ c: ModelConfig) -> [String: JSON] {
        func n(_ x: Int) -> JSON { .number(Double(x)) }
        var o: [String: JSON] = [
            "architectures": .array([.string(c.family.rawValue)]),
            "model_type": .string(["LlamaForCausalLM": "llama", "Qwen2ForCausalLM": "qwen2", "Qwen3ForCausalLM": "qwen3"][c.family.rawValue]!),
            "hidden_size": n(c.hiddenSize), "intermediate_size": n(c.intermediateSize),
            "num_hidden_layers": n(c.numLayers), "num_attention_heads": n(c.numHeads),
            "num_key_value_heads": n(c.numKVHeads), "head_dim": n(c.headDim), "vocab_size": n(c.vocabSize),
            "max_position_embeddings": n(c.maxPositions), "rms_norm_eps": .number(Double(c.rmsNormEps)),
            "rope_theta": .number(c.ropeTheta), "tie_word_embeddings": .bool(c.tiedEmbeddings),
            "hidden_act": .string("silu"),
            "bos_token_id": c.bosTokenId.map(n) ?? .null,
            "eos_token_id": c.eosTokenIds.count == 1 ? n(c.eosTokenIds[0]) : (c.eosTokenIds.isEmpty ? .null : .array(c.eosTokenIds.map(n))),
        ]
        if c.family != .qwen2 { o["attention_bias"] = .bool(c.qkvBias) }
        switch c.ropeScaling {
        case .none: break
        case .linear(let f): o["rope_scaling"] = .object(["rope_type": .string("linear"), "factor": .number(f)])
        case .llama3(let f, let lo, let hi, let orig):
            o["rope_scaling"] = .object(["rope_type": .string("llama3"), "factor": .number(f), "low_freq_factor": .number(lo),
                                         "high_freq_factor": .number(hi), "original_max_position_embeddings": n(orig)])
        }
        return o
    }

    static func generationConfigJSON(_ c: ModelConfig) -> JSON {
        var o: [String: JSON] = ["_from_model_config": .bool(true)]
        if let b = c.bosTokenId { o["bos_token_id"] = .number(Double(b)) }
        if c.eosTokenIds.count == 1 { o["eos_token_id"] = .number(Double(c.eosTokenIds[0])) }
        else if c.eosTokenIds.count > 1 { o["eos_token_id"] = .array(c.eosTokenIds.map { .number(Double($0)) }) }
        return .object(o)
    }

    /// Copies tokenizer files: a directory contributes the known names it holds; a file is copied under its
    /// own name (a tokenizer.json also brings its sibling tokenizer_config.json etc.). The first source of a
    /// name wins.
    static func copyTokenizerFiles(_ sources: [String], into dir: String) throws {
        let fm = FileManager.default
        var copied = Set<String>()
        func known(_ name: String) -> Bool {
            tokenizerFileNames.contains(name) || name == "tokenizer.bin" || (name.hasPrefix("tok") && name.hasSuffix(".bin"))
        }
        func copy(_ path: String) throws {
            let name = (path as NSString).lastPathComponent
            guard !copied.contains(name), name != modelFile, name != "config.json", name != "generation_config.json" else { return }
            guard let data = fm.contents(atPath: path) else { throw RPTError("cannot read tokenizer file", file: path) }
            try writeFileSynced(join(dir, name), data)
            copied.insert(name)
        }
        for source in sources {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: source, isDirectory: &isDir) else {
                throw RPTError("tokenizer source not found", file: source)
            }
            if isDir.boolValue {
                let names = ((try? fm.contentsOfDirectory(atPath: source)) ?? []).filter(known).sorted()
                guard !names.isEmpty else { throw RPTError("no tokenizer files in directory", file: source) }
                for n in names { try copy(join(source, n)) }
            } else {
                try copy(source)
                if (source as NSString).lastPathComponent == "tokenizer.json" {
                    let parent = (source as NSString).deletingLastPathComponent
                    for n in tokenizerFileNames where fm.fileExists(atPath: join(parent, n)) { try copy(join(parent, n)) }
                }
            }
        }
    }

    // MARK: Loading

    /// Loads a checkpoint directory: the model through `Model.load(path:)` (as any HF checkpoint), the AdamW
    /// moments and the trainer state. Missing or corrupt files give an RPTError naming the file.
    public static func load(dir: String) throws -> Checkpoint {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw RPTError("no such checkpoint directory", file: dir)
        }
        let statePath = join(dir, stateFile)
        guard FileManager.default.fileExists(atPath: statePath) else {
            throw RPTError("missing \(stateFile): not a complete training checkpoint", file: statePath)
        }
        let state = try TrainerState.load(path: statePath)
        // Checkpoints written with checksums (all since they were added) must still hold the same bytes.
        if let sums = state.checksums {
            for (name, expected) in sums.sorted(by: { $0.key < $1.key }) {
                let path = join(dir, name)
                guard !name.contains("/"), try FileChecksum.of(path) == expected else {
                    throw RPTError("checksum mismatch: the file changed after the checkpoint was written (corrupt or edited)", file: path)
                }
            }
        }
        let model = try Model.load(path: dir)
        let optPath = join(dir, optimizerFile)
        guard FileManager.default.fileExists(atPath: optPath) else {
            throw RPTError("missing \(optimizerFile) (AdamW state)", file: optPath)
        }
        let file = try SafeTensorsFile(path: optPath)
        guard let t = file.metadata["adamw_step"], Int(t) == state.adamwStep else {
            throw RPTError("metadata adamw_step '\(file.metadata["adamw_step"] ?? "missing")' does not match \(stateFile)'s adamw_step \(state.adamwStep): files from different checkpoints?", file: optPath)
        }
        let m = ParameterBuffer(specs: model.layout.specs), v = ParameterBuffer(specs: model.layout.specs)
        var expected = Set<String>()
        for (prefix, buffer) in [("m.", m), ("v.", v)] {
            for spec in model.layout.specs {
                let name = prefix + spec.name
                expected.insert(name)
                let info = try file.info(name)
                guard info.dtype == .f32 else { throw RPTError("tensor '\(name)' is \(info.dtype.rawValue); optimizer state must be F32", file: optPath) }
                try file.readFloats(name, into: buffer.base + spec.offset, expectedShape: spec.shape)
                try requireFinite(buffer.base + spec.offset, count: spec.count, label: "tensor '\(name)'", file: optPath)
            }
        }
        if let extra = file.tensors.keys.sorted().first(where: { !expected.contains($0) }) {
            throw RPTError("unexpected tensor '\(extra)' not in the model's parameter layout", file: optPath)
        }
        return Checkpoint(directory: dir, model: model, m: m, v: v, state: state)
    }

    /// Path of the newest checkpoint in `outDir`: the directory named by `latest`, or when `latest` is missing,
    /// unreadable or names no complete checkpoint, the highest complete step-* directory. Nil when none.
    public static func latest(in outDir: String) -> String? {
        if let text = try? String(contentsOfFile: join(outDir, latestFile), encoding: .utf8) {
            let name = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if step(ofDirectoryName: name) != nil, isComplete(join(outDir, name)) { return join(outDir, name) }
        }
        return completeCheckpoints(in: outDir).last?.path
    }

    /// When `path` is a training run's directory (step-* checkpoints, no config.json of its own), its latest
    /// complete checkpoint; nil for anything else (a model directory, a file), so callers can take either.
    public static func latestIfRunDirectory(_ path: String) -> String? {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue,
              !FileManager.default.fileExists(atPath: join(path, "config.json")) else { return nil }
        return latest(in: path)
    }

    /// Complete step-* directories in `outDir`, by increasing step.
    public static func completeCheckpoints(in outDir: String) -> [(step: Int, path: String)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: outDir)) ?? []
        return names.compactMap { n in step(ofDirectoryName: n).map { ($0, join(outDir, n)) } }
            .filter { isComplete($0.1) }
            .sorted { $0.0 < $1.0 }
    }

    /// Whether `dir` holds every file a save writes (the rename makes our own directories all-or-nothing; this
    /// skips step-* directories left incomplete by hand or by other tools).
    static func isComplete(_ dir: String) -> Bool {
        let fm = FileManager.default
        return [stateFile, optimizerFile, "config.json", modelFile].allSatisfy { fm.fileExists(atPath: join(dir, $0)) }
    }

    // MARK: Housekeeping

    /// Removes leftovers of interrupted writes: .step-*.tmp-* and .step-*.old-* of a save, and AtomicFile's
    /// .NAME.tmp-* (latest, and metrics.jsonl / completions.jsonl cut back on a resume that was itself killed).
    static func removeStaleEntries(in outDir: String) throws {
        for n in (try? FileManager.default.contentsOfDirectory(atPath: outDir)) ?? [] {
            let stale = n.hasPrefix(".") && (n.contains(".tmp-") || (n.hasPrefix(".step-") && n.contains(".old-")))
            if stale { try remove(join(outDir, n)) }
        }
    }

    /// Deletes all but the newest `keepLast` step directories (by step number); never the one just written.
    static func prune(_ outDir: String, keepLast: Int, keeping current: String) throws {
        let all = ((try? FileManager.default.contentsOfDirectory(atPath: outDir)) ?? [])
            .compactMap { n in step(ofDirectoryName: n).map { (step: $0, name: n) } }
            .sorted { $0.step < $1.step }
        for entry in all.dropLast(keepLast) where entry.name != current {
            try remove(join(outDir, entry.name))
        }
    }
}

// MARK: - File primitives

private func join(_ dir: String, _ name: String) -> String { (dir as NSString).appendingPathComponent(name) }

private func posixError(_ what: String, _ path: String) -> RPTError {
    RPTError("\(what) failed: \(String(cString: strerror(errno)))", file: path)
}

private func remove(_ path: String) throws {
    do { try FileManager.default.removeItem(atPath: path) } catch {
        throw RPTError("cannot remove (\(error.localizedDescription))", file: path)
    }
}

private func renameOrThrow(_ from: String, _ to: String) throws {
    guard rename(from, to) == 0 else { throw posixError("rename from \(from)", to) }
}

private func fsyncDirectory(_ path: String) throws {
    let fd = open(path, O_RDONLY | O_DIRECTORY)
    guard fd >= 0 else { throw posixError("open directory", path) }
    defer { close(fd) }
    guard fsync(fd) == 0 else { throw posixError("fsync directory", path) }
}

/// A new file written with write(2) and fsynced before close.
private final class SyncedFile {
    let path: String
    private var fd: Int32

    init(creating path: String) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw posixError("create", path) }
    }

    deinit { if fd >= 0 { close(fd) } }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = systemWrite(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 { if errno == EINTR { continue }; throw posixError("write", path) }
            done += n
        }
    }

    func write(_ data: Data) throws { try data.withUnsafeBytes { try write($0) } }

    func syncAndClose() throws {
        guard fsync(fd) == 0 else { throw posixError("fsync", path) }
        let r = close(fd)
        fd = -1
        guard r == 0 else { throw posixError("close", path) }
    }
}

private func writeFileSynced(_ path: String, _ data: Data) throws {
    let f = try SyncedFile(creating: path)
    try f.write(data)
    try f.syncAndClose()
}

/// A tensor to write straight from a parameter buffer.
private struct StreamedTensor {
    var name: String
    var shape: [Int]
    var data: UnsafePointer<Float>
    var count: Int { shape.reduce(1, *) }

    init(name: String, shape: [Int], data: UnsafeMutablePointer<Float>) {
        self.name = name
        self.shape = shape
        self.data = UnsafePointer(data)
    }
}

/// Writes a safetensors file (same layout as SafeTensorsWriter: header JSON with sorted keys padded with
/// spaces to a multiple of 8, tensors in the given order) streaming from the buffers, so a checkpoint never
/// holds a second copy of the weights in memory. BF16 uses round-to-nearest-even (`bfloat16Bits`).
private func writeSafeTensors(path: String, tensors: [StreamedTensor], dtype: CheckpointDType,
                              metadata: [String: String]) throws {
    let elementSize = dtype == .float32 ? 4 : 2
    let header = SafeTensorsWriter.header(tensors.map { ($0.name, dtype.safeTensorsName, $0.shape, $0.count * elementSize) },
                                          metadata: metadata)
    let file = try SyncedFile(creating: path)
    try header.withUnsafeBytes { try file.write($0) }
    let chunk = 1 << 20
    var bf16 = [UInt16](repeating: 0, count: dtype == .bfloat16 ? chunk : 0)
    for t in tensors {
        var start = 0
        while start < t.count {
            let n = min(chunk, t.count - start)
            switch dtype {
            case .float32:
                try file.write(UnsafeRawBufferPointer(start: t.data + start, count: n * 4))
            case .bfloat16:
                for i in 0..<n { bf16[i] = bfloat16Bits(t.data[start + i]).littleEndian }
                try bf16.withUnsafeBytes { try file.write(UnsafeRawBufferPointer(rebasing: $0[0..<(n * 2)])) }
            }
            start += n
        }
    }
    try file.syncAndClose()
}
