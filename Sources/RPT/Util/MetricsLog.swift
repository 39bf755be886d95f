// Per-step metrics as JSON lines (one object per line), appended and flushed as they come. On resume
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
        } else if keepThroughStep == nil {
            _ = fm.createFile(atPath: path, contents: nil)
        }
        if !fm.fileExists(atPath: path) { _ = fm.createFile(atPath: path, contents: nil) }
        guard let h = FileHandle(forWritingAtPath: path) else { throw RPTError("cannot open metrics file for writing", file: path) }
        handle = h
        handle.seekToEndOfFile()
    }

    deinit { try? handle.close() }

    public func append(_ record: [String: JSON]) {
        handle.write(Data((JSON.object(record).serialized() + "\n").utf8))
    }
}
