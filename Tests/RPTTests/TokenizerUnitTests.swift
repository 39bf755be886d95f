// Unit tests of the tokenizer building blocks: the JSON reader, the hand-written split patterns, the byte-level
// alphabet, normalizers and decoders (the end-to-end fixtures cover them against `tokenizers`; these pin details).

import Foundation
import Testing
@testable import RPT

@Suite struct TokenizerUnitTests {
    @Test func jsonReader() throws {
        let v = try JSONReader.parse(Array(#" {"a": [1, -2.5e2, true, false, null], "b": "x\"\\\/\n\u00e9\ud83d\ude00", "c": {}} "#.utf8),
                                     file: "t")
        #expect(v["a"]?.arrayValue?.count == 5)
        #expect(v["a"]?.arrayValue?[1].doubleValue == -250)
        #expect(v["a"]?.arrayValue?[0].intValue == 1)
        #expect(v["b"]?.stringValue == "x\"\\/\né😀")
        #expect(v["c"]?.objectValue?.count == 0)
        for bad in ["", "{", "[1,]", "{\"a\" 1}", "tru", "01x", "\"abc", "[1] 2", "\"\\x\"", "-", "1.", "1e"] {
            #expect(throws: RPTError.self, "\(bad.debugDescription)") { try JSONReader.parse(Array(bad.utf8), file: "t") }
        }
        // Deep nesting is an error, not a stack overflow.
        let deep = String(repeating: "[", count: 100_000)
        #expect(throws: RPTError.self) { try JSONReader.parse(Array(deep.utf8), file: "t") }
    }

    private func pieces(_ pattern: SplitPattern, _ text: String) -> [String] {
        let bytes = Array(text.utf8)
        var out: [String] = []
        bytes.withUnsafeBufferPointer { buf in
            pattern.split(buf) { r in out.append(String(decoding: buf[r], as: UTF8.self)) }
        }
        return out
    }

    @Test func gpt2Pattern() {
        #expect(pieces(.gpt2, "Hello world's  end!!\n\n x") == ["Hello", " world", "'s", " ", " end", "!!", "\n\n", " x"])
        #expect(pieces(.gpt2, "I'M 42 ") == ["I", "'", "M", " 42", " "])
        #expect(pieces(.gpt2, "a\u{a0}\u{a0}b") == ["a", "\u{a0}", "\u{a0}", "b"])
        #expect(pieces(.gpt2, "") == [])
    }

    @Test func qwen2Pattern() {
        #expect(pieces(.qwen2(maxDigits: 1), "Hello world's  end!!\n\n x") == ["Hello", " world", "'s", " ", " end", "!!\n\n", " x"])
        #expect(pieces(.qwen2(maxDigits: 1), "I'M 2024") == ["I", "'M", " ", "2", "0", "2", "4"])
        #expect(pieces(.qwen2(maxDigits: 3), "12345") == ["123", "45"])
        #expect(pieces(.qwen2(maxDigits: 1), "x'ſt (word") == ["x", "'ſ", "t", " (", "word"])
        #expect(pieces(.qwen2(maxDigits: 1), "a \n  \n  b") == ["a", " \n  \n", " ", " b"])
        #expect(pieces(.qwen2(maxDigits: 1), "\u{200b}\u{200b}x") == ["\u{200b}\u{200b}", "x"])
    }

    @Test func byteLevelAlphabet() {
        #expect(ByteLevelAlphabet.string(of: Array(" \n!é".utf8)) == "ĠĊ!Ã©")
        #expect(ByteLevelAlphabet.bytes(of: "ĠĊ!Ã©") == Array(" \n!é".utf8))
        #expect(ByteLevelAlphabet.bytes(of: "中") == nil)
        #expect(Set(ByteLevelAlphabet.scalarForByte).count == 256)
    }

    @Test func normalizersAndDecoders() {
        #expect(Normalization.apply([.nfc], to: Array("cafe\u{301}".utf8)[...]) == Array("café".utf8))
        #expect(Normalization.apply([.nfc], to: Array("plain ascii".utf8)[...]) == nil)
        #expect(Normalization.apply([.prepend("▁"), .replace(pattern: " ", content: "▁")], to: Array("a b".utf8)[...])
                == Array("▁a▁b".utf8))
        #expect(Normalization.apply([.prepend("▁")], to: [][...]) == nil)
        #expect(Decoding.apply([.replace(pattern: "▁", content: " "), .byteFallback, .fuse, .strip(content: " ", start: 1, stop: 0)],
                               to: ["▁Hi", "<0xE4>", "<0xB8>", "<0xAD>", "▁x", "<0xFF>"]) == "Hi中 x\u{FFFD}")
        #expect(Decoding.apply([], to: ["a", "b"]) == "a b")
        #expect(Decoding.byteFallbackValue("<0x0A>") == 0x0A && Decoding.byteFallbackValue("<0x0A") == nil)
    }
}
