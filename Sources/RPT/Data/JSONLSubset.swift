// A subset of a JSONL file's records, written as a new file: a seeded choice of `keep` lines (kept in file
// order), or the first `keep` lines without a seed. `rpt reproduce` draws its per-seed position pool and its
// fixed evaluation documents from bundled corpora this way.

import Foundation

public enum JSONLSubset {
    /// Writes the chosen non-blank lines of `path` to `out`; returns how many were written.
    @discardableResult
    public static func write(from path: String, keep: Int, seed: UInt64?, to out: String) throws -> Int {
        guard let data = FileManager.default.contents(atPath: path) else { throw RPTError("cannot read file", file: path) }
        let lines = data.split(separator: 0x0A).filter { !$0.allSatisfy { $0 == 0x20 || $0 == 0x0D || $0 == 0x09 } }
        guard keep >= 1 else { throw RPTError("a subset needs at least one record, asked for \(keep)", file: path) }
        let chosen: [Int]
        if keep >= lines.count { chosen = Array(lines.indices) } else if let seed {
            chosen = DataShuffle.subset(count: lines.count, keep: keep, seed: seed)
        } else {
            chosen = Array(0..<keep)
        }
        var outData = Data()
        for i in chosen { outData.append(contentsOf: lines[i]); outData.append(0x0A) }
        try AtomicFile.write(outData, to: out)
        return chosen.count
    }
}
