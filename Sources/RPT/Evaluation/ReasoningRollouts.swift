// Reasoning-mode answers for evaluation (paper §4.1 "next-token reasoning", §4.4 zero-shot end tasks; notes
// §5.1): each item's prompt is answered once greedily and k times at a temperature, in batches that share the
// KV-cache machinery of training rollouts; each response is scored by the item's own checker (the prefix-
// matching reward for next-token positions, the answer letter for multiple choice).

import Foundation

/// One question to answer in reasoning mode.
public struct ReasoningItem {
    public var promptIds: [Int]
    /// The prompt as text (what `promptIds` encode, less BOS), for servers that take text prompts (ServerRollouts).
    public var promptText: String?
    /// Scores one response: the extracted prediction (nil when none), the failure if any, and correctness.
    public var check: (_ response: String, _ truncated: Bool) throws -> ScoredResponse
    public init(promptIds: [Int], promptText: String? = nil, check: @escaping (String, Bool) throws -> ScoredResponse) {
        self.promptIds = promptIds
        self.promptText = promptText
        self.check = check
    }
}

public struct ScoredResponse: Sendable, Equatable {
    public var text = ""
    public var prediction: String?
    public var failure: AnswerFailure?
    public var correct: Bool
    public var tokens = 0
    public init(prediction: String?, failure: AnswerFailure?, correct: Bool) {
        self.prediction = prediction
        self.failure = failure
        self.correct = correct
    }
}

/// The greedy response (when asked for) and the sampled responses of one item.
public struct ReasoningOutcome: Sendable {
    public var greedy: ScoredResponse?
    public var samples: [ScoredResponse] = []
}

public enum ReasoningRollouts {
    /// Answers every item; batch b's sampled responses are seeded by (seed, b), so results do not depend on
    /// the model being evaluated beyond its weights.
    public static func run(backend: any ComputeBackend, tokenizer: any Tokenizer, items: [ReasoningItem], options o: EvalOptions,
                           stopTokens: Set<Int>, progress: ((Int) -> Void)? = nil) throws -> [ReasoningOutcome] {
        guard o.greedy || o.samples > 0 else { throw RPTError("nothing to evaluate: neither greedy decoding nor samples", file: "rpt eval") }
        guard o.itemsPerBatch >= 1, o.maxResponseTokens >= 1 else { throw RPTError("items per batch and max response tokens must be ≥ 1", file: "rpt eval") }
        let gen = Generator(backend: backend)
        var out: [ReasoningOutcome] = []
        out.reserveCapacity(items.count)
        var start = 0, batchIndex: UInt64 = 0
        while start < items.count {
            let batch = Array(items[start..<min(items.count, start + o.itemsPerBatch)])
            let prompts = batch.map(\.promptIds)
            var outcomes = Array(repeating: ReasoningOutcome(), count: batch.count)
            func score(_ seqs: [GeneratedSequence], into assign: (Int, ScoredResponse) -> Void) throws {
                for s in seqs {
                    let text = tokenizer.decode(s.tokens)
                    var r = try batch[s.promptIndex].check(text, s.finishReason == .length)
                    r.text = text
                    r.tokens = s.tokens.count
                    assign(s.promptIndex, r)
                }
            }
            if o.greedy {
                let seqs = try gen.generate(prompts: prompts, samplesPerPrompt: 1,
                                            options: GenerationOptions(maxTokens: o.maxResponseTokens, sampling: .greedy, stopTokens: stopTokens))
                try score(seqs) { outcomes[$0].greedy = $1 }
            }
            if o.samples > 0 {
                let sampling = SamplingParameters(temperature: o.temperature, topP: o.topP)
                let seqs = try gen.generate(prompts: prompts, samplesPerPrompt: o.samples,
                                            options: GenerationOptions(maxTokens: o.maxResponseTokens, sampling: sampling,
                                                                       seed: o.seed &+ batchIndex &* 0x9E37_79B9, stopTokens: stopTokens))
                try score(seqs) { outcomes[$0].samples.append($1) }
            }
            out += outcomes
            start += batch.count
            batchIndex += 1
            progress?(start)
        }
        return out
    }
}
