// Added tokens of a Hugging Face tokenizer.json (`added_tokens`), matched in the text before the model sees it
// (tokenizers `tokenizer/added_vocabulary.rs`, find_matches): leftmost-longest matches; `single_word` drops a
// match that touches a word character (\w) on either side; `lstrip` / `rstrip` widen a match over the
// whitespace (\s) before / after it. Tokens with `normalized: false` are matched in the raw text, those with
// `normalized: true` in the normalized pieces between them.

struct AddedToken: Sendable, Equatable {
    var id: Int32
    var content: String
    var singleWord = false
    var lstrip = false
    var rstrip = false
    var normalized = true
    var special = false
}

/// One piece of the input after added-token matching: an added token's id, or a byte range of text for the model.
enum AddedTokenSplit: Equatable {
    case token(Int32)
    case text(Range<Int>)
}

/// Finds a set of added tokens in text.
struct AddedTokenMatcher: Sendable {
    private struct Pattern: Sendable {
        var bytes: [UInt8]
        var token: AddedToken
    }
    /// Patterns grouped by first byte, longest first.
    private var byFirstByte: [[Pattern]] = Array(repeating: [], count: 256)
    private(set) var isEmpty = true

    /// `patterns` pairs each token with the text to look for (its content, or its normalized content).
    init(_ patterns: [(text: String, token: AddedToken)]) {
        for (text, token) in patterns where !text.isEmpty {
            let bytes = Array(text.utf8)
            byFirstByte[Int(bytes[0])].append(Pattern(bytes: bytes, token: token))
            isEmpty = false
        }
        for b in 0..<256 { byFirstByte[b].sort { $0.bytes.count > $1.bytes.count } }
    }

    /// Splits UTF-8 text into added tokens and the byte ranges between them (empty ranges are dropped).
    func split(_ bytes: [UInt8]) -> [AddedTokenSplit] {
        let n = bytes.count
        if n == 0 { return [] }
        if isEmpty { return [.text(0..<n)] }
        var out: [AddedTokenSplit] = []
        var startOffset = 0
        var i = 0
        while i < n {
            guard let p = longestMatch(bytes, at: i) else { i += 1; continue }
            var start = i
            var stop = i + p.bytes.count
            i = stop  // matches do not overlap (find_iter continues after the match)
            let token = p.token
            if token.singleWord {
                let before = start == 0 || !TextClasses.endsWithWordCharacter(bytes, before: start)
                let after = stop == n || !TextClasses.startsWithWordCharacter(bytes, at: stop)
                if !before || !after { continue }
            }
            if token.lstrip { start = max(TextClasses.whitespaceRunStart(bytes, before: start), startOffset) }
            if token.rstrip { stop = TextClasses.whitespaceRunEnd(bytes, at: stop) }
            if startOffset < start { out.append(.text(startOffset..<start)) }
            out.append(.token(token.id))
            startOffset = max(startOffset, stop)
        }
        if startOffset < n { out.append(.text(startOffset..<n)) }
        return out
    }

    private func longestMatch(_ bytes: [UInt8], at i: Int) -> Pattern? {
        let candidates = byFirstByte[Int(bytes[i])]
        if candidates.isEmpty { return nil }
        outer: for p in candidates where i + p.bytes.count <= bytes.count {
            for k in 1..<p.bytes.count where bytes[i + k] != p.bytes[k] { continue outer }
            return p
        }
        return nil
    }
}

/// Rust `regex` classes (Unicode-aware) used around added tokens: \w and \s.
enum TextClasses {
    /// Rust regex \w: Alphabetic, general category M, Nd, Pc, or Join_Control.
    static func isWordCharacter(_ s: Unicode.Scalar) -> Bool {
        let p = s.properties
        if p.isAlphabetic || p.isJoinControl { return true }
        switch p.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
        default: return false
        }
    }

    /// The scalar ending just before byte offset `end` of valid UTF-8.
    private static func scalar(before end: Int, in bytes: [UInt8]) -> (Unicode.Scalar, Int)? {
        guard end > 0 else { return nil }
        var start = end - 1
        while start > 0 && bytes[start] & 0xC0 == 0x80 { start -= 1 }
        guard let s = String(validating: bytes[start..<end], as: UTF8.self)?.unicodeScalars.first else { return nil }
        return (s, start)
    }

    private static func scalar(at start: Int, in bytes: [UInt8]) -> (Unicode.Scalar, Int)? {
        guard start < bytes.count else { return nil }
        var end = start + 1
        while end < bytes.count && bytes[end] & 0xC0 == 0x80 { end += 1 }
        guard let s = String(validating: bytes[start..<end], as: UTF8.self)?.unicodeScalars.first else { return nil }
        return (s, end)
    }

    static func endsWithWordCharacter(_ bytes: [UInt8], before end: Int) -> Bool {
        scalar(before: end, in: bytes).map { isWordCharacter($0.0) } ?? false
    }

    static func startsWithWordCharacter(_ bytes: [UInt8], at start: Int) -> Bool {
        scalar(at: start, in: bytes).map { isWordCharacter($0.0) } ?? false
    }

    /// Start of the run of White_Space scalars that ends at `end`.
    static func whitespaceRunStart(_ bytes: [UInt8], before end: Int) -> Int {
        var i = end
        while let (s, start) = scalar(before: i, in: bytes), s.properties.isWhitespace { i = start }
        return i
    }

    /// End of the run of White_Space scalars that starts at `start`.
    static func whitespaceRunEnd(_ bytes: [UInt8], at start: Int) -> Int {
        var i = start
        while let (s, end) = scalar(at: i, in: bytes), s.properties.isWhitespace { i = end }
        return i
    }
}
