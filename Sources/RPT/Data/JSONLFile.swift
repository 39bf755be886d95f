// Reading data files: mapping a file without copying it, listing a directory's data files, and walking a
// JSONL file's records with their line numbers. A line that is not valid UTF-8, not valid JSON or not a
// JSON object is counted in a SkipLog and skipped; blank lines are not records.

import Foundation

enum DataFile {
    /// The file's bytes, memory-mapped (a large corpus is not read into memory a second time).
    static func map(_ path: String) throws -> Data {
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw RPTError("cannot read file: \(error.localizedDescription)", file: path)
        }
    }

    /// `path` itself, or for a directory its files ending in one of `extensions`, in sorted order.
    static func list(_ path: String, extensions: [String]) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw RPTError("file not found", file: path)
        }
        guard isDirectory.boolValue else { return [path] }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: path)
        } catch {
            throw RPTError("cannot list directory: \(error.localizedDescription)", file: path)
        }
        let files = names.filter { name in extensions.contains { name.hasSuffix("." + $0) } }.sorted()
        guard !files.isEmpty else {
            throw RPTError("directory has no \(extensions.map { "*." + $0 }.joined(separator: " or ")) files", file: path)
        }
        return files.map { URL(fileURLWithPath: path).appendingPathComponent($0).path }
    }

    /// Whether a path names a JSONL file by its extension.
    static func isJSONL(_ path: String) -> Bool {
        ["jsonl", "ndjson", "json"].contains(URL(fileURLWithPath: path).pathExtension.lowercased())
    }

    /// A short, location-independent name for document ids: the file name.
    static func displayName(_ path: String) -> String { URL(fileURLWithPath: path).lastPathComponent }
}

enum JSONLFile {
    /// Why `forEachRecord`'s body rejected a record.
    struct Rejection {
        var reason: SkipReason
        var detail: String?
    }

    /// Calls `body(line, record)` for each JSON object line of `path` (1-based line numbers); a rejection it
    /// returns is counted in `log`. Blank lines are passed over; invalid UTF-8 and malformed JSON are counted
    /// in `log` and skipped.
    static func forEachRecord(_ path: String, log: inout SkipLog,
                              _ body: (_ line: Int, _ record: JSONObject) -> Rejection?) throws {
        let data = try DataFile.map(path)
        log.stats.files += 1
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let bytes = raw.bindMemory(to: UInt8.self)
            var start = 0, lineNumber = 0
            while start < bytes.count {
                lineNumber += 1
                var end = start
                while end < bytes.count, bytes[end] != 0x0A { end += 1 }
                var contentEnd = end
                if contentEnd > start, bytes[contentEnd - 1] == 0x0D { contentEnd -= 1 }
                let line = UnsafeBufferPointer(rebasing: bytes[start..<contentEnd])
                start = end + 1
                if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
                log.stats.read += 1
                let place = "\(path):\(lineNumber)"
                guard String(validating: line, as: UTF8.self) != nil else {
                    log.skip(.invalidUTF8, at: place)
                    continue
                }
                let value: JSONValue
                do {
                    value = try JSONReader.parse(Array(line), file: path)
                } catch let e as RPTError {
                    log.skip(.malformedJSON, at: place, detail: e.message)
                    continue
                } catch {
                    log.skip(.malformedJSON, at: place, detail: "\(error)")
                    continue
                }
                guard let record = value.objectValue else {
                    log.skip(.malformedJSON, at: place, detail: "not a JSON object")
                    continue
                }
                if let rejection = body(lineNumber, record) {
                    log.skip(rejection.reason, at: place, detail: rejection.detail)
                }
            }
        }
    }
}
