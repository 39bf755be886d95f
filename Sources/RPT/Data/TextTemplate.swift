// A text template over the fields of a JSON record, e.g. "{problem}\n\n{solution}": `{name}` is replaced
// by the field's value, `{{` and `}}` stand for literal braces. Strings are inserted as they are, other
// values as compact JSON (8.0 → "8"); a missing or null field makes the record unusable.

import Foundation

public struct TextTemplate: Sendable, Equatable, CustomStringConvertible {
    enum Part: Sendable, Equatable {
        case literal(String)
        case field(String)
    }

    let parts: [Part]
    /// The template as written.
    public let pattern: String

    /// Parses a template. Unbalanced braces and empty `{}` are an RPTError naming `label`.
    public init(_ pattern: String, label: String = "template") throws {
        self.pattern = pattern
        var parts: [Part] = []
        var literal = ""
        var chars = Array(pattern)[...]
        while let c = chars.popFirst() {
            if c == "{" {
                if chars.first == "{" { chars.removeFirst(); literal.append("{"); continue }
                guard let close = chars.firstIndex(of: "}") else {
                    throw RPTError("unclosed '{' in template \"\(pattern)\" (write '{{' for a literal brace)", file: label)
                }
                let name = String(chars[chars.startIndex..<close])
                if name.isEmpty { throw RPTError("empty field name '{}' in template \"\(pattern)\"", file: label) }
                if name.contains("{") {
                    throw RPTError("'{' inside a field name in template \"\(pattern)\"", file: label)
                }
                if !literal.isEmpty { parts.append(.literal(literal)); literal = "" }
                parts.append(.field(name))
                chars = chars[(close + 1)...]
            } else if c == "}" {
                guard chars.first == "}" else {
                    throw RPTError("unmatched '}' in template \"\(pattern)\" (write '}}' for a literal brace)", file: label)
                }
                chars.removeFirst()
                literal.append("}")
            } else {
                literal.append(c)
            }
        }
        if !literal.isEmpty { parts.append(.literal(literal)) }
        self.parts = parts
    }

    private init(pattern: String, parts: [Part]) {
        self.pattern = pattern
        self.parts = parts
    }

    /// The template that is just one field's value.
    public static func field(_ name: String) -> TextTemplate {
        TextTemplate(pattern: "{\(name)}", parts: [.field(name)])
    }

    /// The field names the template uses, in order of first use.
    public var fields: [String] {
        var out: [String] = []
        for case .field(let name) in parts where !out.contains(name) { out.append(name) }
        return out
    }

    public var description: String { pattern }

    /// The text for one record, or the name of the first field the record lacks (absent or null).
    func render(_ record: JSONObject) -> Result<String, MissingField> {
        var out = ""
        for part in parts {
            switch part {
            case .literal(let s): out += s
            case .field(let name):
                guard let value = record[name], !value.isNull else { return .failure(MissingField(name: name)) }
                if let s = value.stringValue { out += s } else { out += JSON(value).serialized() }
            }
        }
        return .success(out)
    }

    struct MissingField: Error, Equatable {
        let name: String
    }
}
