// Reads supervised fine-tuning examples from JSONL. A record is one of:
//   - a text pair: a prompt and a completion, by field name (default "prompt" / "completion") or by templates
//     over fields ("{problem}" / "{solution}");
//   - TRL's conversational form: {"messages": [{"role": ..., "content": ...}, ...]}, trained on every
//     assistant message;
//   - TRL's conversational prompt-completion form: {"prompt": [messages], "completion": [messages]}, trained on
//     the completion's messages.
// Conversations are rendered later with the model's chat template (SFTDataset.swift); only each message's
// "role" and "content" (strings) are kept. Bad lines (invalid UTF-8, malformed JSON, a missing field, a message
// without string role/content, an empty completion or a conversation without an assistant message) are
// counted and skipped with a warning naming file and line for the first few; no usable example at all is an
// RPTError naming the file.

/// Where the prompt and completion of an SFT record come from.
public struct SFTOptions: Sendable {
    public var prompt: TextTemplate
    public var completion: TextTemplate
    /// The field of TRL's conversational form (a list of {role, content} messages).
    public var messagesField: String
    /// How many skips are reported as warnings (all are counted).
    public var maxWarnings: Int

    public init(promptField: String = "prompt", completionField: String = "completion", messagesField: String = "messages",
                maxWarnings: Int = 5) {
        self.init(prompt: .field(promptField), completion: .field(completionField), messagesField: messagesField,
                  maxWarnings: maxWarnings)
    }

    public init(prompt: TextTemplate, completion: TextTemplate, messagesField: String = "messages", maxWarnings: Int = 5) {
        self.prompt = prompt
        self.completion = completion
        self.messagesField = messagesField
        self.maxWarnings = maxWarnings
    }
}

/// A conversation to render with the model's chat template, and which of its messages are trained on.
public struct SFTConversation: Sendable, Equatable {
    public var messages: [ChatMessage]
    /// Per message: whether its tokens carry loss (the assistant turns, or the completion's messages).
    public var trained: [Bool]

    public init(messages: [ChatMessage], trained: [Bool]) {
        self.messages = messages
        self.trained = trained
    }

    /// TRL's `messages` form: every assistant message is trained on.
    public init(messages: [ChatMessage]) {
        self.init(messages: messages, trained: messages.map { $0.role == "assistant" })
    }

    /// TRL's conversational prompt-completion form: the completion's messages are trained on.
    public init(prompt: [ChatMessage], completion: [ChatMessage]) {
        self.init(messages: prompt + completion, trained: prompt.map { _ in false } + completion.map { _ in true })
    }
}

/// One example with a stable id "name:line": a prompt/completion text pair, or a conversation.
public struct SFTExample: Sendable, Equatable {
    public var id: String
    public var prompt: String
    public var completion: String
    /// Set for conversational records (then `prompt` and `completion` are empty).
    public var conversation: SFTConversation?

    public init(id: String, prompt: String, completion: String) {
        self.id = id
        self.prompt = prompt
        self.completion = completion
    }

    public init(id: String, conversation: SFTConversation) {
        self.id = id
        self.prompt = ""
        self.completion = ""
        self.conversation = conversation
    }
}

public enum SFTReader {
    /// Reads the examples of a JSONL file (or of every *.jsonl file of a directory, in sorted order).
    public static func read(path: String, options: SFTOptions = SFTOptions(),
                            onWarning: @escaping (String) -> Void = printDataWarning) throws -> (examples: [SFTExample], stats: CorpusStats) {
        let files = try DataFile.list(path, extensions: ["jsonl", "ndjson"])
        var log = SkipLog(maxWarnings: options.maxWarnings, onWarning: onWarning)
        var examples: [SFTExample] = []
        let promptField = options.prompt.singleField, completionField = options.completion.singleField
        for file in files {
            let name = DataFile.displayName(file)
            try JSONLFile.forEachRecord(file, log: &log) { line, record in
                let id = "\(name):\(line)"
                // TRL's conversational forms: a message list under "messages", or prompt and completion lists.
                if let promptField, let completionField, record[promptField]?.arrayValue != nil || record[completionField]?.arrayValue != nil {
                    let prompt: [ChatMessage], completion: [ChatMessage]
                    switch (messages(record[promptField], field: promptField), messages(record[completionField], field: completionField)) {
                    case (.failure(let bad), _), (_, .failure(let bad)): return bad.rejection
                    case (.success(let p), .success(let c)): (prompt, completion) = (p, c)
                    }
                    if completion.isEmpty { return .init(reason: .empty, detail: "empty completion") }
                    examples.append(SFTExample(id: id, conversation: SFTConversation(prompt: prompt, completion: completion)))
                    return nil
                }
                if let value = record[options.messagesField], promptField == nil || record[promptField!] == nil {
                    switch messages(value, field: options.messagesField) {
                    case .failure(let bad): return bad.rejection
                    case .success(let m):
                        guard m.contains(where: { $0.role == "assistant" }) else {
                            return .init(reason: .empty, detail: "no assistant message in \"\(options.messagesField)\"")
                        }
                        examples.append(SFTExample(id: id, conversation: SFTConversation(messages: m)))
                        return nil
                    }
                }
                switch (options.prompt.render(record), options.completion.render(record)) {
                case (.failure(let missing), _), (_, .failure(let missing)):
                    return .init(reason: .missingField, detail: "no field \"\(missing.name)\"")
                case (.success(let prompt), .success(let completion)):
                    if CorpusReader.isBlank(completion) { return .init(reason: .empty, detail: "empty completion") }
                    examples.append(SFTExample(id: id, prompt: prompt, completion: completion))
                    return nil
                }
            }
        }
        guard !examples.isEmpty else {
            throw RPTError("no usable prompt/completion or conversational examples (\(log.stats.summary))", file: path)
        }
        return (examples, log.stats)
    }

    /// A JSON list of {"role": string, "content": string} objects as messages, or why it is not one.
    private static func messages(_ value: JSONValue?, field: String) -> Result<[ChatMessage], BadMessages> {
        guard let value, !value.isNull else {
            return .failure(BadMessages(rejection: .init(reason: .missingField, detail: "no field \"\(field)\"")))
        }
        guard let list = value.arrayValue else {
            return .failure(BadMessages(rejection: .init(reason: .missingField, detail: "\"\(field)\" is not a list of messages")))
        }
        var out: [ChatMessage] = []
        for (i, m) in list.enumerated() {
            guard let role = m["role"]?.stringValue, let content = m["content"]?.stringValue else {
                return .failure(BadMessages(rejection: .init(reason: .missingField,
                                                             detail: "\"\(field)\" message \(i + 1) has no string \"role\" and \"content\"")))
            }
            out.append(ChatMessage(role: role, content: content))
        }
        return .success(out)
    }
}

/// Why a message list is unusable.
private struct BadMessages: Error {
    let rejection: JSONLFile.Rejection
}

extension TextTemplate {
    /// The field name when the template is exactly one field ("{prompt}"), else nil.
    var singleField: String? {
        if parts.count == 1, case .field(let name) = parts[0] { return name }
        return nil
    }
}
