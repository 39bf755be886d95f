// Python's str methods as chat templates call them (`content.split('</think>')[-1].lstrip('\n')`,
// `message.content.startswith(...)`, `.strip()`), and the string filters of Jinja2 (trim, replace, title,
// capitalize, escape; the Jinja2 template designer documentation, "List of Builtin Filters",
// jinja.palletsprojects.com/en/stable/templates/), on Unicode scalars (Python code points) with Python's
// definition of whitespace. transformers renders chat templates with Jinja2 on Python strings
// (src/transformers/utils/chat_template_utils.py), so these follow CPython's str semantics.

import Foundation

enum JinjaStrings {
    typealias Scalars = [Unicode.Scalar]

    static func string(_ scalars: some Sequence<Unicode.Scalar>) -> String {
        var s = ""
        s.unicodeScalars.append(contentsOf: scalars)
        return s
    }

    /// The first index ≥ from where `needle` occurs in `haystack`.
    static func find(_ haystack: Scalars, _ needle: Scalars, from: Int) -> Int? {
        guard !needle.isEmpty else { return from <= haystack.count ? from : nil }
        guard haystack.count >= needle.count else { return nil }
        var i = from
        while i + needle.count <= haystack.count {
            if haystack[i] == needle[0], haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }

    /// str.strip / lstrip / rstrip: whitespace, or any of `chars`.
    static func strip(_ s: String, chars: String?, left: Bool, right: Bool) -> String {
        let set = chars.map { Set($0.unicodeScalars) }
        func drop(_ c: Unicode.Scalar) -> Bool { set.map { $0.contains(c) } ?? JinjaValue.isPythonWhitespace(c) }
        let a = Array(s.unicodeScalars)
        var start = 0, end = a.count
        if left { while start < end, drop(a[start]) { start += 1 } }
        if right { while end > start, drop(a[end - 1]) { end -= 1 } }
        return string(a[start..<end])
    }

    /// str.split(sep=None, maxsplit=-1): on runs of whitespace (dropping empty parts) when `separator` is nil.
    static func split(_ s: String, separator: String?, maxSplit: Int) -> [String] {
        let a = Array(s.unicodeScalars)
        var parts: [String] = []
        if let separator {
            let sep = Array(separator.unicodeScalars)
            var start = 0
            while maxSplit < 0 || parts.count < maxSplit, let i = find(a, sep, from: start) {
                parts.append(string(a[start..<i]))
                start = i + sep.count
            }
            parts.append(string(a[start...]))
            return parts
        }
        var i = 0
        while i < a.count {
            while i < a.count, JinjaValue.isPythonWhitespace(a[i]) { i += 1 }
            guard i < a.count else { break }
            if maxSplit >= 0, parts.count == maxSplit {
                var end = a.count
                while end > i, JinjaValue.isPythonWhitespace(a[end - 1]) { end -= 1 }
                parts.append(string(a[i..<end]))
                break
            }
            let start = i
            while i < a.count, !JinjaValue.isPythonWhitespace(a[i]) { i += 1 }
            parts.append(string(a[start..<i]))
        }
        return parts
    }

    /// str.rsplit(sep, maxsplit).
    static func rsplit(_ s: String, separator: String?, maxSplit: Int) -> [String] {
        guard maxSplit >= 0 else { return split(s, separator: separator, maxSplit: -1) }
        let reversedParts = split(string(s.unicodeScalars.reversed()), separator: separator.map { string($0.unicodeScalars.reversed()) },
                                  maxSplit: maxSplit)
        return reversedParts.reversed().map { string($0.unicodeScalars.reversed()) }
    }

    /// str.replace(old, new, count).
    static func replace(_ s: String, _ old: String, _ new: String, count: Int?) -> String {
        let a = Array(s.unicodeScalars), o = Array(old.unicodeScalars), n = Array(new.unicodeScalars)
        var out: Scalars = []
        var replaced = 0
        func more() -> Bool { count.map { $0 < 0 || replaced < $0 } ?? true }
        if o.isEmpty {
            // Python inserts `new` before every character and at the end.
            for c in a {
                if more() { out += n; replaced += 1 }
                out.append(c)
            }
            if more() { out += n }
            return string(out)
        }
        var i = 0
        while i < a.count {
            if more(), let j = find(a, o, from: i) {
                out += a[i..<j]
                out += n
                replaced += 1
                i = j + o.count
            } else {
                out += a[i...]
                break
            }
        }
        return string(out)
    }

    static func capitalize(_ s: String) -> String {
        guard let first = s.unicodeScalars.first else { return s }
        return String(first).uppercased() + string(s.unicodeScalars.dropFirst()).lowercased()
    }

    /// Jinja's title filter: each word (split at whitespace, "-" and brackets) upper-cased first, lower after.
    static func title(_ s: String) -> String {
        var out = ""
        var startOfWord = true
        for c in s.unicodeScalars {
            let boundary = JinjaValue.isPythonWhitespace(c) || "-([{<".unicodeScalars.contains(c)
            if boundary {
                out.unicodeScalars.append(c)
                startOfWord = true
            } else {
                out += startOfWord ? String(c).uppercased() : String(c).lowercased()
                startOfWord = false
            }
        }
        return out
    }

    static func htmlEscape(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&#34;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// str.splitlines(): lines without their line boundaries.
    static func splitLines(_ s: String) -> [String] {
        let a = Array(s.unicodeScalars)
        var lines: [String] = []
        var start = 0, i = 0
        while i < a.count {
            let c = a[i]
            switch c.value {
            case 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029:
                lines.append(string(a[start..<i]))
                if c == "\r", i + 1 < a.count, a[i + 1] == "\n" { i += 1 }
                start = i + 1
            default: break
            }
            i += 1
        }
        if start < a.count { lines.append(string(a[start...])) }
        return lines
    }

    /// The Python method `name` of string `s`, bound, or nil when str has no such method here.
    static func method(_ s: String, _ name: String) -> JinjaFunction? {
        func stringArg(_ args: [JinjaValue], _ i: Int) throws -> String? {
            guard i < args.count, !args[i].isNone else { return nil }
            guard case .string(let t) = args[i] else { throw JinjaError("\(name)() argument must be str, not \(args[i].typeName)") }
            return t
        }
        func affixes(_ args: [JinjaValue]) throws -> [String] {
            guard let a = args.first else { throw JinjaError("\(name)() takes a string or a tuple of strings") }
            switch a {
            case .string(let t): return [t]
            case .list(let items, _): return try items.map { v in
                guard case .string(let t) = v else { throw JinjaError("\(name)() tuple items must be str") }
                return t
            }
            default: throw JinjaError("\(name)() first arg must be str or a tuple of str, not \(a.typeName)")
            }
        }
        let f: ([JinjaValue], [(String, JinjaValue)]) throws -> JinjaValue
        switch name {
        case "strip": f = { args, _ in .string(strip(s, chars: try stringArg(args, 0), left: true, right: true)) }
        case "lstrip": f = { args, _ in .string(strip(s, chars: try stringArg(args, 0), left: true, right: false)) }
        case "rstrip": f = { args, _ in .string(strip(s, chars: try stringArg(args, 0), left: false, right: true)) }
        case "split", "rsplit":
            f = { args, kwargs in
                let sep = try stringArg(args, 0) ?? kwargs.first { $0.0 == "sep" }?.1.stringValue
                if sep == "" { throw JinjaError("empty separator") }
                let maxSplit = (args.count > 1 ? args[1] : kwargs.first { $0.0 == "maxsplit" }?.1)?.integer ?? -1
                let parts = name == "split" ? split(s, separator: sep, maxSplit: maxSplit) : rsplit(s, separator: sep, maxSplit: maxSplit)
                return .list(parts.map { .string($0) })
            }
        case "startswith":
            f = { args, _ in .bool(try affixes(args).contains { s.unicodeScalars.starts(with: $0.unicodeScalars) }) }
        case "endswith":
            f = { args, _ in .bool(try affixes(args).contains { s.unicodeScalars.reversed().starts(with: $0.unicodeScalars.reversed()) }) }
        case "upper": f = { _, _ in .string(s.uppercased()) }
        case "lower": f = { _, _ in .string(s.lowercased()) }
        case "title": f = { _, _ in .string(title(s)) }
        case "capitalize": f = { _, _ in .string(capitalize(s)) }
        case "replace":
            f = { args, _ in
                guard let old = try stringArg(args, 0), let new = try stringArg(args, 1) else { throw JinjaError("replace() takes two strings") }
                return .string(replace(s, old, new, count: args.count > 2 ? args[2].integer : nil))
            }
        case "find", "rfind", "index", "rindex", "count":
            f = { args, _ in
                guard let sub = try stringArg(args, 0) else { throw JinjaError("\(name)() takes a string") }
                let a = Array(s.unicodeScalars), b = Array(sub.unicodeScalars)
                var hits: [Int] = []
                var i = 0
                while let j = find(a, b, from: i) {
                    hits.append(j)
                    i = j + max(b.count, 1)
                    if name == "find" || name == "index" { break }
                }
                if name == "count" { return .int(hits.count) }
                guard let hit = (name.hasPrefix("r") ? hits.last : hits.first) else {
                    if name.hasSuffix("index") { throw JinjaError("substring not found") }
                    return .int(-1)
                }
                return .int(hit)
            }
        case "join":
            f = { args, _ in
                guard case .list(let items, _) = args.first ?? .none else { throw JinjaError("join() takes a list") }
                return .string(try items.map { v -> String in
                    guard case .string(let t) = v else { throw JinjaError("sequence item: expected str instance, \(v.typeName) found") }
                    return t
                }.joined(separator: s))
            }
        case "splitlines": f = { _, _ in .list(splitLines(s).map { .string($0) }) }
        case "isdigit": f = { _, _ in .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.numericType == .decimal || $0.properties.numericType == .digit }) }
        case "isalpha": f = { _, _ in .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.isAlphabetic }) }
        case "isalnum": f = { _, _ in .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || $0.properties.numericType != nil }) }
        case "isspace": f = { _, _ in .bool(!s.isEmpty && s.unicodeScalars.allSatisfy(JinjaValue.isPythonWhitespace)) }
        case "islower": f = { _, _ in .bool(s.lowercased() == s && s.uppercased() != s) }
        case "isupper": f = { _, _ in .bool(s.uppercased() == s && s.lowercased() != s) }
        default: return nil
        }
        return JinjaFunction(name: "str.\(name)", call: f)
    }
}
