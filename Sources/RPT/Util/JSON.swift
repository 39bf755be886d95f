// A JSON value (RFC 8259) with dictionary objects and typed accessors that turn "wrong type" into
// `nil`, so callers can report which field of which file is malformed. Parsing goes through
// JSONReader (one parser for the package); `serialized()` writes compact JSON with sorted keys.

import Foundation

public enum JSON: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSON])
    case object([String: JSON])

    /// Parses a JSON document; the error names `file` and where the text is malformed.
    public static func parse(_ data: Data, file: String) throws -> JSON {
        do {
            return JSON(try JSONReader.parse([UInt8](data), file: file))
        } catch let e as RPTError {
            throw RPTError("malformed JSON: " + e.message, file: file)
        }
    }

    public static func load(path: String) throws -> JSON {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RPTError("cannot read file", file: path)
        }
        return try parse(data, file: path)
    }

    init(_ v: JSONValue) {
        switch v {
        case .null: self = .null
        case .bool(let b): self = .bool(b)
        case .number(let d): self = .number(d)
        case .string(let s): self = .string(s)
        case .array(let a): self = .array(a.map(JSON.init))
        case .object(let o):
            var d: [String: JSON] = [:]
            for (k, v) in zip(o.keys, o.values) { d[k] = JSON(v) }
            self = .object(d)
        }
    }

    public subscript(key: String) -> JSON? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    public var object: [String: JSON]? { if case .object(let o) = self { return o }; return nil }
    public var array: [JSON]? { if case .array(let a) = self { return a }; return nil }
    public var string: String? { if case .string(let s) = self { return s }; return nil }
    public var bool: Bool? { if case .bool(let b) = self { return b }; return nil }
    public var double: Double? { if case .number(let d) = self { return d }; return nil }
    public var isNull: Bool { self == .null }
    /// An integral number (rejects 1.5 and numbers beyond ±2^53).
    public var int: Int? {
        guard case .number(let d) = self, d == d.rounded(), abs(d) < 9.0e15 else { return nil }
        return Int(d)
    }
}

extension JSON {
    /// Serialises to compact JSON with sorted keys (deterministic output for files we write).
    public func serialized() -> String {
        var out = ""
        write(into: &out)
        return out
    }

    private func write(into out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let d):
            if d == d.rounded(), abs(d) < 1e15 { out += String(Int64(d)) }
            else if d.isFinite { out += "\(d)" }
            else { out += "null" }
        case .string(let s): JSON.escape(s, into: &out)
        case .array(let a):
            out += "["
            for (i, v) in a.enumerated() { if i > 0 { out += "," }; v.write(into: &out) }
            out += "]"
        case .object(let o):
            out += "{"
            for (i, k) in o.keys.sorted().enumerated() {
                if i > 0 { out += "," }
                JSON.escape(k, into: &out); out += ":"; o[k]!.write(into: &out)
            }
            out += "}"
        }
    }

    static func escape(_ s: String, into out: inout String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20:
                out += "\\u" + String(repeating: "0", count: 4 - String(u.value, radix: 16).count) + String(u.value, radix: 16)
            default: out.unicodeScalars.append(u)
            }
        }
        out += "\""
    }
}
