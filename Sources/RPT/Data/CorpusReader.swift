// Reads a pretraining corpus into documents:
//   plain text   one document per file, or documents separated by a delimiter (e.g. "\n\n\n", "<|endoftext|>");
//                a directory means all its *.txt files in sorted order
//   JSONL        one record per line; the document is a field (default "text") or a template over fields,
//                e.g. "{problem}\n\n{solution}"; a directory means all its *.jsonl files in sorted order
// Bad records (invalid UTF-8, empty documents, malformed JSON, missing fields) are counted and skipped with a
// warning naming file and line for the first few; a corpus with no usable document is an RPTError.

import Foundation

/// How to read a corpus.
public struct CorpusOptions: Sendable {
    public enum Format: Sendable, Equatable {
        /// JSONL for *.jsonl / *.ndjson / *.json files, plain text otherwise (and for directories).
        case automatic
        case text
        case jsonl
    }

    public var format: Format
    /// Plain text: the string between documents; nil means one document per file.
    public var documentDelimiter: String?
    /// JSONL: the field holding the document text (used when `template` is nil).
    public var textField: String
    /// JSONL: a template over several fields, e.g. "{problem}\n\n{solution}".
    public var template: TextTemplate?
    /// How many skips are reported as warnings (all are counted).
    public var maxWarnings: Int
    /// Strip GSM8K-style `<<expression=result>>` calculator annotations from the text and keep them as the
    /// document's calculations (CalculatorAnnotations.swift); the text is NFC-normalised first.
    public var calculations: Bool

    public init(format: Format = .automatic, documentDelimiter: String? = nil, textField: String = "text",
                template: TextTemplate? = nil, maxWarnings: Int = 5, calculations: Bool = false) {
        self.format = format
        self.documentDelimiter = documentDelimiter
        self.textField = textField
        self.template = template
        self.maxWarnings = maxWarnings
        self.calculations = calculations
    }
}

/// One document of a corpus, with a stable id: "name#k" (k-th piece of a text file, from 0), "name:line"
/// (JSONL), or "name" (a whole text file), where name is the file name.
public struct CorpusDocument: Sendable, Equatable {
    public var id: String
    /// The path of the file it came from.
    public var file: String
    /// The line (from 1) where it starts.
    public var line: Int
    public var text: String
    /// Calculator annotations stripped from the text (only when read with `CorpusOptions.calculations`).
    public var calculations: [Calculation]

    public init(id: String, file: String, line: Int, text: String, calculations: [Calculation] = []) {
        self.id = id
        self.file = file
        self.line = line
        self.text = text
        self.calculations = calculations
    }
}

/// The usable documents of a corpus and what was read and skipped.
public struct Corpus: Sendable {
    /// The path the corpus was read from.
    public var source: String
    public var documents: [CorpusDocument]
    public var stats: CorpusStats
}

public enum CorpusReader {
    /// Reads every usable document under `path`. Throws an RPTError naming the path when the path cannot be
    /// read or holds no usable document; bad records are skipped, counted and passed to `onWarning`.
    public static func read(path: String, options: CorpusOptions = CorpusOptions(),
                            onWarning: @escaping (String) -> Void = printDataWarning) throws -> Corpus {
        let jsonl: Bool
        switch options.format {
        case .text: jsonl = false
        case .jsonl: jsonl = true
        case .automatic: jsonl = DataFile.isJSONL(path)
        }
        let files = try DataFile.list(path, extensions: jsonl ? ["jsonl", "ndjson"] : ["txt"])
        var log = SkipLog(maxWarnings: options.maxWarnings, onWarning: onWarning)
        var documents: [CorpusDocument] = []
        for file in files {
            if jsonl {
                let template = options.template ?? .field(options.textField)
                try readJSONL(file, template: template, log: &log, into: &documents)
            } else if let delimiter = options.documentDelimiter, !delimiter.isEmpty {
                try readDelimitedText(file, delimiter: Array(delimiter.utf8), log: &log, into: &documents)
            } else {
                try readWholeFile(file, log: &log, into: &documents)
            }
        }
        if options.calculations {
            for i in documents.indices {
                let (text, calculations) = CalculatorAnnotations.strip(nfcNormalized(documents[i].text))
                documents[i].text = text
                documents[i].calculations = calculations
            }
        }
        guard !documents.isEmpty else {
            throw RPTError("corpus has no usable documents (\(log.stats.summary))", file: path)
        }
        return Corpus(source: path, documents: documents, stats: log.stats)
    }

    private static func readJSONL(_ file: String, template: TextTemplate, log: inout SkipLog,
                                  into documents: inout [CorpusDocument]) throws {
        let name = DataFile.displayName(file)
        try JSONLFile.forEachRecord(file, log: &log) { line, record in
            switch template.render(record) {
            case .failure(let missing):
                return .init(reason: .missingField, detail: "no field \"\(missing.name)\"")
            case .success(let text):
                if isBlank(text) { return .init(reason: .empty) }
                documents.append(CorpusDocument(id: "\(name):\(line)", file: file, line: line, text: text))
                return nil
            }
        }
    }

    private static func readWholeFile(_ file: String, log: inout SkipLog,
                                      into documents: inout [CorpusDocument]) throws {
        let data = try DataFile.map(file)
        log.stats.files += 1
        log.stats.read += 1
        let text = data.withUnsafeBytes { String(validating: $0.bindMemory(to: UInt8.self), as: UTF8.self) }
        guard let text else { log.skip(.invalidUTF8, at: file); return }
        guard !isBlank(text) else { log.skip(.empty, at: file); return }
        documents.append(CorpusDocument(id: DataFile.displayName(file), file: file, line: 1, text: text))
    }

    /// Splits on the delimiter's bytes; a blank piece after a final delimiter is not a document.
    private static func readDelimitedText(_ file: String, delimiter: [UInt8], log: inout SkipLog,
                                          into documents: inout [CorpusDocument]) throws {
        let data = try DataFile.map(file)
        log.stats.files += 1
        let name = DataFile.displayName(file)
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let bytes = raw.bindMemory(to: UInt8.self)
            var start = 0, line = 1, index = 0
            while start <= bytes.count {
                let end = find(delimiter, in: bytes, from: start) ?? bytes.count
                let piece = UnsafeBufferPointer(rebasing: bytes[start..<end])
                let isLast = end == bytes.count
                let newlines = piece.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
                defer {
                    line += newlines + delimiter.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
                    index += 1
                    start = end + delimiter.count
                }
                if isLast, index > 0, piece.allSatisfy(isBlankByte) { break }
                log.stats.read += 1
                let place = "\(file):\(line) (document \(index))"
                guard let text = String(validating: piece, as: UTF8.self) else { log.skip(.invalidUTF8, at: place); continue }
                guard !isBlank(text) else { log.skip(.empty, at: place); continue }
                documents.append(CorpusDocument(id: "\(name)#\(index)", file: file, line: line, text: text))
            }
        }
    }

    private static func find(_ needle: [UInt8], in haystack: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        guard let first = needle.first, haystack.count >= needle.count else { return nil }
        var i = start
        let last = haystack.count - needle.count
        while i <= last {
            if haystack[i] == first {
                var j = 1
                while j < needle.count, haystack[i + j] == needle[j] { j += 1 }
                if j == needle.count { return i }
            }
            i += 1
        }
        return nil
    }

    private static func isBlankByte(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 }

    static func isBlank(_ text: String) -> Bool { text.utf8.allSatisfy(isBlankByte) }
}
