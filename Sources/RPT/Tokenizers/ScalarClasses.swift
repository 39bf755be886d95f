// The character classes the GPT-2 / Qwen2 pre-tokenizer regexes use, as Oniguruma (what Hugging Face tokenizers
// runs) defines them for UTF-8 text:
//   \p{L}    general category L (Lu, Ll, Lt, Lm, Lo)
//   \p{N}    general category N (Nd, Nl, No)
//   \s       the Unicode White_Space property (so U+00A0, U+3000, U+2028 are spaces; U+200B, U+FEFF, U+001C are not)
//   [\r\n]   exactly U+000D and U+000A
// A scanner decodes a UTF-8 piece once into parallel arrays of scalars, classes and byte offsets.

enum ScalarClass {
    static let letter: UInt8 = 1
    static let number: UInt8 = 2
    static let space: UInt8 = 4       // \s
    static let newline: UInt8 = 8     // [\r\n] (also has `space`)

    /// Classes for the Basic Multilingual Plane, computed once from the Unicode tables of the standard library.
    private static let bmp: [UInt8] = {
        var table = [UInt8](repeating: 0, count: 0x10000)
        for v in 0..<0x10000 {
            if let s = Unicode.Scalar(UInt32(v)) { table[v] = compute(s) }
        }
        return table
    }()

    private static func compute(_ s: Unicode.Scalar) -> UInt8 {
        if s.value == 0x0A || s.value == 0x0D { return space | newline }
        if s.properties.isWhitespace { return space }
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return letter
        case .decimalNumber, .letterNumber, .otherNumber: return number
        default: return 0
        }
    }

    @inline(__always)
    static func of(_ value: UInt32) -> UInt8 {
        if value < 0x10000 { return bmp[Int(value)] }
        guard let s = Unicode.Scalar(value) else { return 0 }
        return compute(s)
    }
}

/// A UTF-8 piece decoded into scalars with their classes; `offsets[i]` is the byte offset of scalar i
/// and `offsets[count]` the piece length.
struct ClassifiedScalars {
    var scalars: [UInt32] = []
    var classes: [UInt8] = []
    var offsets: [Int] = []

    var count: Int { scalars.count }

    /// Decodes valid UTF-8 (as Swift strings always are).
    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        let n = bytes.count
        scalars.reserveCapacity(n)
        classes.reserveCapacity(n)
        offsets.reserveCapacity(n + 1)
        var i = 0
        while i < n {
            let b0 = UInt32(bytes[i])
            var v: UInt32
            var len: Int
            if b0 < 0x80 {
                v = b0; len = 1
            } else if b0 < 0xE0 {
                v = b0 & 0x1F; len = 2
            } else if b0 < 0xF0 {
                v = b0 & 0x0F; len = 3
            } else {
                v = b0 & 0x07; len = 4
            }
            if i + len > n { len = n - i }  // defensive: never read past the piece
            for k in 1..<max(len, 1) { v = v << 6 | (UInt32(bytes[i + k]) & 0x3F) }
            scalars.append(v)
            classes.append(ScalarClass.of(v))
            offsets.append(i)
            i += len
        }
        offsets.append(n)
    }
}
