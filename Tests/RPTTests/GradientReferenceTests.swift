// The backward pass against PyTorch autograd (Tests/Fixtures/models/*/reference.safetensors, made by
// scripts/make_model_fixtures.py): the masked mean cross-entropy and the gradient of every parameter
// (relative error ≤ 1e-3), for all seven tiny models; a central finite difference on a few parameters
// as a second, independent check; and the training forward against the inference forward. The PyTorch
// comparisons and the forward check run through the compute seam, once per backend (`ComputeBackendKind`).

import Foundation
import Testing
@testable import RPT
@testable import RPTKernels

struct GradientCase {
    let model: Model
    let ref: SafeTensorsFile
    let batch: TrainingBatch
    let weights: [Float]

    init(_ name: String) throws {
        model = try Model.load(path: Repo.fixtureModel(name))
        ref = try SafeTensorsFile(path: Repo.fixtureModel(name) + "/reference.safetensors")
        let ids = try ref.ints("train_input_ids"), mask = try ref.floats("loss_mask")
        let t = ids.count / 2
        batch = TrainingBatch(sequences: [Array(ids[0..<t]), Array(ids[t...])])
        let masks = [Array(mask[0..<(t - 1)]), Array(mask[(t - 1)...])]
        let total = mask.reduce(0, +)
        weights = batch.packed(masks).map { -$0 / total } // dL/dlogp for L = −Σ mask·logp / Σ mask
    }
}

/// max |a − b| / max |b|
func relativeError(_ a: [Float], _ b: [Float]) -> Float {
    let scale = max(b.map(abs).max() ?? 0, 1e-12)
    return maxAbsDiff(a, b) / scale
}

@Suite struct GradientReferenceTests {
    @Test(arguments: referenceModels, ComputeBackendKind.allCases)
    func lossAndGradientsMatchPyTorch(_ name: String, _ kind: ComputeBackendKind) throws {
        let g = try GradientCase(name)
        let backend = try kind.make(model: g.model)
        try backend.zeroGradients()
        let tape = try backend.trainForward(g.batch)
        let loss = zip(tape.logProbs, g.weights).reduce(Float(0)) { $0 + $1.0 * $1.1 }
        let refLoss = try g.ref.floats("loss")[0]
        #expect(abs(loss - refLoss) / abs(refLoss) <= 1e-4, "\(name): loss \(loss) vs \(refLoss)")
        try backend.backward(tape, gradLogProbs: g.weights)
        let grads = try backend.downloadGradients()
        var worst: (Float, String) = (0, "")
        for spec in g.model.layout.specs {
            let ours = grads.values(spec.name), theirs = try g.ref.floats("grad." + spec.name)
            let err = relativeError(ours, theirs)
            if err > worst.0 { worst = (err, spec.name) }
            #expect(err <= 1e-3, "\(name) \(spec.name): relative gradient error \(err)")
        }
        print("\(name): loss \(loss) (PyTorch \(refLoss)), worst relative gradient error \(worst.0) in \(worst.1)")
    }

    /// fp32: the LM head's results do not depend on how it is chunked or whether the forward pass kept its logits. The
    /// same 300-row batch (prompt-like rows without targets, weights zero on some rows, T = 0.8) with the logits kept,
    /// recomputed in one chunk, in chunks of 192 rows, and 64 rows at a time gives identical log-probabilities,
    /// entropies and gradients, bit for bit.
    @Test func fp32HeadGivesTheSameResultsChunkedOrKept() throws {
        let model = try Model.load(path: Repo.fixtureModel("qwen2_f32"))
        var rng = RandomGenerator(seed: 9)
        let V = model.config.vocabSize
        let sequences = [150, 90, 60].map { n in (0..<n).map { _ in Int(rng.next() % UInt64(V)) } }
        var batch = TrainingBatch(sequences: sequences)
        for i in batch.targets.indices where i % 7 < 2 { batch.targets[i] = -1 }   // rows without a target
        let weights = batch.targets.indices.map { i in batch.targets[i] < 0 || i % 5 == 0 ? Float(0) : -Float(i % 13 + 1) / 100 }
        func run(kept: Bool, chunkValues: Int) throws -> (logProbs: [Float], entropies: [Float], grads: [Float]) {
            model.keptTrainedLogitsValues = kept ? 1 << 26 : 0
            model.keptLogitsValues = chunkValues
            let grads = ParameterBuffer(specs: model.layout.specs)
            let tape = try model.trainForward(batch, temperature: 0.8, entropies: true)
            #expect((tape.keptLogits != nil) == kept)
            try model.backward(tape, gradLogProbs: weights, into: grads)
            return (tape.logProbs, tape.entropies ?? [], Array(UnsafeBufferPointer(start: grads.base, count: grads.count)))
        }
        let reference = try run(kept: false, chunkValues: 0)   // 64 rows at a time
        #expect(reference.logProbs.contains { $0 != 0 } && reference.grads.contains { $0 != 0 })
        for (kept, chunk) in [(true, 1 << 24), (false, 1 << 24), (false, 200 * V)] {
            let r = try run(kept: kept, chunkValues: chunk)
            let what = "kept \(kept), chunks of \(chunk / V) rows"
            let same = (r.logProbs == reference.logProbs, r.entropies == reference.entropies, r.grads == reference.grads)
            #expect(same.0, "\(what): log-probabilities differ by \(maxAbsDiff(r.logProbs, reference.logProbs))")
            #expect(same.1, "\(what): entropies differ by \(maxAbsDiff(r.entropies, reference.entropies))")
            #expect(same.2, "\(what): gradients differ by \(maxAbsDiff(r.grads, reference.grads))")
        }
    }

