// Writing to standard output and standard error without traps. FileHandle.write(_: Data) raises an
// Objective-C exception (a trap on Linux) when the write fails (a full disk, a closed pipe); `print` buffers
// and loses the error. Results go through `StandardOutput.write`, whose failure is an RPTError, and the `rpt`
// entry point flushes stdout and reports a failed flush (exit 1) so that no command exits 0 having written
// nothing. Diagnostics on stderr are best effort: when stderr itself cannot be written there is nowhere left
// to say so.

import CStdio
import Foundation

public enum StandardOutput {
    /// Writes `text` to stdout now (after anything `print` buffered), or throws naming standard output.
    public static func write(_ text: String) throws {
        _ = rpt_stdout_flush_status()   // what `print` buffered goes first
        do { try FileHandle.standardOutput.write(contentsOf: Data(text.utf8)) } catch {
            throw RPTError("cannot write: \(StandardOutput.reason(error))", file: "standard output")
        }
    }

    /// A line for logs of long work: written and flushed at once, so redirected output shows progress; a
    /// failed write is reported once on stderr instead of trapping.
    public static func log(_ line: String) {
        do { try write(line + "\n") } catch { if !failedOnce { failedOnce = true; StandardError.write("warning: \(error)\n") } }
    }
    nonisolated(unsafe) private static var failedOnce = false

    /// Flushes what `print` buffered; throws when stdout could not take it (a full device, a closed pipe).
    public static func flush() throws {
        let status = rpt_stdout_flush_status()
        guard status == 0 else {
            throw RPTError("cannot write: \(status > 0 ? String(cString: strerror(status)) : "write error")", file: "standard output")
        }
    }

    /// The plain reason of a Foundation file error (POSIX text where there is one), not a CocoaError dump.
    public static func reason(_ error: Error) -> String {
        let e = error as NSError
        if let posix = e.userInfo[NSUnderlyingErrorKey] as? NSError, posix.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(posix.code)))
        }
        if e.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(e.code))) }
        guard e.domain == NSCocoaErrorDomain else { return e.localizedDescription }
        switch CocoaError.Code(rawValue: e.code) {
        case .fileNoSuchFile, .fileReadNoSuchFile: return String(cString: strerror(ENOENT))
        case .fileReadNoPermission, .fileWriteNoPermission: return String(cString: strerror(EACCES))
        case .fileWriteOutOfSpace: return String(cString: strerror(ENOSPC))
        case .fileWriteVolumeReadOnly: return String(cString: strerror(EROFS))
        default:
            // Often a path component that is a file, not a directory: name it.
            if let path = (e.userInfo[NSFilePathErrorKey] as? String) ?? (e.userInfo[NSURLErrorKey] as? URL)?.path {
                var dir = (path as NSString).deletingLastPathComponent
                var isDirectory: ObjCBool = false
                while !dir.isEmpty, dir != "/" {
                    if FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory) {
                        if !isDirectory.boolValue { return "\(dir) is a file, not a directory" }
                        break
                    }
                    dir = (dir as NSString).deletingLastPathComponent
                }
            }
            return "cannot read or write it (\(e.localizedFailureReason ?? "file error \(e.code)"))"
        }
    }
}

public enum StandardError {
    /// Best effort: a failed write to stderr is ignored.
    public static func write(_ text: String) {
        try? FileHandle.standardError.write(contentsOf: Data(text.utf8))
    }
}
