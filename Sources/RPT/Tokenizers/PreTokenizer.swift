// Hugging Face tokenizer.json pre-tokenizers (tokenizers `pre_tokenizers/`) that byte-level and SentencePiece-style
// BPE tokenizers use:
//   ByteLevel {add_prefix_space, use_regex}   optional ' ' prefix, the GPT-2 regex split, then bytes → byte-level alphabet
//   Split {pattern: {Regex}, behavior: Isolated, invert: false} with the GPT-2 / Qwen2 / Llama 3 regex
//   Metaspace {replacement, prepend_scheme, split}  ' ' → '▁', prefix '▁', optional split before each '▁'
//   Sequence of these.
// Pieces are byte ranges over one UTF-8 buffer; steps that rewrite text build a new buffer.

enum PrependScheme: String, Sendable, Equatable {
    case first, always, never
}

enum PreTokenizerStep: Sendable, Equatable {
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    case split(SplitPattern)
    case metaspace(replacement: String, prependScheme: PrependScheme, split: Bool)

    static func parse(_ json: JSONValue?, file: String) throws -> [PreTokenizerStep] {
        guard let json, !json.isNull else { return [] }
        guard let type = json["type"]?.stringValue else { throw RPTError("pre_tokenizer without a \"type\"", file: file) }
        switch type {
        case "Sequence":
            guard let items = json["pretokenizers"]?.arrayValue else {
                throw RPTError("Sequence pre_tokenizer without \"pretokenizers\"", file: file)
            }
            return try items.flatMap { try parse($0, file: file) }
        case "ByteLevel":
            return [.byteLevel(addPrefixSpace: json["add_prefix_space"]?.boolValue ?? true,
                               useRegex: json["use_regex"]?.boolValue ?? true)]
        case "Split":
            guard let regex = json["pattern"]?["Regex"]?.stringValue else {
                throw RPTError("unsupported pre-tokenizer: Split needs a {\"Regex\": ...} pattern", file: file)
            }
            guard let pattern = SplitPattern(regex: regex) else {
                throw RPTError("unsupported pre-tokenizer regex \(regex.debugDescription) "
                               + "(only the GPT-2, Qwen2 and Llama 3 patterns are implemented)", file: file)
            }
            let behavior = json["behavior"]?.stringValue ?? "Isolated"
            guard behavior == "Isolated", json["invert"]?.boolValue != true else {
                throw RPTError("unsupported pre-tokenizer: Split with behavior \(behavior) / invert (only Isolated, invert false)",
                               file: file)
            }
            return [.split(pattern)]
        case "Metaspace":
            let (replacement, scheme) = try PrependScheme.metaspaceOptions(json, file: file)
            return [.metaspace(replacement: replacement, prependScheme: scheme, split: json["split"]?.boolValue ?? true)]
        default:
            throw RPTError("unsupported pre_tokenizer type \"\(type)\"", file: file)
        }
    }
}

/// Pieces of text: byte ranges into `bytes`.
struct PreTokenizedPieces {
    var bytes: [UInt8]
    var ranges: [Range<Int>]
}

enum PreTokenization {
    /// Runs the steps over one text piece. `startsAtOrigin` is true when the piece begins at offset 0 of the
    /// original input (Metaspace's "first" scheme prepends only there).
    static func apply(_ steps: [PreTokenizerStep], to bytes: [UInt8], startsAtOrigin: Bool) -> PreTokenizedPieces {
        var pieces = PreTokenizedPieces(bytes: bytes, ranges: bytes.isEmpty ? [] : [0..<bytes.count])
        for step in steps {
            switch step {
            case .byteLevel(let addPrefixSpace, let useRegex):
                if addPrefixSpace { pieces = prefixing(pieces, with: [0x20], startsAtOrigin: startsAtOrigin, onlyFirst: false) }
                if useRegex { pieces = splitting(pieces, .gpt2) }
            case .split(let pattern):
                pieces = splitting(pieces, pattern)
            case .metaspace(let replacement, let scheme, let split):
                let rep = Array(replacement.utf8)
                pieces = replacingSpaces(pieces, with: rep)
                switch scheme {
                case .always: pieces = prefixing(pieces, with: rep, startsAtOrigin: startsAtOrigin, onlyFirst: false)
                case .first: pieces = prefixing(pieces, with: rep, startsAtOrigin: startsAtOrigin, onlyFirst: true)
                case .never: break
                }
                if split { pieces = splittingBefore(pieces, rep) }
            }
        }
        return pieces
    }

