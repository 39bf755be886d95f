// Rewards (RPT §3.2 Eq. 3, App. A) against ground truths built from the real Qwen2 tokenizer: the continuation
// bytes and the boundary set L_gt are cumulative sums of tokenBytes, as a document position defines them.

import Foundation
import Testing
@testable import RPT

/// A document position: x_{<t} spells `context`, x_{≥t} (over `horizon` tokens) gives the bytes and boundaries.
struct RewardGroundTruth {
    var ids: [Int]
    var t: Int
    var continuationBytes: [UInt8]
    var boundaries: [Int]
    var nextTokenId: Int
    /// Byte strings of the horizon's tokens.
    var tokens: [[UInt8]]

    init(document: String, context: String, horizon: Int = 64, tokenizer: any Tokenizer) throws {
        ids = tokenizer.encode(document)
        var cumulative = 0
        var position: Int? = nil
        let contextLength = context.utf8.count
        for (i, id) in ids.enumerated() {
            if cumulative == contextLength { position = i; break }
            cumulative += tokenizer.tokenBytes(id).count
        }
        t = try #require(position, "\(context.debugDescription) does not end on a token boundary of \(document.debugDescription)")
        tokens = ids[t..<min(ids.count, t + horizon)].map { tokenizer.tokenBytes($0) }
        continuationBytes = tokens.flatMap { $0 }
        var sums: [Int] = []
        var total = 0
        for b in tokens { total += b.count; sums.append(total) }
        boundaries = sums
        nextTokenId = ids[t]
        #expect(tokenizer.bytes(of: Array(ids[..<t])) == Array(context.utf8))
    }

    func input(_ answer: ExtractedAnswer, tokenizer: (any Tokenizer)? = nil,
               probability: ((Int) -> Float)? = nil) -> RewardInput {
        RewardInput(answer: answer, continuationBytes: continuationBytes, boundaries: boundaries,
                    nextTokenId: nextTokenId, probabilityOfToken: probability, tokenizer: tokenizer)
    }

    func input(_ prediction: String, tokenizer: (any Tokenizer)? = nil, probability: ((Int) -> Float)? = nil) -> RewardInput {
        input(.answer(prediction), tokenizer: tokenizer, probability: probability)
    }
}

enum RewardFixtures {
    static func qwen() throws -> any Tokenizer { try TokenizerFixtures.qwen() }
    static func prefixReward(_ gt: RewardGroundTruth, _ prediction: String) -> Float {
        PrefixMatchReward().rewards([gt.input(prediction)])[0]
    }
}

