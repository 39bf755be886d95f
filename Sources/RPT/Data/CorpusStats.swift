// Counts of what a corpus reader read and skipped, and the log that records each skip: bad records
// (invalid UTF-8, empty documents, malformed JSON lines, records missing a field) are counted and
// skipped, never fatal, and the first few are reported as warnings naming the file and line.

import Foundation

/// Why a document or record was left out of a corpus.
public enum SkipReason: String, Sendable, CaseIterable, Codable {
    case invalidUTF8 = "invalid UTF-8"
    case empty = "empty document"
    case malformedJSON = "malformed JSON"
    case missingField = "missing field"
}

/// What a reader saw: records read, records kept, records skipped by reason, and the first warnings.
public struct CorpusStats: Sendable, Equatable {
    /// Files read.
    public var files = 0
    /// Documents (text) or non-blank lines (JSONL) encountered, kept or not.
    public var read = 0
    /// Skipped records by reason.
    public var skipped: [SkipReason: Int] = [:]
    /// The first warnings (at most the reader's `maxWarnings`), each naming file and line.
    public var warnings: [String] = []

    public init() {}

    /// Records skipped for `reason`.
    public func skipped(_ reason: SkipReason) -> Int { skipped[reason] ?? 0 }
    /// Records skipped for any reason.
    public var skippedTotal: Int { skipped.values.reduce(0, +) }
    /// Records kept.
    public var kept: Int { read - skippedTotal }

    /// One line: "read 10, kept 8, skipped 2 (1 malformed JSON, 1 empty document)".
    public var summary: String {
        var s = "read \(read), kept \(kept)"
        if skippedTotal > 0 {
            let parts = SkipReason.allCases.compactMap { r in skipped(r) > 0 ? "\(skipped(r)) \(r.rawValue)" : nil }
            s += ", skipped \(skippedTotal) (\(parts.joined(separator: ", ")))"
        }
        return s
    }
}

/// Writes a data warning to standard error (the default warning sink of the readers).
public func printDataWarning(_ message: String) {
    StandardError.write("warning: \(message)\n")
}

/// Counts reads and skips into a `CorpusStats`, passing the first `maxWarnings` skips to `onWarning`.
struct SkipLog {
    var stats = CorpusStats()
    let maxWarnings: Int
    let onWarning: (String) -> Void

    init(maxWarnings: Int, onWarning: @escaping (String) -> Void) {
        self.maxWarnings = maxWarnings
        self.onWarning = onWarning
    }

    mutating func skip(_ reason: SkipReason, at place: String, detail: String? = nil) {
        stats.skipped[reason, default: 0] += 1
        let n = stats.skippedTotal
        guard n <= maxWarnings else { return }
        var message = "\(place): skipped (\(reason.rawValue)\(detail.map { ": " + $0 } ?? ""))"
        if n == maxWarnings { message += "; further skips are counted without warnings" }
        stats.warnings.append(message)
        onWarning(message)
    }
}
