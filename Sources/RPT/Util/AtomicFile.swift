// Atomic file writes: write to a temporary file in the same directory, fsync, then rename over the
// destination, so an interrupted run never leaves a half-written file where a good one was.

import Foundation

public enum AtomicFile {
    public static func write(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let tmp = dir + "/." + url.lastPathComponent + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: tmp, contents: nil) else {
            throw RPTError("cannot create temporary file", file: tmp)
        }
        do {
            let h = try FileHandle(forWritingTo: URL(fileURLWithPath: tmp))
            try h.write(contentsOf: data)
            try h.synchronize()
            try h.close()
            guard rename(tmp, path) == 0 else { throw RPTError("cannot rename into place (errno \(errno))", file: path) }
        } catch let e as RPTError {
            try? FileManager.default.removeItem(atPath: tmp)
            throw e
        } catch {
            try? FileManager.default.removeItem(atPath: tmp)
            throw RPTError("write failed (\(error.localizedDescription))", file: path)
        }
    }
}
