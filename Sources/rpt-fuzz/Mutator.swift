// Seeded mutations of a valid input. Each case is a pure function of (seed, target, case index), so any case can
// be regenerated and a run can restart after a crash at exactly the next case.
//
// Byte-level mutations apply to every format; JSON formats add text edits (number literals, deep nesting) and
// tree edits (a value replaced by another type, an interesting number, a huge string or list, keys removed or
// added); JSONL edits one line or the line structure; safetensors edits its JSON header and rewrites the 8-byte
// length in front of it, so the mutation reaches the checks behind the header parse.

import Foundation
import RPT

/// The shape of a target's input, which picks the mutations that make sense for it.
enum InputFormat {
    /// Binary; `hot` leading bytes hold the header, where most mutations land.
    case binary(hot: Int)
    case json
    case jsonl
    /// Plain text (a corpus).
    case text
    case safetensors
    /// A llama2.c checkpoint: header fields edited, usually with the file resized to match them.
    case llama2cModel
    /// A llama2.c tokenizer: records (score, piece) edited, added, removed.
    case llama2cTokenizer
}

/// A thin layer over the library's seeded generator.
struct Rand {
    var g: RandomGenerator
    init(seed: UInt64, stream: UInt64) { g = RandomGenerator(seed: seed, stream: stream) }
    /// Uniform in 0..<n (n > 0).
    mutating func below(_ n: Int) -> Int { Int(g.next() % UInt64(n)) }
    mutating func chance(_ p: Double) -> Bool { g.nextUnit() < p }
    mutating func pick<T>(_ a: [T]) -> T { a[below(a.count)] }
    mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: g.next()) }
}

enum Mutator {
    /// Cases stay small enough to write and load thousands of times: at most twice the seed or 1 MiB.
    static func maxCaseBytes(seed: Int) -> Int { max(2 * seed, 1 << 20) }
    /// Integers that break size arithmetic: zero, ±1, type boundaries, 2^53 and a trillion.
    static let interestingIntegers: [UInt64] = [
        0, 1, 2, 3, 7, 8, 16, 255, 256, 0x7FFF, 0x8000, 0xFFFF, 0x1_0000, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
        0x1_0000_0000, 1 << 53, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, UInt64.max, 1_000_000_000_000,
        UInt64(bitPattern: -2), UInt64(bitPattern: -256), UInt64(bitPattern: Int64(Int32.min)),
        // Float32 bit patterns: NaN, ±Inf, the largest finite, the smallest subnormal.
        UInt64(Float.nan.bitPattern), UInt64(Float.infinity.bitPattern), UInt64((-Float.infinity).bitPattern),
        UInt64(Float.greatestFiniteMagnitude.bitPattern), 1,
    ]

    /// JSON number literals at the edges of Int, Int32, Double and the parsers' integer checks.
    static let interestingNumberLiterals = [
        "0", "-0", "1", "-1", "2", "0.5", "1.5", "-0.0", "2147483647", "2147483648", "-2147483649", "4294967296",
        "9007199254740993", "9223372036854775807", "9223372036854775808", "-9223372036854775809",
        "18446744073709551616", "1e12", "1e15", "1e16", "1e19", "1e300", "1e308", "1e309", "-1e309", "1e-400",
        "1E400", "123456789012345678901234567890", "1.0000000000000002", "4.9e-324", "1e-7",
    ]

    static let interestingStrings = [
        "", " ", "\u{0}", "\u{FFFD}", "😀", "<0x41>", "<0xZZ>", "▁", "\\", "../x", "/", ".", "..", "NaN", "Infinity",
        "-Infinity", "F32", "BF16", "I64", "U8", "BOOL", "silu", "llama3", "linear", "BPE", "ByteLevel", "Metaspace",
        "step-000001", "model.safetensors", "!!!not base64!!!", "AAAA", "easy", "rpt-positions/1", "{text}", "{",
    ]

