// How a conversation becomes prompt text (`--chat auto|raw|chatml|deepseek-r1`):
//   jinja       the model's own chat template, from the chat_template of the tokenizer_config.json beside the
//               tokenizer, rendered by rpt's Jinja interpreter exactly as transformers' apply_chat_template
//               renders it (JinjaChatTemplate.swift; docs/chat-templates.md). This is what `--chat auto` gives.
//   chatML      written as code: "<|im_start|>{role}\n{content}<|im_end|>\n" per message, then
//               "<|im_start|>assistant\n" (Qwen2/2.5/3 without their default system prompt or <think> rewriting).
//   deepSeekR1  written as code: "<｜begin▁of▁sentence｜>{system}<｜User｜>{content}<｜Assistant｜>{reply}
//               <｜end▁of▁sentence｜>...", then "<｜Assistant｜><think>\n" (DeepSeek-R1-Distill; no tool turns).
//   raw         no wrapping: the message contents concatenated (base models, llama2.c story models).
// `--chat auto` with a template the interpreter cannot run is an error, never a silent fallback; the written
// chatml / deepseek-r1 forms stay available as explicit choices.

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

public enum ChatTemplate: Sendable, Equatable {
    case chatML
    case deepSeekR1
    case raw
    /// The model's own template (tokenizer_config.json chat_template).
    case jinja(JinjaChatTemplate)

    /// llama2.c models take plain text.
    public static let llama2Raw = ChatTemplate.raw
    /// Qwen2.5-Instruct's default system prompt (its template adds it when the conversation has no system turn).
    public static let qwenDefaultSystemPrompt = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
    /// The BOS text the DeepSeek-R1-Distill template starts with.
    public static let deepSeekBOS = "<｜begin▁of▁sentence｜>"

    /// The written-as-code forms.
    public static let builtIn: [ChatTemplate] = [.chatML, .deepSeekR1, .raw]

    /// "chatML", "deepSeekR1", "raw" or "jinja" (recorded in export manifests).
    public var rawValue: String {
        switch self {
        case .chatML: return "chatML"
        case .deepSeekR1: return "deepSeekR1"
        case .raw: return "raw"
        case .jinja: return "jinja"
        }
    }

    /// Whether the generation prompt opens a reasoning block the answer follows (DeepSeek-R1: the prompt ends in
    /// "<think>\n", so a response is reasoning, "</think>", then the answer).
    public var opensThinkBlock: Bool {
        switch self {
        case .deepSeekR1: return true
        case .chatML, .raw: return false
        case .jinja(let t):
            guard let prompt = try? t.render(messages: [.user("x")], addGenerationPrompt: true),
                  let bare = try? t.render(messages: [.user("x")], addGenerationPrompt: false) else { return false }
            let added = String(prompt.unicodeScalars.dropFirst(bare.unicodeScalars.count))
            guard prompt.unicodeScalars.starts(with: bare.unicodeScalars), let open = added.range(of: "<think>", options: .backwards) else { return false }
            return !added[open.upperBound...].contains("</think>")
        }
    }

    /// Renders a conversation to prompt text; errors (a template's raise_exception) are RPTErrors naming the
    /// tokenizer_config.json. `defaultSystemPrompt` applies to the written chatML / deepSeekR1 forms only: used
    /// when the conversation has no system message (pass `ChatTemplate.qwenDefaultSystemPrompt` to reproduce
    /// Qwen2.5-Instruct's template). `variables`: extra template variables for a Jinja template
    /// (["enable_thinking": false]).
    public func apply(messages: [ChatMessage], addGenerationPrompt: Bool, defaultSystemPrompt: String? = nil,
                      variables: [String: Bool] = [:]) throws -> String {
        switch self {
        case .chatML: return renderChatML(messages, addGenerationPrompt, defaultSystemPrompt)
        case .deepSeekR1: return renderDeepSeekR1(messages, addGenerationPrompt, defaultSystemPrompt)
        case .raw: return messages.map(\.content).joined()
        case .jinja(let t): return try t.render(messages: messages, addGenerationPrompt: addGenerationPrompt, variables: variables)
        }
    }

    /// `apply` for callers that cannot throw. A Jinja template that fails on this conversation (its
    /// raise_exception) prints a warning naming the fallback it uses instead: the written form of the same
    /// family (chatml or deepseek-r1) when the template is one, else the raw contents. Prefer `apply`.
    public func render(messages: [ChatMessage], addGenerationPrompt: Bool, defaultSystemPrompt: String? = nil) -> String {
        do {
            return try apply(messages: messages, addGenerationPrompt: addGenerationPrompt, defaultSystemPrompt: defaultSystemPrompt)
        } catch {
            guard case .jinja(let t) = self else { return "" }
            let fallback = ChatTemplate.detect(chatTemplate: t.source) ?? .raw
            printDataWarning("\(error); rendering this conversation with rpt's built-in \(fallback.rawValue) form instead")
            return fallback.render(messages: messages, addGenerationPrompt: addGenerationPrompt, defaultSystemPrompt: defaultSystemPrompt)
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

    /// The written form a Jinja chat_template string resembles (by its markers), or nil when it is neither
    /// ChatML nor DeepSeek-R1. Used only to name a fallback; `--chat auto` renders the template itself.
    public static func detect(chatTemplate: String) -> ChatTemplate? {
        if chatTemplate.contains("<|im_start|>") { return .chatML }
        if chatTemplate.contains("<｜Assistant｜>") { return .deepSeekR1 }
        return nil
    }

    /// `--chat auto`: the chat template of a tokenizer_config.json, rendered by the Jinja interpreter; `.raw` when
    /// the file has no chat_template. A template the interpreter cannot parse is an RPTError naming the file,
    /// the line and the construct (and how to choose a written form instead).
    public static func detect(tokenizerConfig path: String) throws -> ChatTemplate {
        do {
            return try JinjaChatTemplate.load(tokenizerConfig: path).map { .jinja($0) } ?? .raw
        } catch var e as RPTError {
            if e.message.hasPrefix("unsupported chat_template") {
                e.message += "; pass --chat chatml, deepseek-r1 or raw to use a written form instead"
            }
            throw e
        }
    }

    /// The chat template `--chat NAME` names for a tokenizer (a directory or a file in one): auto (the
    /// tokenizer_config.json beside it; raw when there is none), raw, chatml or deepseek-r1.
    public static func named(_ name: String, tokenizerPath: String) throws -> ChatTemplate {
        switch name {
        case "raw": return .raw
        case "chatml": return .chatML
        case "deepseek-r1": return .deepSeekR1
        case "auto":
            guard let config = tokenizerConfigPath(near: tokenizerPath) else { return .raw }
            return try detect(tokenizerConfig: config)
        default: throw RPTError("unknown chat format '\(name)' (auto, raw, chatml, deepseek-r1)", file: "--chat")
        }
    }

    /// The tokenizer_config.json in a tokenizer directory, or beside a tokenizer file; nil when there is none.
    public static func tokenizerConfigPath(near tokenizerPath: String) -> String? {
        var isDir: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: tokenizerPath, isDirectory: &isDir)
        let dir = isDir.boolValue ? tokenizerPath : (tokenizerPath as NSString).deletingLastPathComponent
        let config = (dir.isEmpty ? "." : dir) + "/tokenizer_config.json"
        return FileManager.default.fileExists(atPath: config) ? config : nil
    }
}

extension ChatTemplate: CustomStringConvertible {
    public var description: String {
        if case .jinja(let t) = self { return "jinja(\(t.file))" }
        return rawValue
    }
}
