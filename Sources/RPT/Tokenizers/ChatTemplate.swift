// Chat templates written as code (no Jinja interpreter is available), checked against transformers'
// `apply_chat_template` renderings in Tests/Fixtures/tokenizers/chat_templates.json:
//   chatML      Qwen2 / Qwen2.5 / Qwen3: "<|im_start|>{role}\n{content}<|im_end|>\n" per message, then
//               "<|im_start|>assistant\n". Qwen2.5's default system prompt is added only when asked for.
//               (Qwen3's template also rewrites <think> blocks of assistant turns; that is not modelled.)
//   deepSeekR1  DeepSeek-R1-Distill: "<｜begin▁of▁sentence｜>{system}<｜User｜>{content}<｜Assistant｜>{reply}
//               <｜end▁of▁sentence｜>...", then "<｜Assistant｜><think>\n". Tool turns are not modelled.
//   raw         no wrapping: the message contents concatenated (base models, llama2.c story models).

import Foundation

public struct ChatMessage: Sendable, Equatable, Codable {
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }

    public static func system(_ content: String) -> ChatMessage { ChatMessage(role: "system", content: content) }
    public static func user(_ content: String) -> ChatMessage { ChatMessage(role: "user", content: content) }
    public static func assistant(_ content: String) -> ChatMessage { ChatMessage(role: "assistant", content: content) }
}

public enum ChatTemplate: String, Sendable, Equatable, CaseIterable {
    case chatML
    case deepSeekR1
    case raw

    /// llama2.c models take plain text.
    public static let llama2Raw = ChatTemplate.raw
    /// Qwen2.5-Instruct's default system prompt (its template adds it when the conversation has no system turn).
    public static let qwenDefaultSystemPrompt = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
    /// The BOS text the DeepSeek-R1-Distill template starts with.
    public static let deepSeekBOS = "<｜begin▁of▁sentence｜>"

    /// Renders a conversation to the prompt text. `defaultSystemPrompt` is used only when the conversation has no
    /// system message (pass `ChatTemplate.qwenDefaultSystemPrompt` to reproduce Qwen2.5-Instruct's template).
    public func render(messages: [ChatMessage], addGenerationPrompt: Bool, defaultSystemPrompt: String? = nil) -> String {
        switch self {
        case .chatML: return renderChatML(messages, addGenerationPrompt, defaultSystemPrompt)
        case .deepSeekR1: return renderDeepSeekR1(messages, addGenerationPrompt, defaultSystemPrompt)
        case .raw: return messages.map(\.content).joined()
        }
    }

    private func renderChatML(_ messages: [ChatMessage], _ generation: Bool, _ defaultSystem: String?) -> String {
        var out = ""
        if messages.first?.role != "system", let defaultSystem {
            out += "<|im_start|>system\n\(defaultSystem)<|im_end|>\n"
        }
        for m in messages { out += "<|im_start|>\(m.role)\n\(m.content)<|im_end|>\n" }
        if generation { out += "<|im_start|>assistant\n" }
        return out
    }

    private func renderDeepSeekR1(_ messages: [ChatMessage], _ generation: Bool, _ defaultSystem: String?) -> String {
        // The template emits the last system message right after BOS, then user/assistant turns in order.
        var out = ChatTemplate.deepSeekBOS + (messages.last { $0.role == "system" }?.content ?? defaultSystem ?? "")
        for m in messages {
            switch m.role {
            case "user":
                out += "<｜User｜>" + m.content
            case "assistant":
                // An earlier turn's reasoning is dropped: only the text after the last </think> is kept.
                let reply = m.content.components(separatedBy: "</think>").last ?? m.content
                out += "<｜Assistant｜>" + reply + "<｜end▁of▁sentence｜>"
            default:
                break
            }
        }
        if generation { out += "<｜Assistant｜><think>\n" }
        return out
    }

    /// The template family of a Jinja chat_template string, or nil when it is neither ChatML nor DeepSeek-R1.
    public static func detect(chatTemplate: String) -> ChatTemplate? {
        if chatTemplate.contains("<|im_start|>") { return .chatML }
        if chatTemplate.contains("<｜Assistant｜>") { return .deepSeekR1 }
        return nil
    }

    /// The template family named by a tokenizer_config.json's `chat_template` (a string, or a list of
    /// {name, template} where "default" wins); `.raw` when the file has none or an unrecognized one.
    public static func detect(tokenizerConfig path: String) throws -> ChatTemplate {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw RPTError("cannot read tokenizer config: \(error.localizedDescription)", file: path)
        }
        let root = try JSONReader.parse([UInt8](data), file: path)
        guard root.objectValue != nil else { throw RPTError("tokenizer_config.json is not a JSON object", file: path) }
        var text: String? = root["chat_template"]?.stringValue
        if text == nil, let list = root["chat_template"]?.arrayValue {
            let named = list.first { $0["name"]?.stringValue == "default" } ?? list.first
            text = named?["template"]?.stringValue
        }
        return text.flatMap { detect(chatTemplate: $0) } ?? .raw
    }
}
