// `rpt eval`: next-token accuracy per difficulty split (standard or reasoning mode), or zero-shot multiple
// choice per category, for one model or every checkpoint of a run; with several models, the paired difference
// of each against a reference model per split, with a document-clustered bootstrap interval.

import ArgumentParser
import Foundation
import RPT
import RPTKernels

/// The defaults every help text shows: EvalOptions' own (one source).
private let d = EvalOptions()

/// The flags that set EvalOptions, each property named as the option it sets (StageFlags).
struct EvalFlags: StageFlags {
    @Option(help: "Validation positions from `rpt prepare` (val.jsonl), or MMLU-Pro JSONL with --mcq.") var data: String?
    @Option(help: "Reasoning: sampled responses per item (mean accuracy and pass@k) (default \(d.samples)).") var samples: Int?
    @Flag(inversion: .prefixedNo, help: "Reasoning: the greedy response (default: on; --no-greedy skips it).") var greedy: Bool?
    @Option(help: "Sampling temperature (default \(d.temperature)).") var temperature: Float?
    @Option(name: .customLong("top-p"), help: "Nucleus sampling (default \(d.topP)).") var topP: Float?
    @Option(name: .customLong("max-response-tokens"), help: "Reasoning: response budget (default: the --run's training value, else \(d.maxResponseTokens)).") var maxResponseTokens: Int?
    @Option(name: .customLong("max-prompt-tokens"), help: "Reasoning: prompt budget (default: the --run's training value, else \(d.maxPromptTokens)).") var maxPromptTokens: Int?
    @Option(help: "Prompt template: v0…v6 or a file with {context} (default: the --run's training template, else \(d.template)).") var template: String?
    @Option(help: "auto | raw | chatml | deepseek-r1 (default: the --run's training value, else \(d.chat)).") var chat: String?
    @Option(name: .customLong("max-positions"), help: "Evaluate a seeded random subset of this many items.") var maxItems: Int?
    @Option(name: .customLong("per-category"), help: "mcq: at most this many questions per category.") var perCategory: Int?
    @Option(name: .customLong("batch"), help: "Reasoning: items per generation batch (default \(d.itemsPerBatch)).") var itemsPerBatch: Int?
    @Option(name: .customLong("batch-tokens"), help: "Standard mode: tokens per forward call (default \(d.batchTokens)).") var batchTokens: Int?
    @Option(name: .customLong("inference-dtype"), help: "Weights the models' forward passes read: fp32 | bf16 (AVX-512 BF16 CPUs; the KV cache in bf16 too) (default \(d.inferenceDType.rawValue)).")
    var inferenceDType: InferenceDType?
    @Option(name: .customLong("kv-cache-dtype"), help: "KV cache: auto (as --inference-dtype) | fp32 | bf16 (queries rounded to bf16 too) (default \(d.kvCacheDType.rawValue)).")
    var kvCacheDType: KVCacheDType?
    @Option(help: "Random seed: subset and samples (default \(d.seed)).") var seed: UInt64?
    @Option(help: "Write every reasoning response to this JSONL (for rpt patterns).") var dump: String?
    @Option(name: .customLong("reward-command"), help: "Reasoning mode: a program deciding correctness (reward ≥ 1), as for `rpt train` (docs/custom-rewards.md).")
    var rewardCommand: String?
    @Option(name: .customLong("reward-timeout"), help: "Seconds the reward command may take per response (default \(d.rewardTimeout)).") var rewardTimeout: Double?
    @Option(name: .customLong("mcq-norm"), help: "--mcq --mode ntp: the option score that decides: none (sum of log-probs, lm-eval acc) | token (per token) | byte (per byte, lm-eval acc_norm). All three are reported. (default: \(d.optionNormalization.rawValue))")
    var optionNormalization: OptionNormalization?
}

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "eval",
        abstract: "Next-token accuracy per split (ntp | reasoning), or multiple choice per category (--mcq).",
        discussion: """
        Examples:
          rpt eval --model runs/x/step-000040 --data data/val.jsonl --mode ntp
          rpt eval --run runs/x --include-initial --data data/val.jsonl --mode reasoning --samples 4 --out eval.json
          rpt eval --model M --mcq --data Assets/mmlu-pro-sample/test.jsonl --samples 0
          rpt eval --model M --mcq --mode ntp --data Assets/mmlu-pro-sample/test.jsonl       (options by log-likelihood, as lm-eval)
          rpt eval --model base --model runs/x/step-000100 --data data/val.jsonl --baseline base --out eval.json
          rpt eval --server http://127.0.0.1:8000 --served-model my-model --server-tokenizer path/to/model --data data/val.jsonl --mode reasoning

        --server generates through an OpenAI-compatible server (vLLM, SGLang, llama.cpp) with the same prompts and scoring as local evaluation; rpt's tokenizer for the served model comes from --server-tokenizer, else --tokenizer, else the first --model (docs/servers.md).

        With several models, each is compared with the first (or --baseline) on the same items: A − B per split with a 95% bootstrap interval that resamples documents. `rpt compare` pairs results of different files.
        """)

    @OptionGroup var configFlags: ConfigFlags
    @OptionGroup var options: EvalFlags
    @Option(help: "Model: HF directory or llama2.c .bin (with --tokenizer); repeat to evaluate several.") var model: [String] = []
    @Option(help: "A label for each --model, in order (default: the directory's name).") var label: [String] = []
    @Option(help: "Tokenizer for .bin models.") var tokenizer: String?
    @Option(name: .customLong("run"), help: "A training run directory: each of its step-* checkpoints (rpt), or its merged global_step_N models (verl).") var runDirectory: String?
    @Option(name: .customLong("flops-per-step"), help: "A verl run's training FLOPs per step: a number, or the export.json `rpt export --to verl` wrote.") var flopsPerStep: String?
    @Flag(name: .customLong("include-initial"), help: "With --run: also evaluate the model the run started from.") var includeInitial = false
    @Option(help: "ntp (argmax) | reasoning (prompt template, \\boxed{}, prefix-matching reward). With --mcq: reasoning (default; the letter in \\boxed{}) | ntp (the options' log-likelihood, as lm-eval). (default: ntp)") var mode: String?
    @Flag(help: "Zero-shot multiple choice (MMLU-Pro format, or MMLU's choices); accuracy per category.") var mcq = false
    @Option(help: "Write the results JSON (rpt-eval/1) here.") var out: String?
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Option(help: "With several models: the reference label for paired differences (default: the first model).") var baseline: String?
    @Option(name: .customLong("paired-score"), help: "Paired differences score items by greedy (0/1) or mean (correct/k) (default: greedy when run).") var pairedScore: String?
    @Option(help: "Bootstrap resamples (of documents) for the paired intervals.") var resamples: Int = 2000
    @Option(help: "Also evaluate a model served by this OpenAI-compatible server (http://HOST:PORT): reasoning mode and --mcq by generating, --mode ntp from its prompt log-probabilities.") var server: String?
    @Option(name: .customLong("served-model"), help: "With --server: the served model's name (one of its /v1/models).") var servedModel: String?
    @Option(name: .customLong("server-tokenizer"), help: "With --server: rpt's tokenizer for the served model (its HF directory, for config.json and the chat template too, or a tokenizer file).") var serverTokenizer: String?
    @Option(name: .customLong("server-label"), help: "With --server: its label in tables and JSON (default: the served model's name).") var serverLabel: String?
    @OptionGroup var serverFlags: ServerFlags

    /// --flops-per-step: a number, or an export.json's `flops_per_step_estimate`.
    static func flopsPerStep(_ value: String) throws -> Double {
        if let n = Double(value) { return n }
        guard let estimate = try JSON.load(path: value)["flops_per_step_estimate"]?.double else {
            throw RPTError("no \"flops_per_step_estimate\" (the policy's config.json was not beside its tokenizer at export): give a number", file: value)
        }
        return estimate
    }

    func run() throws {
        if let t = threads { Parallel.setThreads(t) }
        // The layers: defaults, the reasoning format the --run was trained with (so a run is evaluated in its own
        // format), --config, flags.
        let given = try options.given()
        let trained = try runDirectory.flatMap { try EvalTarget.trainedFormat(of: $0) }
        let format: [String: JSON] = trained.map { ["template": .string($0.template), "chat": .string($0.chat),
                                                    "maxPromptTokens": .number(Double($0.maxPromptTokens)),
                                                    "maxResponseTokens": .number(Double($0.maxResponseTokens))] } ?? [:]
        var o = try EvalOptions.layered(base: format, config: configFlags.config, flags: given)
        if mcq || mode != nil {
            guard let m = EvalMode(rawValue: mode ?? (mcq ? "reasoning" : "ntp")), m != .mcq else {
                throw ValidationError("--mode must be ntp or reasoning (for multiple choice pass --mcq)")
            }
            o.mode = mcq ? .mcq : m
            if mcq { o.mcqMethod = m == .ntp ? .loglikelihood : .reasoning }
        }
        if given["optionNormalization"] != nil, !(o.mode == .mcq && o.mcqMethod == .loglikelihood) {
            throw ValidationError("--mcq-norm goes with --mcq --mode ntp (log-likelihood scoring)")
        }
        if runDirectory == nil {
            if includeInitial { throw ValidationError("--include-initial goes with --run DIR") }
            if flopsPerStep != nil { throw ValidationError("--flops-per-step goes with --run DIR (a verl run)") }
        }
        if configFlags.printOptions {
            print(try o.prettyPrinted())
            return
        }
        guard !o.data.isEmpty else { throw ValidationError("--data is required (as a flag or in --config)") }
        try o.validate()
        if let t = trained, o.isGenerative, format.keys.contains(where: { given[$0] == nil }) {
            print("eval: the run's training format where not given: template \(o.template), chat \(o.chat), max prompt \(o.maxPromptTokens), "
                  + "max response \(o.maxResponseTokens) tokens (from \(t.source))")
        }
        guard label.count <= model.count else { throw ValidationError("--label was given \(label.count) times for \(model.count) --model") }
        var targets = try model.map { try EvalTarget.model($0, tokenizer: tokenizer) }
        for (i, l) in label.enumerated() { targets[i].label = l }
        for (i, t) in targets.enumerated() where targets[..<i].contains(where: { $0.label == t.label }) {
            throw ValidationError("two models are labelled '\(t.label)': give --label for each --model")
        }
        if let r = runDirectory { targets += try EvalTarget.run(r, includeInitial: includeInitial, flopsPerStep: try flopsPerStep.map(Self.flopsPerStep)) }
        if let url = server {
            guard let name = servedModel else { throw ValidationError("--server needs --served-model NAME (one of the server's /v1/models)") }
            guard o.mode != .mcq || o.mcqMethod == .reasoning else {
                throw ValidationError("--server answers multiple choice by generating: --mcq in reasoning mode (the options' log-likelihood, --mcq --mode ntp, needs the model here)")
            }
            guard let tok = serverTokenizer ?? tokenizer ?? model.first else {
                throw ValidationError("--server needs rpt's tokenizer for the served model: --server-tokenizer PATH (its model directory or tokenizer file)")
            }
            let t = EvalTarget.served(try serverFlags.options(url: url, model: name), tokenizer: tok, label: serverLabel)
            if targets.contains(where: { $0.label == t.label }) {
                throw ValidationError("the served model's label '\(t.label)' is taken: give --server-label NAME")
            }
            targets.append(t)
        } else if servedModel != nil || serverTokenizer != nil || serverLabel != nil {
            throw ValidationError("--served-model, --server-tokenizer and --server-label go with --server URL")
        }
        guard !targets.isEmpty else { throw ValidationError("give --model PATH (repeatable), --run DIR and/or --server URL") }
        guard resamples >= 1 else { throw ValidationError("--resamples must be ≥ 1") }
        var score: PairedScore? = nil
        if let p = pairedScore {
            guard let s = PairedScore(rawValue: p) else { throw ValidationError("--paired-score must be greedy or mean") }
            if s == .mean && (!o.isGenerative || o.samples == 0) { throw ValidationError("--paired-score mean needs sampled responses (--samples K, reasoning or --mcq)") }
            if s == .greedy && o.isGenerative && !o.greedy { throw ValidationError("--paired-score greedy needs the greedy response (drop --no-greedy)") }
            score = s
        }
        if let b = baseline {
            let hits = targets.filter { $0.label == b }.count
            guard hits == 1 else {
                throw ValidationError((hits == 0 ? "--baseline \(b) is none of the models' labels" : "--baseline \(b) names \(hits) models")
                                      + " (labels: \(targets.map(\.label).joined(separator: ", ")))")
            }
        }

        let evaluator = try Evaluator(options: o)
        print("eval: \(evaluator.itemCount) \(o.mode == .mcq ? "questions" : "positions") of \(o.data), \(targets.count) model(s), mode \(o.mode.rawValue)")
        var results = EvalResults(options: o, itemCount: evaluator.itemCount, models: [], items: evaluator.items)
        results.models = try evaluator.evaluate(targets) { m in
            print(results.table(m) + "\n")
        }
        if results.models.count >= 2 {
            // A failed comparison (e.g. repeated item ids) must not lose the evaluation itself.
            do {
                results.paired = try results.pairedComparisons(baseline: baseline, score: score, resamples: resamples, seed: o.seed)
                print("paired differences (A − B per item, same items; 95% CI resamples documents)\n" + results.pairedTables() + "\n")
            } catch {
                print("paired differences skipped: \(error)")
            }
        }
        if let out {
            try AtomicFile.write(Data((try results.json().serialized() + "\n").utf8), to: out)
            print("wrote \(out)")
        }
        if let dump = o.dump { print("wrote \(dump)") }
    }
}
