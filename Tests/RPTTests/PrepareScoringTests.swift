// Proxy scoring for `rpt prepare` (RPT §3.3): packed, windowed teacher forcing must give the same top-k
// entropies and log-probabilities as one plain forward pass per document; windows over a long document must
// score every position once with at least --min-context tokens of left context.

import Foundation
import Testing
@testable import RPT

@Suite struct PrepareScoringTests {
    static func documents(_ lm: LanguageModel) throws -> [[Int]] {
        ["Once upon a time, there was a little girl named Lily. She loved to play outside in the park.",
         "One day, she saw a big, red ball. She wanted to play with it, but it was too high.",
         "Tom had a dog.",
         "x"].map { lm.tokenizer.documentIds($0).ids }
    }

    @Test func packedWindowCoveringTheDocumentEqualsPlainScoring() throws {
        let lm = try LanguageModel.load(model: Repo.stories260KHF)
        let docs = try Self.documents(lm)
        let scorer = try EntropyScorer(model: lm.model, window: 512, minContext: 8, batchTokens: 4096)
        let packed = try scorer.score(docs)
        // Batch of one token budget: each document alone.
        let alone = try EntropyScorer(model: lm.model, window: 512, minContext: 8, batchTokens: 1).score(docs)
        for (d, ids) in docs.enumerated() {
            let reference = try TokenScorer(model: lm.model).score(ids)
            #expect(packed[d].entropy[0].isNaN || ids.count < 2)
            for r in reference {
                #expect(abs(packed[d].entropy[r.index] - r.entropy) < 1e-4)
                #expect(abs(packed[d].logProb[r.index] - r.logProb) < 1e-4)
                #expect(abs(alone[d].entropy[r.index] - r.entropy) < 1e-4)
            }
        }
    }

    @Test func windowsScoreEveryPositionOnceWithMinimumContext() throws {
        let lm = try LanguageModel.load(model: Repo.stories260KHF)
        let scorer = try EntropyScorer(model: lm.model, window: 40, minContext: 12, batchTokens: 100)
        for n in [2, 39, 40, 41, 100, 157] {
            let ws = scorer.windows(sequence: 0, length: n)
            var seen = [Int](repeating: 0, count: n)
            for w in ws {
                #expect(w.count <= 40 && w.start + w.count <= n)
                for p in w.firstScored..<(w.start + w.count) {
                    seen[p] += 1
                    #expect(p - w.start >= 12 || w.start == 0)
                }
            }
            #expect(seen.dropFirst().allSatisfy { $0 == 1 })
        }
        // Windowed scores of a long document: the first window is exact, later positions are finite entropies.
        let text = String(repeating: "Lily and Tom went to the park to play with a big red ball. ", count: 6)
        let ids = lm.tokenizer.documentIds(text).ids
        let windowed = try scorer.score([ids])[0]
        let full = try TokenScorer(model: lm.model).score(ids)
        for r in full {
            #expect(windowed.entropy[r.index].isFinite)
            if r.index < 40 { #expect(abs(windowed.entropy[r.index] - r.entropy) < 1e-4) }
        }
        // Each later window equals a plain pass over exactly that window's tokens.
        for w in scorer.windows(sequence: 0, length: ids.count).dropFirst() {
            let plain = try TokenScorer(model: lm.model).score(Array(ids[w.start..<(w.start + w.count)]))
            for r in plain where w.start + r.index >= w.firstScored {
                #expect(abs(windowed.entropy[w.start + r.index] - r.entropy) < 1e-4)
                #expect(abs(windowed.logProb[w.start + r.index] - r.logProb) < 1e-4)
            }
        }
    }

    @Test func windowMustExceedMinimumContext() {
        #expect(throws: RPTError.self) {
            _ = try EntropyScorer(model: try Model.load(path: Repo.stories260KHF), window: 16, minContext: 16, batchTokens: 64)
        }
    }
}
