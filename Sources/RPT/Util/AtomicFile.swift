// Atomic file writes: write to a temporary file in the same directory, fsync, then rename over the
// destination, so an interrupted run never leaves a half-written file where a good one was.
// `StreamingAtomicFile` does this for outputs written in pieces (too large to hold in memory);
// `AtomicFile.write` for data in hand.

import Foundation

public enum AtomicFile {
    public static func write(_ data: Data, to path: String) throws {
        let file = try StreamingAtomicFile(path: path)
        try file.append(data)
        try file.commit()
    }
}

/// A file written in pieces to a temporary name, then synced and renamed into place by `commit()`.
/// Dropped without a commit, it removes its temporary file and leaves the destination untouched.
public final class StreamingAtomicFile {
    public let path: String
    let temporary: String
    private let handle: FileHandle
    private var buffer = Data()
    private var committed = false

    public init(path: String) throws {
        self.path = path
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        temporary = dir + "/." + url.lastPathComponent + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: temporary, contents: nil),
              let h = FileHandle(forWritingAtPath: temporary) else {
            throw RPTError("cannot create temporary file", file: temporary)
        }
        handle = h
    }

    deinit {
        if !committed {
            try? handle.close()
            try? FileManager.default.removeItem(atPath: temporary)
        }
    }

    public func append(_ bytes: [UInt8]) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 8 << 20 { try flush() }
    }

    public func append(_ data: Data) throws {
        buffer.append(data)
        if buffer.count >= 8 << 20 { try flush() }
    }

    private func flush() throws {
        do { try handle.write(contentsOf: buffer) } catch {
            throw RPTError("write failed (\(error.localizedDescription))", file: temporary)
        }
        buffer.removeAll(keepingCapacity: true)
    }

    public func commit() throws {
        try flush()
        do { try handle.synchronize(); try handle.close() } catch {
            throw RPTError("write failed (\(error.localizedDescription))", file: temporary)
        }
        guard rename(temporary, path) == 0 else { throw RPTError("cannot rename into place (errno \(errno))", file: path) }
        committed = true
    }
}

/// Output paths that must not clobber what a command reads.
public enum OutputGuard {
    /// Throws when `out` is one of `inputs` (after resolving `.`/`..` and symlinks): writing the output would
    /// overwrite the input it is made from.
    public static func refuseOverwriting(_ out: String, inputs: [String], option: String = "--out") throws {
        let target = URL(fileURLWithPath: out).resolvingSymlinksInPath().standardizedFileURL.path
        for input in inputs where URL(fileURLWithPath: input).resolvingSymlinksInPath().standardizedFileURL.path == target {
            throw RPTError("\(option) is an input of this command; writing it would overwrite the input: choose another \(option)", file: out)
        }
    }

    /// Throws when directory `out` holds a training run (checkpoints or metrics), which other files must not be mixed into.
    public static func refuseTrainingRun(_ out: String) throws {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []
        if names.contains(where: { $0 == "latest" || $0 == "metrics.jsonl" || $0.hasPrefix("step-") }) {
            throw RPTError("holds a training run (checkpoints or metrics.jsonl); choose another output directory", file: out)
        }
    }
}