@Suite struct RewardPrefixMatchTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var document: String
        var context: String
        var prediction: String
        var expected: Float
        var horizon = 64
        var testDescription: String { "\(context.debugDescription) + \(prediction.debugDescription) → \(expected)" }
    }

    static let cases: [Case] = [
        // Exact token, exact multi-token predictions, strict prefixes ending mid-token.
        Case(document: "The model size and decreases.", context: "The model", prediction: " size", expected: 1),
        Case(document: "The model size and decreases.", context: "The model", prediction: " size and", expected: 1),
        Case(document: "The model size and decreases.", context: "The model", prediction: " size and decreases.", expected: 1),
        Case(document: "The model size and decreases.", context: "The model", prediction: " si", expected: 0),
        Case(document: "The model size and decreases.", context: "The model", prediction: " size an", expected: 0),
        Case(document: "The model size and decreases.", context: "The model", prediction: " size ", expected: 0),
        Case(document: "The model size and decreases.", context: "The model", prediction: " Size", expected: 0),
        Case(document: "The model size and decreases.", context: "The model", prediction: " sizes", expected: 0),
        Case(document: "The model size and decreases.", context: "The model", prediction: " model", expected: 0),
        // Past the end of the ground truth (document end, or the horizon).
        Case(document: "The model size and decreases.", context: "The model", prediction: " size and decreases. Then", expected: 0),
        Case(document: "The model size and decreases.", context: "The model", prediction: " size and", expected: 0, horizon: 1),
        Case(document: "The model size and decreases.", context: "The model", prediction: " size and", expected: 1, horizon: 2),
        // Empty prediction.
        Case(document: "The model size and decreases.", context: "The model", prediction: "", expected: 0),
        // Leading spaces are part of the token.
        Case(document: "a new para starts", context: "a new", prediction: " para", expected: 1),
        Case(document: "a new para starts", context: "a new", prediction: "para", expected: 0),
        Case(document: "a new para starts", context: "a new", prediction: "  para", expected: 0),
        Case(document: "a new para starts", context: "a new", prediction: " par", expected: 0),
        // Qwen splits " 2025" into " " "2" "0" "2" "5": every one of those ends is a boundary.
        Case(document: "In 2025 we met", context: "In", prediction: " ", expected: 1),
        Case(document: "In 2025 we met", context: "In", prediction: " 2", expected: 1),
        Case(document: "In 2025 we met", context: "In", prediction: " 20", expected: 1),
        Case(document: "In 2025 we met", context: "In", prediction: " 2025", expected: 1),
        Case(document: "In 2025 we met", context: "In", prediction: " 2025 we", expected: 1),
        Case(document: "In 2025 we met", context: "In", prediction: "2", expected: 0),
        Case(document: "In 2025 we met", context: "In", prediction: " 2025 ", expected: 0),
        Case(document: "In 2025 we met", context: "In", prediction: " 2025 w", expected: 0),
        Case(document: "In 2025 we met", context: "In", prediction: " 2026", expected: 0),
        Case(document: "In 2025 we met", context: "In", prediction: " 202", expected: 0, horizon: 3),
        Case(document: "In 2025 we met", context: "In", prediction: " 20", expected: 1, horizon: 3),
        // Multi-byte characters split into byte-level tokens: " 🦜" is " \xF0\x9F" "\xA6" "\x9C"; " 齉" is
        // " \xE9" "\xBD" "\x89". Only predictions covering the whole character can end on a boundary.
        Case(document: "A 🦜 bird", context: "A", prediction: " 🦜", expected: 1),
        Case(document: "A 🦜 bird", context: "A", prediction: " 🦜 bird", expected: 1),
        Case(document: "A 🦜 bird", context: "A", prediction: " ", expected: 0),
        Case(document: "A 🦜 bird", context: "A", prediction: " 🦜 ", expected: 0),
        Case(document: "A 🦜 bird", context: "A", prediction: " \u{FFFD}", expected: 0),
        Case(document: "He said 齉 nose", context: "He said", prediction: " 齉", expected: 1),
        Case(document: "He said 齉 nose", context: "He said", prediction: " 齉 nose", expected: 1),
        Case(document: "He said 齉 nose", context: "He said", prediction: " 鼾", expected: 0),
        // Nested-brace LaTeX as the ground truth.
        Case(document: "so \\frac{1}{2} holds", context: "so", prediction: " \\frac", expected: 1),
        Case(document: "so \\frac{1}{2} holds", context: "so", prediction: " \\frac{1}{2}", expected: 1),
        Case(document: "so \\frac{1}{2} holds", context: "so", prediction: " \\fr", expected: 0),
        // "}{" is one token: " \\frac{1}" ends inside it, " \\frac{1}{" ends on its boundary.
        Case(document: "so \\frac{1}{2} holds", context: "so", prediction: " \\frac{1}", expected: 0),
        Case(document: "so \\frac{1}{2} holds", context: "so", prediction: " \\frac{1}{", expected: 1),
    ]

    @Test(arguments: cases)
    func prefixTable(_ c: Case) throws {
        let gt = try RewardGroundTruth(document: c.document, context: c.context, horizon: c.horizon, tokenizer: RewardFixtures.qwen())
        #expect(RewardFixtures.prefixReward(gt, c.prediction) == c.expected, "boundaries \(gt.boundaries), tokens \(gt.tokens)")
    }

    /// The tokenizations the table relies on.
    @Test func tableTokenizationsAreAsAssumed() throws {
        let tok = try RewardFixtures.qwen()
        let digits = try RewardGroundTruth(document: "In 2025 we met", context: "In", tokenizer: tok)
        #expect(digits.tokens.prefix(5).map { String(decoding: $0, as: UTF8.self) } == [" ", "2", "0", "2", "5"])
        let parrot = try RewardGroundTruth(document: "A 🦜 bird", context: "A", tokenizer: tok)
        #expect(parrot.boundaries.prefix(3) == [3, 4, 5])
        let cjk = try RewardGroundTruth(document: "He said 齉 nose", context: "He said", tokenizer: tok)
        #expect(cjk.boundaries.prefix(3) == [2, 3, 4])
        let size = try RewardGroundTruth(document: "The model size and decreases.", context: "The model", tokenizer: tok)
        #expect(size.tokens.first == Array(" size".utf8))
    }

    /// Every byte prefix of the continuation: rewarded exactly when it is valid UTF-8 (a string the model can
    /// write) and ends on a boundary; a prefix ending mid-character decodes with U+FFFD and is never rewarded.
    @Test(arguments: ["A 🦜 bird", "He said 齉 nose", "In 2025 we met", "我们的鹦鹉🦜很好 ok", "The model size and decreases."])
    func everyBytePrefix(_ document: String) throws {
        let tok = try RewardFixtures.qwen()
        let firstTokenEnd = tok.tokenBytes(tok.encode(document)[0]).count
        let context = String(decoding: Array(document.utf8)[..<firstTokenEnd], as: UTF8.self)
        let gt = try RewardGroundTruth(document: document, context: context, tokenizer: tok)
        var rewarded = 0
        for l in 1...gt.continuationBytes.count {
            let prefix = Array(gt.continuationBytes[..<l])
            let valid = String(validating: prefix, as: UTF8.self)
            let text = valid ?? String(decoding: prefix, as: UTF8.self)
            let expected: Float = (valid != nil && gt.boundaries.contains(l)) ? 1 : 0
            #expect(RewardFixtures.prefixReward(gt, text) == expected, "prefix \(l): \(text.debugDescription)")
            rewarded += Int(expected)
        }
        #expect(rewarded == gt.boundaries.count - gt.boundaries.filter { String(validating: gt.continuationBytes[..<$0], as: UTF8.self) == nil }.count)
    }

    @Test func formatFailuresScoreZero() throws {
        let gt = try RewardGroundTruth(document: "a new para starts", context: "a new", tokenizer: RewardFixtures.qwen())
        let group = AnswerFailure.allCases.map { gt.input(.failure($0)) } + [gt.input(" para")]
        #expect(PrefixMatchReward().rewards(group) == [0, 0, 0, 0, 1])
    }

    @Test func extractedResponsesFlowIntoTheReward() throws {
        let gt = try RewardGroundTruth(document: "In 2025 we met", context: "In", tokenizer: RewardFixtures.qwen())
        let extractor = AnswerExtractor(requireThinkClose: true)
        let responses = ["<think>a year</think>\n\n\\boxed{ 20}", "<think>a year\\boxed{ 2}</think>\\boxed{ 2025 }",
                         "<think>\\boxed{ 2025}", "</think>\\boxed{ }"]
        let group = responses.map { gt.input(extractor.extract($0)) }
        #expect(PrefixMatchReward().rewards(group) == [1, 0, 0, 1])
    }
}

