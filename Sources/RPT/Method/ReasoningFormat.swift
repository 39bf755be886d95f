// The next-token-reasoning format shared by training (`rpt train`) and evaluation (`rpt eval`) (paper §3.1,
// App. D, Table 10; docs/method.md §1.2–1.3, §2): the prompt template wrapped in the model's chat template,
// the answer extractor (after `</think>` for R1-style models), and the tokens that end a response.

import Foundation

public struct ReasoningFormat: Sendable {
    public let prompt: NextTokenPrompt
    public let extractor: AnswerExtractor

    /// `template`: v0…v6 or a file with {context}. `chat`: auto (from the tokenizer_config.json beside the
    /// tokenizer), raw, chatml or deepseek-r1. `tokenizerPath`: a tokenizer directory or file.
    public init(template: String, chat: String, tokenizerPath: String) throws {
        let t = try NextTokenPromptTemplate(name: template) ?? NextTokenPromptTemplate.load(path: template)
        let c = try ReasoningFormat.chatTemplate(named: chat, tokenizerPath: tokenizerPath)
        self.init(prompt: NextTokenPrompt(template: t, chat: c))
    }

    public init(prompt: NextTokenPrompt) {
        self.prompt = prompt
        extractor = AnswerExtractor(requireThinkClose: prompt.chat.opensThinkBlock)
    }

    public static func chatTemplate(named name: String, tokenizerPath: String) throws -> ChatTemplate {
        switch name {
        case "raw": return .raw
        case "chatml": return .chatML
        case "deepseek-r1": return .deepSeekR1
        case "auto":
            var isDir: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: tokenizerPath, isDirectory: &isDir)
            let dir = isDir.boolValue ? tokenizerPath : (tokenizerPath as NSString).deletingLastPathComponent
            let config = (dir.isEmpty ? "." : dir) + "/tokenizer_config.json"
            return FileManager.default.fileExists(atPath: config) ? try ChatTemplate.detect(tokenizerConfig: config) : .raw
        default: throw RPTError("unknown chat format '\(name)' (auto, raw, chatml, deepseek-r1)", file: "--chat")
        }
    }

    /// End-of-response tokens: the tokenizer's and the config's end-of-sequence ids, and ChatML's `<|im_end|>`.
    public static func stopTokens(tokenizer: any Tokenizer, config: ModelConfig) -> Set<Int> {
        var stops = Set(tokenizer.eosTokenIds).union(config.eosTokenIds)
        if let im = tokenizer.tokenId("<|im_end|>") { stops.insert(im) }
        return stops
    }
}
