// A Hugging Face chat template (tokenizer_config.json `chat_template`) rendered by the Jinja interpreter of
// JinjaLexer/JinjaParser/JinjaRuntime.swift, as transformers' `apply_chat_template(tokenize=False)` renders it
// (src/transformers/utils/chat_template_utils.py, `render_jinja_template`): the context is the tokenizer's
// special tokens (bos_token, eos_token, unk_token, sep_token, pad_token, cls_token, mask_token, from
// tokenizer_config.json, a string or an AddedToken object's "content"), then `messages`, `tools` = none,
// `documents` = none, `add_generation_prompt`, and any extra variables (e.g. Qwen3's `enable_thinking`).
// Byte-identical to transformers on the fixtures of Tests/Fixtures/chat_templates (JinjaChatTemplateTests).
//
// `chat_template` may be a string or a list of {"name", "template"}: the one named "default" is used, as
// transformers does when no tools are given; a chat_template.jinja beside the tokenizer_config.json takes
// priority, as in transformers. A template the interpreter cannot parse is an RPTError naming
// the file, the line and the construct; so is a `raise_exception(...)` the template calls while rendering.

import Foundation

public struct JinjaChatTemplate: Sendable, Equatable {
    /// The template text.
    public let source: String
    /// Where it came from (a tokenizer_config.json), for error messages.
    public let file: String
    /// Special tokens passed to the template by name (bos_token, eos_token, ...).
    public let specialTokens: [String: String]
    /// What `strftime_now()` formats (Llama 3.2 prints today's date); nil: the current time.
    public var now: Date?
    let template: JinjaTemplate

    /// The special-token names transformers passes to templates (its special_tokens_map).
    public static let specialTokenNames = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"]

    /// Parses `source`; an RPTError naming `file` when the template uses anything this interpreter lacks.
    public init(source: String, file: String, specialTokens: [String: String] = [:], now: Date? = nil) throws {
        self.source = source
        self.file = file
        self.specialTokens = specialTokens
        self.now = now
        do { template = try JinjaTemplate(source) } catch let e as JinjaError {
            throw RPTError("unsupported chat_template (\(e)); rpt's Jinja interpreter covers the subset Llama 3, Qwen2.5/3 and DeepSeek-R1 templates use", file: file)
        }
    }

    public static func == (a: JinjaChatTemplate, b: JinjaChatTemplate) -> Bool {
        a.source == b.source && a.file == b.file && a.specialTokens == b.specialTokens && a.now == b.now
    }

    /// The chat template of a tokenizer_config.json, or nil when the file has none. A chat_template.jinja beside
    /// it takes priority, as in transformers (which saves templates there since 4.50). Errors: an unreadable or
    /// malformed file, an unsupported template.
    public static func load(tokenizerConfig path: String) throws -> JinjaChatTemplate? {
        let (text, tokens) = try read(tokenizerConfig: path)
        let jinjaFile = ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent("chat_template.jinja")
        if let data = FileManager.default.contents(atPath: jinjaFile) {
            guard let source = String(data: data, encoding: .utf8) else { throw RPTError("chat_template.jinja is not UTF-8 text", file: jinjaFile) }
            return try JinjaChatTemplate(source: source, file: jinjaFile, specialTokens: tokens)
        }
        guard let text else { return nil }
        return try JinjaChatTemplate(source: text, file: path, specialTokens: tokens)
    }

    /// The `chat_template` text (the "default" one of a list; nil when there is none) and the special tokens of a
    /// tokenizer_config.json.
    static func read(tokenizerConfig path: String) throws -> (String?, [String: String]) {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw RPTError("cannot read tokenizer config: \(error.localizedDescription)", file: path)
        }
        let root = try JSONReader.parse([UInt8](data), file: path)
        guard root.objectValue != nil else { throw RPTError("tokenizer_config.json is not a JSON object", file: path) }
        var text: String? = root["chat_template"]?.stringValue
        if text == nil, let list = root["chat_template"]?.arrayValue {
            guard let named = list.first(where: { $0["name"]?.stringValue == "default" }) else {
                let names = list.compactMap { $0["name"]?.stringValue }
                throw RPTError("chat_template is a list without a \"default\" template (it has \(names.joined(separator: ", ")))", file: path)
            }
            guard let t = named["template"]?.stringValue else { throw RPTError("the \"default\" chat_template has no template text", file: path) }
            text = t
        }
        var tokens: [String: String] = [:]
        for name in specialTokenNames {
            guard let v = root[name] else { continue }
            if let s = v.stringValue ?? v["content"]?.stringValue { tokens[name] = s }
        }
        return (text, tokens)
    }

    /// Renders a conversation. `variables`: extra template variables (e.g. ["enable_thinking": false]).
    public func render(messages: [ChatMessage], addGenerationPrompt: Bool, variables: [String: Bool] = [:]) throws -> String {
        try render(messageValues: messages.map(\.templateValue), addGenerationPrompt: addGenerationPrompt,
                   variables: variables.mapValues { .bool($0) }).text
    }

    /// Renders messages given as template values (dicts with any keys, as a data record has them), returning the
    /// text and the UTF-8 ranges a `{% generation %}` block wrote.
    func render(messageValues: [JinjaValue], addGenerationPrompt: Bool,
                variables: [String: JinjaValue] = [:]) throws -> (text: String, generation: [Range<Int>]) {
        var context: [String: JinjaValue] = specialTokens.mapValues { .string($0) }
        context["messages"] = .list(messageValues)
        context["tools"] = JinjaValue.none
        context["documents"] = JinjaValue.none
        context["add_generation_prompt"] = .bool(addGenerationPrompt)
        for (k, v) in variables { context[k] = v }
        let runtime = JinjaRuntime(variables: context, now: now ?? Date())
        do {
            let text = try runtime.render(template)
            return (text, runtime.generationSpans)
        } catch let e as JinjaError {
            throw RPTError("chat_template failed: \(e)", file: file)
        }
    }
}

extension ChatMessage {
    /// {"role": ..., "content": ...} as the template sees it.
    var templateValue: JinjaValue {
        .dict(JinjaDict([("role", .string(role)), ("content", .string(content))]))
    }
}
