// Splits a Jinja template into tokens the way Jinja2's lexer does (jinja2/lexer.py), with the settings
// transformers renders chat templates with: `trim_blocks=True, lstrip_blocks=True`, keep_trailing_newline off
// (src/transformers/utils/chat_template_utils.py, `_compile_jinja_template`). See the Jinja2 template designer
// documentation, "Whitespace Control" (jinja.palletsprojects.com/en/stable/templates/#whitespace-control):
//   - newlines are normalized to \n and one final newline of the template is dropped;
//   - `{%-`, `{{-`, `{#-` strip all whitespace before the tag; `-%}`, `-}}`, `-#}` all whitespace after it;
//   - trim_blocks: the first newline after a block or comment tag (`%}`, `#}`) is removed (`+%}` keeps it);
//   - lstrip_blocks: spaces and tabs from the start of a line up to a block or comment tag are removed
//     (`{%+` keeps them; `{{` is never affected);
//   - `{% raw %}...{% endraw %}` is text.
// Inside a tag, `%}` / `}}` ends the tag only when brackets are balanced (a dict literal may hold `}}`).
// String literals are unescaped as Python's "unicode-escape" codec does (\n, \t, \\, \', \", \xhh, \uhhhh, ...).

import Foundation

struct JinjaToken: Equatable {
    enum Kind: Equatable {
        case text(String)
        case outputStart, outputEnd      // {{ }}
        case statementStart, statementEnd // {% %}
        case name(String)
        case string(String)
        case integer(Int)
        case float(Double)
        case op(String)
        case end
    }
    var kind: Kind
    var line: Int
}

struct JinjaLexer {
    let trimBlocks: Bool
    let lstripBlocks: Bool

    init(trimBlocks: Bool = true, lstripBlocks: Bool = true) {
        self.trimBlocks = trimBlocks
        self.lstripBlocks = lstripBlocks
    }

    private static let operators = ["**", "//", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[", "]",
                                    "(", ")", "{", "}", ">", "<", "=", ".", ":", "|", ",", ";"]
        .map { Array($0.unicodeScalars) }

