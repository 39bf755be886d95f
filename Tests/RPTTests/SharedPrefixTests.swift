// Shared prefixes in training batches (TrainingBatch.parents, PrefixAttention.swift; the GRPO update's
// --share-prompts): a prefix computed once with its continuations after it gives the log-probabilities and the
// gradients of the same sequences written out whole (the path the PyTorch fixtures check), and a GRPO update
// with shared prompts takes the same step as without while computing fewer tokens.

import Foundation
import Testing
@testable import RPT

@Suite struct SharedPrefixTests {
    let prompt = [3, 17, 9, 41, 5, 60, 2, 33, 8]
    let responses = [[12, 7, 1], [44, 2], [12, 7, 19, 23, 4], [50]]

    /// Whole sequences prompt + response, and the shared form: prompt less its last token, then each
    /// [last prompt token] + response continuing it. Row maps: shared row → whole row predicting the same token.
    func batches() throws -> (whole: TrainingBatch, shared: TrainingBatch, rowOf: [Int: Int]) {
        let whole = TrainingBatch(sequences: responses.map { prompt + $0 })
        let shared = try TrainingBatch(sharedPrefixes: [(Array(prompt.dropLast()), responses.map { [prompt.last!] + $0 })])
        var rowOf: [Int: Int] = [:]
        let ws = whole.starts, ss = shared.starts
        for (i, r) in responses.enumerated() {
            for j in 0...r.count { rowOf[ss[i + 1] + j] = ws[i] + prompt.count - 1 + j }
        }
        for j in 0..<(prompt.count - 2) { rowOf[j] = j }   // the prefix's rows predict prompt tokens
        return (whole, shared, rowOf)
    }

    @Test(arguments: ["qwen3_f32", "llama_rope_llama3", "qwen2_bf16_tied"])
    func sameLogProbsAndGradients(_ name: String) throws {
        let (whole, shared, rowOf) = try batches()
        #expect(shared.count == prompt.count - 1 + responses.reduce(0) { $0 + $1.count + 1 })
        #expect(shared.firstPositions == [0] + Array(repeating: prompt.count - 1, count: responses.count))
        // Weights on the rows that predict response tokens (what GRPO trains), the same in both layouts.
        var rng = RandomGenerator(seed: 5)
        var wholeWeights = [Float](repeating: 0, count: whole.count), sharedWeights = [Float](repeating: 0, count: shared.count)
        for (s, w) in rowOf.sorted(by: { $0.key < $1.key }) where whole.targets[w] >= 0 && s >= prompt.count - 1 {
            let x = Float(rng.nextUnit()) - 0.5
            wholeWeights[w] = x; sharedWeights[s] = x
        }
        var grads: [[Float]] = [], logProbs: [[Float]] = []
        for (batch, weights) in [(whole, wholeWeights), (shared, sharedWeights)] {
            let backend = try Model.load(path: Repo.fixtureModel(name)).backend()
            try backend.zeroGradients()
            let tape = try backend.trainForward(batch, temperature: 0.9, entropies: true)
            logProbs.append(tape.logProbs)
            try backend.backward(tape, gradLogProbs: weights)
            grads.append(Array(try backend.downloadGradients().buffer))
        }
        for (s, w) in rowOf {
            #expect(shared.targets[s] == whole.targets[w])
            #expect(abs(logProbs[1][s] - logProbs[0][w]) <= 5e-5, "\(name) row \(s): \(logProbs[1][s]) vs \(logProbs[0][w])")
        }
        let err = relativeError(grads[1], grads[0])
        #expect(err <= 1e-4, "\(name): relative gradient error \(err)")
    }

    @Test func malformedPrefixesAreRefused() throws {
        let backend = try Model.load(path: Repo.fixtureModel("qwen2_f32")).backend()
        var b = TrainingBatch(sequences: [[1, 2], [3, 4], [5]])
        b.parents = [nil, 0, 1]   // a continuation of a continuation
        #expect(throws: RPTError.self) { try backend.trainForward(b) }
        b.parents = [1, nil, nil] // a sequence continuing a later one
        #expect(throws: RPTError.self) { try backend.trainForward(b) }
        #expect(throws: RPTError.self) { try TrainingBatch(sharedPrefixes: [([], [[1]])]) }
        #expect(throws: RPTError.self) { try TrainingBatch(sharedPrefixes: [([1], [[]])]) }
    }

    /// One GRPO update from the same groups with and without shared prompts: the same step, fewer FLOPs. The two
    /// batches have different row counts, so their products may run different kernels (Matmul.smallM): rounding-level
    /// differences, which AdamW at lr 1e-2 amplifies over the 4 optimizer steps of 2 epochs × 2 mini-batches (measured
    /// 2.9e-4 there, within 1e-4 in one step).
    @Test(arguments: [(1, 1, 1e-4), (2, 2, 1e-3)])
    func grpoUpdateIsTheSameStep(_ epochs: Int, _ miniBatches: Int, _ tolerance: Float) throws {
        let groups = [
            RolloutGroup(promptIds: prompt, samples: responses.enumerated().map { i, r in
                GeneratedSequence(promptIndex: 0, sampleIndex: i, tokens: r, logProbs: [], finishReason: .length) }, rewards: [1, 0, 0, 1]),
            RolloutGroup(promptIds: [7, 30], samples: responses.reversed().enumerated().map { i, r in
                GeneratedSequence(promptIndex: 1, sampleIndex: i, tokens: r, logProbs: [], finishReason: .length) }, rewards: [0, 1, 1, 1]),
        ]
        var params: [[Float]] = [], flops: [Double] = [], losses: [Float] = []
        for share in [false, true] {
            var o = GRPOOptions()
            o.groupSize = 4; o.temperature = 0.8; o.epochs = epochs; o.miniBatches = miniBatches; o.sharePrompts = share
            let model = try Model.load(path: Repo.fixtureModel("qwen3_f32"))
            let t = try GRPOTrainer(policy: model.backend(), lr: 1e-2, options: o, stopTokens: [])
            var m = GRPOStepMetrics()
            try t.update(groups, metrics: &m)
            params.append(Array(model.params.buffer)); flops.append(m.flops); losses.append(m.loss)
        }
        #expect(relativeError(params[1], params[0]) <= tolerance)  // AdamW divides by √v: where a gradient is near 0, a rounding-level difference changes its step
        #expect(abs(losses[1] - losses[0]) <= tolerance / 10 * max(abs(losses[0]), 1))
        // 4 × (9 + R) and 4 × (2 + R) tokens whole; 8 + 4 × (1 + R) and 1 + 4 × (1 + R) shared.
        let n = Double(try Model.load(path: Repo.fixtureModel("qwen3_f32")).parameterCount)
        let r = Double(responses.reduce(0) { $0 + $1.count })
        let whole = 4 * 9 + r + 4 * 2 + r, shared = 8 + 4 + r + 1 + 4 + r
        let passes = Double(epochs) * 6 + (epochs * miniBatches > 1 ? 2 : 0)
        #expect(abs(flops[0] - passes * n * whole) <= 1e-9 * flops[0] && abs(flops[1] - passes * n * shared) <= 1e-9 * flops[1])
    }
}
