// TRL's conversational SFT data (`messages`, and prompt/completion message lists) rendered with the model's chat
// template, with loss on the trained messages only (Tests/Fixtures/chat_templates/sft_conversations.jsonl).

import Foundation
import Testing
@testable import RPT

@Suite struct SFTConversationTests {
    private let data = Repo.path("Tests/Fixtures/chat_templates/sft_conversations.jsonl")

    private func template(_ name: String) throws -> ChatTemplate {
        try ChatTemplate.detect(tokenizerConfig: Repo.path("Tests/Fixtures/chat_templates/\(name)/tokenizer_config.json"))
    }

    /// The texts of the maximal runs of trained tokens of a sequence.
    private func trainedTexts(_ s: SFTSequence, _ tokenizer: any Tokenizer) -> [String] {
        var runs: [[Int]] = [], current: [Int] = []
        for (j, w) in s.lossMask.enumerated() {
            if w == 1 { current.append(s.tokens[j + 1]) } else if !current.isEmpty { runs.append(current); current = [] }
        }
        if !current.isEmpty { runs.append(current) }
        return runs.map { String(decoding: tokenizer.bytes(of: $0), as: UTF8.self) }
    }

    @Test func readsBothConversationalFormsAndSkipsBadRows() throws {
        var warnings: [String] = []
        let (examples, stats) = try SFTReader.read(path: data) { warnings.append($0) }
        #expect(examples.map(\.id) == ["sft_conversations.jsonl:1", "sft_conversations.jsonl:2", "sft_conversations.jsonl:3"])
        let first = try #require(examples[0].conversation)
        #expect(first.messages.map(\.role) == ["system", "user", "assistant"] && first.trained == [false, false, true])
        #expect(try #require(examples[1].conversation).trained == [false, true, false, true])
        let pc = try #require(examples[2].conversation)
        #expect(pc.messages == [.user("Say hi."), .assistant("Hi! 👋")] && pc.trained == [false, true])
        // No assistant message, a message without content, an empty completion.
        #expect(stats.skipped(.empty) == 2 && stats.skipped(.missingField) == 1 && warnings.count == 3)
        #expect(warnings.contains { $0.contains("sft_conversations.jsonl:5") && $0.contains("message 2") })
    }

