// A fast 64-bit checksum of a file's bytes (FNV-1a over 8-byte little-endian words, then the tail bytes), stored
// with each checkpoint for its weight and optimizer files and verified on resume and load: a flipped byte in a
// checkpoint is an error, not a silently different run. Not cryptographic; it detects corruption, not tampering.

import Foundation

public enum FileChecksum {
    /// The checksum of `path`'s bytes as 16 hex digits; an RPTError naming the file when it cannot be read.
    public static func of(_ path: String) throws -> String {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            throw RPTError("cannot read for its checksum: \(StandardOutput.reason(error))", file: path)
        }
        return data.withUnsafeBytes { raw in String(format: "%016llx", hash(raw)) }
    }

    static func hash(_ raw: UnsafeRawBufferPointer) -> UInt64 {
        let prime: UInt64 = 0x100000001b3
        var h: UInt64 = 0xcbf29ce484222325 ^ UInt64(raw.count)
        let words = raw.count / 8
        for i in 0..<words { h = (h ^ raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)) &* prime }
        for i in (8 * words)..<raw.count { h = (h ^ UInt64(raw[i])) &* prime }
        return h
    }
}