    private static func splitting(_ p: PreTokenizedPieces, _ pattern: SplitPattern) -> PreTokenizedPieces {
        var out: [Range<Int>] = []
        out.reserveCapacity(p.bytes.count / 4 + 1)
        p.bytes.withUnsafeBufferPointer { buf in
            for r in p.ranges {
                let base = r.lowerBound
                pattern.split(UnsafeBufferPointer(rebasing: buf[r])) { m in
                    out.append((base + m.lowerBound)..<(base + m.upperBound))
                }
            }
        }
        return PreTokenizedPieces(bytes: p.bytes, ranges: out)
    }

    /// Prepends `prefix` to each non-empty piece that does not already start with it (only to the first piece,
    /// and only at the origin, when `onlyFirst`).
    private static func prefixing(_ p: PreTokenizedPieces, with prefix: [UInt8], startsAtOrigin: Bool,
                                  onlyFirst: Bool) -> PreTokenizedPieces {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(p.bytes.count + prefix.count * p.ranges.count)
        var ranges: [Range<Int>] = []
        for (k, r) in p.ranges.enumerated() {
            let start = bytes.count
            let hasPrefix = p.bytes[r].starts(with: prefix)
            let eligible = onlyFirst ? (k == 0 && startsAtOrigin) : true
            if !r.isEmpty && !hasPrefix && eligible { bytes.append(contentsOf: prefix) }
            bytes.append(contentsOf: p.bytes[r])
            ranges.append(start..<bytes.count)
        }
        return PreTokenizedPieces(bytes: bytes, ranges: ranges)
    }

    private static func replacingSpaces(_ p: PreTokenizedPieces, with rep: [UInt8]) -> PreTokenizedPieces {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(p.bytes.count)
        var ranges: [Range<Int>] = []
        for r in p.ranges {
            let start = bytes.count
            for b in p.bytes[r] {
                if b == 0x20 { bytes.append(contentsOf: rep) } else { bytes.append(b) }
            }
            ranges.append(start..<bytes.count)
        }
        return PreTokenizedPieces(bytes: bytes, ranges: ranges)
    }

    /// Splits each piece before every occurrence of `delimiter` (tokenizers' MergedWithNext behavior).
    private static func splittingBefore(_ p: PreTokenizedPieces, _ delimiter: [UInt8]) -> PreTokenizedPieces {
        var ranges: [Range<Int>] = []
        for r in p.ranges {
            var start = r.lowerBound
            var i = r.lowerBound
            while i + delimiter.count <= r.upperBound {
                if p.bytes[i..<(i + delimiter.count)].elementsEqual(delimiter) {
                    if i > start { ranges.append(start..<i) }
                    start = i
                    i += delimiter.count
                } else {
                    i += 1
                }
            }
            if start < r.upperBound { ranges.append(start..<r.upperBound) }
        }
        return PreTokenizedPieces(bytes: p.bytes, ranges: ranges)
    }
}

extension PrependScheme {
    /// The `replacement` (one character, default "▁") and prepend scheme of a Metaspace pre-tokenizer or
    /// decoder (`prepend_scheme`, or the older `add_prefix_space: false` meaning `never`).
    static func metaspaceOptions(_ json: JSONValue, file: String) throws -> (replacement: String, scheme: PrependScheme) {
        let replacement = json["replacement"]?.stringValue ?? "▁"
        guard replacement.unicodeScalars.count == 1 else {
            throw RPTError("Metaspace replacement must be one character", file: file)
        }
        var scheme = PrependScheme.always
        if let s = json["prepend_scheme"]?.stringValue {
            guard let p = PrependScheme(rawValue: s) else { throw RPTError("unknown Metaspace prepend_scheme \"\(s)\"", file: file) }
            scheme = p
        }
        if json["add_prefix_space"]?.boolValue == false { scheme = .never }
        return (replacement, scheme)
    }
}
