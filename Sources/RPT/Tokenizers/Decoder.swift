// Hugging Face tokenizer.json decoders (tokenizers `decoders/`, `pre_tokenizers/metaspace.rs`,
// `pre_tokenizers/byte_level.rs`), applied like `Decoder::decode_chain`: each step maps the list of token strings
// to a new list, and the result is their concatenation.
//   ByteLevel    byte-level alphabet → bytes, UTF-8 decoded lossily (a token with a scalar outside the alphabet
//                contributes its own UTF-8 bytes)
//   Replace      string pattern → content, in each token
//   ByteFallback runs of <0xXX> tokens → their bytes as UTF-8, or one U+FFFD per byte when invalid
//   Fuse         join all tokens into one
//   Strip        remove up to `start` / `stop` copies of `content` at each token's start / end
// All of them work on Unicode scalars (Rust chars), not grapheme clusters.
//   Metaspace    replacement → ' ', dropped in the first token unless prepend_scheme is never

enum DecoderStep: Sendable, Equatable {
    case byteLevel
    case replace(pattern: String, content: String)
    case byteFallback
    case fuse
    case strip(content: Unicode.Scalar, start: Int, stop: Int)
    case metaspace(replacement: Unicode.Scalar, prependScheme: PrependScheme)

    static func parse(_ json: JSONValue?, file: String) throws -> [DecoderStep] {
        guard let json, !json.isNull else { return [] }
        guard let type = json["type"]?.stringValue else { throw RPTError("decoder without a \"type\"", file: file) }
        switch type {
        case "Sequence":
            guard let items = json["decoders"]?.arrayValue else { throw RPTError("Sequence decoder without \"decoders\"", file: file) }
            return try items.flatMap { try parse($0, file: file) }
        case "ByteLevel": return [.byteLevel]
        case "ByteFallback": return [.byteFallback]
        case "Fuse": return [.fuse]
        case "Replace":
            guard let pattern = json["pattern"]?["String"]?.stringValue, let content = json["content"]?.stringValue else {
                throw RPTError("unsupported decoder: Replace needs a {\"String\": ...} pattern and \"content\"", file: file)
            }
            return [.replace(pattern: pattern, content: content)]
        case "Strip":
            guard let content = json["content"]?.stringValue, content.unicodeScalars.count == 1 else {
                throw RPTError("Strip decoder needs a one-character \"content\"", file: file)
            }
            return [.strip(content: content.unicodeScalars.first!, start: max(0, json["start"]?.intValue ?? 0),
                           stop: max(0, json["stop"]?.intValue ?? 0))]
        case "Metaspace":
            let (replacement, scheme) = try PrependScheme.metaspaceOptions(json, file: file)
            return [.metaspace(replacement: replacement.unicodeScalars.first!, prependScheme: scheme)]
        default:
            throw RPTError("unsupported decoder type \"\(type)\"", file: file)
        }
    }
}

enum Decoding {
    /// Decodes token strings through the steps; without steps, tokens are joined with spaces (tokenizers' default).
    static func apply(_ steps: [DecoderStep], to tokens: [String]) -> String {
        if steps.isEmpty { return tokens.joined(separator: " ") }
        var tokens = tokens
        for step in steps { tokens = apply(step, tokens) }
        return tokens.joined()
    }

    private static func apply(_ step: DecoderStep, _ tokens: [String]) -> [String] {
        switch step {
        case .byteLevel:
            var bytes: [UInt8] = []
            for t in tokens { bytes.append(contentsOf: ByteLevelAlphabet.bytes(of: t) ?? Array(t.utf8)) }
            return [String(decoding: bytes, as: UTF8.self)]
        case .replace(let pattern, let content):
            let p = Array(pattern.utf8), c = Array(content.utf8)
            return tokens.map { t in
                Normalization.replace(ArraySlice(t.utf8), p, c).map { String(decoding: $0, as: UTF8.self) } ?? t
            }
        case .byteFallback:
            var out: [String] = []
            var pending: [UInt8] = []
            func flush() {
                if pending.isEmpty { return }
                if let s = String(validating: pending, as: UTF8.self) {
                    out.append(s)
                } else {
                    out.append(contentsOf: repeatElement("\u{FFFD}", count: pending.count))
                }
                pending.removeAll()
            }
            for t in tokens {
                if let b = byteFallbackValue(t) { pending.append(b) } else { flush(); out.append(t) }
            }
            flush()
            return out
        case .fuse:
            return [tokens.joined()]
        case .strip(let content, let start, let stop):
            return tokens.map { t in
                var chars = Array(t.unicodeScalars)
                var cut = 0
                while cut < start && cut < chars.count && chars[cut] == content { cut += 1 }
                chars.removeFirst(cut)
                var tail = 0
                while tail < stop && tail < chars.count && chars[chars.count - 1 - tail] == content { tail += 1 }
                chars.removeLast(tail)
                return String(String.UnicodeScalarView(chars))
            }
        case .metaspace(let replacement, let scheme):
            return tokens.enumerated().map { i, t in
                var s = String.UnicodeScalarView()
                for ch in t.unicodeScalars {
                    if ch == replacement {
                        if i == 0 && scheme != .never { continue }
                        s.append(" ")
                    } else {
                        s.append(ch)
                    }
                }
                return String(s)
            }
        }
    }

    /// The byte of a `<0xXX>` token (exactly six bytes, two hex digits), as tokenizers' ByteFallback parses it.
    static func byteFallbackValue(_ token: String) -> UInt8? {
        let u = Array(token.utf8)
        guard u.count == 6, u[0] == UInt8(ascii: "<"), u[1] == UInt8(ascii: "0"), u[2] == UInt8(ascii: "x"),
              u[5] == UInt8(ascii: ">") else { return nil }
        return UInt8(String(decoding: u[3..<5], as: UTF8.self), radix: 16)
    }
}
