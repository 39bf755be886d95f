// Per-step metrics as JSON lines (one object per line; the line types are in MetricsLines.swift), appended and flushed as they come. On resume
// the file is cut back to the checkpoint's step (rewritten atomically), so an interrupted run's later
// lines are not duplicated.

import Foundation

public final class MetricsLog {
    public let path: String
    private let handle: FileHandle

    /// Opens `path` for appending; when `keepThroughStep` is given, lines with a larger "step" are dropped first.
    public init(path: String, keepThroughStep: Int? = nil) throws {
        self.path = path
        let fm = FileManager.default
        try? fm.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        if let last = keepThroughStep, let data = fm.contents(atPath: path) {
            let kept = String(decoding: data, as: UTF8.self).split(separator: "\n").filter { line in
                guard let j = try? JSON.parse(Data(line.utf8), file: path), let s = j["step"]?.int else { return false }
                return s <= last
            }
            try AtomicFile.write(Data(kept.map { $0 + "\n" }.joined().utf8), to: path)
        }
        // Opened in place (truncated for a fresh run), never replaced: the path may be a device or a pipe.
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | (keepThroughStep == nil ? O_TRUNC : 0), 0o644)
        guard fd >= 0 else { throw RPTError("cannot open for writing: \(String(cString: strerror(errno)))", file: path) }
        handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    }

    deinit { try? handle.close() }

    /// Appends one line (a MetricsLines type) and returns it as a JSON object.
    @discardableResult
    public func append<Line: Encodable>(_ line: Line) throws -> [String: JSON] {
        let record = try JSON.encoding(line, file: path).object ?? [:]
        try append(record)
        return record
    }

    /// Appends one line; a failed write (a full disk) is an RPTError naming the file, never a trap.
    public func append(_ record: [String: JSON]) throws {
        do { try handle.write(contentsOf: Data((JSON.object(record).serialized() + "\n").utf8)) } catch {
            throw RPTError("cannot append: \(StandardOutput.reason(error))", file: path)
        }
    }
}