    /// `input` mutated by 1 to 4 stacked mutations; `others` are the target's other seeds, for splicing.
    static func mutate(_ input: [UInt8], format: InputFormat, others: [[UInt8]], rng: inout Rand) -> [UInt8] {
        var bytes = input
        let rounds = rng.pick([1, 1, 1, 2, 2, 3, 4])
        for _ in 0..<rounds {
            let next: [UInt8]
            switch format {
            case .binary(let hot): next = binaryMutation(bytes, hot: hot, others: others, rng: &rng)
            case .text: next = binaryMutation(bytes, hot: bytes.count, others: others, rng: &rng)
            // JSON formats get mostly structure-aware edits, which keep the text valid JSON and so reach the checks
            // behind the parser; byte edits (which mostly break the syntax) test the parser itself.
            case .json: next = rng.chance(0.9) ? jsonMutation(bytes, rng: &rng) : binaryMutation(bytes, hot: bytes.count, others: others, rng: &rng)
            case .jsonl: next = rng.chance(0.9) ? jsonlMutation(bytes, rng: &rng) : binaryMutation(bytes, hot: bytes.count, others: others, rng: &rng)
            case .safetensors: next = safetensorsMutation(bytes, others: others, rng: &rng)
            case .llama2cModel: next = rng.chance(0.6) ? llama2cHeaderMutation(bytes, seed: input.count, rng: &rng) : binaryMutation(bytes, hot: 28, others: others, rng: &rng)
            case .llama2cTokenizer: next = rng.chance(0.7) ? llama2cTokenizerMutation(bytes, rng: &rng) : binaryMutation(bytes, hot: bytes.count, others: others, rng: &rng)
            }
            if next.count <= maxCaseBytes(seed: input.count) { bytes = next }   // else the round is dropped
        }
        return bytes
    }

    // MARK: Bytes

    /// An offset in the hot region (the header) most of the time, anywhere otherwise.
    static func offset(_ count: Int, hot: Int, rng: inout Rand) -> Int {
        guard count > 0 else { return 0 }
        let limit = rng.chance(0.75) ? max(1, min(hot, count)) : count
        return rng.below(limit)
    }

    static func binaryMutation(_ input: [UInt8], hot: Int, others: [[UInt8]], rng: inout Rand) -> [UInt8] {
        var b = input
        if b.isEmpty { return [rng.byte()] }
        switch rng.below(10) {
        case 0:   // flip 1 to 8 bits
            for _ in 0..<(1 + rng.below(8)) { let o = offset(b.count, hot: hot, rng: &rng); b[o] ^= 1 << UInt8(rng.below(8)) }
        case 1:   // an interesting byte
            b[offset(b.count, hot: hot, rng: &rng)] = rng.pick([0, 1, 0x7F, 0x80, 0xFF, 0x22, 0x5C, 0x0A, rng.byte()])
        case 2, 3:   // an interesting 4- or 8-byte little-endian integer, usually at an aligned offset
            let width = rng.chance(0.6) ? 4 : 8
            var o = offset(b.count, hot: hot, rng: &rng)
            if rng.chance(0.8) { o -= o % 4 }
            var v = rng.pick(interestingIntegers)
            if rng.chance(0.15) { v = UInt64(b.count) &+ UInt64(bitPattern: Int64(rng.below(17) - 8)) }   // near the file size
            for i in 0..<width where o + i < b.count { b[o + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) }
        case 4:   // insert random or repeated bytes
            let o = offset(b.count + 1, hot: hot, rng: &rng)
            let n = rng.chance(0.8) ? 1 + rng.below(32) : rng.pick([256, 4096, 65536])
            let fill = rng.byte()
            let chunk = rng.chance(0.5) ? [UInt8](repeating: fill, count: n) : (0..<n).map { _ in rng.byte() }
            b.insert(contentsOf: chunk, at: min(o, b.count))
        case 5:   // delete a range
            let o = offset(b.count, hot: hot, rng: &rng)
            let n = min(b.count - o, 1 + rng.below(rng.chance(0.7) ? 16 : 4096))
            b.removeSubrange(o..<(o + n))
        case 6:   // truncate
            b.removeSubrange(rng.below(b.count)..<b.count)
        case 7:   // duplicate a chunk somewhere else
            let o = rng.below(b.count)
            let n = min(b.count - o, 1 + rng.below(rng.chance(0.7) ? 64 : 8192))
            let chunk = Array(b[o..<(o + n)])
            b.insert(contentsOf: chunk, at: rng.below(b.count + 1))
        case 8:   // splice: this input's prefix, another seed's suffix
            guard !others.isEmpty else { break }
            let other = rng.pick(others)
            guard !other.isEmpty else { break }
            b = Array(b[..<rng.below(b.count)]) + Array(other[rng.below(other.count)...])
        default:  // append garbage
            b += (0..<(1 + rng.below(64))).map { _ in rng.byte() }
        }
        return b
    }

