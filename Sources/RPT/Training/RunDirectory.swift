// The output directory of a training run (`rpt pretrain`, `rpt train`): step-* checkpoints, `latest`,
// metrics files, and `tokenizer/`, a copy of the tokenizer files made once at the start so that every
// checkpoint copies from it (a resumed run must not depend on a checkpoint that pruning may delete).

import Foundation

public enum RunDirectory {
    /// The checkpoint to continue from: the latest in `out` when resuming (nil when there is none yet).
    /// Without `resume`, a directory that already holds checkpoints is refused rather than overwritten.
    public static func checkpointToResume(out: String, resume: Bool) throws -> Checkpoint? {
        let latest = Checkpoint.latest(in: out)
        if !resume, let existing = latest {
            throw RPTError("already holds checkpoints (latest \(existing)): pass --resume to continue, or choose another --out", file: out)
        }
        return try latest.map { try Checkpoint.load(dir: $0) }
    }

    /// OUT/tokenizer, created from `source` (a tokenizer file or a directory holding one) if absent;
    /// stale temporary copies from an interrupted start are removed first.
    public static func tokenizerCopy(out: String, source: String) throws -> String {
        let fm = FileManager.default
        let dir = out + "/tokenizer"
        try fm.createDirectory(atPath: out, withIntermediateDirectories: true)
        for stale in (try? fm.contentsOfDirectory(atPath: out)) ?? [] where stale.hasPrefix(".tokenizer.tmp-") {
            try? fm.removeItem(atPath: out + "/" + stale)
        }
        if !fm.fileExists(atPath: dir) {
            let tmp = out + "/.tokenizer.tmp-\(getpid())"
            try fm.createDirectory(atPath: tmp, withIntermediateDirectories: true)
            try Checkpoint.copyTokenizerFiles([source], into: tmp)
            guard rename(tmp, dir) == 0 else { throw RPTError("cannot create tokenizer directory", file: dir) }
        }
        return dir
    }
}
