// The RPT position dataset written by `rpt prepare` (paper §3.3, §4.1): JSONL, one scored position per line,
// read back by the trainer and the evaluator. Format "rpt-positions/1" (also docs/dataset-format.md):
//
//   "format"           "rpt-positions/1"
//   "doc_id"           corpus document id ("file:line" for JSONL, "file#k" / "file" for text)
//   "index"            t, the policy token index of the predicted token x_t (ids = [BOS] + encode(NFC(doc)))
//   "context"          text of x_<t: the document's exact bytes before x_t, decoded as UTF-8 (lossy only when
//                      x_t starts inside a character); left-truncated like context_ids
//   "context_ids"      policy ids of x_<t, left-truncated to --max-context-tokens (BOS kept only if not truncated)
//   "target_id"        x_t
//   "target"           text of x_t's bytes (lossy when x_t is part of a character)
//   "continuation_b64" base64 of the exact document bytes of x_t … x_{t+h−1} (h = --horizon, clipped at the end)
//   "boundaries"       cumulative byte lengths of those tokens: the reward's boundary set L_gt (paper §3.2);
//                      strictly increasing, last = byte length of the continuation
//   "proxy_entropy"    top-16 entropy (nats) of the proxy model at the aligned proxy token
//   "proxy_logprob"    the proxy's log-probability of its own aligned token
//   "calculation"      optional: the calculator annotation whose result x_t lies in (prepare --calculations),
//                      e.g. "47+8=55": the position is computable from its context
//   validation only:
//   "entropy"          the split model's top-16 entropy at this position
//   "splits"           difficulty splits the position is in: "easy" (> 0.5), "medium" (> 1.0), "hard" (> 1.5),
//                      nested, e.g. ["easy","medium"]
//
// Training positions are those with proxy_entropy > --entropy-threshold (optionally capped per document).
// Validation keeps ALL positions whose split-model entropy exceeds 0.5 — it is not filtered by the proxy
// threshold — because the difficulty splits define the evaluation sets (paper §4.1).
// Documents, never positions, are split between train.jsonl and val.jsonl.

import Foundation

/// Evaluation difficulty (paper §4.1): the split-model entropy exceeds 0.5 / 1.0 / 1.5. Nested.
public enum DifficultySplit: String, Sendable, CaseIterable, Codable {
    case easy, medium, hard

    public var threshold: Float {
        switch self {
        case .easy: return 0.5
        case .medium: return 1.0
        case .hard: return 1.5
        }
    }

    /// Every split whose threshold `entropy` exceeds, easiest first.
    public static func splits(forEntropy entropy: Float) -> [DifficultySplit] {
        allCases.filter { entropy > $0.threshold }
    }
}

/// One scored position.
public struct PositionRecord: Sendable, Equatable {
    public static let format = "rpt-positions/1"

    public var docId: String
    public var index: Int
    public var context: String
    public var contextIds: [Int]
    public var targetId: Int
    public var target: String
    /// Exact bytes of x_t … x_{t+h−1}.
    public var continuation: [UInt8]
    public var boundaries: [Int]
    public var proxyEntropy: Float
    public var proxyLogProb: Float
    /// Validation: the split model's entropy.
    public var entropy: Float?
    /// Validation: the difficulty splits.
    public var splits: [DifficultySplit]?
    /// The calculator annotation whose result x_t lies in, e.g. "47+8=55" (corpora read with calculations).
    public var calculation: String?

    public init(docId: String, index: Int, context: String, contextIds: [Int], targetId: Int, target: String,
                continuation: [UInt8], boundaries: [Int], proxyEntropy: Float, proxyLogProb: Float,
                entropy: Float? = nil, splits: [DifficultySplit]? = nil, calculation: String? = nil) {
        self.docId = docId; self.index = index; self.context = context; self.contextIds = contextIds
        self.targetId = targetId; self.target = target; self.continuation = continuation
        self.boundaries = boundaries; self.proxyEntropy = proxyEntropy; self.proxyLogProb = proxyLogProb
        self.entropy = entropy; self.splits = splits; self.calculation = calculation
    }

    /// One line of the file (no newline): the Codable encoding below with sorted keys, as `JSON.encoding(self)`
    /// serializes it (checked by the tests), written directly because contexts make these lines long.
    public var line: String { String(decoding: lineBytes, as: UTF8.self) }

