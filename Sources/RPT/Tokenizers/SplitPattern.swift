// The pre-tokenizer regexes of GPT-2 and Qwen2 (and Llama 3, which differs from Qwen2 only in `\p{N}{1,3}`),
// hand-written as scanners over Unicode scalars. Each scanner returns exactly the matches Oniguruma finds with
// `find_iter` for the pattern (tokenizers `Split` with behavior Isolated, or `ByteLevel` with use_regex): at each
// position the first alternative that matches wins, with regex backtracking worked out by hand below.
//
//   GPT-2:  's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   Qwen2:  (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// The alternatives cover every scalar, so the matches tile the input with no gaps.

enum SplitPattern: Sendable, Equatable {
    case gpt2
    /// Qwen2 (maxDigits 1) or Llama 3 (maxDigits 3).
    case qwen2(maxDigits: Int)

    static let gpt2Regex = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    static let qwen2Regex =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let llama3Regex =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// The scanner for a regex string from tokenizer.json, or nil when it is not one we implement.
    init?(regex: String) {
        switch regex {
        case SplitPattern.gpt2Regex: self = .gpt2
        case SplitPattern.qwen2Regex: self = .qwen2(maxDigits: 1)
        case SplitPattern.llama3Regex: self = .qwen2(maxDigits: 3)
        default: return nil
        }
    }

    /// Splits a UTF-8 piece; calls `emit` with the byte range of each match, in order.
    func split(_ bytes: UnsafeBufferPointer<UInt8>, _ emit: (Range<Int>) -> Void) {
        let text = ClassifiedScalars(bytes)
        switch self {
        case .gpt2: SplitPattern.scanGPT2(text, emit)
        case .qwen2(let maxDigits): SplitPattern.scanQwen2(text, maxDigits: maxDigits, emit)
        }
    }

    // MARK: - Shared pieces

    private static let apostrophe: UInt32 = 0x27
    private static let space: UInt32 = 0x20

    /// Length of `'s|'t|'re|'ve|'m|'ll|'d` at `i` (which holds an apostrophe), or 0.
    /// Case-insensitive matching follows Oniguruma's case folding, where 'ſ' (U+017F) folds to 's'.
    private static func contractionLength(_ s: [UInt32], _ i: Int, caseInsensitive: Bool) -> Int {
        let n = s.count
        guard i + 1 < n else { return 0 }
        func lower(_ v: UInt32) -> UInt32 {
            guard caseInsensitive else { return v }
            if v >= 0x41 && v <= 0x5A { return v + 0x20 }
            if v == 0x17F { return 0x73 }  // ſ
            return v
        }
        let c1 = lower(s[i + 1])
        switch c1 {
        case 0x73, 0x74, 0x6D, 0x64: return 2  // s t m d
        case 0x72, 0x76:  // r v → 're 've
            return i + 2 < n && lower(s[i + 2]) == 0x65 ? 3 : 0
        case 0x6C:  // l → 'll
            return i + 2 < n && lower(s[i + 2]) == 0x6C ? 3 : 0
        default: return 0
        }
    }

    @inline(__always) private static func isOther(_ c: UInt8) -> Bool { c == 0 }  // [^\s\p{L}\p{N}]

    /// `\s+(?!\S)|\s+` at `i` (a space): the whole run when it reaches the end or is one scalar long,
    /// otherwise the run minus its last scalar (which is then left to precede the next word).
    private static func whitespaceRunEnd(_ c: [UInt8], _ i: Int) -> Int {
        var j = i
        while j < c.count && c[j] & ScalarClass.space != 0 { j += 1 }
        return (j == c.count || j - i == 1) ? j : j - 1
    }

    // MARK: - GPT-2

    private static func scanGPT2(_ t: ClassifiedScalars, _ emit: (Range<Int>) -> Void) {
        let s = t.scalars, c = t.classes, n = t.count
        var i = 0
        while i < n {
            var end: Int
            let k = s[i] == apostrophe ? contractionLength(s, i, caseInsensitive: false) : 0
            if k > 0 {
                end = i + k
            } else {
                // ` ?X+` for X in \p{L}, \p{N}, [^\s\p{L}\p{N}]: an optional leading ' ' then a run of one class.
                var p = i
                if s[i] == space && i + 1 < n && c[i + 1] & ScalarClass.space == 0 { p = i + 1 }
                let cls = c[p]
                if cls & ScalarClass.space != 0 {
                    end = whitespaceRunEnd(c, i)
                } else {
                    end = p + 1
                    if cls == ScalarClass.letter {
                        while end < n && c[end] & ScalarClass.letter != 0 { end += 1 }
                    } else if cls == ScalarClass.number {
                        while end < n && c[end] & ScalarClass.number != 0 { end += 1 }
                    } else {
                        while end < n && isOther(c[end]) { end += 1 }
                    }
                }
            }
            emit(t.offsets[i]..<t.offsets[end])
            i = end
        }
    }

    // MARK: - Qwen2 / Llama 3

    private static func scanQwen2(_ t: ClassifiedScalars, maxDigits: Int, _ emit: (Range<Int>) -> Void) {
        let s = t.scalars, c = t.classes, n = t.count
        var i = 0
        while i < n {
            let cls = c[i]
            var end: Int
            let k = s[i] == apostrophe ? contractionLength(s, i, caseInsensitive: true) : 0
            if k > 0 {
                // (?i:'s|'t|'re|'ve|'m|'ll|'d)
                end = i + k
            } else if cls & ScalarClass.letter != 0
                        || (cls & (ScalarClass.newline | ScalarClass.number) == 0 && i + 1 < n
                            && c[i + 1] & ScalarClass.letter != 0) {
                // [^\r\n\p{L}\p{N}]?\p{L}+
                end = cls & ScalarClass.letter != 0 ? i + 1 : i + 2
                while end < n && c[end] & ScalarClass.letter != 0 { end += 1 }
            } else if cls & ScalarClass.number != 0 {
                // \p{N} (Qwen2) or \p{N}{1,3} (Llama 3)
                end = i + 1
                while end < n && end - i < maxDigits && c[end] & ScalarClass.number != 0 { end += 1 }
            } else if isOther(cls) || (s[i] == space && i + 1 < n && isOther(c[i + 1])) {
                // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
                end = isOther(cls) ? i + 1 : i + 2
                while end < n && isOther(c[end]) { end += 1 }
                while end < n && c[end] & ScalarClass.newline != 0 { end += 1 }
            } else {
                // A space. `\s*[\r\n]+`: \s* backtracks to the last newline of the whitespace run.
                var j = i
                var lastNewline = -1
                while j < n && c[j] & ScalarClass.space != 0 {
                    if c[j] & ScalarClass.newline != 0 { lastNewline = j }
                    j += 1
                }
                end = lastNewline >= 0 ? lastNewline + 1 : whitespaceRunEnd(c, i)
            }
            emit(t.offsets[i]..<t.offsets[end])
            i = end
        }
    }
}
