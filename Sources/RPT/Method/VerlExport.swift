// Prepared positions as verl training rows (docs/verl.md). verl's RLHFDataset reads one row per prompt:
//
//   data_source   "rpt"; the reward module refuses any other source
//   prompt        the chat messages `rpt train` renders (system turn for chat templates, then the filled
//                 next-token template); verl applies the policy's chat template to them itself
//   ability       "next-token-reasoning"
//   reward_model  {"style": "rule", "ground_truth": JSON text of VerlGroundTruth} — everything the reward needs
//   extra_info    doc_id, index (t), target (x_t's text), target_id, entropy (the split model's on validation
//                 rows, the proxy's on training rows), proxy_entropy, split (hardest difficulty split by that
//                 entropy, or "none"), calculation ("" when none), row
//
// The ground truth is a JSON string, not a nested object, so that every row has the same Arrow schema
// whatever its boundary count, and so that the reward sees exactly what was written.

import Foundation

/// What the reward needs for one position (format "rpt-verl/1"), read by Assets/verl/rpt_reward.py.
public struct VerlGroundTruth: Sendable, Equatable {
    public static let format = "rpt-verl/1"

    /// Exact bytes of x_t … x_{t+h−1}.
    public var continuation: [UInt8]
    /// L_gt: cumulative byte lengths of the continuation's tokens.
    public var boundaries: [Int]
    public var targetId: Int
    /// R1-style formats fail a response without `</think>`.
    public var requireThinkClose: Bool
    /// SHA-256 of the policy tokenizer file the boundaries come from, and its name.
    public var tokenizerSHA256: String
    public var tokenizer: String

    public init(continuation: [UInt8], boundaries: [Int], targetId: Int, requireThinkClose: Bool, tokenizerSHA256: String, tokenizer: String) {
        self.continuation = continuation; self.boundaries = boundaries; self.targetId = targetId
        self.requireThinkClose = requireThinkClose; self.tokenizerSHA256 = tokenizerSHA256; self.tokenizer = tokenizer
    }

    public var json: JSON {
        .object(["format": .string(VerlGroundTruth.format),
                 "continuation_b64": .string(Data(continuation).base64EncodedString()),
                 "boundaries": .array(boundaries.map { .number(Double($0)) }),
                 "target_id": .number(Double(targetId)),
                 "require_think_close": .bool(requireThinkClose),
                 "tokenizer_sha256": .string(tokenizerSHA256),
                 "tokenizer": .string(tokenizer)])
    }

    /// The text stored in `reward_model.ground_truth`.
    public var text: String { json.serialized() }
}

/// The identity of a tokenizer file: the path that was loaded and the SHA-256 of its bytes.
public struct TokenizerIdentity: Sendable, Equatable {
    public var file: String
    public var sha256: String

    /// The file `loadTokenizer(path:)` reads for `path` (a directory's tokenizer.json or llama2.c .bin).
    public init(path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw RPTError("tokenizer not found", file: path) }
        var file = path
        if isDirectory.boolValue {
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
            guard let name = names.first(where: { $0 == "tokenizer.json" })
                    ?? names.first(where: { $0 == "tokenizer.bin" || ($0.hasPrefix("tok") && $0.hasSuffix(".bin")) }) else {
                throw RPTError("directory has no tokenizer.json (or llama2.c tokenizer.bin)", file: path)
            }
            file = (path as NSString).appendingPathComponent(name)
        }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: file)) } catch {
            throw RPTError("cannot read tokenizer: \(error.localizedDescription)", file: file)
        }
        self.file = file
        sha256 = SHA256Digest.hex([UInt8](data))
    }
}

/// Builds verl rows from positions with one reasoning format and tokenizer.
public struct VerlRowBuilder {
    public let format: ReasoningFormat
    public let tokenizer: any Tokenizer
    public let identity: TokenizerIdentity
    public let maxPromptTokens: Int

    public init(format: ReasoningFormat, tokenizer: any Tokenizer, identity: TokenizerIdentity, maxPromptTokens: Int) {
        self.format = format; self.tokenizer = tokenizer; self.identity = identity; self.maxPromptTokens = maxPromptTokens
    }

    /// One row and its prompt's token count (as `rpt train` would feed it, chat template included).
    public func row(_ r: PositionRecord, index: Int) throws -> (json: JSON, promptTokens: Int) {
        let p = try format.prompt.promptTokens(contextIds: r.contextIds, tokenizer: tokenizer, maxPromptTokens: maxPromptTokens)
        let messages = try format.prompt.messages(context: p.context)
        let truth = VerlGroundTruth(continuation: r.continuation, boundaries: r.boundaries, targetId: r.targetId,
                                    requireThinkClose: format.extractor.requireThinkClose, tokenizerSHA256: identity.sha256,
                                    tokenizer: (identity.file as NSString).lastPathComponent)
        let entropy = r.entropy ?? r.proxyEntropy
        let split = DifficultySplit.splits(forEntropy: entropy).last?.rawValue ?? "none"
        let extra: JSON = .object([
            "doc_id": .string(r.docId), "index": .number(Double(r.index)), "target": .string(r.target),
            "target_id": .number(Double(r.targetId)), "entropy": .number(roundedToMicros(entropy)),
            "proxy_entropy": .number(roundedToMicros(r.proxyEntropy)), "split": .string(split),
            "calculation": .string(r.calculation ?? ""), "row": .number(Double(index)),
        ])
        let row: JSON = .object([
            "data_source": .string("rpt"),
            "prompt": .array(messages.map { .object(["role": .string($0.role), "content": .string($0.content)]) }),
            "ability": .string("next-token-reasoning"),
            "reward_model": .object(["style": .string("rule"), "ground_truth": .string(truth.text)]),
            "extra_info": extra,
        ])
        return (row, p.ids.count)
    }
}