@Suite struct RewardDenseTests {
    /// " 2025" starts with the token " " (x_t), "2025" with "2".
    func digits() throws -> (RewardGroundTruth, any Tokenizer) {
        let tok = try RewardFixtures.qwen()
        return (try RewardGroundTruth(document: "In 2025 we met", context: "In", tokenizer: tok), tok)
    }

    @Test func firstTokenComparesOnlyTheFirstId() throws {
        let (gt, tok) = try digits()
        let r = FirstTokenReward()
        let predictions = [" ", " 2", " 2025", " 2025 anything at all", " 9", "2025", "", "x"]
        #expect(r.rewards(predictions.map { gt.input($0, tokenizer: tok) }) == [1, 1, 1, 1, 1, 0, 0, 0])
        #expect(r.rewards([gt.input(" 2025")]) == [0], "no tokenizer")
        #expect(r.rewards([gt.input(.failure(.noBoxed), tokenizer: tok)]) == [0])

        let size = try RewardGroundTruth(document: "The model size and decreases.", context: "The model", tokenizer: tok)
        #expect(r.rewards([" size", " size and", " si", " sizes", "size"].map { size.input($0, tokenizer: tok) }) == [1, 1, 0, 0, 0])
    }

    @Test func denseUsesTheProbabilityOfTheWrongFirstToken() throws {
        let (gt, tok) = try digits()
        let two = tok.encode("2")[0]
        let asked = ProbabilityCallLog()
        let probability: (Int) -> Float = { id in
            asked.ids.append(id)
            return id == two ? 0.25 : 0.01
        }
        let r = DenseReward()
        let inputs = [" 2025", "2025", "x", "", ""].map { gt.input($0, tokenizer: tok, probability: probability) }
            + [gt.input(.failure(.truncated), tokenizer: tok, probability: probability)]
        #expect(r.rewards(inputs) == [1, 0.25, 0.01, 0, 0, 0])
        #expect(asked.ids == [two, tok.encode("x")[0]], "asked only for wrong first tokens")
        #expect(r.rewards([gt.input("2025", tokenizer: tok)]) == [0], "no probability closure")
        #expect(r.rewards([gt.input("2025", tokenizer: tok, probability: { _ in .nan })]) == [0])
        #expect(r.rewards([gt.input("2025", tokenizer: tok, probability: { _ in 3 })]) == [1], "clamped to 1")
    }