    /// The UTF-8 bytes of `line`, written directly because contexts make these lines long.
    public var lineBytes: [UInt8] {
        var o = JSONBytes()
        o.bytes.reserveCapacity(64 + context.utf8.count + 6 * contextIds.count + 4 * boundaries.count + 2 * continuation.count)
        o.raw("{\"boundaries\":"); o.ints(boundaries)
        if let calculation { o.raw(",\"calculation\":"); o.string(calculation) }
        o.raw(",\"context\":"); o.string(context)
        o.raw(",\"context_ids\":"); o.ints(contextIds)
        o.raw(",\"continuation_b64\":\""); o.raw(Data(continuation).base64EncodedString()); o.raw("\"")
        o.raw(",\"doc_id\":"); o.string(docId)
        if let entropy { o.raw(",\"entropy\":"); o.raw(JSON.number(roundedToMicros(entropy)).serialized()) }
        o.raw(",\"format\":\"" + PositionRecord.format + "\"")
        o.raw(",\"index\":"); o.int(index)
        o.raw(",\"proxy_entropy\":"); o.raw(JSON.number(roundedToMicros(proxyEntropy)).serialized())
        o.raw(",\"proxy_logprob\":"); o.raw(JSON.number(roundedToMicros(proxyLogProb)).serialized())
        if let splits { o.raw(",\"splits\":[" + splits.map { "\"\($0.rawValue)\"" }.joined(separator: ",") + "]") }
        o.raw(",\"target\":"); o.string(target)
        o.raw(",\"target_id\":"); o.int(targetId); o.raw("}")
        return o.bytes
    }

    /// Parses and validates one line; errors name `file`, `line` and the field.
    public init(line text: String, file: String, line: Int) throws {
        let value: JSON
        do { value = try JSON.parse(Data(text.utf8), file: file) } catch let e as RPTError {
            throw RPTError("line \(line): malformed JSON (\(e.message))", file: file)
        }
        try self.init(json: value, file: file, line: line)
    }

    /// Decodes and validates one parsed line; errors name `file`, `line` and the field.
    public init(json value: JSON, file: String, line: Int) throws {
        do { self = try PositionRecord(from: JSONValueDecoder(value: value, codingPath: [])) } catch let e as DecodingError {
            throw RPTError("line \(line): \(e.fieldMessage)", file: file)
        }
    }
}

/// The line's fields (docs/dataset-format.md): what `lineBytes` writes and every reader decodes.
extension PositionRecord: Codable {
    enum CodingKeys: String, CodingKey {
        case boundaries, calculation, context, contextIds = "context_ids", continuation = "continuation_b64", docId = "doc_id"
        case entropy, format, index, proxyEntropy = "proxy_entropy", proxyLogProb = "proxy_logprob", splits, target
        case targetId = "target_id"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func invalid(_ key: CodingKeys, _ why: String) -> DecodingError {
            .dataCorruptedError(forKey: key, in: c, debugDescription: why)
        }
        guard try c.decode(String.self, forKey: .format) == PositionRecord.format else {
            throw invalid(.format, "must be \"\(PositionRecord.format)\"")
        }
        docId = try c.decode(String.self, forKey: .docId)
        index = try c.decode(Int.self, forKey: .index)
        guard index >= 1 else { throw invalid(.index, "must be ≥ 1, got \(index)") }
        context = try c.decode(String.self, forKey: .context)
        contextIds = try c.decode([Int].self, forKey: .contextIds)
        guard !contextIds.isEmpty, contextIds.count <= index else {
            throw invalid(.contextIds, "must hold 1 to index (\(index)) ids, got \(contextIds.count)")
        }
        guard contextIds.allSatisfy({ $0 >= 0 }) else { throw invalid(.contextIds, "token ids must be ≥ 0") }
        targetId = try c.decode(Int.self, forKey: .targetId)
        guard targetId >= 0 else { throw invalid(.targetId, "token ids must be ≥ 0") }
        target = try c.decode(String.self, forKey: .target)
        guard let bytes = Data(base64Encoded: try c.decode(String.self, forKey: .continuation)) else {
            throw invalid(.continuation, "not valid base64")
        }
        continuation = [UInt8](bytes)
        boundaries = try c.decode([Int].self, forKey: .boundaries)
        guard let last = boundaries.last, boundaries.first! > 0, zip(boundaries, boundaries.dropFirst()).allSatisfy({ $0 < $1 }),
              last == continuation.count else {
            throw invalid(.boundaries, "must be positive, strictly increasing and end at the continuation's \(continuation.count) bytes")
        }
        proxyEntropy = try c.decode(Float.self, forKey: .proxyEntropy)
        proxyLogProb = try c.decode(Float.self, forKey: .proxyLogProb)
        // Validation lines carry both the split model's entropy and the splits.
        entropy = try c.decodeIfPresent(Float.self, forKey: .entropy)
        if entropy != nil || c.contains(.splits) {
            guard entropy != nil else { throw invalid(.entropy, "a validation line needs the split model's entropy") }
            let names = try c.decode([String].self, forKey: .splits)
            splits = try names.map {
                guard let d = DifficultySplit(rawValue: $0) else { throw invalid(.splits, "unknown split \"\($0)\" (easy, medium, hard)") }
                return d
            }
        } else {
            splits = nil
        }
        calculation = try c.decodeIfPresent(String.self, forKey: .calculation)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(PositionRecord.format, forKey: .format)
        try c.encode(docId, forKey: .docId)
        try c.encode(index, forKey: .index)
        try c.encode(context, forKey: .context)
        try c.encode(contextIds, forKey: .contextIds)
        try c.encode(targetId, forKey: .targetId)
        try c.encode(target, forKey: .target)
        try c.encode(Data(continuation).base64EncodedString(), forKey: .continuation)
        try c.encode(boundaries, forKey: .boundaries)
        try c.encode(roundedToMicros(proxyEntropy), forKey: .proxyEntropy)
        try c.encode(roundedToMicros(proxyLogProb), forKey: .proxyLogProb)
        try c.encodeIfPresent(entropy.map(roundedToMicros), forKey: .entropy)
        try c.encodeIfPresent(splits, forKey: .splits)
        try c.encodeIfPresent(calculation, forKey: .calculation)
    }
}

