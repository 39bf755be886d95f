// Demonstrations of the next-token-reasoning format for a base model that has never seen it (notes §8.2,
// stage C). The paper starts RPT from R1-Distill-Qwen-14B, a model that already reasons inside <think> and
// boxes its answers; a small base model first needs a brief supervised stage to emit that format at all, or
// every rollout scores 0 and GRPO has no signal. Each training position becomes a prompt/completion pair for
// `rpt pretrain --sft`: the exact prompt the rollouts will see, and a short trace that quotes the end of the
// context, names the next token and boxes it.

import Foundation

public enum FormatDemonstrations {
    /// The trace for one position: the last two words of the context, the next token, and that token boxed.
    public static func completion(context: String, target: String) -> String {
        let words = context.split(whereSeparator: { $0 == " " || $0 == "\n" }).suffix(2).joined(separator: " ")
        return " <think> \"\(words)\" then \"\(target)\" </think> \\boxed{\(target)}"
    }

    /// Writes one JSONL line {"prompt", "completion"} per position whose target is not empty; returns the count.
    public static func write(records: [PositionRecord], prompt: NextTokenPrompt, tokenizer: any Tokenizer,
                             maxPromptTokens: Int, to path: String) throws -> Int {
        var out = Data()
        var n = 0
        for r in records where !r.target.isEmpty && !r.target.contains("\u{FFFD}") {
            let p = try prompt.promptTokens(contextIds: r.contextIds, tokenizer: tokenizer, maxPromptTokens: maxPromptTokens)
            let kept = NextTokenPrompt.contextText(tokenizer.bytes(of: Array(r.contextIds.suffix(p.contextTokensKept)))).0
            let line = JSON.object(["prompt": .string(p.text), "completion": .string(completion(context: kept, target: r.target))])
            out.append(Data((line.serialized() + "\n").utf8))
            n += 1
        }
        guard n > 0 else { throw RPTError("no positions with a printable target to demonstrate", file: path) }
        try AtomicFile.write(out, to: path)
        return n
    }
}
