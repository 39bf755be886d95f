// The compute seam's contract beyond the PyTorch fixtures (ModelReferenceTests, GradientReferenceTests and
// TrainingReferenceTests run those once per backend): the LM-head operations agree with the full logits they
// reduce, however the rows are chunked or selected; draws of one row use their own streams; and what a backend
// cannot use is refused with an error, not a crash.

import Foundation
import Testing
@testable import RPT

@Suite struct ComputeBackendTests {
    let tokens = [1, 17, 33, 5, 60, 2, 9, 41, 12, 7, 3]

    func rows(_ backend: any ComputeBackend, _ which: LogitRows) throws -> any HeadRows {
        let cache = try backend.makeCache(slots: 1, capacity: tokens.count)
        return try backend.forward(ForwardBatch(tokens: tokens, segments: [.init(slot: 0, count: tokens.count)]), cache: cache, rows: which)
    }

    /// scores and sample equal Distribution/Sampler applied to the full logits, with one chunk or with chunks of 3 rows.
    @Test(arguments: [false, true])
    func headOperationsReduceTheLogits(_ chunked: Bool) throws {
        let model = try Model.load(path: Repo.fixtureModel("qwen3_f32"))
        let backend = CPUBackend(model: model)
        let V = model.config.vocabSize
        if chunked { backend.headChunkValues = 3 * V }
        let head = try rows(backend, .all)
        let logits = try backend.logits(head)
        #expect(maxAbsDiff(logits, try allLogits(model, tokens)) <= 1e-5)
        let targets = Array(tokens.dropFirst()) + [-1]
        let scores = try backend.scores(head, targets: targets, topK: 16)
        let params = SamplingParameters(temperature: 0.9, topK: 20, topP: 0.95)
        var streams = tokens.indices.map { RandomGenerator(seed: 7, stream: UInt64($0)) }
        let drawn = try backend.sample(head, params, rngs: &streams)
        try logits.withUnsafeBufferPointer { p in
            for i in tokens.indices {
                let row = try #require(p.baseAddress) + i * V
                #expect(scores[i].logProb == (i + 1 < tokens.count ? Distribution.logProb(row, vocab: V, token: targets[i]) : 0))
                #expect(scores[i].entropy == Distribution.topKEntropy(row, vocab: V, k: 16))
                #expect(scores[i].argmax == Distribution.topK(row, vocab: V, k: 1)[0])
                var rng = RandomGenerator(seed: 7, stream: UInt64(i))
                let t = Sampler.sample(row, vocab: V, params: params, rng: &rng)
                #expect(drawn[i] == SampledToken(token: t, logProb: Distribution.logProb(row, vocab: V, token: t)))
                #expect(streams[i].next() == rng.next(), "row \(i)'s stream advanced as Sampler advances it")
            }
        }
    }

    /// Selected rows are those rows of the full pass, in the order asked; several draws may read one row.
    @Test func selectedRowsAndSharedDraws() throws {
        let model = try Model.load(path: Repo.fixtureModel("llama_f32"))
        let backend = try model.backend()
        let V = model.config.vocabSize
        let all = try backend.logits(rows(backend, .all))
        let pick = [7, 2, 2, 10]
        let picked = try backend.logits(rows(backend, .selected(pick)))
        for (i, r) in pick.enumerated() { #expect(Array(picked[(i * V)..<((i + 1) * V)]) == Array(all[(r * V)..<((r + 1) * V)])) }
        let head = try rows(backend, .selected([4]))
        let params = SamplingParameters(temperature: 1)
        var three = (0..<3).map { RandomGenerator(seed: 1, stream: UInt64($0)) }
        let shared = try backend.sample(head, draws: [0, 0, 0], params, rngs: &three)
        for s in 0..<3 {
            var one = [RandomGenerator(seed: 1, stream: UInt64(s))]
            #expect(try backend.sample(head, params, rngs: &one)[0] == shared[s])
        }
    }

    @Test func refusesWhatItCannotUse() throws {
        let model = try Model.load(path: Repo.fixtureModel("llama_f32"))
        let backend = try model.backend()
        let head = try rows(backend, .lastOfEachSegment)
        #expect(throws: RPTError.self) { try backend.scores(head, targets: [model.config.vocabSize], topK: 0) }
        #expect(throws: RPTError.self) { try backend.scores(head, targets: [1, 2], topK: 0) }
        var none: [RandomGenerator] = []
        #expect(throws: RPTError.self) { try backend.sample(head, draws: [1], .greedy, rngs: &none) }
        #expect(throws: RPTError.self) { try rows(backend, .selected([tokens.count])) }
        #expect(throws: RPTError.self) { try backend.makeCache(slots: 1 << 40, capacity: 1 << 20) }
        // Rows, caches and tapes belong to the backend that made them.
        let other = try Model.load(path: Repo.fixtureModel("llama_f32")).backend()
        #expect(try other.logits(head).count == model.config.vocabSize)   // same kind: host rows are host rows
        final class ForeignRows: HeadRows { var count: Int { 1 } }
        #expect(throws: RPTError.self) { try backend.logits(ForeignRows()) }
    }

    /// Training through the seam: gradients zeroed, accumulated over two backward calls, clipped in place, and
    /// the optimizer state a checkpoint writes (fresh before the first step).
    @Test func trainingStateThroughTheSeam() throws {
        let g = try GradientCase("qwen2_f32")
        let backend = try g.model.backend()
        #expect(try backend.optimizerState().step == 0)
        try backend.zeroGradients()
        try backend.backward(backend.trainForward(g.batch), gradLogProbs: g.weights)
        let once = Array(try backend.downloadGradients().buffer)
        try backend.backward(backend.trainForward(g.batch), gradLogProbs: g.weights)
        let twice = Array(try backend.downloadGradients().buffer)
        #expect(maxAbsDiff(twice, once.map { 2 * $0 }) <= 1e-5 * (once.map(abs).max() ?? 0))
        let norm = try backend.clipGradients(maxNorm: 1e-3)
        #expect(norm > 1e-3)
        #expect(abs(GradientClipping.globalNorm(try backend.downloadGradients()) - 1e-3) < 1e-6)
        try backend.zeroGradients()
        #expect(try backend.downloadGradients().buffer.allSatisfy { $0 == 0 })
        #expect(try backend.firstNonFiniteGradient() == nil)
        try backend.optimizerStep(lr: 1e-3)
        #expect(try backend.optimizerState().step == 1)
    }
}