    /// Central differences in Float64-free fp32 are noisy, so perturb by 1e-2 and compare loosely: this
    /// is an independent check of the analytic gradient's direction and size, not of its last digits.
    @Test(arguments: [("qwen3_f32", Float(1)), ("qwen2_f32", 1), ("llama_bf16_tied", 1), ("qwen2_f32", 0.7)])
    func finiteDifferencesAgree(_ name: String, _ temperature: Float) throws {
        let g = try GradientCase(name)
        let grads = ParameterBuffer(specs: g.model.layout.specs)
        try g.model.backward(try g.model.trainForward(g.batch, temperature: temperature), gradLogProbs: g.weights, into: grads)
        func loss() throws -> Double {
            let lp = try g.model.trainForward(g.batch, temperature: temperature).logProbs
            return zip(lp, g.weights).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        }
        var rng = RandomGenerator(seed: 42)
        let probes = ["model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight", "model.layers.1.mlp.down_proj.weight",
                      "model.layers.0.input_layernorm.weight", "model.norm.weight", "model.layers.1.self_attn.k_proj.weight"]
        for name in probes {
            let spec = try #require(g.model.layout.specs.first { $0.name == name })
            // the largest-gradient entry of the tensor plus a random one
            let gv = grads.values(name)
            let big = gv.indices.max { abs(gv[$0]) < abs(gv[$1]) }!
            for idx in [big, Int(rng.next() % UInt64(spec.count))] {
                let ptr = g.model.params.base + spec.offset + idx
                let orig = ptr.pointee, h: Float = 1e-2
                ptr.pointee = orig + h; let up = try loss()
                ptr.pointee = orig - h; let down = try loss()
                ptr.pointee = orig
                let numeric = (up - down) / Double(2 * h), analytic = Double(gv[idx])
                #expect(abs(numeric - analytic) <= 2e-3 + 0.02 * abs(analytic), "\(name)[\(idx)]: numeric \(numeric) vs analytic \(analytic)")
            }
        }
    }

    @Test(arguments: [("qwen3_f32", Float(1)), ("llama_rope_llama3", 1), ("qwen2_bf16_tied", 1), ("qwen3_f32", 0.8)],
          ComputeBackendKind.allCases)
    func trainingForwardEqualsInferenceForward(_ c: (name: String, temperature: Float), _ kind: ComputeBackendKind) throws {
        let (name, temperature) = c
        let g = try GradientCase(name)
        let backend = try kind.make(model: g.model)
        let tape = try backend.trainForward(g.batch, temperature: temperature, entropies: true)
        let entropies = try #require(tape.entropies)
        let V = g.model.config.vocabSize
        for (s, start) in g.batch.starts.enumerated() {
            let seq = Array(g.batch.tokens[start..<(start + g.batch.lengths[s])])
            let logits = try backend.sequenceLogits(seq).map { $0 / temperature }
            for j in 0..<(seq.count - 1) {
                let lp = logits.withUnsafeBufferPointer { Distribution.logProb($0.baseAddress! + j * V, vocab: V, token: seq[j + 1]) }
                #expect(abs(lp - tape.logProbs[start + j]) < 1e-4)
                // full-distribution entropy from the inference logits
                let h: Float = logits.withUnsafeBufferPointer { p in
                    let row = p.baseAddress! + j * V
                    let lse = Vector.logSumExp(row, count: V)
                    return (0..<V).reduce(Float(0)) { acc, k in let q = exp(row[k] - lse); return acc - q * (row[k] - lse) }
                }
                #expect(abs(h - entropies[start + j]) < 1e-4)
            }
        }
    }

    /// Two micro-batches accumulate to the gradient of the whole batch.
    @Test func gradientAccumulationAddsUp() throws {
        let g = try GradientCase("qwen2_f32")
        let whole = ParameterBuffer(specs: g.model.layout.specs)
        try g.model.backward(try g.model.trainForward(g.batch), gradLogProbs: g.weights, into: whole)
        let parts = ParameterBuffer(specs: g.model.layout.specs)
        let t = g.batch.lengths[0]
        for s in 0..<2 {
            let b = TrainingBatch(sequences: [Array(g.batch.tokens[(s * t)..<((s + 1) * t)])])
            try g.model.backward(try g.model.trainForward(b), gradLogProbs: Array(g.weights[(s * t)..<((s + 1) * t)]), into: parts)
        }
        #expect(maxAbsDiff(Array(whole.buffer), Array(parts.buffer)) < 1e-5)
    }
}
