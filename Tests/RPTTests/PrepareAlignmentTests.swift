// `rpt prepare` byte boundaries and cross-tokenizer alignment (RPT §3.2 reward boundaries, §3.3 proxy entropy):
// spans must be byte-exact even where byte-level BPE splits a UTF-8 character, the SentencePiece dummy-prefix
// space must not count as document bytes, and alignment must match a brute-force byte-offset search.

import Foundation
import Testing
@testable import RPT

@Suite struct PrepareAlignmentTests {
    static let multilingual = "Résolvez 数学题: 𝔽₂ 上の方程式 x² = 1 🎉🧮 naïve — 答え 😀 done."

    static func qwen() throws -> any Tokenizer { try loadTokenizer(path: Repo.path("Assets/qwen2-tokenizer/tokenizer.json")) }
    static func gpt2() throws -> any Tokenizer { try loadTokenizer(path: Repo.path("Assets/gpt2-tokenizer/tokenizer.json")) }
    static func storiesBin() throws -> any Tokenizer { try loadTokenizer(path: Repo.stories260KTokenizer) }
    static func storiesHF() throws -> any Tokenizer { try loadTokenizer(path: Repo.stories260KHF) }

    static func spans(_ tok: any Tokenizer, _ text: String) throws -> (ids: [Int], spans: TokenByteSpans) {
        let (ids, bos) = tok.documentIds(text)
        let s = try #require(TokenByteSpans(tokenizer: tok, ids: ids, hasBOS: bos, document: Array(text.utf8)))
        return (ids, s)
    }

    @Test func qwenBoundariesAreByteExactInsideSplitCharacters() throws {
        let tok = try Self.qwen()
        let text = nfcNormalized(Self.multilingual)
        let doc = Array(text.utf8)
        let (ids, s) = try Self.spans(tok, text)
        #expect(s.dummyPrefix == 0)
        // Some token must start inside a multi-byte character (a UTF-8 continuation byte), else the test is vacuous.
        #expect(s.starts.contains { $0 < doc.count && doc[$0] & 0xC0 == 0x80 })
        // Spans tile the document and equal the token bytes.
        var rebuilt: [UInt8] = []
        for i in 0..<ids.count {
            #expect(Array(doc[s.starts[i]..<s.ends[i]]) == tok.tokenBytes(ids[i]))
            rebuilt += doc[s.starts[i]..<s.ends[i]]
        }
        #expect(rebuilt == doc)
        // Continuation bytes and the boundary set, for every position and two horizons.
        for h in [1, 4, 32] {
            for t in 1..<ids.count {
                let cont = Array(doc[s.continuationRange(from: t, horizon: h)])
                let expected = tok.bytes(of: Array(ids[t..<min(ids.count, t + h)]))
                #expect(cont == expected)
                var cum: [Int] = [], n = 0
                for id in ids[t..<min(ids.count, t + h)] { n += tok.tokenBytes(id).count; cum.append(n) }
                #expect(s.boundaries(from: t, horizon: h) == cum)
                // Base64 round trip of what the dataset stores.
                #expect([UInt8](Data(base64Encoded: Data(cont).base64EncodedString())!) == cont)
            }
        }
    }

    @Test func sentencePieceDummyPrefixIsNotDocumentBytes() throws {
        for tok in [try Self.storiesHF(), try Self.storiesBin()] {
            let text = "Once upon a time, Lily saw a big red ball."
            let (ids, s) = try Self.spans(tok, text)
            #expect(ids.first == tok.bosTokenId)
            #expect(s.dummyPrefix == 1)
            #expect(s.starts[0] == 0 && s.ends[0] == 0)  // BOS
            #expect(s.starts[1] == 0)
            #expect(s.ends.last == text.utf8.count)
            #expect(Array(Array(text.utf8)[s.continuationRange(from: 1, horizon: 1000)]) == Array(text.utf8))
        }
    }

