// The next-token reasoning prompt (RPT §3.1, App. D Table 10; docs/method.md §1.2–1.3): the context x_{<t} is
// placed in an instruction that asks for the next token inside \boxed{}, then optionally wrapped in the
// policy's chat template so that generation starts in the assistant turn (R1-style: after
// "<｜Assistant｜><think>\n").
//
// Template v0 (the one every RPT experiment used) is the paper's text; the line breaks are a reading of the
// PDF. Templates v1–v6 are RECONSTRUCTED from Table 10's structure and the phrases it uses (docs/method.md
// §1.2); they are not verbatim copies of the paper. v4's few-shot contexts are known only by their endings,
// so the examples start with "…".
//
// A user template (`.custom`) is any text with at least one `{context}` placeholder; every other brace is
// literal (the templates themselves contain \boxed{}).
//
// Left truncation (docs/method.md §1.4): when the prompt would exceed the budget, the OLDEST context tokens are
// dropped, never the instruction, and a context that then starts (or ends) inside a multi-byte UTF-8
// character loses those partial bytes so the prompt text stays valid UTF-8.

import Foundation

/// One of the paper's seven next-token prompt templates (v0 is the default), or a user template.
public enum NextTokenPromptTemplate: Sendable, Equatable, Hashable {
    case v0, v1, v2, v3, v4, v5, v6
    /// A user template: text with a `{context}` placeholder.
    case custom(String)

    /// The placeholder a template's context goes into.
    public static let contextPlaceholder = "{context}"

    /// The paper's templates in order v0…v6.
    public static let paperTemplates: [NextTokenPromptTemplate] = [.v0, .v1, .v2, .v3, .v4, .v5, .v6]

    /// "v0"…"v6", or "custom".
    public var name: String {
        switch self {
        case .v0: return "v0"
        case .v1: return "v1"
        case .v2: return "v2"
        case .v3: return "v3"
        case .v4: return "v4"
        case .v5: return "v5"
        case .v6: return "v6"
        case .custom: return "custom"
        }
    }

    /// A paper template by name ("v0"…"v6"); nil for any other name.
    public init?(name: String) {
        guard let t = NextTokenPromptTemplate.paperTemplates.first(where: { $0.name == name }) else { return nil }
        self = t
    }

    /// Reads a user template file; an RPTError naming the file when it cannot be read or has no `{context}`.
    public static func load(path: String) throws -> NextTokenPromptTemplate {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw RPTError("cannot read prompt template: \(error.localizedDescription)", file: path)
        }
        let template = NextTokenPromptTemplate.custom(text)
        try template.validate(label: path)
        return template
    }

    /// The template text with its `{context}` placeholder(s).
    public var text: String {
        switch self {
        case .v0: return PaperPromptText.v0
        case .v1: return PaperPromptText.v1
        case .v2: return PaperPromptText.v2
        case .v3: return PaperPromptText.v3
        case .v4: return PaperPromptText.v4
        case .v5: return PaperPromptText.v5
        case .v6: return PaperPromptText.v6
        case .custom(let text): return text
        }
    }

    /// Throws an RPTError (labelled `label`) when the template has no `{context}` placeholder.
    public func validate(label: String = "prompt template") throws {
        guard text.contains(NextTokenPromptTemplate.contextPlaceholder) else {
            throw RPTError("the prompt template has no \(NextTokenPromptTemplate.contextPlaceholder) placeholder", file: label)
        }
    }

    /// The template with every `{context}` replaced by `context` (the context itself is never re-scanned).
    public func fill(context: String) throws -> String {
        try validate()
        return text.components(separatedBy: NextTokenPromptTemplate.contextPlaceholder).joined(separator: context)
    }
}

/// The template texts. `{context}` stands for the paper's `{prompt_content}`.
enum PaperPromptText {
    /// The paper's v0 text (App. D, Table 10; docs/method.md §1.2).
    static let v0 = #"""
    Complete the given text under '### Context' by predicting the next token, and wrap it in '\boxed{}'. Please reason step by step to find the most probable next token as the final answer, and enclose it in \boxed{} (note: the token may begin with a space, e.g., \boxed{ para} or \boxed{ =}; do not use \text{}).

