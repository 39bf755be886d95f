// Strict JSON-lines reading for the analysis tools (`rpt fit`, `rpt patterns`): every non-blank line must
// be a JSON object. Unlike the corpus reader (which counts and skips bad lines), a bad line here is an
// error naming the file and the line, because a silently dropped point or trace changes the result.

import Foundation

enum JSONLines {
    /// The objects of `path` with their 1-based line numbers; blank lines are passed over.
    /// Throws for an unreadable file, invalid UTF-8, malformed JSON, a non-object line, or no records.
    static func read(_ path: String) throws -> [(line: Int, record: JSONObject)] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RPTError("cannot read file", file: path)
        }
        var out: [(line: Int, record: JSONObject)] = []
        var lineNumber = 0
        for raw in data.split(separator: 0x0A, omittingEmptySubsequences: false) {
            lineNumber += 1
            var bytes = Array(raw)
            if bytes.last == 0x0D { bytes.removeLast() }
            if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            guard String(validating: bytes, as: UTF8.self) != nil else {
                throw RPTError("line \(lineNumber): not valid UTF-8", file: path)
            }
            let value: JSONValue
            do { value = try JSONReader.parse(bytes, file: path) } catch let e as RPTError {
                throw RPTError("line \(lineNumber): \(e.message)", file: path)
            }
            guard let object = value.objectValue else {
                throw RPTError("line \(lineNumber): not a JSON object", file: path)
            }
            out.append((lineNumber, object))
        }
        guard !out.isEmpty else { throw RPTError("no records (the file is empty)", file: path) }
        return out
    }
}