/// Reads and writes position files.
public enum PositionDataset {
    /// Loads every position of a file; a malformed line is an RPTError naming the file and line.
    public static func read(path: String) throws -> [PositionRecord] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RPTError("cannot read position file", file: path)
        }
        guard let text = String(validating: [UInt8](data), as: UTF8.self) else {
            throw RPTError("position file is not valid UTF-8", file: path)
        }
        var out: [PositionRecord] = []
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.allSatisfy({ $0 == " " || $0 == "\r" || $0 == "\t" }) { continue }
            out.append(try PositionRecord(line: String(line), file: path, line: i + 1))
        }
        return out
    }

    /// Writes `records` atomically, one line each.
    public static func write(_ records: [PositionRecord], to path: String) throws {
        var data = Data()
        for r in records { data.append(contentsOf: r.lineBytes); data.append(0x0A) }
        try AtomicFile.write(data, to: path)
    }
}

/// A Float as a JSON number with 6 decimals (stable, readable files).
func roundedToMicros(_ x: Float) -> Double {
    guard x.isFinite else { return 0 }
    return (Double(x) * 1e6).rounded() / 1e6
}

/// A byte buffer for writing long JSON lines fast; strings are escaped exactly as `JSON.serialized()` does.
struct JSONBytes {
    var bytes: [UInt8] = []

    mutating func raw(_ s: String) { bytes.append(contentsOf: s.utf8) }

    mutating func int(_ v: Int) {
        if v < 0 { bytes.append(UInt8(ascii: "-")) }
        var m = v.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0)
        var n = 0
        withUnsafeMutableBytes(of: &digits) { d in
            repeat { d[n] = UInt8(m % 10) + 48; m /= 10; n += 1 } while m > 0
            for i in stride(from: n - 1, through: 0, by: -1) { bytes.append(d[i]) }
        }
    }

    mutating func ints(_ a: [Int]) {
        bytes.append(UInt8(ascii: "["))
        for (i, v) in a.enumerated() { if i > 0 { bytes.append(UInt8(ascii: ",")) }; int(v) }
        bytes.append(UInt8(ascii: "]"))
    }

    mutating func string(_ s: String) {
        let hex = Array("0123456789abcdef".utf8)
        bytes.append(0x22)
        for b in s.utf8 {
            switch b {
            case 0x22: bytes.append(0x5C); bytes.append(0x22)
            case 0x5C: bytes.append(0x5C); bytes.append(0x5C)
            case 0x0A: bytes.append(0x5C); bytes.append(UInt8(ascii: "n"))
            case 0x0D: bytes.append(0x5C); bytes.append(UInt8(ascii: "r"))
            case 0x09: bytes.append(0x5C); bytes.append(UInt8(ascii: "t"))
            case 0..<0x20:
                bytes.append(contentsOf: Array("\\u00".utf8)); bytes.append(hex[Int(b >> 4)]); bytes.append(hex[Int(b & 15)])
            default: bytes.append(b)
            }
        }
        bytes.append(0x22)
    }
}