    func tokenize(_ template: String) throws -> [JinjaToken] {
        let s = JinjaLexer.normalizeNewlines(template)
        let n = s.count
        var tokens: [JinjaToken] = []
        var pos = 0
        var line = 1
        var lineStarting = true

        func at(_ i: Int, _ text: String) -> Bool {
            var j = i
            for c in text.unicodeScalars {
                guard j < n, s[j] == c else { return false }
                j += 1
            }
            return true
        }
        func newlines(_ range: Range<Int>) -> Int { s[range].reduce(0) { $0 + ($1 == "\n" ? 1 : 0) } }
        func emitText(_ scalars: ArraySlice<Unicode.Scalar>) {
            guard !scalars.isEmpty else { return }
            var text = ""
            text.unicodeScalars.append(contentsOf: scalars)
            tokens.append(JinjaToken(kind: .text(text), line: line))
        }
        /// Skips whitespace from i; returns the new position.
        func skipWhitespace(_ i: Int) -> Int {
            var j = i
            while j < n, JinjaValue.isPythonWhitespace(s[j]) { j += 1 }
            return j
        }

        while pos < n {
            // The next tag opener.
            var open = pos
            while open + 1 < n, !(s[open] == "{" && (s[open + 1] == "{" || s[open + 1] == "%" || s[open + 1] == "#")) { open += 1 }
            if open + 1 >= n {
                emitText(s[pos..<n])
                break
            }
            let kind = s[open + 1]
            var j = open + 2
            var sign: Unicode.Scalar? = nil
            if j < n, s[j] == "-" || s[j] == "+" { sign = s[j]; j += 1 }

            // Whitespace control of the text before the tag.
            var textEnd = open
            if sign == "-" {
                while textEnd > pos, JinjaValue.isPythonWhitespace(s[textEnd - 1]) { textEnd -= 1 }
            } else if sign != "+", lstripBlocks, kind != "{" {
                var lineStart = open
                while lineStart > pos, s[lineStart - 1] != "\n" { lineStart -= 1 }
                if (lineStart > pos || lineStarting), lineStart < open,
                   s[lineStart..<open].allSatisfy(JinjaValue.isPythonWhitespace) {
                    textEnd = lineStart
                }
            }
            emitText(s[pos..<textEnd])
            line += newlines(pos..<open)

            if kind == "#" {
                // Comment: up to the first "+#}", "-#}" or "#}".
                var k = j
                var endLength = 0
                while k < n {
                    if at(k, "+#}") || at(k, "-#}") { endLength = 3; break }
                    if at(k, "#}") { endLength = 2; break }
                    k += 1
                }
                guard endLength > 0 else { throw JinjaError("missing end of comment tag", line: line) }
                line += newlines(j..<k)
                var after = k + endLength
                if s[k] == "-" {
                    after = skipWhitespace(after)
                } else if s[k] != "+", trimBlocks, after < n, s[after] == "\n" {
                    after += 1
                }
                line += newlines((k + endLength)..<after)
                lineStarting = after > open && s[after - 1] == "\n"
                pos = after
                continue
            }

            if kind == "%", let raw = rawBlock(s, from: j) {
                // {% raw %} ... {% endraw %}: the body is text, with the usual control of the tags' whitespace.
                var body = s[raw.bodyStart..<raw.bodyEnd]
                if raw.innerSign == "-" {
                    while let last = body.last, JinjaValue.isPythonWhitespace(last) { body = body.dropLast() }
                }
                emitText(body)
                line += newlines(open..<raw.end)
                lineStarting = raw.end > 0 && s[raw.end - 1] == "\n"
                pos = raw.end
                continue
            }

            // {{ ... }} or {% ... %}: tokens until the closing tag at bracket depth 0.
            let isOutput = kind == "{"
            tokens.append(JinjaToken(kind: isOutput ? .outputStart : .statementStart, line: line))
            var balance: [Unicode.Scalar] = []
            var k = j
            var closed = false
            while k < n {
                if balance.isEmpty {
                    if isOutput {
                        if at(k, "-}}") {
                            let after = skipWhitespace(k + 3)
                            line += newlines(k..<after)
                            tokens.append(JinjaToken(kind: .outputEnd, line: line))
                            lineStarting = s[after - 1] == "\n"
                            k = after; closed = true; break
                        }
                        if at(k, "}}") {
                            tokens.append(JinjaToken(kind: .outputEnd, line: line))
                            lineStarting = false
                            k += 2; closed = true; break
                        }
                    } else {
                        if at(k, "+%}") {
                            tokens.append(JinjaToken(kind: .statementEnd, line: line))
                            lineStarting = false
                            k += 3; closed = true; break
                        }
                        if at(k, "-%}") {
                            let after = skipWhitespace(k + 3)
                            line += newlines(k..<after)
                            tokens.append(JinjaToken(kind: .statementEnd, line: line))
                            lineStarting = s[after - 1] == "\n"
                            k = after; closed = true; break
                        }
                        if at(k, "%}") {
                            tokens.append(JinjaToken(kind: .statementEnd, line: line))
                            k += 2
                            if trimBlocks, k < n, s[k] == "\n" { k += 1; line += 1; lineStarting = true } else { lineStarting = false }
                            closed = true; break
                        }
                    }
                }
                let c = s[k]
                if JinjaValue.isPythonWhitespace(c) {
                    if c == "\n" { line += 1 }
                    k += 1
                    continue
                }
                if let (number, length) = JinjaLexer.number(s, at: k) {
                    tokens.append(JinjaToken(kind: number, line: line))
                    k += length
                    continue
                }
                if c == "_" || c.properties.isAlphabetic {
                    var e = k + 1
                    while e < n, s[e] == "_" || s[e].properties.isAlphabetic || s[e].properties.numericType != nil { e += 1 }
                    var name = ""
                    name.unicodeScalars.append(contentsOf: s[k..<e])
                    tokens.append(JinjaToken(kind: .name(name), line: line))
                    k = e
                    continue
                }
                if c == "'" || c == "\"" {
                    var e = k + 1
                    while e < n, s[e] != c {
                        if s[e] == "\\" { e += 1 }
                        e += 1
                    }
                    guard e < n else { throw JinjaError("unterminated string literal", line: line) }
                    let value = try JinjaLexer.unescape(s[(k + 1)..<e], line: line)
                    tokens.append(JinjaToken(kind: .string(value), line: line))
                    line += newlines(k..<e)
                    k = e + 1
                    continue
                }
                guard let op = JinjaLexer.operators.first(where: { op in
                    k + op.count <= n && s[k..<(k + op.count)].elementsEqual(op)
                }) else {
                    throw JinjaError("unexpected character '\(Character(c))'", line: line)
                }
                var text = ""
                text.unicodeScalars.append(contentsOf: op)
                switch text {
                case "{": balance.append("}")
                case "(": balance.append(")")
                case "[": balance.append("]")
                case "}", ")", "]":
                    guard let expected = balance.popLast() else { throw JinjaError("unexpected '\(text)'", line: line) }
                    guard expected == op[0] else { throw JinjaError("unexpected '\(text)', expected '\(Character(expected))'", line: line) }
                default: break
                }
                tokens.append(JinjaToken(kind: .op(text), line: line))
                k += op.count
            }
            guard closed else {
                throw JinjaError(isOutput ? "missing '}}' at the end of an expression" : "missing '%}' at the end of a tag", line: line)
            }
            pos = k
        }
        tokens.append(JinjaToken(kind: .end, line: line))
        return tokens
    }

