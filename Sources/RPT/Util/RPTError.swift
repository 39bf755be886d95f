// Errors that reach a user. Every error names the file (or input) and the problem, so bad input never
// becomes a trap or a silent wrong answer.

import Foundation

/// An error with the path of the offending file (or a label such as `--prompt`) and a plain description.
public struct RPTError: Error, CustomStringConvertible, Equatable {
    public var file: String?
    public var message: String

    public init(_ message: String, file: String? = nil) {
        self.file = file
        self.message = message
    }

    public var description: String {
        if let file { return "\(file): \(message)" }
        return message
    }
}

extension RPTError: LocalizedError {
    public var errorDescription: String? { description }
}

extension RPTError {
    /// Longest value echoed into a message: a huge field value (a megabyte-long string or list) must not flood the log.
    static let echoLimit = 80

    /// `text` cut to `echoLimit` characters, saying how long it was when cut.
    static func echo(_ text: String) -> String {
        guard text.count > echoLimit else { return text }
        return String(text.prefix(echoLimit)) + "… (\(text.count) characters)"
    }

    /// A JSON value as compact JSON, cut to `echoLimit` characters.
    static func echo(_ value: JSON) -> String { echo(value.serialized()) }
}
