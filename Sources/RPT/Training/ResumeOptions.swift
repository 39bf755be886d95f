// What `--resume` keeps from a run and what it takes from the command line, one rule for `rpt pretrain` and
// `rpt train`. The run continues in the directory it was resumed from (--out, never the path stored in the
// checkpoint, so a copied or moved run writes to itself), with its own options, except the ones that are
// safe to change mid-run (the run length, the learning rate, logging and checkpoint cadence), which a
// command line that sets them overrides. Any other option the command line sets to a value the run did not
// use is refused, naming each one, rather than silently ignored. Paths (model, tokenizer, data) are the
// run's: they are stored absolute at its start.

import Foundation

public enum ResumeOptions {
    /// `stored` with `out` from `requested`, the `safe` keys from `requested` where it sets them (differs from
    /// `defaults`), and an error listing every other key `requested` sets to a value the run did not use.
    public static func merge<O: Codable>(stored: O, requested: O, defaults: O, safe: Set<String>, out: String) throws -> O {
        let encoder = JSONEncoder()
        func object(_ o: O) throws -> [String: JSON] { try JSON.parse(try encoder.encode(o), file: "options").object ?? [:] }
        var merged = try object(stored)
        let mine = try object(requested), base = try object(defaults)
        let paths: Set<String> = ["model", "tokenizer", "data", "out"]
        var refused: [String] = []
        for key in mine.keys.sorted() where !paths.contains(key) {
            guard let value = mine[key], value != base[key], value != merged[key] else { continue }
            if safe.contains(key) { merged[key] = value } else {
                refused.append("\(key) \(value.serialized().prefix(60)) (the run's: \(merged[key].map { String($0.serialized().prefix(60)) } ?? "none"))")
            }
        }
        guard refused.isEmpty else {
            throw RPTError("--resume continues the run with its own options, and these cannot change mid-run: " + refused.joined(separator: "; ")
                           + ". Only " + safe.sorted().joined(separator: ", ") + " can; start a new run (another --out) to change the others", file: out)
        }
        merged["out"] = .string(out)
        return try JSONDecoder().decode(O.self, from: Data(JSON.object(merged).serialized().utf8))
    }

    /// `path` made absolute against the current directory (stored at a run's start so that a resume from
    /// another directory reads the same files).
    public static func absolute(_ path: String) -> String {
        guard !path.isEmpty, !path.hasPrefix("/") else { return path }
        return URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath)).standardizedFileURL.path
    }
}
