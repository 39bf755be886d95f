// The GRPO machinery learns: on a tiny model, a reward for starting the response with one chosen token
// rises from near chance to most rollouts within a few steps (on-policy, and with 2 mini-batches × 2
// epochs where clipping engages); dynamic sampling drops zero-variance groups and refills; rollouts are
// reproducible from the seed.

import Foundation
import Testing
@testable import RPT

@Suite(.serialized) struct GRPOTrainerTests {
    func trainer(epochs: Int = 1, miniBatches: Int = 1, dynamic: Bool = false) throws -> GRPOTrainer {
        let model = try Model.load(path: Repo.fixtureModel("qwen2_f32"))
        var o = GRPOOptions()
        o.groupSize = 8; o.temperature = 1; o.maxResponseTokens = 3; o.epochs = epochs; o.miniBatches = miniBatches
        o.dynamicSampling = dynamic
        return try GRPOTrainer(policy: model.backend(optimizer: AdamWSettings(beta1: 0.9, beta2: 0.99, weightDecay: 0)), lr: 3e-3,
                               options: o, stopTokens: [])
    }

    /// Reward 1 when the first response token is `target`.
    func contexts(_ target: Int) -> () -> RolloutContext? {
        var i = 0
        return {
            i += 1
            return RolloutContext(promptIds: [10 + i % 5, 20, 30]) { group in group.map { $0.tokens.first == target ? 1 : 0 } }
        }
    }

    func firstTokenProbability(_ t: GRPOTrainer, _ target: Int) throws -> Float {
        let logits = try allLogits(t.policy.model, [11, 20, 30])
        let v = t.policy.model.config.vocabSize
        return logits.withUnsafeBufferPointer { exp(Distribution.logProb($0.baseAddress! + 2 * v, vocab: v, token: target)) }
    }

    @Test(arguments: [(1, 1), (2, 2)])
    func rewardRises(_ epochs: Int, _ miniBatches: Int) throws {
        let t = try trainer(epochs: epochs, miniBatches: miniBatches)
        // The target: the third most likely first token, so rollouts find it sometimes but rarely.
        let logits = try allLogits(t.policy.model, [11, 20, 30])
        let v = t.policy.model.config.vocabSize
        let target = logits.withUnsafeBufferPointer { Distribution.topK($0.baseAddress! + 2 * v, vocab: v, k: 3)[2] }
        let before = try firstTokenProbability(t, target)
        var rewards: [Float] = []
        var clip: Float = 0
        var entropies: [Float] = []
        let next = contexts(target)
        for s in 0..<25 {
            let m = try t.step(batchSize: 4, seed: UInt64(s), next: next)
            rewards.append(m.rewardMean)
            entropies.append(m.entropy)
            clip = max(clip, m.clipFraction)
            // 2N·(prompt + generated) + 6N·trained tokens (+2N·tokens for the old log-probs pass)
            // The rollout prefills each prompt once; training sees G copies of it (one per sample).
            let n = Double(t.policy.model.parameterCount)
            let trained = Double(t.options.groupSize * m.promptTokens + m.rolloutTokens)
            let extra = epochs * miniBatches > 1 ? 2 * n * trained : 0
            let expected = 2 * n * Double(m.promptTokens + m.rolloutTokens) + 6 * n * Double(epochs) * trained + extra
            if m.groupsKept > 0 { #expect(abs(m.flops - expected) <= 1e-9 * expected) }
        }
        let after = try firstTokenProbability(t, target)
        print("GRPO (\(epochs) epochs × \(miniBatches) mini-batches): p(target) \(before) → \(after), reward \(rewards.prefix(3)) … \(rewards.suffix(3))")
        #expect(after > 0.5 && after > 2 * before)
        #expect(rewards.suffix(5).reduce(0, +) / 5 > 0.4)
        #expect(entropies.last! < entropies.first!, "policy entropy should fall as it concentrates: \(entropies)")
        if epochs * miniBatches == 1 { #expect(clip == 0) } // exactly on-policy: ρ ≡ 1
    }

    @Test func dynamicSamplingDropsZeroVarianceGroups() throws {
        let t = try trainer(dynamic: true)
        var n = 0
        // Contexts alternate between one whose reward is constant (always 1) and the learnable one.
        let m = try t.step(batchSize: 4, seed: 1) {
            n += 1
            if n % 2 == 0 { return RolloutContext(promptIds: [5, 6]) { g in g.map { _ in 1 } } }
            return RolloutContext(promptIds: [7, 8]) { g in g.enumerated().map { i, _ in i % 2 == 0 ? 1 : 0 } }
        }
        #expect(m.groupsDropped >= 2 && m.groupsKept == 4 && m.contextsSampled >= 6)
    }

    @Test func rolloutsAreSeeded() throws {
        let a = try trainer(), b = try trainer()
        let c = [RolloutContext(promptIds: [1, 2, 3]) { g in g.map { _ in 0 } }]
        #expect(try a.rollout(c, seed: 4).map { $0.samples.map(\.tokens) } == b.rollout(c, seed: 4).map { $0.samples.map(\.tokens) })
    }
}
