// The options of one stage (`rpt pretrain`, `rpt train`) as one source: a Codable struct whose property
// initialisers are the only defaults. A config file and the command line are layers over those defaults, each
// a set of option names → JSON values; a layer may spell a name as the option, the CLI flag, snake case or an
// alias of another tool (ConfigKeys, docs/config.md). The same struct is stored in every checkpoint.

import Foundation

public protocol StageOptions: Codable, Equatable, Sendable {
    /// The defaults.
    init()
    /// Other tools' names for the options (TRL, verl, nanoGPT, HF Trainer), mapped to the option they set.
    static var aliases: [String: String] { get }
}

extension StageOptions {
    public static var aliases: [String: String] { [:] }

    /// Every option's name (the struct's stored properties, optional ones included) and the aliases.
    public static var configKeys: ConfigKeys {
        ConfigKeys(names: Mirror(reflecting: Self()).children.compactMap(\.label), aliases: aliases)
    }

    public var json: JSON {
        get throws { try JSON.parse(JSONEncoder().encode(self), file: "options") }
    }

    /// The options as indented JSON with sorted keys (`--print-options`; unset optional options are absent).
    public func prettyPrinted() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// The defaults, then `base` (option name → value: e.g. a trained run's reasoning format), then a config file's
    /// keys, then `flags` (option name → the value's JSON text, kept as text
    /// so that 64-bit integers such as seeds stay exact). An unknown key or a value of the wrong type is an error
    /// naming the config file, or `flagSource` for the command line.
    public static func layered(base: [String: JSON] = [:], config: String?, flags: [String: String] = [:],
                               flagSource: String = "command line") throws -> Self {
        var merged: [String: String] = [:]
        for (k, v) in try Self().json.object ?? [:] { merged[k] = v.serialized() }
        for (k, v) in base { merged[k] = v.serialized() }
        if let path = config {
            let json = try JSON.load(path: path)
            guard let object = json.object else { throw RPTError("config must be a JSON object", file: path) }
            let keyed = try configKeys.canonical(object, file: path)
            for (k, v) in keyed { merged[k] = v.serialized() }
            // A config alone must decode, so that its errors name the config file, not the command line.
            _ = try decode(merged, source: path)
        }
        for (k, v) in flags { merged[try configKeys.resolve(k, file: flagSource)] = v }
        return try decode(merged, source: flagSource)
    }

    /// The options in a config file (absent keys keep the defaults).
    public static func load(config path: String) throws -> Self { try layered(config: path) }

    /// Options stored in a checkpoint; keys added since it was written take their defaults.
    public static func stored(_ json: JSON) throws -> Self {
        let known = Set(configKeys.names)
        if let foreign = (json.object ?? [:]).keys.sorted().first(where: { !known.contains($0) }) {
            throw RPTError("unknown stored option '\(RPTError.echo(foreign))'")
        }
        var merged = try Self().json.object ?? [:]
        for (k, v) in json.object ?? [:] { merged[k] = v }
        return try JSONDecoder().decode(Self.self, from: Data(JSON.object(merged).serialized().utf8))
    }

    private static func decode(_ fields: [String: String], source: String) throws -> Self {
        let text = "{" + fields.keys.sorted().map { JSON.string($0).serialized() + ":" + fields[$0]! }.joined(separator: ",") + "}"
        do {
            return try JSONDecoder().decode(Self.self, from: Data(text.utf8))
        } catch {
            throw RPTError("invalid option value: \(CheckpointJSON.describe(error))", file: source)
        }
    }
}
