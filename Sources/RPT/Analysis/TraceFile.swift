// Reasoning traces for `rpt patterns`, one JSON object per line: the text is the field "completion" (what
// `rpt train` writes to completions.jsonl and eval dumps use), else "text", else "response", unless a
// field is named. A trace can be analysed whole, only its thinking (before "</think>"), or only what
// follows "</think>" (empty when the thinking never closed).

import Foundation

public enum TracePart: String, Sendable, CaseIterable {
    case whole, think, afterThink = "after-think"

    public func extract(_ text: String) -> String {
        switch self {
        case .whole: return text
        case .think:
            let thinking = text.range(of: "</think>").map { String(text[..<$0.lowerBound]) } ?? text
            return thinking.range(of: "<think>").map { String(thinking[$0.upperBound...]) } ?? thinking
        case .afterThink:
            return text.range(of: "</think>").map { String(text[$0.upperBound...]) } ?? ""
        }
    }
}

public enum TraceFile {
    public static let defaultFields = ["completion", "text", "response"]

    /// The trace texts of `path`; `field` nil → the first of `defaultFields` present on each line.
    /// Errors name the file and the line (malformed JSON, missing or non-string field, empty file).
    /// With `label`, only records whose "label" field equals it (one model of an `rpt eval --dump`).
    public static func load(path: String, field: String? = nil, part: TracePart = .whole, label: String? = nil) throws -> [String] {
        let candidates = field.map { [$0] } ?? defaultFields
        let records = try JSONLines.read(path).filter { _, record in label == nil || record["label"]?.stringValue == label }
        if let label, records.isEmpty { throw RPTError("no record has \"label\": \"\(label)\"", file: path) }
        return try records.map { line, record in
            guard let key = candidates.first(where: { record[$0] != nil }) else {
                let names = candidates.map { "\"\($0)\"" }.joined(separator: ", ")
                throw RPTError("line \(line): no \(names) field", file: path)
            }
            guard let text = record[key]?.stringValue else {
                throw RPTError("line \(line): \"\(key)\" is not a string", file: path)
            }
            return part.extract(text)
        }
    }
}
