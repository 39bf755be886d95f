// Config-file keys as users of other tools write them (docs/config.md). A key names an option in any of
// the spellings people use: the option's own name (`groupSize`), the CLI flag (`group-size`), snake case
// (`group_size`), or an alias from TRL's GRPOConfig or verl's Hydra config that means exactly the same
// thing (`num_generations`, `actor_rollout_ref.rollout.n`). An unknown key is an error that names the
// closest valid key. Aliases whose meaning differs (TRL's per-device batch counts completions, not
// contexts) are deliberately absent.

import Foundation

public struct ConfigKeys: Sendable {
    /// The options' own names (the JSON keys of the options type).
    public let names: [String]
    /// Other tools' names, mapped to the option they set.
    public let aliases: [String: String]

    public init(names: [String], aliases: [String: String]) {
        self.names = names
        self.aliases = aliases
    }

    /// `flag-name`, `flag_name` and `flagName` all become "flagname".
    static func normalized(_ key: String) -> String {
        key.lowercased().filter { $0 != "-" && $0 != "_" }
    }

    /// The option `key` sets, or an error naming the closest valid key.
    public func resolve(_ key: String, file: String) throws -> String {
        if let target = aliases[key] { return target }
        let n = ConfigKeys.normalized(key)
        if let name = names.first(where: { ConfigKeys.normalized($0) == n }) { return name }
        // An alias in another spelling (`val-docs` for `valDocs`); dotted paths only as written.
        if let target = aliases.first(where: { !$0.key.contains(".") && ConfigKeys.normalized($0.key) == n })?.value { return target }
        let candidates = names.map { ($0, kebab($0)) } + aliases.keys.map { ($0, $0) }
        let closest = candidates.min { editDistance(n, ConfigKeys.normalized($0.1)) < editDistance(n, ConfigKeys.normalized($1.1)) }
        throw RPTError("unknown option '\(RPTError.echo(key))'" + (closest.map { " (did you mean '\($0.1)'?)" } ?? "") + "; docs/config.md lists the names", file: file)
    }

    /// Rewrites a config object's keys to option names; two keys for the same option are an error.
    public func canonical(_ object: [String: JSON], file: String) throws -> [String: JSON] {
        var out: [String: JSON] = [:], from: [String: String] = [:]
        for key in object.keys.sorted() {
            let name = try resolve(key, file: file)
            if let earlier = from[name] { throw RPTError("'\(earlier)' and '\(key)' both set \(name)", file: file) }
            out[name] = object[key]
            from[name] = key
        }
        return out
    }

    /// camelCase → kebab-case, the CLI flag spelling.
    func kebab(_ name: String) -> String {
        name.reduce(into: "") { s, c in s += c.isUppercase ? "-" + c.lowercased() : String(c) }
    }
}

/// Levenshtein distance over characters (small strings: config keys).
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    guard !a.isEmpty else { return b.count }
    guard !b.isEmpty else { return a.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}
