// Command-line flags as a layer over a stage's options (StageOptions): a flags group names each property as the
// option it sets and declares only its flag and help; the option's type, default and validation stay in the
// options struct. `given()` reads the flags that were given and hands them to `StageOptions.layered`, so there is
// no per-option copying and no second default: a flag that was not given (nil, or an off @Flag) leaves the option
// to the config file or the default.

import ArgumentParser
import Foundation
import RPT

protocol StageFlags: ParsableArguments {}

/// The flags every stage takes besides its options: a config file under the flags, and printing the result.
struct ConfigFlags: ParsableArguments {
    @Option(help: "JSON config with any option: its own, flag, snake-case or other tools' names (docs/config.md); flags override it.")
    var config: String?
    @Flag(name: .customLong("print-options"), help: "Print the options the run would use (defaults, --config, flags) as JSON and exit.")
    var printOptions = false
}

extension StageFlags {
    /// The flags given: option name → the value's JSON text.
    func given() throws -> [String: String] {
        var out: [String: String] = [:]
        for child in Mirror(reflecting: self).children {
            guard let label = child.label, let wrapper = child.value as? FlagWrapper else { continue }
            guard let value = Self.unwrapped(wrapper.wrapped) else { continue }
            // An off @Flag was not given; an optional one (--x / --no-x) was given either way.
            if Mirror(reflecting: wrapper.wrapped).displayStyle != .optional, let on = value as? Bool, !on { continue }
            guard let encodable = value as? any Encodable else {
                throw RPTError("flag \(label) holds a value that has no JSON form (\(type(of: value)))", file: "command line")
            }
            out[label.hasPrefix("_") ? String(label.dropFirst()) : label] = String(decoding: try JSONEncoder().encode(encodable), as: UTF8.self)
        }
        return out
    }

    /// `value` without its Optional wrapping; nil when it is nil.
    private static func unwrapped(_ value: Any) -> Any? {
        let m = Mirror(reflecting: value)
        guard m.displayStyle == .optional else { return value }
        return m.children.first.flatMap { unwrapped($0.value) }
    }
}

/// ArgumentParser's property wrappers, read generically.
private protocol FlagWrapper { var wrapped: Any { get } }
extension Option: FlagWrapper { var wrapped: Any { wrappedValue } }
extension Flag: FlagWrapper { var wrapped: Any { wrappedValue } }

/// Text given on the command line with `\n` and `\t` written as escapes (templates, delimiters).
struct EscapedText: ExpressibleByArgument, Encodable {
    let text: String
    init?(argument: String) {
        text = argument.replacingOccurrences(of: "\\n", with: "\n").replacingOccurrences(of: "\\t", with: "\t")
    }
    func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(text)
    }
}

/// Comma-separated step numbers (`--save-steps 1,2,4,8`).
struct StepList: ExpressibleByArgument, Encodable {
    let steps: [Int]
    init?(argument: String) {
        let parsed = argument.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parsed.isEmpty, parsed.allSatisfy({ $0 != nil }) else { return nil }
        steps = parsed.map { $0! }
    }
    func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(steps)
    }
}

extension RewardKind: ExpressibleByArgument {}
extension OptionNormalization: ExpressibleByArgument {}

extension RelativeStep: ExpressibleByArgument {
    public init?(argument: String) {
        guard let v = try? RelativeStep(parsing: argument) else { return nil }
        self = v
    }
}
