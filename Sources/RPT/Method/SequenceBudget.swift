// The prompt and response token budgets of `rpt train` fitted to the policy's positions
// (max_position_embeddings): every rollout is prompt + response, so the two must sum to at most that.
//
// The paper's defaults (prompts ≤ 4096, responses ≤ 8192 tokens) were set for models with long contexts; a
// small model cannot hold them. The rule — defaults adapt to the model and say so; a response budget you set
// is kept; prompts are cut from the left, as they always are when too long — :
//   - a budget that fits is kept as it is;
//   - both at the defaults: the instruction (the prompt with an empty context, `instructionTokens`) is kept
//     whole and the positions after it are split in the paper's proportion, one third context, two thirds
//     response;
//   - a response budget you set (any value other than the default): prompts are cut (oldest context first)
//     to the positions it leaves. This changes no run that worked before: a longer prompt could not have
//     been generated from;
//   - a prompt budget you set with the default response budget: responses get the positions it leaves;
//   - every change is reported in a note; only a budget that leaves no room (for a response, or for the
//     instruction) fails, before any model work, naming the flag to change and numbers that fit.

import Foundation

public struct SequenceBudget: Sendable, Equatable {
    public var maxPromptTokens: Int
    public var maxResponseTokens: Int
    /// Set when the budget was changed: what was changed and why, for the log.
    public var note: String?

    /// Fits (`prompt`, `response`) to `positions`. `promptIsDefault` / `responseIsDefault` say which were left at
    /// the defaults; `instructionTokens` is the length of the prompt with an empty context (template, chat wrapper, BOS).
    public static func fit(prompt: Int, response: Int, promptIsDefault: Bool, responseIsDefault: Bool,
                           instructionTokens: Int, positions: Int) throws -> SequenceBudget {
        if prompt + response <= positions { return SequenceBudget(maxPromptTokens: prompt, maxResponseTokens: response) }
        let room = "the policy's \(positions) positions (max_position_embeddings)"
        func fail(_ m: String) -> RPTError { RPTError(m, file: "rpt train") }
        // Room for at least one context token and one response token after the instruction.
        guard instructionTokens + 2 <= positions else {
            throw fail("the prompt template alone takes \(instructionTokens) tokens of \(room), leaving no room for context and a response: use a shorter --template or a model with more positions")
        }
        let free = positions - instructionTokens
        let suggestedPrompt = instructionTokens + max(1, free / 3)
        let suggestedResponse = positions - suggestedPrompt
        let suggestion = "e.g. --max-prompt-tokens \(suggestedPrompt) --max-response-tokens \(suggestedResponse)"
        switch (promptIsDefault, responseIsDefault) {
        case (true, true):
            return SequenceBudget(maxPromptTokens: suggestedPrompt, maxResponseTokens: suggestedResponse,
                                  note: "the default budget (prompts ≤ \(prompt), responses ≤ \(response) tokens) exceeds \(room): "
                                      + "using prompts ≤ \(suggestedPrompt) tokens (the instruction's \(instructionTokens) plus \(suggestedPrompt - instructionTokens) of context) "
                                      + "and responses ≤ \(suggestedResponse) tokens; set --max-prompt-tokens / --max-response-tokens to choose")
        case (false, true):
            let r = positions - prompt
            guard r >= 1 else {
                throw fail("--max-prompt-tokens \(prompt) leaves no room for a response in \(room): lower it (\(suggestion))")
            }
            return SequenceBudget(maxPromptTokens: prompt, maxResponseTokens: r,
                                  note: "the default response budget (\(response) tokens) does not fit with --max-prompt-tokens \(prompt) in \(room): "
                                      + "using responses ≤ \(r) tokens; set --max-response-tokens to choose")
        case (_, false):
            let p = positions - response
            guard p >= instructionTokens + 1 else {
                throw fail("--max-response-tokens \(response) leaves \(max(p, 0)) of \(room) for the prompt, but the prompt template alone takes \(instructionTokens): lower --max-response-tokens to at most \(free - 1) (\(suggestion))")
            }
            let asked = promptIsDefault ? "the default prompt budget (\(prompt) tokens)" : "--max-prompt-tokens \(prompt)"
            return SequenceBudget(maxPromptTokens: p, maxResponseTokens: response,
                                  note: "\(asked) + --max-response-tokens \(response) exceed \(room): prompts are cut (oldest context first) to \(p) tokens")
        }
    }
}
