// Options of `rpt eval` (paper §4.1, §4.4; docs/method.md §6): what is evaluated (positions or questions), in which
// mode, with which reasoning format and sampling. The property initialisers are the defaults; the reasoning format
// of a `--run`, a config file (`--config`) and the command line are layers over them (StageOptions). `validate`
// refuses options the chosen evaluation would not read, rather than ignoring them.

import Foundation

public enum EvalMode: String, Codable, Sendable, CaseIterable {
    case ntp, reasoning, mcq
}

public struct EvalOptions: StageOptions {
    public var mode: EvalMode = .ntp
    /// Validation positions from `rpt prepare` (val.jsonl), or multiple-choice questions (mcq).
    public var data = ""
    // Reasoning: the sampling of responses (ReasoningRollouts, ServerRollouts).
    /// The greedy response per item.
    public var greedy = true
    /// Responses sampled per item at `temperature` (0: none).
    public var samples = 0
    public var temperature: Float = 0.8
    public var topP: Float = 1
    public var maxResponseTokens = 512
    /// Items per generation call (their prefills are packed, their decodes batched).
    public var itemsPerBatch = 8
    /// The run's one seed: the item subset, the per-category draw and the samples.
    public var seed: UInt64 = 0
    // Reasoning: the format (a `--run`'s training format by default).
    /// Prompt template: v0…v6 or a file with {context}.
    public var template = "v0"
    /// "auto" (from the tokenizer's chat template), "raw", "chatml" or "deepseek-r1".
    public var chat = "auto"
    public var maxPromptTokens = 2048
    /// Evaluate a seeded random subset of at most this many positions (questions for mcq).
    public var maxItems: Int?
    /// mcq: at most this many questions per category (seeded).
    public var perCategory: Int?
    /// Standard mode: tokens per forward call.
    public var batchTokens = 1024
    /// A JSONL file receiving every reasoning response (for `rpt patterns` and inspection).
    public var dump: String?
    /// Reasoning mode: a program that decides correctness instead of the prefix-matching rule (ExternalReward).
    public var rewardCommand: String?
    public var rewardTimeout: Double = 60
    /// mcq: answer by generating (reasoning, the letter in \boxed{}) or by the options' log-likelihood (lm-eval).
    public var mcqMethod: MultipleChoiceMethod = .reasoning
    /// mcq log-likelihood: the score that picks the option (all three are reported).
    public var optionNormalization: OptionNormalization = .byte
    /// Weights the evaluated models' forward passes read (InferenceWeights.swift): fp32, or bf16 (AVX-512 BF16 CPUs).
    public var inferenceDType: InferenceDType = .fp32
    /// Their KV cache (KVCacheDType): auto follows `inferenceDType`.
    public var kvCacheDType: KVCacheDType = .auto

    /// The flag names where they differ from the option's, and lm-eval's.
    public static let aliases: [String: String] = [
        "maxPositions": "maxItems", "batch": "itemsPerBatch", "mcqNorm": "optionNormalization",
        "limit": "maxItems", "output_path": "dump",
    ]

    public init() {}

    /// How a model answers an item: the argmax next token (standard mode), the options' log-likelihood (multiple
    /// choice as lm-eval), or a generated response judged by its \boxed{} answer (reasoning mode, reasoning mcq).
    public enum Answering: Sendable { case argmax, likelihood, generation }
    public var answering: Answering {
        switch mode {
        case .ntp: .argmax
        case .reasoning: .generation
        case .mcq: mcqMethod == .loglikelihood ? .likelihood : .generation
        }
    }

    /// Whether responses are generated (reasoning mode, reasoning multiple choice): the sampling options apply.
    public var isGenerative: Bool { answering == .generation }

    /// Options that the chosen evaluation would not read are errors, not silently ignored.
    public func validate() throws {
        func bad(_ m: String) -> RPTError { RPTError(m, file: "rpt eval") }
        guard samples >= 0 else { throw bad("--samples must be ≥ 0") }
        try inferenceDType.requireSupported()
        guard temperature >= 0, topP > 0, topP <= 1 else { throw bad("--temperature must be ≥ 0 and --top-p in (0, 1]") }
        guard maxResponseTokens >= 1, maxPromptTokens >= 1, itemsPerBatch >= 1, batchTokens >= 1 else {
            throw bad("--max-response-tokens, --max-prompt-tokens, --batch and the batch tokens must be ≥ 1")
        }
        if let n = maxItems, n < 1 { throw bad("--max-positions must be ≥ 1") }
        if let n = perCategory, n < 1 { throw bad("--per-category must be ≥ 1") }
        if !isGenerative {
            if samples > 0 { throw bad("--samples draws responses: it needs reasoning mode (--mode reasoning)") }
            if rewardCommand != nil { throw bad("--reward-command scores responses: it needs --mode reasoning") }
            if !greedy { throw bad("--no-greedy skips the greedy response: it needs reasoning mode (--mode reasoning)") }
            if dump != nil && mode != .mcq { throw bad("--dump writes responses: standard mode (--mode ntp) has none; use --mode reasoning") }
        }
        if perCategory != nil && mode != .mcq { throw bad("--per-category goes with --mcq") }
        if rewardCommand != nil && mode != .reasoning { throw bad("--reward-command scores reasoning-mode responses: use it with --mode reasoning") }
    }
}
