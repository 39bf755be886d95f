// Reads supervised fine-tuning examples from JSONL: each record gives a prompt and a completion, by field
// name (default "prompt" / "completion") or by templates over fields ("{problem}" / "{solution}"). Bad
// lines (invalid UTF-8, malformed JSON, a missing field, an empty completion) are counted and skipped with a
// warning naming file and line for the first few; no usable example at all is an RPTError naming the file.

/// Where the prompt and completion of an SFT record come from.
public struct SFTOptions: Sendable {
    public var prompt: TextTemplate
    public var completion: TextTemplate
    /// How many skips are reported as warnings (all are counted).
    public var maxWarnings: Int

    public init(promptField: String = "prompt", completionField: String = "completion", maxWarnings: Int = 5) {
        self.init(prompt: .field(promptField), completion: .field(completionField), maxWarnings: maxWarnings)
    }

    public init(prompt: TextTemplate, completion: TextTemplate, maxWarnings: Int = 5) {
        self.prompt = prompt
        self.completion = completion
        self.maxWarnings = maxWarnings
    }
}

/// One prompt/completion pair with a stable id "name:line".
public struct SFTExample: Sendable, Equatable {
    public var id: String
    public var prompt: String
    public var completion: String

    public init(id: String, prompt: String, completion: String) {
        self.id = id
        self.prompt = prompt
        self.completion = completion
    }
}

public enum SFTReader {
    /// Reads the examples of a JSONL file (or of every *.jsonl file of a directory, in sorted order).
    public static func read(path: String, options: SFTOptions = SFTOptions(),
                            onWarning: @escaping (String) -> Void = printDataWarning) throws -> (examples: [SFTExample], stats: CorpusStats) {
        let files = try DataFile.list(path, extensions: ["jsonl", "ndjson"])
        var log = SkipLog(maxWarnings: options.maxWarnings, onWarning: onWarning)
        var examples: [SFTExample] = []
        for file in files {
            let name = DataFile.displayName(file)
            try JSONLFile.forEachRecord(file, log: &log) { line, record in
                switch (options.prompt.render(record), options.completion.render(record)) {
                case (.failure(let missing), _), (_, .failure(let missing)):
                    return .init(reason: .missingField, detail: "no field \"\(missing.name)\"")
                case (.success(let prompt), .success(let completion)):
                    if CorpusReader.isBlank(completion) { return .init(reason: .empty, detail: "empty completion") }
                    examples.append(SFTExample(id: "\(name):\(line)", prompt: prompt, completion: completion))
                    return nil
                }
            }
        }
        guard !examples.isEmpty else {
            throw RPTError("no usable prompt/completion examples (\(log.stats.summary))", file: path)
        }
        return (examples, log.stats)
    }
}
