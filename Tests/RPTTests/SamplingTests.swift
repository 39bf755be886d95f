// Sampling and generation options: temperature 0 and top-k 1 are greedy, top-k and top-p never pick
// outside their sets, draws follow the softmax at temperature T (a frequency test), the same seed gives
// the same tokens, stop tokens and stop strings end a sample, and max tokens caps it.

import Foundation
import Testing
@testable import RPT

@Suite struct SamplingTests {
    let logits: [Float] = [2.0, 1.0, 0.5, 3.0, -1.0, 2.9, 0.0, -4.0]

    func draws(_ p: SamplingParameters, _ n: Int, seed: UInt64 = 1) -> [Int] {
        var rng = RandomGenerator(seed: seed)
        return (0..<n).map { _ in logits.withUnsafeBufferPointer { Sampler.sample($0.baseAddress!, vocab: logits.count, params: p, rng: &rng) } }
    }

    @Test func greedyForms() {
        #expect(Set(draws(.greedy, 20)) == [3])
        #expect(Set(draws(SamplingParameters(temperature: 1, topK: 1), 20)) == [3])
    }

    @Test func topKAndTopPStayInsideTheirSets() {
        #expect(Set(draws(SamplingParameters(temperature: 1.5, topK: 2), 2000)).isSubset(of: [3, 5]))
        // softmax mass: token 3 ≈ 0.38, 5 ≈ 0.34, 0 ≈ 0.14 → top-p 0.7 keeps {3, 5}; 0.75 adds 0.
        #expect(Set(draws(SamplingParameters(temperature: 1, topP: 0.7), 2000)) == [3, 5])
        #expect(Set(draws(SamplingParameters(temperature: 1, topP: 0.75), 4000)) == [3, 5, 0])
    }

    @Test func frequenciesFollowTheTemperedSoftmax() {
        let t: Float = 0.7, n = 40_000
        let counts = draws(SamplingParameters(temperature: t), n).reduce(into: [Int: Int]()) { $0[$1, default: 0] += 1 }
        let z = logits.reduce(0.0) { $0 + exp(Double($1 / t)) }
        for (i, l) in logits.enumerated() {
            let p = exp(Double(l / t)) / z
            let observed = Double(counts[i] ?? 0) / Double(n)
            #expect(abs(observed - p) < 4 * (p * (1 - p) / Double(n)).squareRoot() + 1e-3, "token \(i): \(observed) vs \(p)")
        }
    }

    @Test func seedsReproduce() {
        let p = SamplingParameters(temperature: 1)
        #expect(draws(p, 50, seed: 3) == draws(p, 50, seed: 3))
        #expect(draws(p, 50, seed: 3) != draws(p, 50, seed: 4))
    }

    @Test func invalidParametersAreRejected() {
        #expect(throws: RPTError.self) { try SamplingParameters(temperature: -1).validate() }
        #expect(throws: RPTError.self) { try SamplingParameters(topP: 0).validate() }
        #expect(throws: RPTError.self) { try SamplingParameters(topK: -2).validate() }
    }

    @Test func stopTokensStopStringsAndMaxTokens() throws {
        let lm = try LanguageModel.load(model: Repo.stories260KBin, tokenizer: Repo.stories260KTokenizer)
        let gen = try Generator(model: lm.model, tokenizer: lm.tokenizer)
        let bos = [1]
        let free = try gen.generate(prompts: [bos], options: GenerationOptions(maxTokens: 30))[0]
        #expect(free.tokens.count == 30 && free.finishReason == .length)
        // Stop at the token that completes "Lily".
        let stopped = try gen.generate(prompts: [bos], options: GenerationOptions(maxTokens: 30, stopStrings: ["Lily"]))[0]
        #expect(stopped.finishReason == .stopString)
        let text = String(decoding: lm.tokenizer.bytes(of: stopped.tokens), as: UTF8.self)
        let before = String(decoding: lm.tokenizer.bytes(of: Array(stopped.tokens.dropLast())), as: UTF8.self)
        #expect(text.contains("Lily") && !before.contains("Lily"))
        #expect(Array(free.tokens.prefix(stopped.tokens.count)) == stopped.tokens)
        // A stop token ends the sample and is kept as its last token.
        let stopToken = free.tokens[5]
        let s = try gen.generate(prompts: [bos], options: GenerationOptions(maxTokens: 30, stopTokens: [stopToken]))[0]
        #expect(s.finishReason == .stopToken && s.tokens.last == stopToken && s.tokens.count == free.tokens.firstIndex(of: stopToken)! + 1)
        // Log-probs are the model's own (temperature 1) and ≤ 0.
        #expect(free.logProbs.count == 30 && free.logProbs.allSatisfy { $0 <= 0 })
    }

    @Test func samplesOfOnePromptAreIndependentOfBatching() throws {
        let model = try Model.load(path: Repo.fixtureModel("qwen2_f32"))
        let o = GenerationOptions(maxTokens: 12, sampling: SamplingParameters(temperature: 1), seed: 9)
        let together = try Generator(model: model).generate(prompts: [[5, 6, 7], [8, 9]], samplesPerPrompt: 4, options: o)
        let distinct = Set(together.filter { $0.promptIndex == 0 }.map(\.tokens))
        #expect(distinct.count > 1, "4 samples at temperature 1 should differ")
        let again = try Generator(model: model).generate(prompts: [[5, 6, 7], [8, 9]], samplesPerPrompt: 4, options: o)
        #expect(together.map(\.tokens) == again.map(\.tokens))
        // The first prompt's samples do not depend on what else is in the batch.
        let alone = try Generator(model: model).generate(prompts: [[5, 6, 7]], samplesPerPrompt: 4, options: o)
        #expect(alone.map(\.tokens) == together.filter { $0.promptIndex == 0 }.map(\.tokens))
    }
}
