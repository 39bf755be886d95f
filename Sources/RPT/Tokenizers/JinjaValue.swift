// The values a chat template computes with, and Python's rules for them: Jinja2 evaluates templates as Python,
// so truthiness, equality, ordering, `str()` (what `{{ x }}` prints), `repr()` (how a list prints) and
// transformers' `tojson` filter (json.dumps with ensure_ascii=False) follow Python 3 here.
// References: the Jinja2 template designer documentation (jinja.palletsprojects.com/en/stable/templates/) and
// transformers' chat-template rendering (src/transformers/utils/chat_template_utils.py: `tojson`,
// `ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)`).
//
// Strings are handled as sequences of Unicode scalars (Python code points), never as Swift Characters
// (grapheme clusters), and compared scalar by scalar: "e\u{301}" and "é" are different strings in Python.

import Foundation

/// A Jinja namespace() object: the one mutable value (`{% set ns.attr = ... %}` changes it in place).
final class JinjaNamespace {
    var keys: [String] = []
    var values: [String: JinjaValue] = [:]

    func set(_ key: String, _ value: JinjaValue) {
        if values[key] == nil { keys.append(key) }
        values[key] = value
    }
}

/// A dict with string keys in insertion order (Python 3.7+ dicts keep it, and `tojson` / `items` show it).
struct JinjaDict {
    private(set) var keys: [String] = []
    private var storage: [String: JinjaValue] = [:]

    init() {}
    init(_ pairs: [(String, JinjaValue)]) { for (k, v) in pairs { self[k] = v } }

    subscript(key: String) -> JinjaValue? {
        get { storage[key] }
        set {
            if let newValue {
                if storage[key] == nil { keys.append(key) }
                storage[key] = newValue
            } else if storage.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    var count: Int { keys.count }
    var values: [JinjaValue] { keys.map { storage[$0]! } }
    var pairs: [(String, JinjaValue)] { keys.map { ($0, storage[$0]!) } }
}

/// A callable: a global (range, namespace, raise_exception, strftime_now), a bound method (`text.strip`) or a
/// macro. Receives positional and keyword arguments.
struct JinjaFunction {
    let name: String
    let call: ([JinjaValue], [(String, JinjaValue)]) throws -> JinjaValue
}

/// A runtime error inside the interpreter; ChatTemplate turns it into an RPTError naming the file.
struct JinjaError: Error, CustomStringConvertible {
    var message: String
    var line: Int?

    init(_ message: String, line: Int? = nil) {
        self.message = message
        self.line = line
    }

    var description: String { line.map { "line \($0): \(message)" } ?? message }
}

enum JinjaValue {
    /// A name or member that does not exist (Jinja's Undefined): prints as "", is falsy, iterates as empty,
    /// and fails when used as an object (attribute, subscript, call, arithmetic). The text says what was missing.
    case undefined(String)
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    /// A Python list or tuple (`isTuple` only changes how it prints).
    case list([JinjaValue], isTuple: Bool = false)
    case dict(JinjaDict)
    case namespace(JinjaNamespace)
    case function(JinjaFunction)

    static func tuple(_ items: [JinjaValue]) -> JinjaValue { .list(items, isTuple: true) }

    var isUndefined: Bool { if case .undefined = self { return true }; return false }
    var isNone: Bool { if case .none = self { return true }; return false }
    var stringValue: String? { if case .string(let s) = self { return s }; return nil }

    /// Python's type name, for error messages.
    var typeName: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float"
        case .string: return "str"
        case .list(_, let t): return t ? "tuple" : "list"
        case .dict: return "dict"
        case .namespace: return "Namespace"
        case .function: return "function"
        }
    }

