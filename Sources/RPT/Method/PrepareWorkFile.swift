// The resumable record of an `rpt prepare` run: DIR/.work/scored.jsonl, one line per scored document
// {"doc": corpus index, "doc_id", "split": "train"|"val", "counts": {...}, "positions": [position lines],
//  "scored": [t, entropy bits, log-prob bits, ...]}, written (one write call) as soon as the document is scored.
// Validation documents hold their final positions (they do not depend on the training threshold); training
// documents hold every scored position's proxy entropy and log-probability (as Float bit patterns, so they read
// back exactly), from which the final files select with the current --entropy-threshold and cap: changing only
// those re-selects without re-scoring. On resume, complete lines are kept; a final line cut short by a kill is
// truncated away, and its document is scored again.

import Foundation

enum WorkFile {
    /// A training position's proxy values, kept so that selection can be redone.
    struct ScoredPosition: Equatable {
        var index: Int
        var entropy: Float
        var logProb: Float
    }

    struct Entry {
        var index: Int
        var docId: String
        var isValidation: Bool
        var counts: PrepareCounts
        var records: [PositionRecord]
        /// Training documents: every scored position (the candidates of selection).
        var scored: [ScoredPosition] = []

        /// The line (no newline), built as bytes: documents hold many long position lines.
        var lineBytes: [UInt8] {
            var o = JSONBytes()
            o.raw("{\"counts\":" + counts.json.serialized() + ",\"doc\":"); o.int(index)
            o.raw(",\"doc_id\":"); o.string(docId)
            o.raw(",\"positions\":[")
            for (i, r) in records.enumerated() { if i > 0 { o.raw(",") }; o.bytes += r.lineBytes }
            o.raw("],\"scored\":[")
            for (i, p) in scored.enumerated() {
                if i > 0 { o.raw(",") }
                o.int(p.index); o.raw(","); o.int(Int(p.entropy.bitPattern)); o.raw(","); o.int(Int(p.logProb.bitPattern))
            }
            o.raw("],\"split\":\"" + (isValidation ? "val" : "train") + "\"}\n")
            return o.bytes
        }

        init(index: Int, docId: String, isValidation: Bool, counts: PrepareCounts, records: [PositionRecord], scored: [ScoredPosition] = []) {
            self.index = index; self.docId = docId; self.isValidation = isValidation; self.counts = counts; self.records = records
            self.scored = scored
        }

        init(json: JSON, file: String, line: Int) throws {
            guard let i = json["doc"]?.int, let id = json["doc_id"]?.string, let s = json["split"]?.string,
                  s == "train" || s == "val", let c = json["counts"], let ps = json["positions"]?.array else {
                throw RPTError("line \(line): not a scored-document record", file: file)
            }
            index = i; docId = id; isValidation = s == "val"
            counts = try PrepareCounts(json: c, file: file)
            records = try ps.map { try PositionRecord(json: $0, file: file, line: line) }
            guard let flat = json["scored"]?.array, flat.count % 3 == 0 else {
                throw RPTError("line \(line): no \"scored\" triples (a work file of an earlier rpt: remove the work directory)", file: file)
            }
            scored.reserveCapacity(flat.count / 3)
            for k in stride(from: 0, to: flat.count, by: 3) {
                guard let t = flat[k].int, t >= 0, let e = flat[k + 1].int, let l = flat[k + 2].int,
                      let eb = UInt32(exactly: e), let lb = UInt32(exactly: l) else {
                    throw RPTError("line \(line): \"scored\" holds a value that is not a position and two Float bit patterns", file: file)
                }
                scored.append(ScoredPosition(index: t, entropy: Float(bitPattern: eb), logProb: Float(bitPattern: lb)))
            }
        }
    }

    /// Where one scored document's line lies in the work file, and its counts (its positions stay on disk).
    struct Summary {
        var isValidation: Bool
        var counts: PrepareCounts
        var offset: UInt64
        var length: Int
    }

    /// The complete entries of the work file (none when it does not exist), truncating a cut-off last line.
    /// Every line is parsed and validated; only summaries are kept in memory.
    static func load(_ path: String, documents: Int) throws -> [Int: Summary] {
        guard let data = FileManager.default.contents(atPath: path) else { return [:] }
        var end = data.count
        if let lastNewline = data.lastIndex(of: 0x0A) {
            end = lastNewline + 1
        } else {
            end = 0
        }
        if end < data.count { try truncate(path, to: end) }
        var out: [Int: Summary] = [:]
        var lineNumber = 0
        var start = 0
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            while start < end {
                var stop = start
                while raw[stop] != 0x0A { stop += 1 }
                lineNumber += 1
                if stop > start {
                    let e = try parse(Data(raw[start..<stop]), file: path, line: lineNumber)
                    guard e.index >= 0, e.index < documents else {
                        throw RPTError("line \(lineNumber): document \(e.index) is not in this corpus; remove the work directory", file: path)
                    }
                    out[e.index] = Summary(isValidation: e.isValidation, counts: e.counts, offset: UInt64(start), length: stop - start)
                }
                start = stop + 1
            }
        }
        return out
    }

    static func parse(_ line: Data, file: String, line number: Int) throws -> Entry {
        let json: JSON
        do { json = try JSON.parse(line, file: file) } catch let e as RPTError {
            throw RPTError("line \(number): \(e.message)", file: file)
        }
        return try Entry(json: json, file: file, line: number)
    }

    /// Reads back the entry of `summary` (random access, so final files can follow corpus order).
    static func read(_ handle: FileHandle, _ summary: Summary, path: String) throws -> Entry {
        do {
            try handle.seek(toOffset: summary.offset)
            guard let data = try handle.read(upToCount: summary.length), data.count == summary.length else {
                throw RPTError("work file shorter than expected", file: path)
            }
            return try parse(data, file: path, line: 0)
        } catch let e as RPTError { throw e } catch {
            throw RPTError("cannot read work file (\(error.localizedDescription))", file: path)
        }
    }

    private static func truncate(_ path: String, to size: Int) throws {
        guard Foundation.truncate(path, off_t(size)) == 0 else { throw RPTError("cannot truncate (errno \(errno))", file: path) }
    }

    /// Appends lines to the work file, each with one write so a kill leaves at most one partial line.
    final class Appender {
        let handle: FileHandle
        let path: String
        /// Byte offset where the next line starts.
        private(set) var offset: UInt64

        init(path: String) throws {
            self.path = path
            if !FileManager.default.fileExists(atPath: path) {
                guard FileManager.default.createFile(atPath: path, contents: nil) else { throw RPTError("cannot create work file", file: path) }
            }
            do {
                handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
                offset = try handle.seekToEnd()
            } catch { throw RPTError("cannot open work file (\(error.localizedDescription))", file: path) }
        }

        /// Appends one line (with its newline) and returns its offset.
        func append(_ line: [UInt8]) throws -> UInt64 {
            let at = offset
            do { try handle.write(contentsOf: Data(line)) } catch {
                throw RPTError("cannot append (\(error.localizedDescription))", file: path)
            }
            offset += UInt64(line.count)
            return at
        }

        func close() throws { try? handle.close() }
    }
}
