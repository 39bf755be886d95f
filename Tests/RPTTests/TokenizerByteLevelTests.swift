// Byte-level BPE (Qwen2 and GPT-2 tokenizer.json) against Hugging Face `tokenizers`: exact ids for every fixture
// string, decode, token bytes, round trips, and a throughput print.

import Foundation
import Testing
@testable import RPT

@Suite struct TokenizerByteLevelTests {
    static let qwenFixture = Result { try TokenizerFixtures.load(IdsFixture.self, "qwen2.json") }
    static let gpt2Fixture = Result { try TokenizerFixtures.load(IdsFixture.self, "gpt2.json") }

    // MARK: Qwen2

    @Test func qwenIdsMatchTokenizers() throws {
        let tok = try TokenizerFixtures.qwen()
        let fx = try Self.qwenFixture.get()
        #expect(fx.cases.count >= 250)
        let passed = checkIds(tok, fx.cases.map { ($0.text, $0.ids) }, label: "qwen2")
        #expect(passed == fx.cases.count)
        #expect(tok.vocabSize == fx.vocab_size)
    }

    @Test func qwenDecodeMatchesTokenizers() throws {
        let tok = try TokenizerFixtures.qwen()
        for c in try #require(try Self.qwenFixture.get().decode) {
            #expect(Exact(tok.decode(c.ids)) == Exact(c.text), "ids \(c.ids)")
        }
    }

    @Test func qwenTokenBytes() throws {
        let tok = try TokenizerFixtures.qwen()
        let cases = try #require(try Self.qwenFixture.get().token_bytes)
        #expect(cases.count > 20)
        for c in cases { #expect(tok.tokenBytes(c.id) == c.bytes, "id \(c.id)") }
        // A character split across tokens: the pieces' bytes are partial UTF-8 but concatenate to the character.
        let ids = tok.encode("𝔘𝔫𝔦𝔠𝔬𝔡𝔢 😀")
        #expect(tok.bytes(of: ids) == Array("𝔘𝔫𝔦𝔠𝔬𝔡𝔢 😀".utf8))
        #expect(ids.contains { String(validating: tok.tokenBytes($0), as: UTF8.self) == nil })
    }

    @Test func qwenRoundTripsAfterNFC() throws {
        let tok = try TokenizerFixtures.qwen()
        for c in try Self.qwenFixture.get().cases {
            let ids = tok.encode(c.text)
            #expect(tok.bytes(of: ids) == Array(nfc(c.text).utf8), "\(c.text.debugDescription)")
            #expect(Exact(tok.decode(ids)) == Exact(nfc(c.text)), "\(c.text.debugDescription)")
        }
    }

    @Test func qwenSpecialTokens() throws {
        let tok = try TokenizerFixtures.qwen()
        #expect(tok.vocabSize == 151_669)
        #expect(tok.bosTokenId == nil)
        #expect(tok.eosTokenIds == [151_645, 151_643])  // tokenizer_config eos <|im_end|>, then <|endoftext|>
        #expect(tok.tokenId("<|im_start|>") == 151_644)
        #expect(tok.tokenId("Ġthe") == 279)
        #expect(tok.isSpecial(151_644))
        #expect(!tok.isSpecial(151_667))  // <think> is added but not special
        #expect(!tok.isSpecial(279))
        #expect(tok.tokenBytes(151_644) == Array("<|im_start|>".utf8))
        #expect(tok.encode("<|im_start|>user\nhi<|im_end|>") == [151_644, 872, 198, 6023, 151_645])
        #expect(tok.tokenBytes(-1) == [] && tok.tokenBytes(10_000_000) == [] && tok.tokenBytes(Int.max) == [])
        #expect(tok.decode([-5, 9_999_999, Int.max, Int.min]) == "")
    }

    @Test func qwenLoadTimeAndThroughput() throws {
        let tok = try TokenizerFixtures.qwen()
        print(String(format: "qwen2 tokenizer.json load: %.3f s", try TokenizerFixtures.qwenLoadSeconds()))
        let text = try englishSample(minBytes: 1 << 20)
        var start = Date()
        let ids = tok.encode(text)
        var seconds = Date().timeIntervalSince(start)
        print(String(format: "qwen2 encode (first pass, cold cache): %.2f MB/s, %d bytes → %d tokens",
                     Double(text.utf8.count) / seconds / 1e6, text.utf8.count, ids.count))
        start = Date()
        _ = tok.encode(text)
        seconds = Date().timeIntervalSince(start)
        print(String(format: "qwen2 encode (warm cache): %.2f MB/s", Double(text.utf8.count) / seconds / 1e6))
        start = Date()
        let decoded = tok.decode(ids)
        seconds = Date().timeIntervalSince(start)
        print(String(format: "qwen2 decode: %.2f MB/s", Double(text.utf8.count) / seconds / 1e6))
        #expect(Exact(decoded) == Exact(nfc(text)))

        // Non-Latin text goes through NFC and multi-byte BPE.
        var mixed = ""
        let samples = try Self.qwenFixture.get().cases.map(\.text).filter { $0.unicodeScalars.contains { $0.value > 0x2FF } }
        var k = 0
        while mixed.utf8.count < 1 << 19 { mixed += samples[k % samples.count] + " \(k)\n"; k += 1 }
        start = Date()
        let mixedIds = tok.encode(mixed)
        seconds = Date().timeIntervalSince(start)
        print(String(format: "qwen2 encode (non-Latin fixture strings): %.2f MB/s, %d bytes → %d tokens",
                     Double(mixed.utf8.count) / seconds / 1e6, mixed.utf8.count, mixedIds.count))
    }

    /// The Qwen2 vocabulary with Llama 3's `\p{N}{1,3}` split regex.
    @Test func llama3PatternIdsMatchTokenizers() throws {
        var json = String(decoding: try Data(contentsOf: URL(fileURLWithPath: TokenizerFixtures.qwenPath)), as: UTF8.self)
        let before = json
        json = json.replacingOccurrences(of: #"\\p{N}|"#, with: #"\\p{N}{1,3}|"#)
        try #require(json != before)
        let tok = try HFTokenizer(json: Array(json.utf8), file: "qwen2-llama3-pattern")
        let fx = try TokenizerFixtures.load(IdsFixture.self, "qwen2-llama3-pattern.json")
        let passed = checkIds(tok, fx.cases.map { ($0.text, $0.ids) }, label: "qwen2 vocab + llama3 regex")
        #expect(passed == fx.cases.count)
    }

    // MARK: GPT-2

    @Test func gpt2IdsMatchTokenizers() throws {
        let tok = try TokenizerFixtures.gpt2()
        let fx = try Self.gpt2Fixture.get()
        #expect(fx.cases.count >= 250)
        let passed = checkIds(tok, fx.cases.map { ($0.text, $0.ids) }, label: "gpt2")
        #expect(passed == fx.cases.count)
        #expect(tok.vocabSize == fx.vocab_size)
    }

    @Test func gpt2DecodeAndTokenBytes() throws {
        let tok = try TokenizerFixtures.gpt2()
        let fx = try Self.gpt2Fixture.get()
        for c in try #require(fx.decode) { #expect(Exact(tok.decode(c.ids)) == Exact(c.text), "ids \(c.ids)") }
        for c in try #require(fx.token_bytes) { #expect(tok.tokenBytes(c.id) == c.bytes, "id \(c.id)") }
    }

    @Test func gpt2RoundTripsExactly() throws {
        let tok = try TokenizerFixtures.gpt2()
        for c in try Self.gpt2Fixture.get().cases {
            let ids = tok.encode(c.text)
            #expect(tok.bytes(of: ids) == Array(c.text.utf8), "\(c.text.debugDescription)")
            #expect(Exact(tok.decode(ids)) == Exact(c.text), "\(c.text.debugDescription)")
        }
        #expect(tok.eosTokenIds == [50_256])
        #expect(tok.bosTokenId == nil)
        #expect(tok.isSpecial(50_256))
    }

    // MARK: Added tokens (lstrip / rstrip / single_word / normalized) on a tiny trained BPE

    @Test func addedTokenMatchingMatchesTokenizers() throws {
        let tok = try loadTokenizer(path: TokenizerFixtures.fixture("added-tokens/tokenizer.json"))
        let fx = try TokenizerFixtures.load(IdsFixture.self, "added-tokens.json")
        let passed = checkIds(tok, fx.cases.map { ($0.text, $0.ids) }, label: "added-tokens")
        #expect(passed == fx.cases.count)
        for c in fx.cases { #expect(Exact(tok.decode(c.ids)) == Exact(c.decoded), "\(c.text.debugDescription)") }
    }
}

/// At least `minBytes` of text: the fixture strings repeated with varying numbers so the BPE cache does
/// not see only repeats.
func englishSample(minBytes: Int) throws -> String {
    let cases = try TokenizerFixtures.load(IdsFixture.self, "gpt2.json").cases.map(\.text)
    var text = ""
    var k = 0
    while text.utf8.count < minBytes {
        text += cases[k % cases.count] + " \(k * 7919 % 100_003)\n"
        k += 1
    }
    return text
}
