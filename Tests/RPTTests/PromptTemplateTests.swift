// Next-token prompts (RPT App. D Table 10): template v0's exact text, the reconstructed v1–v6, user templates,
// chat wrapping, and left truncation of the context to a prompt-token budget.

import Foundation
import Testing
@testable import RPT

@Suite struct PromptTemplateTests {
    /// The paper's v0 text (App. D, Table 10; docs/method.md §1.2), `{prompt_content}` filled with "CTX".
    static let v0Filled = """
    Complete the given text under '### Context' by predicting the next token, and wrap it in '\\boxed{}'. \
    Please reason step by step to find the most probable next token as the final answer, and enclose it in \\boxed{} \
    (note: the token may begin with a space, e.g., \\boxed{ para} or \\boxed{ =}; do not use \\text{}).

    ### Context
    CTX
    """

    @Test func v0TextIsExact() throws {
        #expect(try NextTokenPromptTemplate.v0.fill(context: "CTX") == PromptTemplateTests.v0Filled)
        #expect(try NextTokenPrompt().render(context: "CTX") == PromptTemplateTests.v0Filled, "default: v0, raw")
    }

    @Test(arguments: NextTokenPromptTemplate.paperTemplates)
    func paperTemplatesHaveOnePlaceholderAndAskForABox(_ template: NextTokenPromptTemplate) throws {
        #expect(template.text.components(separatedBy: "{context}").count == 2)
        #expect(template.text.contains("boxed{}"))
        #expect(template.text.contains("do not use \\"))
        #expect(NextTokenPromptTemplate(name: template.name) == template)
        let filled = try template.fill(context: "«CTX»")
        #expect(filled.contains("«CTX»") && !filled.contains("{context}"))
    }

    @Test func reconstructedTemplatesCarryTheirDistinguishingPhrases() {
        #expect(NextTokenPromptTemplate.v1.text.contains("final prediction") && NextTokenPromptTemplate.v1.text.contains("\\\\boxed{}"))
        #expect(NextTokenPromptTemplate.v1.text.contains("```{context}```"))
        #expect(NextTokenPromptTemplate.v2.text.hasPrefix("You are a helpful assistant, good at predicting the next token for a given context."))
        #expect(NextTokenPromptTemplate.v2.text.contains("\\boxed{ +=}"))
        #expect(NextTokenPromptTemplate.v3.text.contains("list multiple potential tokens and select the most probable one"))
        for answer in ["\\boxed{ this}", "\\boxed{9}", "\\boxed{:\\n}", "\\left(2^{3}\\right)=", "Now, the context is:"] {
            #expect(NextTokenPromptTemplate.v4.text.contains(answer), "v4 lacks \(answer)")
        }
        #expect(NextTokenPromptTemplate.v5.text == NextTokenPromptTemplate.v1.text.replacingOccurrences(of: "final prediction", with: "final answer"))
        #expect(NextTokenPromptTemplate.v6.text.hasSuffix("The context is: ```{context}```, now please predict the next token."))
        #expect(Set(NextTokenPromptTemplate.paperTemplates.map(\.text)).count == 7)
        #expect(NextTokenPromptTemplate(name: "v7") == nil && NextTokenPromptTemplate(name: "custom") == nil)
    }

    @Test func customTemplatesNeedThePlaceholder() throws {
        let custom = NextTokenPromptTemplate.custom("Next token after: {context}\nAnswer in \\boxed{}. Again: {context}")
        #expect(try custom.fill(context: "a {context} b") == "Next token after: a {context} b\nAnswer in \\boxed{}. Again: a {context} b")
        #expect(throws: RPTError.self) { try NextTokenPromptTemplate.custom("Predict {prompt_content}").fill(context: "x") }
        #expect(throws: RPTError.self) { try NextTokenPrompt(template: .custom("no slot")).render(context: "x") }

        let dir = temporaryDirectory("prompt-template")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let good = dir + "/good.txt", bad = dir + "/bad.txt"
        try "Continue: {context}".write(toFile: good, atomically: true, encoding: .utf8)
        try "Continue: {ctx}".write(toFile: bad, atomically: true, encoding: .utf8)
        #expect(try NextTokenPromptTemplate.load(path: good) == .custom("Continue: {context}"))
        let error = #expect(throws: RPTError.self) { try NextTokenPromptTemplate.load(path: bad) }
        #expect(error?.file == bad)
        #expect(throws: RPTError.self) { try NextTokenPromptTemplate.load(path: dir + "/missing.txt") }
    }

