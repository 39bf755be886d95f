// The written chat templates (chatml, deepseek-r1) against transformers' apply_chat_template renderings
// (Tests/Fixtures/tokenizers/chat_templates.json), the same renderings through the Jinja interpreter, and what
// `--chat auto` reads from a tokenizer_config.json. JinjaChatTemplateTests covers the real templates.

import Foundation
import Testing
@testable import RPT

private struct ChatTemplateFixture: Decodable {
    struct Case: Decodable {
        var template: String
        var messages: [ChatMessage]
        var add_generation_prompt: Bool
        var expected: String
    }
    var templates: [String: String]
    var cases: [Case]
}

@Suite struct TokenizerChatTemplateTests {
    @Test func renderingsMatchTransformers() throws {
        let fx = try TokenizerFixtures.load(ChatTemplateFixture.self, "chat_templates.json")
        #expect(fx.cases.count >= 20)
        var passed = 0
        for c in fx.cases {
            let got: String
            switch c.template {
            case "chatML":
                got = ChatTemplate.chatML.render(messages: c.messages, addGenerationPrompt: c.add_generation_prompt)
            case "chatMLQwenDefaultSystem":
                got = ChatTemplate.chatML.render(messages: c.messages, addGenerationPrompt: c.add_generation_prompt,
                                                 defaultSystemPrompt: ChatTemplate.qwenDefaultSystemPrompt)
            case "deepSeekR1":
                got = ChatTemplate.deepSeekR1.render(messages: c.messages, addGenerationPrompt: c.add_generation_prompt)
            default:
                Issue.record("unknown template \(c.template)")
                continue
            }
            #expect(Exact(got) == Exact(c.expected), "\(c.template) \(c.messages.map(\.role)) gen=\(c.add_generation_prompt)")
            if Exact(got) == Exact(c.expected) { passed += 1 }
            // The Jinja interpreter renders the template text itself identically.
            let jinja = try JinjaChatTemplate(source: try #require(fx.templates[c.template]), file: c.template,
                                              specialTokens: ["bos_token": ChatTemplate.deepSeekBOS, "eos_token": "<｜end▁of▁sentence｜>"])
            #expect(Exact(try jinja.render(messages: c.messages, addGenerationPrompt: c.add_generation_prompt)) == Exact(c.expected),
                    "jinja \(c.template) \(c.messages.map(\.role)) gen=\(c.add_generation_prompt)")
        }
        print("chat templates: \(passed)/\(fx.cases.count) renderings match transformers")
    }

    @Test func detection() throws {
        let fx = try TokenizerFixtures.load(ChatTemplateFixture.self, "chat_templates.json")
        #expect(ChatTemplate.detect(chatTemplate: try #require(fx.templates["chatML"])) == .chatML)
        #expect(ChatTemplate.detect(chatTemplate: try #require(fx.templates["deepSeekR1"])) == .deepSeekR1)
        #expect(ChatTemplate.detect(chatTemplate: "{{ messages[0].content }}") == nil)
        // --chat auto renders the tokenizer_config.json's own template (pattern detection only names fallbacks).
        #expect(try ChatTemplate.detect(tokenizerConfig: TokenizerFixtures.path("Assets/qwen2-tokenizer/tokenizer_config.json")).rawValue == "jinja")
        #expect(try ChatTemplate.detect(tokenizerConfig: TokenizerFixtures.fixture("stories260K-normalizer/tokenizer_config.json")) == .raw)
        let list = try writeTemporary(Array(#"{"chat_template": [{"name": "tool_use", "template": "x"}, {"name": "default", "template": "<|im_start|>"}]}"#.utf8),
                                      name: "tokenizer_config.json")
        #expect(try ChatTemplate.detect(tokenizerConfig: list).apply(messages: [], addGenerationPrompt: false) == "<|im_start|>")
    }

    @Test func rawAndPromptTokens() throws {
        let messages: [ChatMessage] = [.user("Once upon a time")]
        #expect(ChatTemplate.raw.render(messages: messages, addGenerationPrompt: true) == "Once upon a time")
        #expect(ChatTemplate.llama2Raw == .raw)
        // The rendered ChatML prompt tokenizes its markers as single special tokens.
        let tok = try TokenizerFixtures.qwen()
        let prompt = ChatTemplate.chatML.render(messages: [.system("Be brief."), .user("Hi")], addGenerationPrompt: true)
        let ids = tok.encode(prompt)
        #expect(ids.first == tok.tokenId("<|im_start|>"))
        #expect(ids.filter { $0 == tok.tokenId("<|im_end|>") }.count == 2)
        #expect(Exact(tok.decode(ids)) == Exact(prompt))
    }
}
