// Hugging Face tokenizer.json normalizers (tokenizers `normalizers/`): NFC, NFD, NFKC, NFKD, Prepend, Replace with a
// string pattern, Strip, and Sequence of these. They rewrite the text between added tokens before pre-tokenization.

import Foundation

enum NormalizerStep: Sendable, Equatable {
    case nfc, nfd, nfkc, nfkd
    case prepend(String)
    case replace(pattern: String, content: String)
    case strip(left: Bool, right: Bool)

    /// Parses a `normalizer` object (null → no steps).
    static func parse(_ json: JSONValue?, file: String) throws -> [NormalizerStep] {
        guard let json, !json.isNull else { return [] }
        guard let type = json["type"]?.stringValue else { throw RPTError("normalizer without a \"type\"", file: file) }
        switch type {
        case "Sequence":
            guard let items = json["normalizers"]?.arrayValue else {
                throw RPTError("Sequence normalizer without \"normalizers\"", file: file)
            }
            return try items.flatMap { try parse($0, file: file) }
        case "NFC": return [.nfc]
        case "NFD": return [.nfd]
        case "NFKC": return [.nfkc]
        case "NFKD": return [.nfkd]
        case "Prepend":
            guard let p = json["prepend"]?.stringValue else { throw RPTError("Prepend normalizer without \"prepend\"", file: file) }
            return [.prepend(p)]
        case "Replace":
            guard let content = json["content"]?.stringValue else {
                throw RPTError("Replace normalizer without \"content\"", file: file)
            }
            guard let pattern = json["pattern"]?["String"]?.stringValue else {
                throw RPTError("unsupported normalizer: Replace with a regex pattern (only {\"String\": ...} patterns are supported)", file: file)
            }
            return [.replace(pattern: pattern, content: content)]
        case "Strip":
            return [.strip(left: json["strip_left"]?.boolValue ?? true, right: json["strip_right"]?.boolValue ?? true)]
        default:
            throw RPTError("unsupported normalizer type \"\(type)\"", file: file)
        }
    }
}

/// Applies normalizer steps to UTF-8 text.
enum Normalization {
    /// The normalized bytes, or nil when the steps leave the text unchanged (the common fast path).
    static func apply(_ steps: [NormalizerStep], to bytes: ArraySlice<UInt8>) -> [UInt8]? {
        if steps.isEmpty { return nil }
        var current: [UInt8]? = nil
        for step in steps {
            let input = current.map { ArraySlice($0) } ?? bytes
            if let out = apply(step, input) { current = out }
        }
        return current
    }

    private static func apply(_ step: NormalizerStep, _ bytes: ArraySlice<UInt8>) -> [UInt8]? {
        switch step {
        case .nfc:
            // The standard library's NFC, not Foundation's precomposedStringWithCanonicalMapping, which (in
            // swift-corelibs-foundation) leaves a Hangul LV syllable + trailing jamo uncomposed.
            if isNFCQuickYes(bytes) { return nil }
            return Array(String(decoding: bytes, as: UTF8.self)._nfcCodeUnits)
        case .nfd:
            if bytes.allSatisfy({ $0 < 0x80 }) { return nil }
            return Array(String(decoding: bytes, as: UTF8.self).decomposedStringWithCanonicalMapping.utf8)
        case .nfkc:
            if bytes.allSatisfy({ $0 < 0x80 }) { return nil }
            return Array(String(decoding: bytes, as: UTF8.self).precomposedStringWithCompatibilityMapping.utf8)
        case .nfkd:
            if bytes.allSatisfy({ $0 < 0x80 }) { return nil }
            return Array(String(decoding: bytes, as: UTF8.self).decomposedStringWithCompatibilityMapping.utf8)
        case .prepend(let p):
            if bytes.isEmpty { return nil }
            return Array(p.utf8) + bytes
        case .replace(let pattern, let content):
            return replace(bytes, Array(pattern.utf8), Array(content.utf8))
        case .strip(let left, let right):
            let text = String(decoding: bytes, as: UTF8.self)
            var scalars = Substring(text).unicodeScalars[...]
            if left { while let f = scalars.first, f.properties.isWhitespace { scalars.removeFirst() } }
            if right { while let l = scalars.last, l.properties.isWhitespace { scalars.removeLast() } }
            let out = Array(String(String.UnicodeScalarView(scalars)).utf8)
            return out.count == bytes.count ? nil : out
        }
    }

    /// Non-overlapping, left-to-right replacement of every occurrence; nil when there is none.
    static func replace(_ bytes: ArraySlice<UInt8>, _ pattern: [UInt8], _ content: [UInt8]) -> [UInt8]? {
        guard let first = pattern.first else { return nil }
        var out: [UInt8] = []
        var found = false
        var i = bytes.startIndex
        var copied = bytes.startIndex
        while i + pattern.count <= bytes.endIndex {
            if bytes[i] == first && bytes[i..<(i + pattern.count)].elementsEqual(pattern) {
                if !found { out.reserveCapacity(bytes.count + 16); found = true }
                out.append(contentsOf: bytes[copied..<i])
                out.append(contentsOf: content)
                i += pattern.count
                copied = i
            } else {
                i += 1
            }
        }
        if !found { return nil }
        out.append(contentsOf: bytes[copied..<bytes.endIndex])
        return out
    }

    /// True when every scalar is in a range whose characters are all NFC_Quick_Check=Yes with canonical
    /// combining class 0 and never combine with a preceding character, so NFC leaves the text unchanged.
    /// (Conservative: anything else goes through the full normalizer.)
    static func isNFCQuickYes(_ bytes: ArraySlice<UInt8>) -> Bool {
        if bytes.allSatisfy({ $0 < 0x80 }) { return true }
        for s in String(decoding: bytes, as: UTF8.self).unicodeScalars {
            let v = s.value
            if v < 0x300 { continue }
            if (0x3040...0x3098).contains(v) || (0x309B...0x30FF).contains(v) { continue }  // kana, not the voicing marks
            if (0x4E00...0x9FFF).contains(v) || (0xAC00...0xD7A3).contains(v) { continue }  // CJK ideographs, Hangul syllables
            if (0x2010...0x205E).contains(v) || (0x1F300...0x1FAFF).contains(v) { continue } // punctuation, emoji
            return false
        }
        return true
    }
}