    @Test func conditionalDenseNeedsOneCorrectRolloutInTheGroup() throws {
        let (gt, tok) = try digits()
        let p: (Int) -> Float = { _ in 0.125 }
        let withCorrect = [gt.input(" 20", tokenizer: tok, probability: p), gt.input("2025", tokenizer: tok, probability: p),
                           gt.input(.failure(.noBoxed), tokenizer: tok, probability: p)]
        let allWrong = [gt.input("2025", tokenizer: tok, probability: p), gt.input("x", tokenizer: tok, probability: p),
                        gt.input(.failure(.unclosedBrace), tokenizer: tok, probability: p)]
        #expect(ConditionalDenseReward().rewards(withCorrect) == [1, 0.125, 0])
        #expect(ConditionalDenseReward().rewards(allWrong) == [0, 0, 0])
        #expect(ConditionalDenseReward(fallback: -0.1).rewards(allWrong) == [-0.1, -0.1, -0.1])
        #expect(ConditionalDenseReward(fallback: -0.1).rewards(withCorrect) == [1, 0.125, 0])
        #expect(ConditionalDenseReward().rewards([]) == [])
        // The unconditional dense reward would have scored the all-wrong group.
        #expect(DenseReward().rewards(allWrong) == [0.125, 0.125, 0])
    }

    @Test func kindsNameTheBuiltInRewards() throws {
        #expect(RewardKind.allCases.map(\.rawValue) == ["prefix", "firstToken", "dense", "conditionalDense"])
        for kind in RewardKind.allCases { #expect(kind.makeReward().name == kind.rawValue) }
        let decoded = try JSONDecoder().decode([RewardKind].self, from: Data(#"["prefix","conditionalDense"]"#.utf8))
        #expect(decoded == [.prefix, .conditionalDense])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([RewardKind].self, from: Data(#"["exact"]"#.utf8)) }
        let (gt, tok) = try digits()
        let fallback = RewardKind.conditionalDense.makeReward(conditionalFallback: -1)
        #expect(fallback.rewards([gt.input("x", tokenizer: tok)]) == [-1])
    }

    @Test func failuresAreTallied() {
        var tally = AnswerOutcomeTally([.answer(" a"), .failure(.noBoxed), .failure(.noBoxed), .failure(.truncated), .answer("")])
        #expect(tally.answered == 2)
        #expect(tally.failures == [.noBoxed: 2, .truncated: 1])
        #expect(tally.total == 5 && tally.failed == 3)
        tally.merge(AnswerOutcomeTally([.failure(.missingThinkClose)]))
        #expect(tally.metrics == ["answered": 2, "failed": 4, "failure_noBoxed": 2, "failure_unclosedBrace": 0,
                                  "failure_missingThinkClose": 1, "failure_truncated": 1])
    }

    /// A user-defined reward plugs in through the protocol.
    @Test func customRewardsConform() throws {
        struct LengthPenalty: PerRolloutReward {
            var name: String { "lengthPenalty" }
            func reward(_ input: RewardInput) -> Float { Float(-(input.answer.prediction?.utf8.count ?? 10)) }
        }
        let (gt, _) = try digits()
        let reward: any RPTReward = LengthPenalty()
        #expect(reward.rewards([gt.input(" 20"), gt.input(.failure(.noBoxed))]) == [-3, -10])
    }
}

/// Records what a closure was asked (tests run the closure synchronously).
final class ProbabilityCallLog: @unchecked Sendable {
    var ids: [Int] = []
}