    /// \r\n and \r become \n; one trailing newline is dropped (keep_trailing_newline=False).
    static func normalizeNewlines(_ text: String) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(text.unicodeScalars.count)
        var previousCR = false
        for c in text.unicodeScalars {
            if c == "\r" { out.append("\n"); previousCR = true; continue }
            if c == "\n", previousCR { previousCR = false; continue }
            previousCR = false
            out.append(c)
        }
        if out.last == "\n" { out.removeLast() }
        return out
    }

    /// `{% raw %}` / `{%- raw -%}` starting after "{%" (and its sign) at `from`: where the body and the whole
    /// block end, or nil when the tag is not raw.
    private func rawBlock(_ s: [Unicode.Scalar], from: Int) -> (bodyStart: Int, bodyEnd: Int, end: Int, innerSign: Unicode.Scalar?)? {
        let n = s.count
        var i = from
        while i < n, JinjaValue.isPythonWhitespace(s[i]) { i += 1 }
        guard i + 3 <= n, s[i..<(i + 3)].elementsEqual("raw".unicodeScalars) else { return nil }
        i += 3
        guard i < n, !(s[i] == "_" || s[i].properties.isAlphabetic || s[i].properties.numericType != nil) else { return nil }
        while i < n, JinjaValue.isPythonWhitespace(s[i]) { i += 1 }
        func tagEnd(_ i: Int) -> Int? {
            if i + 3 <= n, s[i] == "-", s[i + 1] == "%", s[i + 2] == "}" {
                var j = i + 3
                while j < n, JinjaValue.isPythonWhitespace(s[j]) { j += 1 }
                return j
            }
            if i + 2 <= n, s[i] == "%", s[i + 1] == "}" { return i + 2 }
            return nil
        }
        guard let bodyStart = tagEnd(i) else { return nil }
        // The matching {% endraw %}.
        var k = bodyStart
        while k + 1 < n {
            if s[k] == "{", s[k + 1] == "%" {
                var j = k + 2
                var sign: Unicode.Scalar? = nil
                if j < n, s[j] == "-" || s[j] == "+" { sign = s[j]; j += 1 }
                while j < n, JinjaValue.isPythonWhitespace(s[j]) { j += 1 }
                if j + 6 <= n, s[j..<(j + 6)].elementsEqual("endraw".unicodeScalars) {
                    j += 6
                    while j < n, JinjaValue.isPythonWhitespace(s[j]) { j += 1 }
                    if j + 3 <= n, s[j] == "+", s[j + 1] == "%", s[j + 2] == "}" {
                        return (bodyStart, k, j + 3, sign)
                    }
                    if var end = tagEnd(j) {
                        if s[j] != "-", trimBlocks, end < n, s[end] == "\n" { end += 1 }
                        return (bodyStart, k, end, sign)
                    }
                }
            }
            k += 1
        }
        return nil
    }

    /// A float or integer literal at i (Jinja's float_re / integer_re), with its length.
    private static func number(_ s: [Unicode.Scalar], at i: Int) -> (JinjaToken.Kind, Int)? {
        let n = s.count
        func isDigit(_ j: Int) -> Bool { j < n && ("0"..."9").contains(s[j]) }
        guard isDigit(i) else { return nil }
        // digits with optional single underscores between them
        func digits(_ j: Int) -> Int {
            var e = j
            guard isDigit(e) else { return j }
            while true {
                while isDigit(e) { e += 1 }
                if e < n, s[e] == "_", isDigit(e + 1) { e += 1; continue }
                return e
            }
        }
        func text(_ a: Int, _ b: Int) -> String {
            var t = ""
            t.unicodeScalars.append(contentsOf: s[a..<b].filter { $0 != "_" })
            return t
        }
        // Floats do not start right after a dot (`x.0.1` is attribute access).
        if i == 0 || s[i - 1] != "." {
            let intEnd = digits(i)
            var e = intEnd
            var isFloat = false
            if e < n, s[e] == ".", isDigit(e + 1) { e = digits(e + 1); isFloat = true }
            if e < n, s[e] == "e" || s[e] == "E" {
                var x = e + 1
                if x < n, s[x] == "+" || s[x] == "-" { x += 1 }
                if isDigit(x) { e = digits(x); isFloat = true }
            }
            if isFloat, let d = Double(text(i, e)) { return (.float(d), e - i) }
        }
        // Integers: 0b, 0o, 0x prefixes or decimal.
        if s[i] == "0", i + 1 < n {
            let p = s[i + 1]
            let radix: Int? = (p == "b" || p == "B") ? 2 : (p == "o" || p == "O") ? 8 : (p == "x" || p == "X") ? 16 : nil
            if let radix {
                var e = i + 2
                while e < n, s[e] == "_" || Int(String(Character(s[e])), radix: radix) != nil { e += 1 }
                if e > i + 2, let v = Int(text(i + 2, e), radix: radix) { return (.integer(v), e - i) }
            }
        }
        let e = digits(i)
        guard let v = Int(text(i, e)) else { return nil }
        return (.integer(v), e - i)
    }

    /// The value of a string literal's body, unescaped as Python's unicode-escape codec does. Unknown escapes
    /// stay as written (a backslash and the character).
    static func unescape(_ body: ArraySlice<Unicode.Scalar>, line: Int) throws -> String {
        var out = ""
        var i = body.startIndex
        func hex(_ count: Int) throws -> Unicode.Scalar {
            guard i + count < body.endIndex else {
                throw JinjaError("truncated escape in string literal", line: line)
            }
            var t = ""
            t.unicodeScalars.append(contentsOf: body[(i + 1)...(i + count)])
            guard let v = UInt32(t, radix: 16), let c = Unicode.Scalar(v) else {
                throw JinjaError("invalid escape '\\\(t)' in string literal", line: line)
            }
            i += count
            return c
        }
        while i < body.endIndex {
            let c = body[i]
            guard c == "\\", i + 1 < body.endIndex else {
                out.unicodeScalars.append(c)
                i += 1
                continue
            }
            i += 1
            let e = body[i]
            switch e {
            case "\n": break
            case "\\": out += "\\"
            case "'": out += "'"
            case "\"": out += "\""
            case "a": out += "\u{07}"
            case "b": out += "\u{08}"
            case "f": out += "\u{0C}"
            case "n": out += "\n"
            case "r": out += "\r"
            case "t": out += "\t"
            case "v": out += "\u{0B}"
            case "x": out.unicodeScalars.append(try hex(2))
            case "u": out.unicodeScalars.append(try hex(4))
            case "U": out.unicodeScalars.append(try hex(8))
            case "0"..."7":
                var v = e.value - 48
                var k = 1
                while k < 3, i + 1 < body.endIndex, ("0"..."7").contains(body[i + 1]) {
                    i += 1; k += 1
                    v = v * 8 + body[i].value - 48
                }
                out.unicodeScalars.append(Unicode.Scalar(v)!)
            default:
                out += "\\"
                out.unicodeScalars.append(e)
            }
            i += 1
        }
        return out
    }
}
