// Answer extraction (RPT §3.3; docs/method.md §2): "we directly extract the full sequence inside the last
// \boxed{} following the special token </think> as the model prediction".
//
//   - The search region is the text after the LAST `</think>`. A response without `</think>` is a format
//     failure when think tags are required (reasoning models), else the whole response is searched.
//   - The prediction is the content of the last top-level `\boxed{…}` in that region, braces matched with
//     nesting (`\boxed{\frac{1}{2}}` → `\frac{1}{2}`); every brace counts, escaped or not.
//   - The content is kept verbatim: no trimming, no LaTeX unescaping (a prediction can be a single space).
//   - A response cut at the generation limit is a failure whatever it contains.
// The scan works on UTF-8 bytes and cuts only at ASCII bytes, so any text is handled without traps.

/// Why no prediction could be read from a response.
public enum AnswerFailure: String, Sendable, Codable, CaseIterable {
    /// No `\boxed{` in the searched region.
    case noBoxed
    /// The last `\boxed{` has no matching closing brace.
    case unclosedBrace
    /// Think tags are required and the response has no `</think>`.
    case missingThinkClose
    /// The response hit the maximum generation length.
    case truncated
}

/// The prediction read from one response, or why there is none.
public enum ExtractedAnswer: Sendable, Equatable, Hashable {
    case answer(String)
    case failure(AnswerFailure)

    /// The prediction, nil on failure.
    public var prediction: String? {
        if case .answer(let text) = self { return text }
        return nil
    }

    /// The failure reason, nil when there is a prediction.
    public var failure: AnswerFailure? {
        if case .failure(let reason) = self { return reason }
        return nil
    }
}

/// Reads the prediction from a generated response (paper §3.3).
public struct AnswerExtractor: Sendable, Equatable {
    /// When true, a response without `</think>` is `.missingThinkClose` (reasoning models whose generation
    /// starts inside `<think>`); when false, it is searched whole.
    public var requireThinkClose: Bool

    public init(requireThinkClose: Bool = true) {
        self.requireThinkClose = requireThinkClose
    }

    static let thinkClose = Array("</think>".utf8)
    static let boxedOpen = Array("\\boxed{".utf8)

    /// The prediction in `response`; `truncated` says the generation stopped at its length limit.
    public func extract(_ response: String, truncated: Bool = false) -> ExtractedAnswer {
        if truncated { return .failure(.truncated) }
        let bytes = Array(response.utf8)
        var start = 0
        if let close = AnswerExtractor.lastIndex(of: AnswerExtractor.thinkClose, in: bytes) {
            start = close + AnswerExtractor.thinkClose.count
        } else if requireThinkClose {
            return .failure(.missingThinkClose)
        }

        // Walk the top-level boxes left to right, skipping over each box's content, so the last complete one
        // wins and a box nested inside another is never taken for the outer one.
        var last: Range<Int>? = nil
        var i = start
        while let open = AnswerExtractor.firstIndex(of: AnswerExtractor.boxedOpen, in: bytes, from: i) {
            let contentStart = open + AnswerExtractor.boxedOpen.count
            guard let contentEnd = AnswerExtractor.matchingBrace(bytes, from: contentStart) else {
                return .failure(.unclosedBrace)
            }
            last = contentStart..<contentEnd
            i = contentEnd + 1
        }
        guard let last else { return .failure(.noBoxed) }
        return .answer(String(decoding: bytes[last], as: UTF8.self))
    }

    /// The index of the `}` closing a brace opened just before `from`, or nil.
    static func matchingBrace(_ bytes: [UInt8], from: Int) -> Int? {
        var depth = 1
        var i = from
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "{"): depth += 1
            case UInt8(ascii: "}"):
                depth -= 1
                if depth == 0 { return i }
            default: break
            }
            i += 1
        }
        return nil
    }

    static func firstIndex(of needle: [UInt8], in bytes: [UInt8], from: Int) -> Int? {
        guard !needle.isEmpty, bytes.count >= needle.count, from <= bytes.count - needle.count else { return nil }
        var i = from
        while i <= bytes.count - needle.count {
            if bytes[i] == needle[0], bytes[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }

    static func lastIndex(of needle: [UInt8], in bytes: [UInt8]) -> Int? {
        guard !needle.isEmpty, bytes.count >= needle.count else { return nil }
        var i = bytes.count - needle.count
        while i >= 0 {
            if bytes[i] == needle[0], bytes[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i -= 1
        }
        return nil
    }
}