    @Test func chatWrapping() throws {
        let filled = try NextTokenPromptTemplate.v0.fill(context: "CTX")
        #expect(try NextTokenPrompt(chat: .deepSeekR1).render(context: "CTX")
                == "<｜begin▁of▁sentence｜><｜User｜>" + filled + "<｜Assistant｜><think>\n")
        #expect(try NextTokenPrompt(chat: .chatML).render(context: "CTX")
                == "<|im_start|>user\n" + filled + "<|im_end|>\n<|im_start|>assistant\n")
        #expect(try NextTokenPrompt(chat: .chatML, systemPrompt: "S").render(context: "CTX")
                == "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\n" + filled + "<|im_end|>\n<|im_start|>assistant\n")
        #expect(try NextTokenPrompt(chat: .raw, systemPrompt: "S").render(context: "CTX") == filled)
    }

    static let longDocument = (0..<600).map { "word\($0)" }.joined(separator: " ")

    @Test(arguments: [ChatTemplate.raw, .chatML, .deepSeekR1])
    func leftTruncationKeepsTheInstructionAndTheNewestContext(_ chat: ChatTemplate) throws {
        let tok = try TokenizerFixtures.qwen()
        let contextIds = tok.encode(PromptTemplateTests.longDocument)
        let prompt = NextTokenPrompt(template: .v0, chat: chat)
        let budget = 300
        let result = try prompt.promptTokens(contextIds: contextIds, tokenizer: tok, maxPromptTokens: budget)

        #expect(result.ids.count <= budget)
        #expect(result.ids == tok.encode(result.text))
        #expect(result.contextTokensDropped > 0)
        #expect(result.contextTokensKept + result.contextTokensDropped == contextIds.count)
        // The kept context is exactly the newest tokens, behind the whole instruction.
        let keptText = String(decoding: tok.bytes(of: Array(contextIds.suffix(result.contextTokensKept))), as: UTF8.self)
        #expect(keptText.hasSuffix("word599"))
        #expect(result.text == (try prompt.render(context: keptText)))
        // The budget is used: one more context token would not fit.
        let oneMore = String(decoding: tok.bytes(of: Array(contextIds.suffix(result.contextTokensKept + 1))), as: UTF8.self)
        #expect(tok.encode(try prompt.render(context: oneMore)).count > budget)
    }

    @Test func aContextThatFitsIsKeptWhole() throws {
        let tok = try TokenizerFixtures.qwen()
        let text = "The model size and decreases."
        let prompt = NextTokenPrompt(template: .v6, chat: .deepSeekR1)
        let result = try prompt.promptTokens(contextIds: tok.encode(text), tokenizer: tok, maxPromptTokens: 4096)
        #expect(result.contextTokensDropped == 0 && result.partialCharacterBytesDropped == 0)
        #expect(result.text == (try prompt.render(context: text)))
        #expect(result.text.hasSuffix("<｜Assistant｜><think>\n"))
    }

    @Test func anInstructionOverTheBudgetIsAnError() throws {
        let tok = try TokenizerFixtures.qwen()
        let instructionTokens = tok.encode(try NextTokenPromptTemplate.v0.fill(context: "")).count
        #expect(throws: RPTError.self) {
            try NextTokenPrompt().promptTokens(contextIds: tok.encode("some context"), tokenizer: tok, maxPromptTokens: instructionTokens - 1)
        }
        let empty = try NextTokenPrompt().promptTokens(contextIds: tok.encode("some context"), tokenizer: tok, maxPromptTokens: instructionTokens)
        #expect(empty.contextTokensKept == 0 && empty.ids.count == instructionTokens)
    }

    /// "A 🦜 bird" is "A" " \xF0\x9F" "\xA6" "\x9C" " bird": left cuts inside the emoji drop its partial bytes.
    @Test func leftCutsInsideACharacterDropItsPartialBytes() throws {
        let tok = try TokenizerFixtures.qwen()
        let document = "A 🦜 bird flies"
        let contextIds = tok.encode(document)
        let prompt = NextTokenPrompt(template: .custom("{context}"))
        var partialCuts = 0
        for budget in 1...contextIds.count {
            let result = try prompt.promptTokens(contextIds: contextIds, tokenizer: tok, maxPromptTokens: budget)
            #expect(result.ids.count <= budget)
            #expect(!result.text.unicodeScalars.contains("\u{FFFD}"), "budget \(budget): \(result.text.debugDescription)")
            #expect(document.hasSuffix(result.text))
            let keptBytes = tok.bytes(of: Array(contextIds.suffix(result.contextTokensKept)))
            #expect(result.text.utf8.count + result.partialCharacterBytesDropped == keptBytes.count)
            if result.partialCharacterBytesDropped > 0 { partialCuts += 1 }
        }
        #expect(partialCuts > 0)
    }

    @Test func aContextEndingInsideACharacterDropsTheIncompleteEnd() {
        // " \xF0\x9F" "\xA6" at the end, and a lone continuation byte at the start.
        let (text, dropped) = NextTokenPrompt.contextText([0x9C] + Array("A".utf8) + [0x20, 0xF0, 0x9F, 0xA6])
        #expect(text == "A ")
        #expect(dropped == 4)
        #expect(NextTokenPrompt.contextText(Array("é🦜".utf8)) == ("é🦜", 0))
        #expect(NextTokenPrompt.contextText([0xA6, 0x9C]) == ("", 2))
        #expect(NextTokenPrompt.contextText([]) == ("", 0))
    }

    /// SentencePiece with a dummy prefix (stories260K, as Llama 2): a context that starts the document (BOS first)
    /// is the document's text, without the "▁" the tokenizer put before its first word; a left-truncated context
    /// keeps the space that precedes its first kept word in the document.
    @Test(arguments: [Repo.stories260KHF, TokenizerFixtures.storiesBinPath])
    func theDummyPrefixSpaceIsNotContext(_ path: String) throws {
        let tok = try loadTokenizer(path: path)
        let document = "Once upon a time"
        let ids = tok.documentIds(document).ids
        #expect(tok.bytes(of: Array(ids.dropFirst())).first == 0x20) // the dummy prefix
        let prompt = NextTokenPrompt(template: .custom("[{context}]"))
        let full = try prompt.promptTokens(contextIds: ids, tokenizer: tok, maxPromptTokens: 100)
        #expect(full.text == "[" + document + "]" && full.contextTokensDropped == 0)
        let cut = try prompt.promptTokens(contextIds: ids, tokenizer: tok, maxPromptTokens: full.ids.count - 1)
        #expect(cut.contextTokensDropped > 0 && cut.text.hasPrefix("[ ") && ("[" + document + "]").hasSuffix(cut.text.dropFirst()))
        // Without BOS nothing says where the document starts: the token bytes are kept as they are.
        let noBOS = try prompt.promptTokens(contextIds: Array(ids.dropFirst()), tokenizer: tok, maxPromptTokens: 100)
        #expect(noBOS.text == "[ " + document + "]")
    }

    /// A tokenizer with BOS (llama2.c stories260K): BOS stays first, once, and is not counted as context.
    @Test func bosStaysFirst() throws {
        let tok = try loadTokenizer(path: TokenizerFixtures.storiesBinPath)
        let bos = try #require(tok.bosTokenId)
        let contextIds = [bos] + tok.encode("Once upon a time there was a little cat who liked to play")
        let prompt = NextTokenPrompt(template: .custom("Next: {context}"))
        let full = try prompt.promptTokens(contextIds: contextIds, tokenizer: tok, maxPromptTokens: 1000)
        #expect(full.ids.first == bos && full.ids.filter { $0 == bos }.count == 1)
        #expect(full.contextTokensKept == contextIds.count - 1 && full.contextTokensDropped == 0)
        let cut = try prompt.promptTokens(contextIds: contextIds, tokenizer: tok, maxPromptTokens: full.ids.count - 3)
        #expect(cut.ids.first == bos && cut.ids.count <= full.ids.count - 3 && cut.contextTokensDropped > 0)
    }
}
