// Answer extraction (RPT §3.3): last top-level \boxed{} after the last </think>, nested braces matched,
// content verbatim, and every failure reason.

import Testing
@testable import RPT

@Suite struct AnswerExtractionTests {
    let reasoning = AnswerExtractor(requireThinkClose: true)
    let plain = AnswerExtractor(requireThinkClose: false)

    struct Row: Sendable, CustomTestStringConvertible {
        var response: String
        var expected: ExtractedAnswer
        var testDescription: String { response.debugDescription }
    }

    static let reasoningRows: [Row] = [
        // The Table 11 shape.
        Row(response: "<think>\nThe context ends with '='.\n</think>\n\nSo, the next token is ' 4'.\n\n\\boxed{ 4}", expected: .answer(" 4")),
        Row(response: "</think>\\boxed{ para}", expected: .answer(" para")),
        // Whitespace kept exactly: a single space, a newline, leading and trailing spaces.
        Row(response: "</think>\\boxed{ }", expected: .answer(" ")),
        Row(response: "</think>\\boxed{:\n}", expected: .answer(":\n")),
        Row(response: "</think>\\boxed{  x }", expected: .answer("  x ")),
        // Nested braces.
        Row(response: "</think>\\boxed{\\frac{1}{2}}", expected: .answer("\\frac{1}{2}")),
        Row(response: "</think>\\boxed{1991^{2}} done", expected: .answer("1991^{2}")),
        Row(response: "</think>\\boxed{{}}", expected: .answer("{}")),
        // Several boxes: the last wins; a box nested inside a box belongs to the outer one.
        Row(response: "</think>\\boxed{ a} or \\boxed{ b}", expected: .answer(" b")),
        Row(response: "</think>\\boxed{ a} or \\boxed{\\frac{1}{2}} then text", expected: .answer("\\frac{1}{2}")),
        Row(response: "</think>\\boxed{x\\boxed{y}}", expected: .answer("x\\boxed{y}")),
        // Boxes before </think> are ignored; the LAST </think> counts.
        Row(response: "<think>\\boxed{ a}</think> answer \\boxed{ b}", expected: .answer(" b")),
        Row(response: "<think>\\boxed{ a}</think> no box here", expected: .failure(.noBoxed)),
        Row(response: "<think>a</think>\\boxed{ b}</think>\\boxed{ c}", expected: .answer(" c")),
        Row(response: "<think>a</think>\\boxed{ b}</think>", expected: .failure(.noBoxed)),
        // Missing pieces.
        Row(response: "<think>\\boxed{ a}", expected: .failure(.missingThinkClose)),
        Row(response: "\\boxed{ a}", expected: .failure(.missingThinkClose)),
        Row(response: "</think", expected: .failure(.missingThinkClose)),
        Row(response: "", expected: .failure(.missingThinkClose)),
        Row(response: "</think>", expected: .failure(.noBoxed)),
        Row(response: "</think>\\boxed", expected: .failure(.noBoxed)),
        Row(response: "</think>\\boxed {x}", expected: .failure(.noBoxed)),
        Row(response: "</think>\\Boxed{x}", expected: .failure(.noBoxed)),
        Row(response: "</think>\\", expected: .failure(.noBoxed)),
        // Unclosed braces (the last box is the unclosed one, even after a complete box).
        Row(response: "</think>\\boxed{ a", expected: .failure(.unclosedBrace)),
        Row(response: "</think>\\boxed{", expected: .failure(.unclosedBrace)),
        Row(response: "</think>\\boxed{\\frac{1}{2}", expected: .failure(.unclosedBrace)),
        Row(response: "</think>\\boxed{ a} and \\boxed{ b", expected: .failure(.unclosedBrace)),
        // An empty box is a (wrong) answer, not a format failure.
        Row(response: "</think>\\boxed{}", expected: .answer("")),
        // Non-ASCII content and surroundings.
        Row(response: "<think>鹦鹉</think>答案 \\boxed{ 🦜} 👍", expected: .answer(" 🦜")),
        Row(response: "</think>\\boxed{\u{0}é\u{301}}", expected: .answer("\u{0}é\u{301}")),
    ]

    @Test(arguments: reasoningRows)
    func reasoningResponse(_ row: Row) {
        #expect(reasoning.extract(row.response) == row.expected)
    }

    @Test func withoutThinkTagsTheWholeResponseIsSearched() {
        #expect(plain.extract("So the next token is \\boxed{ para}.") == .answer(" para"))
        #expect(plain.extract("\\boxed{ a} \\boxed{ b}") == .answer(" b"))
        #expect(plain.extract("no box") == .failure(.noBoxed))
        #expect(plain.extract("\\boxed{ a") == .failure(.unclosedBrace))
        // A </think>, when present, still bounds the search.
        #expect(plain.extract("\\boxed{ a}</think>\\boxed{ b}") == .answer(" b"))
        #expect(plain.extract("\\boxed{ a}</think>") == .failure(.noBoxed))
    }

    @Test func truncatedResponsesFailWhateverTheyContain() {
        #expect(reasoning.extract("</think>\\boxed{ a}", truncated: true) == .failure(.truncated))
        #expect(plain.extract("\\boxed{ a}", truncated: true) == .failure(.truncated))
        #expect(reasoning.extract("<think>still thinking", truncated: true) == .failure(.truncated))
    }

    @Test func accessorsSplitAnswersFromFailures() {
        #expect(ExtractedAnswer.answer(" ").prediction == " ")
        #expect(ExtractedAnswer.answer(" ").failure == nil)
        #expect(ExtractedAnswer.failure(.noBoxed).prediction == nil)
        #expect(ExtractedAnswer.failure(.noBoxed).failure == .noBoxed)
    }

    /// Arbitrary text (decoded from random bytes, so with U+FFFD and stray braces/backslashes) never traps, and a
    /// returned answer is always text that occurs in the response right after "\boxed{".
    @Test func arbitraryTextIsHandled() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 33
        }
        let alphabet: [[UInt8]] = [Array("\\boxed{".utf8), Array("</think>".utf8), [123], [125], [92], [32], [10],
                                   [0xF0, 0x9F], [0xA6], [0x9C], [0xE9], Array("é".utf8), [0x41]]
        var answered = 0
        for _ in 0..<2000 {
            var bytes: [UInt8] = []
            for _ in 0..<(next() % 24) { bytes += alphabet[Int(next() % UInt64(alphabet.count))] }
            let text = String(decoding: bytes, as: UTF8.self)
            for extractor in [reasoning, plain] {
                if case .answer(let a) = extractor.extract(text) {
                    answered += 1
                    #expect(text.contains("\\boxed{" + a + "}"), "\(text.debugDescription) → \(a.debugDescription)")
                }
            }
        }
        #expect(answered > 100)
    }
}