    /// Start offset of every token found the slow way: the byte length of the concatenated bytes of all
    /// earlier tokens (BOS skipped), minus one when the whole sequence spells " " + document.
    static func bruteForceStarts(_ tok: any Tokenizer, ids: [Int], hasBOS: Bool, document: [UInt8]) -> [(start: Int, length: Int)] {
        let body = hasBOS ? Array(ids.dropFirst()) : ids
        let all = tok.bytes(of: body)
        let shift = all == document ? 0 : 1
        var out: [(Int, Int)] = []
        if hasBOS { out.append((0, 0)) }
        for i in 0..<body.count {
            let before = tok.bytes(of: Array(body[0..<i])).count
            let length = tok.tokenBytes(body[i]).count
            let start = max(0, before - shift)
            out.append((start, max(0, before + length - shift) - start))
        }
        return out
    }

    static func checkAlignment(policy: any Tokenizer, other: any Tokenizer, text: String) throws -> (aligned: Int, unaligned: Int) {
        let doc = Array(text.utf8)
        let (pIds, pBOS) = policy.documentIds(text)
        let (oIds, oBOS) = other.documentIds(text)
        let pS = try #require(TokenByteSpans(tokenizer: policy, ids: pIds, hasBOS: pBOS, document: doc))
        let oS = try #require(TokenByteSpans(tokenizer: other, ids: oIds, hasBOS: oBOS, document: doc))
        let alignment = TokenAlignment(policy: pS, other: oS)
        let pBrute = bruteForceStarts(policy, ids: pIds, hasBOS: pBOS, document: doc)
        let oBrute = bruteForceStarts(other, ids: oIds, hasBOS: oBOS, document: doc)
        var aligned = 0, unaligned = 0
        for t in 0..<pIds.count {
            var expected: Int? = nil
            if pBrute[t].length > 0 {
                expected = oBrute.indices.first { oBrute[$0].length > 0 && oBrute[$0].start == pBrute[t].start }
            }
            #expect(alignment.otherIndex[t] == expected, "token \(t)")
            if expected != nil { aligned += 1 } else if t > 0 { unaligned += 1 }
        }
        return (aligned, unaligned)
    }

    @Test func alignmentAcrossTokenizersMatchesBruteForce() throws {
        let text = nfcNormalized(Self.multilingual + " The quick brown fox jumps over 12345 lazy dogs.\n\nOnce upon a time")
        let ascii = "Once upon a time, there was a little girl named Lily. She loved to play outside.\n\nThe end."
        let pairs: [(any Tokenizer, any Tokenizer)] = [
            (try Self.qwen(), try Self.storiesBin()), (try Self.storiesBin(), try Self.qwen()),
            (try Self.qwen(), try Self.gpt2()), (try Self.storiesHF(), try Self.gpt2()),
        ]
        var unaligned = 0
        for (p, o) in pairs {
            let r = try Self.checkAlignment(policy: p, other: o, text: text)
            #expect(r.aligned > 5)
            unaligned += r.unaligned
            _ = try Self.checkAlignment(policy: p, other: o, text: ascii)
        }
        #expect(unaligned > 0)  // partial overlap: both cases exercised
    }

    @Test func identityAlignmentForTheSameTokenizer() throws {
        for tok in [try Self.qwen(), try Self.storiesHF(), try Self.gpt2()] {
            let text = nfcNormalized(Self.multilingual)
            let (ids, s) = try Self.spans(tok, text)
            let a = TokenAlignment(policy: s, other: s)
            for t in 1..<ids.count where s.ends[t] > s.starts[t] { #expect(a.otherIndex[t] == t) }
        }
    }

    @Test func nfcMakesComposedAndDecomposedDocumentsEqual() {
        let decomposed = "cafe\u{301} nai\u{308}ve"
        #expect(Array(nfcNormalized(decomposed).utf8) == Array("café naïve".utf8))
    }
}
