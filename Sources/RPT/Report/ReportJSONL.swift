// JSON-lines input of the report (a run's metrics.jsonl and completions.jsonl). A bad line is an error
// naming the file and the line, with one exception: a last line that is cut short (no newline at the
// end, not valid JSON) is what a run that is still writing leaves behind, so it is dropped and flagged.

import Foundation

struct ReportJSONL {
    var records: [(line: Int, object: [String: JSON])]
    /// The file ended in an incomplete line that was dropped.
    var droppedIncompleteLastLine = false

    static func read(_ path: String) throws -> ReportJSONL {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RPTError("cannot read file", file: path)
        }
        var out = ReportJSONL(records: [])
        let lines = data.split(separator: 0x0A, omittingEmptySubsequences: false)
        let endsWithNewline = data.last == 0x0A
        for (i, raw) in lines.enumerated() {
            var bytes = Array(raw)
            if bytes.last == 0x0D { bytes.removeLast() }
            if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            let isLast = i == lines.count - 1
            do {
                guard String(validating: bytes, as: UTF8.self) != nil else {
                    throw RPTError("line \(i + 1): not valid UTF-8", file: path)
                }
                let value = try JSON.parse(Data(bytes), file: path)
                guard let object = value.object else { throw RPTError("line \(i + 1): not a JSON object", file: path) }
                out.records.append((i + 1, object))
            } catch let e as RPTError {
                if isLast, !endsWithNewline {
                    out.droppedIncompleteLastLine = true
                    continue
                }
                let message = e.message.hasPrefix("line ") ? e.message : "line \(i + 1): \(e.message)"
                throw RPTError(message, file: path)
            }
        }
        return out
    }
}

extension JSON {
    /// A number, also from the strings that writers use for non-finite values ("NaN", "Infinity", "-inf");
    /// null is NaN; anything else is nil.
    var metricValue: Double? {
        switch self {
        case .number(let d): return d
        case .null: return .nan
        case .string(let s):
            switch s.lowercased() {
            case "nan": return .nan
            case "inf", "+inf", "infinity", "+infinity": return .infinity
            case "-inf", "-infinity": return -.infinity
            default: return nil
            }
        default: return nil
        }
    }
}
