// `rpt eval`: next-token accuracy per difficulty split (standard or reasoning mode), or zero-shot multiple
// choice per category, for one model or every checkpoint of a run; with several models, the paired difference
// of each against a reference model per split, with a document-clustered bootstrap interval.

import ArgumentParser
import Foundation
import RPT
import RPTKernels

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

    @Option(help: "Model: HF directory or llama2.c .bin (with --tokenizer); repeat to evaluate several.") var model: [String] = []
    @Option(help: "A label for each --model, in order (default: the directory's name).") var label: [String] = []
    @Option(help: "Tokenizer for .bin models.") var tokenizer: String?
    @Option(name: .customLong("run"), help: "A training run directory: each of its step-* checkpoints (rpt), or its merged global_step_N models (verl).") var runDirectory: String?
    @Option(name: .customLong("flops-per-step"), help: "A verl run's training FLOPs per step: a number, or the export.json `rpt export --to verl` wrote.") var flopsPerStep: String?
    @Flag(name: .customLong("include-initial"), help: "With --run: also evaluate the model the run started from.") var includeInitial = false
    @Option(help: "Validation positions from `rpt prepare` (val.jsonl), or MMLU-Pro JSONL with --mcq.") var data: String
    @Option(help: "ntp (argmax) | reasoning (prompt template, \\boxed{}, prefix-matching reward). With --mcq: reasoning (default; the letter in \\boxed{}) | ntp (the options' log-likelihood, as lm-eval). (default: ntp)") var mode: String?
    @Flag(help: "Zero-shot multiple choice (MMLU-Pro format, or MMLU's choices); accuracy per category.") var mcq = false
    @Option(name: .customLong("mcq-norm"), help: "--mcq --mode ntp: the option score that decides: none (sum of log-probs, lm-eval acc) | token (per token) | byte (per byte, lm-eval acc_norm). All three are reported. (default: byte)") var mcqNorm: String?
    @Option(help: "Reasoning: sampled responses per item (mean accuracy and pass@k).") var samples: Int = 0
    @Flag(name: .customLong("no-greedy"), help: "Reasoning: skip the greedy response.") var noGreedy = false
    @Option(help: "Sampling temperature.") var temperature: Float = 0.8
    @Option(name: .customLong("top-p")) var topP: Float = 1
    @Option(name: .customLong("max-response-tokens"), help: "Reasoning: response budget (default: the --run's training value, else 512).") var maxResponseTokens: Int?
    @Option(name: .customLong("max-prompt-tokens"), help: "Reasoning: prompt budget (default: the --run's training value, else 2048).") var maxPromptTokens: Int?
    @Option(help: "Prompt template: v0…v6 or a file with {context} (default: the --run's training template, else v0).") var template: String?
    @Option(help: "auto | raw | chatml | deepseek-r1 (default: the --run's training value, else auto).") var chat: String?
    @Option(name: .customLong("max-positions"), help: "Evaluate a seeded random subset of this many items.") var maxPositions: Int?
    @Option(name: .customLong("per-category"), help: "mcq: at most this many questions per category.") var perCategory: Int?
    @Option(name: .customLong("batch"), help: "Reasoning: items per generation batch.") var itemsPerBatch: Int = 8
    @Option(help: "Random seed (subset and samples).") var seed: UInt64 = 0
    @Option(help: "Write the results JSON (rpt-eval/1) here.") var out: String?
    @Option(help: "Write every reasoning response to this JSONL (for rpt patterns).") var dump: String?
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Option(help: "With several models: the reference label for paired differences (default: the first model).") var baseline: String?
    @Option(name: .customLong("paired-score"), help: "Paired differences score items by greedy (0/1) or mean (correct/k) (default: greedy when run).") var pairedScore: String?
    @Option(help: "Bootstrap resamples (of documents) for the paired intervals.") var resamples: Int = 2000
    @Option(name: .customLong("reward-command"), help: "Reasoning mode: a program deciding correctness (reward ≥ 1), as for `rpt train` (docs/custom-rewards.md).")
    var rewardCommand: String?
    @Option(name: .customLong("reward-timeout"), help: "Seconds the reward command may take per response.") var rewardTimeout: Double = 60
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
        var o = EvalOptions()
        o.data = data
        guard let m = EvalMode(rawValue: mode ?? (mcq ? "reasoning" : "ntp")), m != .mcq else {
            throw ValidationError("--mode must be ntp or reasoning (for multiple choice pass --mcq)")
        }
        if mcq {
            o.mode = .mcq
            o.mcqMethod = m == .ntp ? .loglikelihood : .reasoning
        } else {
            o.mode = m
        }
        if let n = mcqNorm {
            guard o.mode == .mcq && o.mcqMethod == .loglikelihood else { throw ValidationError("--mcq-norm goes with --mcq --mode ntp (log-likelihood scoring)") }
            guard let v = OptionNormalization(rawValue: n) else { throw ValidationError("--mcq-norm must be none, token or byte") }
            o.optionNormalization = v
        }
        // Flags that the chosen evaluation would not read are errors, not silently ignored.
        if !o.isGenerative {
            if samples > 0 { throw ValidationError("--samples draws responses: it needs reasoning mode (--mode reasoning)") }
            if rewardCommand != nil { throw ValidationError("--reward-command scores responses: it needs --mode reasoning") }
            if noGreedy { throw ValidationError("--no-greedy skips the greedy response: it needs reasoning mode (--mode reasoning)") }
            if dump != nil && o.mode != .mcq { throw ValidationError("--dump writes responses: standard mode (--mode ntp) has none; use --mode reasoning") }
        }
        if perCategory != nil && o.mode != .mcq { throw ValidationError("--per-category goes with --mcq") }
        if runDirectory == nil {
            if includeInitial { throw ValidationError("--include-initial goes with --run DIR") }
            if flopsPerStep != nil { throw ValidationError("--flops-per-step goes with --run DIR (a verl run)") }
        }
        guard samples >= 0 else { throw ValidationError("--samples must be ≥ 0") }
        o.sampling.samples = samples
        o.sampling.greedy = !noGreedy
        o.sampling.temperature = temperature
        o.sampling.topP = topP
        // The reasoning format: each flag, else what the --run was trained with (so a run is evaluated in its own
        // format), else the defaults.
        let trained = try runDirectory.flatMap { try EvalTarget.trainedFormat(of: $0) }
        o.sampling.maxResponseTokens = maxResponseTokens ?? trained?.maxResponseTokens ?? 512
        o.sampling.itemsPerBatch = itemsPerBatch
        o.seed = seed
        o.template = template ?? trained?.template ?? "v0"
        o.chat = chat ?? trained?.chat ?? "auto"
        o.maxPromptTokens = maxPromptTokens ?? trained?.maxPromptTokens ?? 2048
        if let t = trained, o.isGenerative, template == nil || chat == nil || maxResponseTokens == nil || maxPromptTokens == nil {
            print("eval: the run's training format where not given: template \(o.template), chat \(o.chat), max prompt \(o.maxPromptTokens), "
                  + "max response \(o.sampling.maxResponseTokens) tokens (from \(t.source))")
        }
        o.maxItems = maxPositions
        o.perCategory = perCategory
        o.dump = dump
        o.rewardCommand = rewardCommand
        o.rewardTimeout = rewardTimeout
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
            if s == .mean && (!o.isGenerative || samples == 0) { throw ValidationError("--paired-score mean needs sampled responses (--samples K, reasoning or --mcq)") }
            if s == .greedy && o.isGenerative && noGreedy { throw ValidationError("--paired-score greedy needs the greedy response (drop --no-greedy)") }
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
        print("eval: \(evaluator.itemCount) \(o.mode == .mcq ? "questions" : "positions") of \(data), \(targets.count) model(s), mode \(o.mode.rawValue)")
        var results = EvalResults(options: o, itemCount: evaluator.itemCount, models: [], items: evaluator.items)
        results.models = try evaluator.evaluate(targets) { m in
            print(results.table(m) + "\n")
        }
        if results.models.count >= 2 {
            // A failed comparison (e.g. repeated item ids) must not lose the evaluation itself.
            do {
                results.paired = try results.pairedComparisons(baseline: baseline, score: score, resamples: resamples, seed: seed)
                print("paired differences (A − B per item, same items; 95% CI resamples documents)\n" + results.pairedTables() + "\n")
            } catch {
                print("paired differences skipped: \(error)")
            }
        }
        if let out {
            try AtomicFile.write(Data((try results.json().serialized() + "\n").utf8), to: out)
            print("wrote \(out)")
        }
        if let dump { print("wrote \(dump)") }
    }
}