    /// Python truthiness.
    var truthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .double(let d): return d != 0
        case .string(let s): return !s.unicodeScalars.isEmpty
        case .list(let a, _): return !a.isEmpty
        case .dict(let d): return d.count > 0
        case .namespace, .function: return true
        }
    }

    /// A number as Double (bool counts as 0/1, as in Python), or nil.
    var number: Double? {
        switch self {
        case .bool(let b): return b ? 1 : 0
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    /// An integer (bool counts), or nil.
    var integer: Int? {
        switch self {
        case .bool(let b): return b ? 1 : 0
        case .int(let i): return i
        default: return nil
        }
    }

    /// Python `==`.
    func equals(_ other: JinjaValue) -> Bool {
        switch (self, other) {
        case (.undefined, .undefined), (.none, .none): return true
        case (.string(let a), .string(let b)): return a.unicodeScalars.elementsEqual(b.unicodeScalars)
        case (.list(let a, _), .list(let b, _)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.equals($1) }
        case (.dict(let a), .dict(let b)):
            return a.count == b.count && a.pairs.allSatisfy { k, v in b[k].map { v.equals($0) } ?? false }
        case (.namespace(let a), .namespace(let b)): return a === b
        default:
            if let x = integer, let y = other.integer { return x == y }
            if let x = number, let y = other.number { return x == y }
            return false
        }
    }

    /// Python ordering (`<`): numbers, strings (by code point), lists (lexicographic). Nil when not comparable.
    func lessThan(_ other: JinjaValue) -> Bool? {
        switch (self, other) {
        case (.string(let a), .string(let b)):
            return a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars) { $0.value < $1.value }
        case (.list(let a, _), .list(let b, _)):
            for (x, y) in zip(a, b) where !x.equals(y) { return x.lessThan(y) }
            return a.count < b.count
        default:
            if let x = integer, let y = other.integer { return x < y }
            if let x = number, let y = other.number { return x < y }
            return nil
        }
    }

    /// Python `str(x)`: what `{{ x }}`, `~` and `join` produce ("" for undefined, "None", "True", reprs for
    /// containers).
    var str: String {
        switch self {
        case .undefined: return ""
        case .string(let s): return s
        default: return repr
        }
    }

    /// Python `repr(x)`.
    var repr: String {
        switch self {
        case .undefined: return ""
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .double(let d): return JinjaValue.pythonFloat(d)
        case .string(let s): return JinjaValue.pythonRepr(s)
        case .list(let a, let isTuple):
            let inner = a.map(\.repr).joined(separator: ", ")
            return isTuple ? (a.count == 1 ? "(\(inner),)" : "(\(inner))") : "[\(inner)]"
        case .dict(let d):
            return "{" + d.pairs.map { "\(JinjaValue.pythonRepr($0.0)): \($0.1.repr)" }.joined(separator: ", ") + "}"
        case .namespace(let n):
            return "<Namespace " + "{" + n.keys.map { "\(JinjaValue.pythonRepr($0)): \(n.values[$0]!.repr)" }
                .joined(separator: ", ") + "}>"
        case .function(let f): return "<function \(f.name)>"
        }
    }

    /// Python's `repr(float)`: the shortest text that reads back as the same double, with ".0" on integral values.
    static func pythonFloat(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        var s = "\(d)" // Swift prints the shortest round-trip digits, like Python
        if s.contains("e") {
            // Swift: "1e-05" / "1e+16"; Python: the same ("1e-05", "1e+16").
            return s
        }
        if !s.contains(".") { s += ".0" }
        return s
    }

    /// Python's `repr(str)`: single quotes unless the text has ' and no ", with \\, \n, \r, \t and non-printable
    /// characters escaped.
    static func pythonRepr(_ s: String) -> String {
        let quote: Unicode.Scalar = s.unicodeScalars.contains("'") && !s.unicodeScalars.contains("\"") ? "\"" : "'"
        var out = String(Character(quote))
        for c in s.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if c == quote { out += "\\" + String(Character(c)); continue }
                if c.value < 0x20 || c.value == 0x7F || (0x80..<0xA0).contains(c.value) {
                    out += String(format: "\\x%02x", c.value)
                } else if !isPrintable(c) {
                    out += c.value <= 0xFFFF ? String(format: "\\u%04x", c.value) : String(format: "\\U%08x", c.value)
                } else {
                    out.unicodeScalars.append(c)
                }
            }
        }
        out.unicodeScalars.append(quote)
        return out
    }

    /// Python's str.isprintable() for one character (approximately: separators other than space, controls,
    /// format characters, surrogates and unassigned code points are not printable).
    private static func isPrintable(_ c: Unicode.Scalar) -> Bool {
        if c == " " { return true }
        switch c.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator, .spaceSeparator:
            return false
        default:
            return true
        }
    }

    /// Python's str.isspace() for one code point (what str.strip() and str.split() remove).
    static func isPythonWhitespace(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// transformers' `tojson`: json.dumps(x, ensure_ascii=False, indent=indent, separators=..., sort_keys=...).
    func json(indent: String?, itemSeparator: String? = nil, keySeparator: String? = nil, sortKeys: Bool = false) throws -> String {
        var out = ""
        let itemSep = itemSeparator ?? (indent == nil ? ", " : ",")
        let keySep = keySeparator ?? ": "
        func write(_ v: JinjaValue, _ level: Int) throws {
            switch v {
            case .none: out += "null"
            case .bool(let b): out += b ? "true" : "false"
            case .int(let i): out += String(i)
            case .double(let d):
                if d.isNaN { out += "NaN" } else if d.isInfinite { out += d < 0 ? "-Infinity" : "Infinity" } else { out += JinjaValue.pythonFloat(d) }
            case .string(let s): out += JinjaValue.jsonString(s)
            case .list(let a, _):
                if a.isEmpty { out += "[]"; return }
                out += "["
                for (i, x) in a.enumerated() {
                    if i > 0 { out += itemSep }
                    if let indent { out += "\n" + String(repeating: indent, count: level + 1) }
                    try write(x, level + 1)
                }
                if let indent { out += "\n" + String(repeating: indent, count: level) }
                out += "]"
            case .dict(let d):
                if d.count == 0 { out += "{}"; return }
                out += "{"
                let pairs = sortKeys ? d.pairs.sorted { $0.0.unicodeScalars.lexicographicallyPrecedes($1.0.unicodeScalars) { $0.value < $1.value } } : d.pairs
                for (i, (k, x)) in pairs.enumerated() {
                    if i > 0 { out += itemSep }
                    if let indent { out += "\n" + String(repeating: indent, count: level + 1) }
                    out += JinjaValue.jsonString(k) + keySep
                    try write(x, level + 1)
                }
                if let indent { out += "\n" + String(repeating: indent, count: level) }
                out += "}"
            default:
                throw JinjaError("Object of type \(v.typeName) is not JSON serializable")
            }
        }
        try write(self, 0)
        return out
    }

    /// A JSON string literal as Python's json.dumps(ensure_ascii=False) writes it.
    static func jsonString(_ s: String) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if c.value < 0x20 { out += String(format: "\\u%04x", c.value) } else { out.unicodeScalars.append(c) }
            }
        }
        return out + "\""
    }

    /// A JSONValue (a parsed data record or tokenizer_config.json member) as a template value. Integral numbers
    /// become ints, as Python's json module reads them.
    init(json: JSONValue) {
        switch json {
        case .null: self = .none
        case .bool(let b): self = .bool(b)
        case .number(let d):
            if d.rounded() == d, abs(d) < 9.0e15 { self = .int(Int(d)) } else { self = .double(d) }
        case .string(let s): self = .string(s)
        case .array(let a): self = .list(a.map(JinjaValue.init(json:)))
        case .object(let o):
            var d = JinjaDict()
            for (k, v) in zip(o.keys, o.values) { d[k] = JinjaValue(json: v) }
            self = .dict(d)
        }
    }
}