    @Test func assistantTurnsOnlyCarryLoss() throws {
        let tokenizer = try TokenizerFixtures.qwen()
        let (examples, _) = try SFTReader.read(path: data, onWarning: { _ in })
        // Qwen2.5's template renders every turn the same whatever follows: one sequence per conversation.
        let qwen25 = try template("qwen2.5-instruct")
        let set = try SFTDataset(examples: examples, tokenizer: tokenizer, seqLen: 4096, batchSize: 1, seed: 0,
                                 source: data, chatTemplate: qwen25)
        #expect(set.ids == examples.map(\.id))
        #expect(trainedTexts(set.sequences[0], tokenizer) == ["4<|im_end|>\n"])
        #expect(trainedTexts(set.sequences[1], tokenizer) == ["Paris.<|im_end|>\n", "<think>\nTokyo is the capital.\n</think>\n\nTokyo.<|im_end|>\n"])
        #expect(trainedTexts(set.sequences[2], tokenizer) == ["Hi! 👋<|im_end|>\n"])
        // The tokens are the whole rendered conversation, tokenized as one text.
        let rendered = try qwen25.apply(messages: try #require(examples[1].conversation).messages, addGenerationPrompt: false)
        #expect(set.sequences[1].tokens == tokenizer.encode(rendered))
        #expect(set.truncation == SFTTruncationStats())

        // DeepSeek-R1's template drops the reasoning of every assistant turn and ends turns with its EOS. (This
        // tokenizer lacks R1's special tokens, so a punctuation pre-token may straddle a turn's edge; the real
        // R1-Distill tokenizer splits there.)
        let r1 = try SFTDataset(examples: examples, tokenizer: tokenizer, seqLen: 4096, batchSize: 1, seed: 0,
                                source: data, chatTemplate: try template("deepseek-r1-distill"))
        let r1Texts = trainedTexts(r1.sequences[1], tokenizer)
        #expect(r1Texts.count == 2 && r1Texts[0].hasPrefix("Paris.<｜end▁of▁sentence｜>"))
        #expect(r1Texts[1].hasSuffix("Tokyo.<｜end▁of▁sentence｜>") && !r1Texts[1].contains("capital"))
        // Llama 3.1's header is the prompt side; the content and <|eot_id|> are trained.
        let llama = try SFTDataset(examples: examples, tokenizer: tokenizer, seqLen: 4096, batchSize: 1, seed: 0,
                                   source: data, chatTemplate: try template("llama-3.1-instruct"))
        #expect(trainedTexts(llama.sequences[2], tokenizer) == ["Hi! 👋<|eot_id|>"])
    }

    @Test func templatesThatRewriteEarlierTurnsGiveOneSequencePerTurn() throws {
        // Qwen3 (the template beside the tokenizer, found as --chat auto finds it): an assistant turn followed by
        // another user turn loses its <think> block, so each trained turn is its own sequence.
        let tokenizer = try TokenizerFixtures.qwen()
        let set = try SFTData.load(path: data, tokenizer: tokenizer, seqLen: 4096, batchSize: 1, validation: .count(0),
                                   seed: 0, onWarning: { _ in }).train
        #expect(set.ids == ["sft_conversations.jsonl:1", "sft_conversations.jsonl:2#1", "sft_conversations.jsonl:2#2", "sft_conversations.jsonl:3"])
        let texts = set.sequences.map { trainedTexts($0, tokenizer) }
        #expect(texts[1] == ["<think>\n\n</think>\n\nParis.<|im_end|>\n"])
        #expect(texts[2] == ["<think>\nTokyo is the capital.\n</think>\n\nTokyo.<|im_end|>\n"])
        // The second sequence holds the first turn as the template shows it in history (no <think> block), untrained.
        let second = String(decoding: tokenizer.bytes(of: set.sequences[2].tokens), as: UTF8.self)
        #expect(second.contains("<|im_start|>assistant\nParis.<|im_end|>"))
    }

    @Test func truncationAndErrors() throws {
        let tokenizer = try TokenizerFixtures.qwen()
        let (examples, _) = try SFTReader.read(path: data, onWarning: { _ in })
        let qwen25 = try template("qwen2.5-instruct")
        let full = try SFTDataset(examples: [examples[1]], tokenizer: tokenizer, seqLen: 4096, batchSize: 1, seed: 0,
                                  source: data, chatTemplate: qwen25).sequences[0]
        // Cut on the right: the start of the conversation is kept.
        let cut = try SFTDataset(examples: [examples[1]], tokenizer: tokenizer, seqLen: full.tokens.count - 6, batchSize: 1,
                                 seed: 0, source: data, chatTemplate: qwen25)
        #expect(cut.sequences[0].tokens == Array(full.tokens.prefix(full.tokens.count - 5)))
        #expect(cut.truncation.completionsTruncated == 1)
        // Conversations need a chat template.
        let e = expectRPTError(naming: data) {
            _ = try SFTDataset(examples: examples, tokenizer: tokenizer, seqLen: 64, batchSize: 1, seed: 0, source: data)
        }
        #expect(e?.message.contains("chat template") == true)
        let stories = try loadTokenizer(path: TokenizerFixtures.storiesNormalizerPath)
        _ = expectRPTError(naming: data) {
            _ = try SFTData.load(path: data, tokenizer: stories, seqLen: 64, batchSize: 1, validation: .count(0), seed: 0, onWarning: { _ in })
        }
        // A template that refuses a conversation names the example.
        let strict = ChatTemplate.jinja(try JinjaChatTemplate(source: "{{ raise_exception('no system role') }}", file: "t/tokenizer_config.json"))
        let refused = expectRPTError(naming: "t/tokenizer_config.json") {
            _ = try SFTDataset(examples: examples, tokenizer: tokenizer, seqLen: 64, batchSize: 1, seed: 0, source: data, chatTemplate: strict)
        }
        #expect(refused?.message.contains("sft_conversations.jsonl:1") == true && refused?.message.contains("no system role") == true)
    }
}
