// `rpt export --to verl`: positions from `rpt prepare` as verl RLHFDataset files (VerlExport.swift), with the
// reward module and a launch script, so RPT training can move to verl + vLLM on a GPU cluster (docs/verl.md).
// The output directory holds train/val (.jsonl, or .parquet through pyarrow), rpt_reward.py,
// run_rpt_grpo.sh and export.json (the settings, the tokenizer's identity and a FLOPs-per-step estimate that
// `rpt eval --run --flops-per-step DIR/export.json` reads back).
// `rpt export --to gguf`: a model and its tokenizer as one GGUF file for llama.cpp, Ollama and LM Studio
// (GGUFExport.swift; docs/gguf.md).

import ArgumentParser
import Foundation
import RPT

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export",
        abstract: "Export prepared positions for verl, or a model as GGUF for llama.cpp.",
        discussion: """
        Examples:
          rpt export --to verl --data prep --out verl-data --template v0 --chat auto --max-prompt-tokens 4096
          MODEL_PATH=/models/DeepSeek-R1-Distill-Qwen-14B bash verl-data/run_rpt_grpo.sh
          rpt export --to gguf --model runs/rpt/step-000100 --out rpt.gguf --type bf16   (docs/gguf.md)
        """)

    @Option(help: "Target: verl (prepared positions) or gguf (a model for llama.cpp / Ollama / LM Studio).") var to: String
    @Option(help: "verl: an `rpt prepare` output directory (train.jsonl, val.jsonl, meta.json) or one positions file.") var data: String?
    @Option(help: "verl: output directory (created; refused when it holds other files). gguf: the .gguf file to write.") var out: String
    @Option(help: "verl: policy tokenizer (default: the policy `rpt prepare` recorded in meta.json). gguf: tokenizer for a llama2.c .bin model.")
    var tokenizer: String?
    @Option(help: "gguf: Hugging Face model directory (a checkpoint), a training run directory (its newest checkpoint), or a llama2.c .bin with --tokenizer.")
    var model: String?
    @Option(name: .customLong("type"), help: "gguf: tensor type, f32 or bf16 (1-D tensors stay f32).") var tensorType: String = "f32"
    @Option(help: "gguf: general.name (default: the model directory's name).") var name: String?
    @Option(help: "Prompt template: v0…v6 or a file with {context} (as for `rpt train`).") var template: String = "v0"
    @Option(help: "auto | raw | chatml | deepseek-r1 (as for `rpt train`; decides whether </think> is required).") var chat: String = "auto"
    @Option(name: .customLong("system-prompt"), help: "A system message for chat templates.") var systemPrompt: String?
    @Option(name: .customLong("max-prompt-tokens"), help: "Prompt budget, oldest context cut first (the paper's 4096).") var maxPromptTokens: Int = 4096
    @Option(help: "jsonl (verl ≥ 0.7 reads it) | parquet (needs python3 with pyarrow).") var format: String = "jsonl"
    @Option(name: .customLong("batch-size"), help: "Contexts per step of the launch script, for the FLOPs estimate.") var batchSize: Int = 256
    @Option(name: .customLong("group-size"), help: "Rollouts per context of the launch script.") var groupSize: Int = 8
    @Option(name: .customLong("max-response-tokens"), help: "Response budget of the launch script.") var maxResponseTokens: Int = 8192

    func validate() throws {
        if to == "gguf" {
            guard data == nil else { throw ValidationError("--data is for --to verl; --to gguf takes --model") }
            guard model != nil else { throw ValidationError("--to gguf needs --model (an HF directory, a run directory or a llama2.c .bin)") }
            guard GGUFFileType(rawValue: tensorType) != nil else { throw ValidationError("--type must be f32 or bf16") }
            return
        }
        guard to == "verl" else { throw ValidationError("--to must be verl or gguf") }
        guard data != nil else { throw ValidationError("--to verl needs --data (an `rpt prepare` output directory)") }
        guard model == nil else { throw ValidationError("--model is for --to gguf") }
        guard ["jsonl", "parquet"].contains(format) else { throw ValidationError("--format must be jsonl or parquet") }
        guard maxPromptTokens > 0, batchSize > 0, groupSize > 0, maxResponseTokens > 0 else {
            throw ValidationError("--max-prompt-tokens, --batch-size, --group-size and --max-response-tokens must be positive")
        }
    }

    func run() throws {
        if to == "gguf" { return try runGGUF() }
        let data = self.data!     // validate() requires it for verl
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: data, isDirectory: &isDirectory) else { throw RPTError("not found", file: data) }
        // The parts to export: a prepare directory's train and val files, or the one file given.
        let parts: [(name: String, path: String)] = isDirectory.boolValue
            ? ["train", "val"].map { ($0, data + "/\($0).jsonl") }.filter { fm.fileExists(atPath: $0.path) }
            : [("train", data)]
        guard !parts.isEmpty else { throw RPTError("no train.jsonl or val.jsonl (an `rpt prepare` output directory?)", file: data) }
        let meta = isDirectory.boolValue && fm.fileExists(atPath: data + "/meta.json") ? try JSON.load(path: data + "/meta.json") : nil
        let options = meta?["options"]
        guard let tokenizerPath = tokenizer ?? options?["policy_tokenizer"]?.string ?? options?["policy"]?.string else {
            throw RPTError("give --tokenizer: there is no meta.json naming the policy the positions were made with", file: data)
        }
        try prepareOutputDirectory()

        let identity = try TokenizerIdentity(path: tokenizerPath)
        let tok = try loadTokenizer(path: tokenizerPath)
        let reasoning = try ReasoningFormat(template: template, chat: chat, tokenizerPath: tokenizerPath)
        let reasoningFormat = ReasoningFormat(prompt: NextTokenPrompt(template: reasoning.prompt.template, chat: reasoning.prompt.chat, systemPrompt: systemPrompt))
        let builder = VerlRowBuilder(format: reasoningFormat, tokenizer: tok, identity: identity, maxPromptTokens: maxPromptTokens)

        var rows: [String: JSON] = [:], promptTokenTotal = 0, promptTokenMax = 0, promptCount = 0
        for part in parts {
            let records = try PositionDataset.read(path: part.path)
            var text = ""
            for (i, r) in records.enumerated() {
                let (row, promptTokens) = try builder.row(r, index: i)
                text += row.serialized() + "\n"
                promptTokenTotal += promptTokens; promptTokenMax = max(promptTokenMax, promptTokens); promptCount += 1
            }
            let jsonl = out + "/\(part.name).jsonl"
            try AtomicFile.write(Data(text.utf8), to: jsonl)
            if format == "parquet" { try Self.convertToParquet(jsonl, out + "/\(part.name).parquet"); try fm.removeItem(atPath: jsonl) }
            rows[part.name] = .number(Double(records.count))
            print("export: \(records.count) \(part.name) rows from \(part.path)")
        }

        // The reward module and the launch script travel with the data.
        let assets = try AssetLocator.directory() + "/verl"
        for name in ["rpt_reward.py", "run_rpt_grpo.sh"] {
            let bytes: Data
            do { bytes = try Data(contentsOf: URL(fileURLWithPath: assets + "/" + name)) } catch {
                throw RPTError("cannot read the bundled \(name): \(error.localizedDescription)", file: assets)
            }
            try AtomicFile.write(bytes, to: out + "/" + name)
        }

        let meanPrompt = promptCount > 0 ? Double(promptTokenTotal) / Double(promptCount) : 0
        var settings: [String: JSON] = [
            "format": .string("rpt-verl-export/1"), "to": .string("verl"), "data": .string(data), "rows": .object(rows),
            "file_format": .string(format), "template": .string(template), "chat": .string(reasoningFormat.prompt.chat.rawValue),
            "system_prompt": systemPrompt.map(JSON.string) ?? .null, "max_prompt_tokens": .number(Double(maxPromptTokens)),
            "require_think_close": .bool(reasoningFormat.extractor.requireThinkClose),
            "tokenizer": .string(identity.file), "tokenizer_sha256": .string(identity.sha256),
            "prompt_tokens": .object(["mean": .number((meanPrompt * 10).rounded() / 10), "max": .number(Double(promptTokenMax))]),
            "launch": .object(["batch_size": .number(Double(batchSize)), "group_size": .number(Double(groupSize)),
                               "max_response_tokens": .number(Double(maxResponseTokens))]),
        ]
        if let prepare = options { settings["prepare"] = prepare }
        if let n = Self.parameterCount(near: tokenizerPath) {
            // Upper bound per step, counted as `rpt train` counts (RPTTrainer/GRPOTrainer): prefill of each prompt
            // and generation of every rollout at 2N per token, the on-policy update at 6N per token, every response
            // at the full budget. Proportional to steps, so a scaling fit's exponent and R² do not depend on it.
            let b = Double(batchSize), g = Double(groupSize), r = Double(maxResponseTokens)
            let perStep = 2 * Double(n) * (b * meanPrompt + b * g * r) + 6 * Double(n) * b * g * (meanPrompt + r)
            settings["parameters"] = .number(Double(n))
            settings["flops_per_step_estimate"] = .number(perStep)
        }
        try AtomicFile.write(Data((JSON.object(settings).serialized() + "\n").utf8), to: out + "/export.json")
        print("export: wrote \(out)/{\(parts.map(\.name).joined(separator: ","))}.\(format), rpt_reward.py, run_rpt_grpo.sh, export.json "
              + "(tokenizer \(identity.file), sha256 \(identity.sha256.prefix(12))…; prompts \(String(format: "%.1f", meanPrompt)) tokens on average, at most \(promptTokenMax))")
        print("next: MODEL_PATH=<the policy, an HF directory> bash \(out)/run_rpt_grpo.sh   (docs/verl.md)")
    }

    /// `--to gguf`: one GGUF file.
    func runGGUF() throws {
        guard let model, let type = GGUFFileType(rawValue: tensorType) else { return }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: out, isDirectory: &isDirectory), isDirectory.boolValue {
            throw RPTError("--out is a directory; give the .gguf file to write", file: out)
        }
        let resolved = GGUFExport.resolveModelPath(model)
        if resolved != model { print("export: \(model) is a training run; exporting its newest checkpoint \(resolved)") }
        let s = try GGUFExport.export(model: resolved, tokenizer: tokenizer, out: out, type: type, name: name)
        print("export: wrote \(out) (GGUF v3, \(s.architecture), \(s.tensors) tensors, \(type.rawValue), "
              + "\(String(format: "%.1f", Double(s.bytes) / 1_048_576)) MiB; tokenizer \(s.tokenizerModel)/\(s.preTokenizer), \(s.vocabSize) tokens)")
        print("next: llama-cli -m \(out)   or   python -m llama_cpp.server --model \(out)   (docs/gguf.md)")
    }

    /// Creates --out, refusing a directory that holds anything but an earlier export.
    func prepareOutputDirectory() throws {
        let fm = FileManager.default
        let ours: Set<String> = ["train.jsonl", "val.jsonl", "train.parquet", "val.parquet", "rpt_reward.py", "run_rpt_grpo.sh", "export.json"]
        if let existing = try? fm.contentsOfDirectory(atPath: out) {
            let foreign = existing.filter { !ours.contains($0) && !$0.hasPrefix(".") }
            guard foreign.isEmpty else {
                throw RPTError("the output directory holds other files (\(foreign.sorted().prefix(3).joined(separator: ", "))); choose an empty or new directory", file: out)
            }
        }
        do { try fm.createDirectory(atPath: out, withIntermediateDirectories: true) } catch {
            throw RPTError("cannot create the output directory: \(error.localizedDescription)", file: out)
        }
    }

    /// N from the config.json beside the tokenizer (the policy directory), when there is one.
    static func parameterCount(near tokenizerPath: String) -> Int? {
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: tokenizerPath, isDirectory: &isDirectory)
        let dir = isDirectory.boolValue ? tokenizerPath : (tokenizerPath as NSString).deletingLastPathComponent
        guard let config = try? ModelConfig.load(path: (dir.isEmpty ? "." : dir) + "/config.json") else { return nil }
        return ModelLayout(config: config).specs.reduce(0) { $0 + $1.count }
    }

    /// Parquet through pyarrow (verl's own preprocessing writes parquet the same way); a clear error without it.
    static func convertToParquet(_ jsonl: String, _ parquet: String) throws {
        let script = """
        import json, sys
        try:
            import pyarrow as pa, pyarrow.parquet as pq
        except ImportError:
            sys.exit("pyarrow is not installed: pip install pyarrow, or export --format jsonl (verl >= 0.7 reads JSONL)")
        rows = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
        pq.write_table(pa.Table.from_pylist(rows), sys.argv[2] + ".tmp")
        import os; os.replace(sys.argv[2] + ".tmp", sys.argv[2])
        """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script, jsonl, parquet]
        let errors = Pipe()
        p.standardError = errors
        do { try p.run() } catch { throw RPTError("cannot run python3 for --format parquet: \(error.localizedDescription)", file: parquet) }
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw RPTError("parquet conversion failed: \(message.trimmingCharacters(in: .whitespacesAndNewlines).suffix(400))", file: parquet)
        }
    }
}