    ### Context
    {context}
    """#

    /// Reconstructed: v0 with "final prediction", `\\boxed{}`, and the context in triple backticks.
    static let v1 = #"""
    Complete the given text under '### Context' by predicting the next token, and wrap it in '\\boxed{}'. Please reason step by step to find the most probable next token as the final prediction, and enclose it in \\boxed{} (note: the token may begin with a space, e.g., \\boxed{ para} or \\boxed{ =}; do not use \\text{}).

    ### Context ```{context}```.
    """#

    /// Reconstructed: a role line, "Now, please complete…", examples ` para` / ` +=`, context in backticks.
    static let v2 = #"""
    You are a helpful assistant, good at predicting the next token for a given context.

    Now, please complete the given text under '### Context' by predicting the next token, and wrap it in \boxed{}. Please reason step by step to find the most probable next token as the final answer, and enclose it in \boxed{} (note: the token may begin with a space, e.g., \boxed{ para} or \boxed{ +=}; do not use \text{}).

    ### Context ```{context}```.
    """#

    /// Reconstructed: "list multiple potential tokens and select the most probable one", context in backticks.
    static let v3 = #"""
    Complete the given text under '### Context' by predicting the next token, list multiple potential tokens and select the most probable one as the final answer. Wrap your final answer in \boxed{} (note: the token may begin with a space, e.g., \boxed{ para} or \boxed{ =}; do not use \text{}).

    ### Context ```{context}```.
    """#

    /// Reconstructed: few-shot with Table 10's three examples (their contexts known only by their endings).
    static let v4 = #"""
    Complete the given text under '### Context' by predicting the next token, and wrap it in \boxed{}. Please reason step by step to find the most probable next token as the final answer, and enclose it in \boxed{} (note: the token may begin with a space, e.g., \boxed{ para} or \boxed{ =}; do not use \text{}). Here are some examples:

    ### Context

    ```…

    In``` The next token is \boxed{ this}

    ### Context

    ```…\left(2^{3}\right)=``` The next token is \boxed{9}

    ### Context

    ```…numerical exploration shows``` The next token is \boxed{:\n}

    Now, the context is: ### Context

    ```{context}```.
    """#

    /// Reconstructed: v1's text with "final answer".
    static let v5 = #"""
    Complete the given text under '### Context' by predicting the next token, and wrap it in '\\boxed{}'. Please reason step by step to find the most probable next token as the final answer, and enclose it in \\boxed{} (note: the token may begin with a space, e.g., \\boxed{ para} or \\boxed{ =}; do not use \\text{}).

