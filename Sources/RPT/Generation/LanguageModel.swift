// A model together with its tokenizer, loaded from what users pass as `--model`: a Hugging Face
// directory (tokenizer.json inside), or a llama2.c `.bin` checkpoint plus `--tokenizer FILE`.

import Foundation

public struct LanguageModel: @unchecked Sendable {
    public let model: Model
    public let tokenizer: any Tokenizer
    public let modelPath: String

    public init(model: Model, tokenizer: any Tokenizer, modelPath: String) throws {
        self.model = model
        self.tokenizer = tokenizer
        self.modelPath = modelPath
        guard tokenizer.vocabSize <= model.config.vocabSize else {
            throw RPTError("tokenizer has \(tokenizer.vocabSize) ids but the model's vocabulary has only \(model.config.vocabSize)", file: modelPath)
        }
    }

    /// Loads `modelPath`; `tokenizerPath` overrides the tokenizer (required for llama2.c `.bin` files).
    public static func load(model modelPath: String, tokenizer tokenizerPath: String? = nil) throws -> LanguageModel {
        let model = try Model.load(path: modelPath)
        var isDir: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: modelPath, isDirectory: &isDir)
        let tokPath: String
        if let t = tokenizerPath {
            tokPath = t
        } else if isDir.boolValue {
            tokPath = modelPath
        } else {
            throw RPTError("a llama2.c checkpoint has no tokenizer inside: pass --tokenizer FILE (e.g. tokenizer.bin)", file: modelPath)
        }
        return try LanguageModel(model: model, tokenizer: try loadTokenizer(path: tokPath), modelPath: modelPath)
    }

    /// True for llama2.c checkpoints, whose sampler also stops at BOS (run.c's convention).
    public var isLlama2C: Bool { modelPath.hasSuffix(".bin") }

    /// Prompt ids: BOS (when the tokenizer family uses one) followed by the encoded text. Empty text
    /// gives just BOS, or the end-of-text token for families without BOS (Qwen).
    public func promptTokens(_ text: String) throws -> [Int] {
        var ids: [Int] = []
        if let bos = tokenizer.bosTokenId { ids.append(bos) }
        ids += tokenizer.encode(text)
        if ids.isEmpty {
            guard let start = tokenizer.eosTokenIds.first ?? model.config.eosTokenIds.first else {
                throw RPTError("empty prompt and the tokenizer has neither a BOS nor an end-of-text token to start from")
            }
            ids = [start]
        }
        return ids
    }

    /// Tokens that end a generation: the tokenizer's and the config's end-of-sequence ids.
    public var stopTokens: Set<Int> {
        var s = Set(tokenizer.eosTokenIds).union(model.config.eosTokenIds)
        if isLlama2C, let bos = tokenizer.bosTokenId { s.insert(bos) }
        return s
    }

    /// The text of `generated` as it reads after `prompt`, as an HF pipeline shows it: decode(prompt +
    /// generated) minus decode(prompt), with leading special tokens (BOS) left out, so a SentencePiece
    /// decoder drops the dummy-prefix space of the first word exactly as it would for plain text.
    /// llama2.c's tokenizer keeps BOS: run.c's rule strips that space only right after BOS.
    public func continuationText(prompt: [Int], generated: [Int]) -> String {
        var context = prompt[...]
        if !(tokenizer is Llama2cTokenizer) {
            while let first = context.first, tokenizer.isSpecial(first) { context = context.dropFirst() }
        }
        let full = tokenizer.decode(Array(context) + generated)
        let head = tokenizer.decode(Array(context))
        if full.hasPrefix(head) { return String(full.dropFirst(head.count)) }
        return tokenizer.decode(generated)
    }
}
