// Demonstrations of the next-token-reasoning format for a base model that has never seen it (notes §8.2,
// stage C). The paper starts RPT from R1-Distill-Qwen-14B, a model that already reasons inside <think> and
// boxes its answers; a small base model first needs a brief supervised stage to emit that format at all, or
// every rollout scores 0 and GRPO has no signal. Each training position becomes a prompt/completion pair for
// `rpt pretrain --sft`: the exact prompt the rollouts will see, and a short trace that restates the end of the
// context, continues it with the next token and boxes that token; plain text can be mixed in so that the
// small model keeps its language modelling.

import Foundation

public enum FormatDemonstrations {
    /// The trace for one position: it restates the end of the context and continues it with the next token (so
    /// the guess is made where a language model predicts best, right after the words that precede it), then boxes
    /// that token: ` <think> was very happy </think> \boxed{ happy}`.
    public static func completion(context: String, target: String) -> String {
        // The last two words and the (possibly partial) word the target continues.
        let tail = context.replacingOccurrences(of: "\n", with: " ").split(separator: " ", omittingEmptySubsequences: false)
            .suffix(3).joined(separator: " ")
        return " <think> \(tail)\(target) </think> \\boxed{\(target)}"
    }

    /// Writes one JSONL line {"prompt", "completion"} per position whose target is not empty, and, when
    /// `plainTextEvery` > 0, the context of every n-th position as plain text (empty prompt), so that the
    /// supervised stage keeps the model's language modelling; returns the number of demonstrations.
    public static func write(records: [PositionRecord], prompt: NextTokenPrompt, tokenizer: any Tokenizer,
                             maxPromptTokens: Int, plainTextEvery: Int = 0, to path: String) throws -> Int {
        var out = Data()
        var n = 0
        for r in records where !r.target.isEmpty && !r.target.contains("\u{FFFD}") {
            let p = try prompt.promptTokens(contextIds: r.contextIds, tokenizer: tokenizer, maxPromptTokens: maxPromptTokens)
            let kept = NextTokenPrompt.contextText(tokenizer.bytes(of: Array(r.contextIds.suffix(p.contextTokensKept)))).0
            let line = JSON.object(["prompt": .string(p.text), "completion": .string(completion(context: kept, target: r.target))])
            out.append(Data((line.serialized() + "\n").utf8))
            if plainTextEvery > 0 && n % plainTextEvery == 0 {
                let plain = JSON.object(["prompt": .string(""), "completion": .string(r.context)])
                out.append(Data((plain.serialized() + "\n").utf8))
            }
            n += 1
        }
        guard n > 0 else { throw RPTError("no positions with a printable target to demonstrate", file: path) }
        try AtomicFile.write(out, to: path)
        return n
    }
}