    ### Context ```{context}```.
    """#

    /// Reconstructed from Table 10's wording.
    static let v6 = #"""
    Complete the given text wrapped in ``` and ``` by predicting the next token, list multiple potential tokens and select the most probable one as the final prediction. Wrap your final prediction in \boxed{} (note: the token may begin with a space, e.g., \boxed{ para} or \boxed{ =}; do not use \text{}). The context is: ```{context}```, now please predict the next token.
    """#
}

/// Renders next-token prompts: a template filled with the context, then wrapped in a chat template
/// (`.raw` for base models; `.deepSeekR1` or `.chatML` for chat/reasoning models).
public struct NextTokenPrompt: Sendable, Equatable {
    public var template: NextTokenPromptTemplate
    public var chat: ChatTemplate
    /// A system message for chat templates (nil: none; ignored by `.raw`).
    public var systemPrompt: String?

    public init(template: NextTokenPromptTemplate = .v0, chat: ChatTemplate = .raw, systemPrompt: String? = nil) {
        self.template = template
        self.chat = chat
        self.systemPrompt = systemPrompt
    }

    /// The full prompt text for `context`, ending where the model's generation starts.
    public func render(context: String) throws -> String {
        try chat.apply(messages: try messages(context: context), addGenerationPrompt: true)
    }

    /// The conversation the prompt renders: the system message (chat templates only) and the filled template
    /// as the user turn. Engines that apply the chat template themselves (verl) take these messages.
    public func messages(context: String) throws -> [ChatMessage] {
        var messages: [ChatMessage] = []
        if let systemPrompt, chat != .raw { messages.append(.system(systemPrompt)) }
        messages.append(.user(try template.fill(context: context)))
        return messages
    }

    /// A prompt built from context ids, left-truncated to a token budget.
    public struct Tokens: Sendable, Equatable {
        /// The prompt ids (BOS first when the tokenizer uses one), at most `maxPromptTokens` long.
        public var ids: [Int]
        /// The prompt text the ids encode.
        public var text: String
        /// The context text placed in the template (the kept tokens' bytes as text).
        public var context: String
        /// Context tokens kept (the newest ones).
        public var contextTokensKept: Int
        /// Oldest context tokens dropped to fit the budget.
        public var contextTokensDropped: Int
        /// Bytes of partial UTF-8 characters dropped at the edges of the kept context.
        public var partialCharacterBytesDropped: Int
    }

    /// The prompt ids for a context given as ids (e.g. x_{<t} of a document, optionally starting with BOS),
    /// dropping the oldest context tokens until the encoded prompt fits `maxPromptTokens`. The kept context is
    /// turned into text through its token bytes, less the SentencePiece dummy-prefix space of a context that
    /// starts the document (BOS first), which is not document text (ByteBoundaries.swift). Throws when even an
    /// empty context does not fit.
    public func promptTokens(contextIds: [Int], tokenizer: any Tokenizer, maxPromptTokens: Int) throws -> Tokens {
        var context = contextIds
        var startsDocument = false
        if let bos = tokenizer.bosTokenId, context.first == bos { context.removeFirst(); startsDocument = true }
        let total = context.count
        // The leading space is the tokenizer's dummy prefix when the text without it encodes to the same ids.
        let dummyPrefix: Bool = {
            guard startsDocument else { return false }
            let bytes = tokenizer.bytes(of: context)
            return bytes.first == 0x20 && tokenizer.encode(String(decoding: bytes.dropFirst(), as: UTF8.self)) == context
        }()

        func build(keep: Int) throws -> Tokens {
            var bytes = tokenizer.bytes(of: Array(context.suffix(keep)))
            if dummyPrefix && keep == total { bytes.removeFirst() }
            let (text, partial) = NextTokenPrompt.contextText(bytes)
            let prompt = try render(context: text)
            var ids = tokenizer.encode(prompt)
            if let bos = tokenizer.bosTokenId, ids.first != bos { ids.insert(bos, at: 0) }
            return Tokens(ids: ids, text: prompt, context: text, contextTokensKept: keep,
                          contextTokensDropped: total - keep,
                          partialCharacterBytesDropped: partial)
        }

        let empty = try build(keep: 0)
        guard empty.ids.count <= maxPromptTokens else {
            throw RPTError("the prompt without any context is \(empty.ids.count) tokens, over the budget of \(maxPromptTokens)",
                           file: "prompt template \(template.name)")
        }
        // Start from the estimate (budget minus the instruction's tokens) and shrink by the overshoot: tokens can
        // merge across the context's edges, so the encoded count is checked rather than assumed.
        var keep = min(total, maxPromptTokens - empty.ids.count)
        while keep > 0 {
            let candidate = try build(keep: keep)
            if candidate.ids.count <= maxPromptTokens { return candidate }
            keep -= max(1, candidate.ids.count - maxPromptTokens)
        }
        return empty
    }

    /// Text of a byte string cut from a longer UTF-8 text: leading continuation bytes (a character cut at the
    /// left) and an incomplete final character (cut at the right) are dropped. Returns the text and the number
    /// of bytes dropped.
    static func contextText(_ bytes: [UInt8]) -> (String, Int) {
        var start = 0
        while start < bytes.count, start < 3, bytes[start] & 0xC0 == 0x80 { start += 1 }
        var end = bytes.count
        // Walk back over at most 3 continuation bytes to the last lead byte; drop it if its sequence is incomplete.
        var lead = end - 1
        while lead >= start, lead > end - 4, bytes[lead] & 0xC0 == 0x80 { lead -= 1 }
        if lead >= start {
            let b = bytes[lead]
            let length = b < 0x80 ? 1 : b & 0xE0 == 0xC0 ? 2 : b & 0xF0 == 0xE0 ? 3 : b & 0xF8 == 0xF0 ? 4 : 1
            if end - lead < length { end = lead }
        }
        let text = String(decoding: bytes[start..<max(start, end)], as: UTF8.self)
        return (text, start + (bytes.count - max(start, end)))
    }
}
