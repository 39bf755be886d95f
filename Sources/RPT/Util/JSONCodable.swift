// Bridges between the JSON value type and Codable: JSON encodes and decodes as itself (for free-form parts of
// typed files), typed files decode from a parsed JSON value, and a DecodingError becomes an RPTError that names
// the file and the field ("results[1].outcomes.greedy[3]: expected a number").

import Foundation

extension JSON: Codable {
    public init(from decoder: Decoder) throws {
        if let d = decoder as? JSONValueDecoder { self = d.value; return }
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSON].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSON].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let d): if d.isFinite { try c.encode(d) } else { try c.encodeNil() }
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    /// `value` encoded (keys as its CodingKeys name them) and read back as a JSON value; non-finite numbers
    /// become null, as `serialized()` writes them.
    public static func encoding<T: Encodable>(_ value: T, file: String) throws -> JSON {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: nonFinite, negativeInfinity: nonFinite, nan: nonFinite)
        let data: Data
        do { data = try encoder.encode(value) } catch { throw RPTError("cannot encode: \(error)", file: file) }
        return try parse(data, file: file).replacingNonFinite()
    }

    /// What the encoder writes for NaN and ±infinity: a string no field holds, turned into null afterwards.
    private static let nonFinite = "\u{0}non-finite\u{0}"

    private func replacingNonFinite() -> JSON {
        switch self {
        case .string(JSON.nonFinite): return .null
        case .array(let a): return .array(a.map { $0.replacingNonFinite() })
        case .object(let o): return .object(o.mapValues { $0.replacingNonFinite() })
        default: return self
        }
    }

    /// Decodes `T` from this value; a missing or mistyped field is an error naming `file` and the field.
    public func decode<T: Decodable>(_ type: T.Type, file: String) throws -> T {
        do {
            return try T(from: JSONValueDecoder(value: self, codingPath: []))
        } catch let e as DecodingError {
            throw RPTError(e.fieldMessage, file: file)
        }
    }
}

/// A Decoder that reads a JSON value directly. Integers must be integral numbers in range (a Foundation
/// JSONDecoder reports 2.5 for an Int as "not valid JSON", with no field); absent keys and null are nil.
struct JSONValueDecoder: Decoder {
    let value: JSON
    let codingPath: [CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func mismatch(_ type: Any.Type) -> DecodingError {
        DecodingError.typeMismatch(type, .init(codingPath: codingPath, debugDescription: "found \(value.kindName)"))
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let o) = value else { throw mismatch([String: JSON].self) }
        return KeyedDecodingContainer(Keyed(object: o, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> UnkeyedDecodingContainer {
        guard case .array(let a) = value else { throw mismatch([JSON].self) }
        return Unkeyed(array: a, codingPath: codingPath)
    }

    func singleValueContainer() throws -> SingleValueDecodingContainer { Single(decoder: self) }

    /// One value: primitives and integer arrays (token ids: the long part of a positions line) here, anything
    /// else through its own init(from:).
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        switch type {
        case is [Int].Type:
            guard case .array(let a) = value else { throw mismatch([Int].self) }
            var out: [Int] = []
            out.reserveCapacity(a.count)
            for (i, element) in a.enumerated() {
                guard case .number(let d) = element, d == d.rounded(), let n = Int(exactly: d) else {
                    return try JSONValueDecoder(value: element, codingPath: codingPath + [Unkeyed.Index(i)]).decode(Int.self) as! T
                }
                out.append(n)
            }
            return out as! T
        case is Bool.Type:
            guard case .bool(let b) = value else { throw mismatch(Bool.self) }
            return b as! T
        case is String.Type:
            guard case .string(let s) = value else { throw mismatch(String.self) }
            return s as! T
        case is Double.Type:
            guard case .number(let d) = value else { throw mismatch(Double.self) }
            return d as! T
        case is Float.Type:
            guard case .number(let d) = value else { throw mismatch(Float.self) }
            return Float(d) as! T
        case let integer as any FixedWidthInteger.Type:
            guard case .number(let d) = value else { throw mismatch(Int.self) }
            guard d == d.rounded(), let n = integer.init(exactly: d) else {
                throw DecodingError.dataCorrupted(.init(codingPath: codingPath, debugDescription: "expected an integer, found \(d)"))
            }
            return n as! T
        default:
            return try T(from: self)
        }
    }

    struct Single: SingleValueDecodingContainer {
        let decoder: JSONValueDecoder
        var codingPath: [CodingKey] { decoder.codingPath }
        func decodeNil() -> Bool { decoder.value == .null }
        func decode<T: Decodable>(_ type: T.Type) throws -> T { try decoder.decode(type) }
    }

    struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let object: [String: JSON]
        let codingPath: [CodingKey]
        var allKeys: [Key] { object.keys.compactMap { Key(stringValue: $0) } }
        func contains(_ key: Key) -> Bool { object[key.stringValue] != nil }
        func decodeNil(forKey key: Key) throws -> Bool { (object[key.stringValue] ?? .null) == .null }
        func child(_ key: Key) throws -> JSONValueDecoder {
            guard let v = object[key.stringValue] else {
                throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "missing"))
            }
            return JSONValueDecoder(value: v, codingPath: codingPath + [key])
        }
        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try child(key).decode(type) }
        func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try child(key).decode(type) }
        func decode(_ type: String.Type, forKey key: Key) throws -> String { try child(key).decode(type) }
        func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try child(key).decode(type) }
        func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try child(key).decode(type) }
        func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try child(key).decode(type) }
        func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try child(key).decode(type) }
        func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try child(key).decode(type) }
        func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try child(key).decode(type) }
        func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try child(key).decode(type) }
        func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try child(key).decode(type) }
        func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try child(key).decode(type) }
        func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try child(key).decode(type) }
        func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try child(key).decode(type) }
        func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try child(key).decode(type) }
        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            try child(key).container(keyedBy: type)
        }
        func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer { try child(key).unkeyedContainer() }
        func superDecoder() throws -> Decoder { JSONValueDecoder(value: .object(object), codingPath: codingPath) }
        func superDecoder(forKey key: Key) throws -> Decoder { try child(key) }
    }

    struct Unkeyed: UnkeyedDecodingContainer {
        let array: [JSON]
        let codingPath: [CodingKey]
        var currentIndex = 0
        var count: Int? { array.count }
        var isAtEnd: Bool { currentIndex >= array.count }

        struct Index: CodingKey {
            var intValue: Int?
            var stringValue: String { "\(intValue ?? 0)" }
            init(_ i: Int) { intValue = i }
            init?(stringValue: String) { return nil }
            init?(intValue: Int) { self.intValue = intValue }
        }

        mutating func next() throws -> JSONValueDecoder {
            guard !isAtEnd else {
                throw DecodingError.valueNotFound(JSON.self, .init(codingPath: codingPath + [Index(currentIndex)], debugDescription: "past the end"))
            }
            defer { currentIndex += 1 }
            return JSONValueDecoder(value: array[currentIndex], codingPath: codingPath + [Index(currentIndex)])
        }
        mutating func decodeNil() throws -> Bool {
            guard !isAtEnd, array[currentIndex] == .null else { return false }
            currentIndex += 1
            return true
        }
        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next().decode(type) }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
            try next().container(keyedBy: type)
        }
        mutating func nestedUnkeyedContainer() throws -> UnkeyedDecodingContainer { try next().unkeyedContainer() }
        mutating func superDecoder() throws -> Decoder { try next() }
    }
}

