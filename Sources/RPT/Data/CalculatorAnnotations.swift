// Calculator annotations, as GSM8K writes them (Cobbe et al. 2021, "Training Verifiers to Solve Math Word
// Problems", §3): a worked solution carries `<<48/2=24>>` right before the result it computed, e.g.
// "Natalia sold 48/2 = <<48/2=24>>24 clips in May." The generated ledger corpus (`rpt corpus`) writes its
// running totals the same way. With `CorpusOptions.calculations` set, readers strip the annotations from the
// text (a model never sees them) and keep each one as a `Calculation`: the expression, and the byte range of
// the stripped text its result covers. `rpt prepare` marks the positions inside that range, and `rpt demos`
// writes the expression as the reasoning trace of those positions (docs/reproduction.md).

import Foundation

/// One annotated calculation in a document's (stripped) text.
public struct Calculation: Sendable, Equatable {
    /// The annotation's content without the brackets, e.g. "48/2=24".
    public var expression: String
    /// The result as annotated, e.g. "24".
    public var result: String
    /// Byte offset in the stripped text where the annotation stood (the start of its result).
    public var offset: Int
    /// Bytes of the stripped text that the result covers from `offset`: the annotated result when the text
    /// repeats it there, else 0 (the calculation then marks no position).
    public var length: Int

    public init(expression: String, result: String, offset: Int, length: Int) {
        self.expression = expression
        self.result = result
        self.offset = offset
        self.length = length
    }

    /// Whether the byte at `offset` of the stripped text lies inside this result.
    public func covers(byte offset: Int) -> Bool { offset >= self.offset && offset < self.offset + length }
}

public enum CalculatorAnnotations {
    /// Removes every `<<expression=result>>` annotation from `text`, returning the text without them and the
    /// calculations in order. An annotation without "=" or without its closing ">>" is left in the text.
    public static func strip(_ text: String) -> (text: String, calculations: [Calculation]) {
        let bytes = Array(text.utf8)
        guard bytes.count >= 4, bytes.contains(0x3C) else { return (text, []) }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var pending: [(expression: String, result: String, offset: Int)] = []
        var i = 0
        while i < bytes.count {
            if bytes[i] == 0x3C, i + 1 < bytes.count, bytes[i + 1] == 0x3C, let close = find(">>", in: bytes, from: i + 2) {
                let inner = bytes[(i + 2)..<close]
                if let eq = inner.lastIndex(of: 0x3D), !inner.contains(0x3C), !inner.contains(0x0A) {
                    let expression = String(decoding: inner, as: UTF8.self)
                    let result = String(decoding: inner[(eq + 1)...], as: UTF8.self)
                    pending.append((expression, result, out.count))
                    i = close + 2
                    continue
                }
            }
            out.append(bytes[i])
            i += 1
        }
        let calculations = pending.map { p -> Calculation in
            let r = Array(p.result.utf8)
            let repeated = !r.isEmpty && p.offset + r.count <= out.count && Array(out[p.offset..<(p.offset + r.count)]) == r
            return Calculation(expression: p.expression, result: p.result, offset: p.offset, length: repeated ? r.count : 0)
        }
        return (String(decoding: out, as: UTF8.self), calculations)
    }

    /// The calculation whose result covers byte `offset`, if any.
    public static func calculation(covering offset: Int, in calculations: [Calculation]) -> Calculation? {
        calculations.first { $0.covers(byte: offset) }
    }

    private static func find(_ needle: String, in bytes: [UInt8], from start: Int) -> Int? {
        let n = Array(needle.utf8)
        var i = start
        while i + n.count <= bytes.count {
            if bytes[i] == n[0] && Array(bytes[i..<(i + n.count)]) == n { return i }
            if bytes[i] == 0x0A { return nil }   // annotations never span lines
            i += 1
        }
        return nil
    }
}