    // MARK: JSON

    static func jsonMutation(_ input: [UInt8], rng: inout Rand) -> [UInt8] {
        switch rng.below(20) {
        case 0, 1, 2, 3: return replaceNumberLiteral(input, rng: &rng)
        case 4: return insertNesting(input, rng: &rng)
        default:
            // Tree edit; a document already broken by an earlier round gets a byte edit instead.
            guard let value = try? JSON.parse(Data(input), file: "fuzz") else { return binaryMutation(input, hot: input.count, others: [], rng: &rng) }
            return serialize(mutateTree(value, depth: 0, rng: &rng))
        }
    }

    /// Replaces one number literal of the text (keeping the rest byte for byte) with an interesting one.
    static func replaceNumberLiteral(_ input: [UInt8], rng: inout Rand) -> [UInt8] {
        var starts: [Range<Int>] = []
        var i = 0, inString = false
        while i < input.count {
            let c = input[i]
            if inString {
                if c == UInt8(ascii: "\\") { i += 2; continue }
                if c == UInt8(ascii: "\"") { inString = false }
                i += 1
            } else if c == UInt8(ascii: "\"") {
                inString = true; i += 1
            } else if c == UInt8(ascii: "-") || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) {
                let s = i
                while i < input.count, "0123456789+-.eE".utf8.contains(input[i]) { i += 1 }
                starts.append(s..<i)
            } else {
                i += 1
            }
        }
        guard !starts.isEmpty else { return insertNesting(input, rng: &rng) }
        var out = input
        out.replaceSubrange(rng.pick(starts), with: Array(rng.pick(interestingNumberLiterals).utf8))
        return out
    }

    /// Deeply nested arrays inserted at a random place: around the parsers' depth limit, or far beyond it.
    static func insertNesting(_ input: [UInt8], rng: inout Rand) -> [UInt8] {
        let depth = rng.pick([64, 511, 512, 513, 100_000])
        var nest = [UInt8](repeating: UInt8(ascii: "["), count: depth)
        if rng.chance(0.7) { nest += [UInt8](repeating: UInt8(ascii: "]"), count: depth) }
        var out = input
        out.insert(contentsOf: nest, at: rng.below(input.count + 1))
        return out
    }

    /// Walks down from the root (stopping early now and then) and edits the value it stops at.
    static func mutateTree(_ value: JSON, depth: Int, rng: inout Rand) -> JSON {
        let stopHere = depth > 0 && rng.chance(0.25)
        switch value {
        case .object(var o) where !o.isEmpty && !stopHere:
            if rng.chance(0.15) { return objectEdit(o, rng: &rng) }
            let key = o.keys.sorted()[rng.below(o.count)]    // sorted: dictionary order differs between processes
            o[key] = mutateTree(o[key]!, depth: depth + 1, rng: &rng)
            return .object(o)
        case .array(var a) where !a.isEmpty && !stopHere:
            if rng.chance(0.15) { return arrayEdit(a, rng: &rng) }
            let i = rng.below(a.count)
            a[i] = mutateTree(a[i], depth: depth + 1, rng: &rng)
            return .array(a)
        default:
            return replacement(for: value, rng: &rng)
        }
    }

    static func replacement(for value: JSON, rng: inout Rand) -> JSON {
        switch rng.below(12) {
        case 0, 1, 2:
            let literal = rng.pick(interestingNumberLiterals)
            return .number(Double(literal) ?? 0)
        case 3: return rng.pick([.null, .bool(true), .bool(false)])
        case 4: return .string(rng.pick(interestingStrings))
        case 5: return rng.pick([.array([]), .object([:]), .array([value]), .object(["x": value]), .array([value, value])])
        case 6:   // a huge string
            return .string(String(repeating: rng.pick(["A", "é", "\u{0}", "▁"]), count: rng.pick([1_000, 10_000, 100_000])))
        case 7:   // a long list (of a small value: the case stays a few megabytes at most)
            let n = rng.pick([1_000, 10_000, 100_000])
            let isSmall: Bool
            switch value { case .object, .array: isSmall = false; case .string(let s): isSmall = s.utf8.count < 16; default: isSmall = true }
            return .array([JSON](repeating: isSmall && rng.chance(0.5) ? value : .number(1), count: n))
        case 8:   // nesting near and past the depth limit
            var v = value
            for _ in 0..<rng.pick([8, 510, 600]) { v = .array([v]) }
            return v
        case 9:   // the same type, edited
            switch value {
            case .number(let d): return .number(rng.pick([-d, d + 1, d - 1, d * 2, d * 1e6, d / 3, d.rounded(.down) + 0.5]))
            case .string(let s): return .string(rng.chance(0.5) ? String(s.reversed()) : s + s)
            case .bool(let b): return .bool(!b)
            default: return .number(-1)
            }
        default:
            return .number(Double(Int64(bitPattern: rng.pick(interestingIntegers))))
        }
    }

    static func objectEdit(_ object: [String: JSON], rng: inout Rand) -> JSON {
        var o = object
        let keys = o.keys.sorted()
        switch rng.below(4) {
        case 0: o.removeValue(forKey: rng.pick(keys))
        case 1: o[rng.pick(interestingStrings) + rng.pick(["", "_", "x"])] = replacement(for: .null, rng: &rng)
        case 2:   // rename a key
            let k = rng.pick(keys)
            let v = o.removeValue(forKey: k)!
            o[String(k.dropLast())] = v
        default: o = [:]
        }
        return .object(o)
    }

    static func arrayEdit(_ array: [JSON], rng: inout Rand) -> JSON {
        var a = array
        switch rng.below(5) {
        case 0: a.remove(at: rng.below(a.count))
        case 1: a.append(contentsOf: a)
        case 2: a.reverse()
        case 3: a = Array(a.prefix(rng.below(a.count)))
        default: a.insert(replacement(for: a[0], rng: &rng), at: rng.below(a.count + 1))
        }
        return .array(a)
    }

    /// Compact JSON with sorted keys, as `JSON.serialized()` writes it, straight into bytes (several times faster on
    /// the huge strings and lists the mutations make).
    static func serialize(_ value: JSON) -> [UInt8] {
        var out: [UInt8] = []
        write(value, into: &out)
        return out
    }

    private static func write(_ value: JSON, into out: inout [UInt8]) {
        switch value {
        case .null: out += Array("null".utf8)
        case .bool(let b): out += Array((b ? "true" : "false").utf8)
        case .number(let d):
            if d == d.rounded(), abs(d) < 1e15 { out += Array(String(Int64(d)).utf8) }
            else if d.isFinite { out += Array("\(d)".utf8) }
            else { out += Array("null".utf8) }
        case .string(let s): writeString(s, into: &out)
        case .array(let a):
            out.append(UInt8(ascii: "["))
            for (i, v) in a.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                write(v, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            out.append(UInt8(ascii: "{"))
            for (i, k) in o.keys.sorted().enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                writeString(k, into: &out)
                out.append(UInt8(ascii: ":"))
                write(o[k]!, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func writeString(_ s: String, into out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), b]
            case 0x0A: out += Array("\\n".utf8)
            case 0x0D: out += Array("\\r".utf8)
            case 0x09: out += Array("\\t".utf8)
            case 0..<0x20: out += Array("\\u00".utf8) + [hex[Int(b >> 4)], hex[Int(b & 15)]]
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    // MARK: JSON lines

    static func jsonlMutation(_ input: [UInt8], rng: inout Rand) -> [UInt8] {
        var lines = input.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map(Array.init)
        if lines.last == [] { lines.removeLast() }
        guard !lines.isEmpty else { return binaryMutation(input, hot: input.count, others: [], rng: &rng) }
        let i = rng.below(lines.count)
        switch rng.below(10) {
        case 0: lines.insert(lines[i], at: rng.below(lines.count + 1))
        case 1: lines.remove(at: i)
        case 2: lines.swapAt(i, rng.below(lines.count))
        case 3: lines.insert(rng.pick([[], Array("   \r".utf8), Array("\r".utf8), [0xFF, 0xFE], Array("[]".utf8), Array("null".utf8)]),
                             at: rng.below(lines.count + 1))
        default: lines[i] = jsonMutation(lines[i], rng: &rng)
        }
        return Array(lines.joined(separator: [UInt8(ascii: "\n")])) + (rng.chance(0.8) ? [UInt8(ascii: "\n")] : [])
    }

    // MARK: safetensors

    /// Edits the JSON header (rewriting the length in front of it, usually), the length itself, or any byte.
    static func safetensorsMutation(_ input: [UInt8], others: [[UInt8]], rng: inout Rand) -> [UInt8] {
        guard input.count >= 8 else { return binaryMutation(input, hot: 8, others: others, rng: &rng) }
        let n = input[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard n <= UInt64(input.count - 8) else { return binaryMutation(input, hot: 8, others: others, rng: &rng) }
        let header = Array(input[8..<(8 + Int(n))])
        let body = Array(input[(8 + Int(n))...])
        switch rng.below(10) {
        case 0, 1, 2, 3, 4, 5, 6, 7:
            // A tensor's dtype or shape changed so that the file stays valid (then every reader path runs), or any edit.
            let edited = rng.chance(0.3) ? tensorEntryEdit(header, rng: &rng) : jsonMutation(header, rng: &rng)
            var length = UInt64(edited.count)
            if rng.chance(0.1) { length = rng.pick(interestingIntegers) }
            var out = (0..<8).map { UInt8(truncatingIfNeeded: length >> (8 * UInt64($0))) }
            out += edited
            out += body
            return out
        default:
            return binaryMutation(input, hot: 8 + Int(n), others: others, rng: &rng)
        }
    }

    /// Another dtype of the same width, or a shape with the same element count, for one tensor of the header.
    static func tensorEntryEdit(_ header: [UInt8], rng: inout Rand) -> [UInt8] {
        guard case .object(var o)? = try? JSON.parse(Data(header), file: "fuzz") else { return jsonMutation(header, rng: &rng) }
        let names = o.keys.filter { $0 != "__metadata__" }.sorted()
        guard !names.isEmpty, case .object(var entry)? = o[rng.pick(names)], let name = names.first(where: { o[$0]?.object == entry }),
              let shape = entry["shape"]?.array?.compactMap(\.int), let dtype = entry["dtype"]?.string else { return jsonMutation(header, rng: &rng) }
        let sameWidth = [["F32", "I32", "U32"], ["BF16", "F16", "I16", "U16"], ["F64", "I64", "U64"], ["U8", "I8", "BOOL", "F8_E4M3", "F8_E5M2"]]
        if rng.chance(0.5), let group = sameWidth.first(where: { $0.contains(dtype) }) {
            entry["dtype"] = .string(rng.pick(group))
        } else {
            let count = shape.reduce(1, *)
            let reshaped: [[Int]] = [shape.reversed(), [count], [1] + shape, shape + [1], [count, 1], [1, 1, count]]
            entry["shape"] = .array(rng.pick(reshaped).map { .number(Double($0)) })
        }
        o[name] = .object(entry)
        return serialize(.object(o))
    }

    // MARK: llama2.c

    /// Edits one or two of the seven header fields; usually the weights are then cut or repeated to exactly the size
    /// the new header implies, so the file is consistent and loads with shapes the seed never had.
    static func llama2cHeaderMutation(_ input: [UInt8], seed: Int, rng: inout Rand) -> [UInt8] {
        guard input.count > 28 else { return binaryMutation(input, hot: 28, others: [], rng: &rng) }
        var h = (0..<7).map { i in Int32(bitPattern: (0..<4).reduce(UInt32(0)) { $0 | UInt32(input[4 * i + $1]) << (8 * UInt32($1)) }) }
        for _ in 0..<(1 + rng.below(2)) {
            let f = rng.below(7), v = Int(h[f])
            let candidates = rng.chance(0.8) ? [1, 2, 3, 4, 6, 8, 16, 32, 64, v + 1, v - 1, v * 2, v / 2, -v]
                                             : interestingIntegers.map { Int(Int32(truncatingIfNeeded: $0)) }
            h[f] = Int32(truncatingIfNeeded: rng.pick(candidates))
        }
        var out = h.flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: UInt32(bitPattern: v) >> (8 * UInt32($0))) } }
        let body = Array(input[28...])
        if rng.chance(0.7), let floats = impliedFloats(h), 28 + 4 * floats <= maxCaseBytes(seed: seed) {
            out += (0..<(4 * floats)).map { body[$0 % body.count] }
        } else {
            out += body
        }
        return out
    }

    /// The float count a llama2.c header implies (as Llama2CHeader computes it), when positive and small.
    static func impliedFloats(_ h: [Int32]) -> Int? {
        let (dim, hidden, layers, heads, kvHeads, vocab, seq) = (Int(h[0]), Int(h[1]), Int(h[2]), Int(h[3]), Int(h[4]), abs(Int(h[5])), Int(h[6]))
        guard [dim, hidden, layers, heads, kvHeads, vocab, seq].allSatisfy({ $0 > 0 && $0 < 1 << 16 }) else { return nil }
        let headSize = dim / heads, kvDim = kvHeads * headSize
        let perLayer = 2 * dim + 2 * dim * dim + 2 * kvDim * dim + 3 * hidden * dim
        return vocab * dim * (h[5] > 0 ? 1 : 2) + layers * perLayer + dim + seq * headSize
    }

    /// A record-level edit of a llama2.c tokenizer: a score, a piece, the record list, or max_token_length.
    static func llama2cTokenizerMutation(_ input: [UInt8], rng: inout Rand) -> [UInt8] {
        func int32(_ b: [UInt8], _ o: Int) -> Int32 { Int32(bitPattern: (0..<4).reduce(UInt32(0)) { $0 | UInt32(b[o + $1]) << (8 * UInt32($1)) }) }
        func le(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * UInt32($0))) } }
        guard input.count >= 4 else { return binaryMutation(input, hot: 4, others: [], rng: &rng) }
        var maxLen = int32(input, 0)
        var records: [(score: [UInt8], piece: [UInt8])] = []
        var o = 4
        while o + 8 <= input.count {
            let n = Int(int32(input, o + 4))
            guard n >= 0, o + 8 + n <= input.count else { break }
            records.append((Array(input[o..<(o + 4)]), Array(input[(o + 8)..<(o + 8 + n)])))
            o += 8 + n
        }
        guard records.count > 1 else { return binaryMutation(input, hot: input.count, others: [], rng: &rng) }
        let i = rng.below(records.count), j = rng.below(records.count)
        var lengthSkew: Int32 = 0
        switch rng.below(8) {
        case 0:
            let scores: [Float] = [.nan, .infinity, -.infinity, -1e10, -1.0000001e10, 0, -0.0, 1e38, -.leastNonzeroMagnitude]
            records[i].score = rng.chance(0.7) ? le(rng.pick(scores).bitPattern) : records[j].score
        case 1, 2:
            let p = records[i].piece, q = records[j].piece
            let limit = max(0, Int(maxLen) * 4 + 16)
            records[i].piece = rng.pick([q, p + q, q + p, [], [0xFF], [0xC3], [0x20], p + [rng.byte()],
                                         [UInt8](repeating: rng.pick([0x20, 0x61, 0xE2]), count: min(limit, 1 + rng.below(64)))])
        case 3: records.insert(records[i], at: j)
        case 4: records.remove(at: i)
        case 5: records.swapAt(i, j)
        case 6: maxLen = rng.pick([0, -1, 1, 2, 3, maxLen &- 1, maxLen &+ 1, (1 << 20) - 1, 1 << 20, Int32.max])
        default: lengthSkew = rng.pick([-1, 1, 1000, Int32.min])   // a length that disagrees with the piece
        }
        var out = le(UInt32(bitPattern: maxLen))
        for (k, r) in records.enumerated() {
            out += r.score
            out += le(UInt32(bitPattern: Int32(r.piece.count) &+ (k == i ? lengthSkew : 0)))
            out += r.piece
        }
        return out
    }
}