extension JSON {
    /// "a number", "an object", … for messages.
    var kindName: String {
        switch self {
        case .null: return "null"
        case .bool: return "true or false"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

extension DecodingError {
    /// "FIELD: what is wrong", FIELD written as `results[1].outcomes.greedy`.
    var fieldMessage: String {
        func field(_ path: [CodingKey]) -> String {
            var out = ""
            for k in path {
                if let i = k.intValue { out += "[\(i)]" } else { out += (out.isEmpty ? "" : ".") + k.stringValue }
            }
            return out.isEmpty ? "the document" : out
        }
        func kind(_ t: Any.Type) -> String {
            switch t {
            case is any FixedWidthInteger.Type, is Double.Type, is Float.Type: return "a number"
            case is Bool.Type: return "true or false"
            case is String.Type: return "a string"
            default:
                let name = String(describing: t)
                return name.hasPrefix("Array") ? "an array" : name.hasPrefix("Dictionary") ? "an object" : name
            }
        }
        switch self {
        case .typeMismatch(let t, let c):
            return "\(field(c.codingPath)): expected \(kind(t))" + (c.debugDescription.hasPrefix("found ") ? ", \(c.debugDescription)" : "")
        case .valueNotFound(let t, let c): return "\(field(c.codingPath)): expected \(kind(t)), found null"
        case .keyNotFound(let k, let c): return "\(field(c.codingPath + [k])) is missing"
        case .dataCorrupted(let c): return "\(field(c.codingPath)): \(c.debugDescription)"
        @unknown default: return "\(self)"
        }
    }
}

/// A file passed between stages (rpt-eval/1, rpt-compare/1, rpt-fit/1, rpt-patterns/1): one Codable type for the
/// writer and every reader, whose "format" names the type and its version.
public protocol StageFile: Codable {
    static var format: String { get }
    /// Decodes an already-read file of this format (default: the Codable decoding).
    static func decoded(_ json: JSON, path: String) throws -> Self
}

extension StageFile {
    /// Reads and decodes the file; another format, or a field of the wrong type, is an error naming the file (and
    /// the field).
    public static func load(path: String) throws -> Self {
        let json = try JSON.load(path: path)
        guard json.object != nil else { throw RPTError("expected a JSON object (\(format))", file: path) }
        guard json["format"]?.string == format else {
            throw RPTError("not an \(format) file (format: \(json["format"]?.string.map { "\"\($0)\"" } ?? "missing"))", file: path)
        }
        return try decoded(json, path: path)
    }

    public static func decoded(_ json: JSON, path: String) throws -> Self { try json.decode(Self.self, file: path) }

    /// The file as a JSON value (serialized by its writer); `file` names it in errors.
    public func json(file: String? = nil) throws -> JSON { try JSON.encoding(self, file: file ?? Self.format) }
}
