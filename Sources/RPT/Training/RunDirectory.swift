// The output directory of a training run (`rpt pretrain`, `rpt train`): step-* checkpoints, `latest`,
// metrics files, and `tokenizer/`, a copy of the tokenizer files that every checkpoint copies from (a resumed
// run must not depend on a checkpoint that pruning may delete).
//
// The copy belongs to the run's checkpoints: a new run (no checkpoint in OUT yet) always copies afresh from
// the source it was given, replacing whatever an earlier start that failed before its first checkpoint left
// there; only a resumed run keeps the copy. Tokenizer errors of a new run name the source the user gave,
// never the copy.

import Foundation
import RPTKernels

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

    /// A note when a resumed run computes with another thread count than it was saved with (docs/reliability.md:
    /// the run continues closely, not bit for bit); nil when the counts agree or the checkpoint does not say.
    public static func threadNote(_ checkpoint: Checkpoint?) -> String? {
        guard let saved = checkpoint?.state.threads, saved != Parallel.threads else { return nil }
        return "the run was computed with \(saved) threads and resumes with \(Parallel.threads): it continues closely but not bit-exactly "
            + "(sums split by thread count round differently); resume with --threads \(saved) for a bit-exact continuation"
    }

    /// The tokenizer of a run and OUT/tokenizer. A new run (no checkpoint in `out`) loads the tokenizer from
    /// `source` — so errors name the user's path — and then copies it afresh into OUT/tokenizer; a resumed run
    /// keeps its copy (made from `source`, the checkpoint, when missing) and loads that.
    public static func tokenizer(out: String, source: String) throws -> (directory: String, tokenizer: any Tokenizer) {
        if Checkpoint.latest(in: out) != nil {
            let dir = try tokenizerCopy(out: out, source: source)
            return (dir, try loadTokenizer(path: dir))
        }
        let tokenizer = try loadTokenizer(path: source)
        return (try tokenizerCopy(out: out, source: source), tokenizer)
    }

    /// OUT/tokenizer, copied from `source` (a tokenizer directory, or one tokenizer file): afresh for a new run
    /// (no checkpoint in `out`), kept for a resumed one when present. Stale temporary copies from an
    /// interrupted start are removed first.
    public static func tokenizerCopy(out: String, source: String) throws -> String {
        let fm = FileManager.default
        let dir = out + "/tokenizer"
        try fm.createDirectory(atPath: out, withIntermediateDirectories: true)
        for stale in (try? fm.contentsOfDirectory(atPath: out)) ?? []
        where stale.hasPrefix(".tokenizer.tmp-") || stale.hasPrefix(".tokenizer.old-") {
            try? fm.removeItem(atPath: out + "/" + stale)
        }
        let resuming = Checkpoint.latest(in: out) != nil
        if resuming && fm.fileExists(atPath: dir) { return dir }
        let tmp = out + "/.tokenizer.tmp-\(getpid())"
        try fm.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        do { try copyTokenizer(from: source, into: tmp) } catch {
            try? fm.removeItem(atPath: tmp)
            throw error
        }
        if fm.fileExists(atPath: dir) {
            // A copy left by an earlier start of this run: replace it.
            let old = out + "/.tokenizer.old-\(getpid())"
            guard rename(dir, old) == 0 else { throw RPTError("cannot replace the stale tokenizer copy", file: dir) }
            guard rename(tmp, dir) == 0 else { throw RPTError("cannot create tokenizer directory", file: dir) }
            try? fm.removeItem(atPath: old)
        } else {
            guard rename(tmp, dir) == 0 else { throw RPTError("cannot create tokenizer directory", file: dir) }
        }
        return dir
    }

    /// Copies a tokenizer so that `loadTokenizer(path: dir)` loads what `loadTokenizer(path: source)` does:
    /// a directory's tokenizer files as they are; a single file under the name a directory is searched for
    /// (tokenizer.json, or tokenizer.bin unless already tokenizer.bin / tok*.bin), with the files beside it
    /// that loading reads (tokenizer_config.json; for vocab.json / merges.txt, the pair).
    static func copyTokenizer(from source: String, into dir: String) throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: source, isDirectory: &isDir) else {
            throw RPTError("tokenizer source not found", file: source)
        }
        if isDir.boolValue {
            try Checkpoint.copyTokenizerFiles([source], into: dir)
            return
        }
        let parent = (source as NSString).deletingLastPathComponent
        func sibling(_ name: String) -> String { (parent as NSString).appendingPathComponent(name) }
        func write(_ path: String, as name: String) throws {
            guard let data = fm.contents(atPath: path) else { throw RPTError("cannot read tokenizer file", file: path) }
            try AtomicFile.write(data, to: dir + "/" + name)
        }
        let siblings = ["tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja", "chat_template.json"]
        if let pair = VocabMergesFiles.forFile(source) {
            try write(pair.vocab, as: VocabMergesFiles.vocabName)
            try write(pair.merges, as: VocabMergesFiles.mergesName)
            for n in siblings where fm.fileExists(atPath: sibling(n)) { try write(sibling(n), as: n) }
            return
        }
        let name = (source as NSString).lastPathComponent
        let ext = (name as NSString).pathExtension.lowercased()
        let isJSON: Bool
        if ext == "json" { isJSON = true } else if ext == "bin" { isJSON = false } else {
            let head = fm.contents(atPath: source)?.first { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }
            isJSON = head == UInt8(ascii: "{")
        }
        if isJSON {
            try write(source, as: "tokenizer.json")
            for n in siblings where fm.fileExists(atPath: sibling(n)) { try write(sibling(n), as: n) }
        } else {
            let keepsName = name == "tokenizer.bin" || (name.hasPrefix("tok") && name.hasSuffix(".bin"))
            try write(source, as: keepsName ? name : "tokenizer.bin")
        }
    }
}
