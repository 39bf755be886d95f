// The training forward pass: the same computation as Forward.swift (checked against it in the tests),
// over packed sequences that each start at position 0, keeping activations for the backward pass and
// returning log p(target) at every position. The LM head runs in chunks of rows so the full
// [tokens × vocab] logits never exist at once (Qwen's vocabulary is 151k).

import Foundation
import RPTKernels

/// The result of a training forward pass, consumed by `Model.backward`.
public final class ForwardTape: @unchecked Sendable {
    public let batch: TrainingBatch
    let acts: Activations
    let positions: [Int32]
    /// Logits are divided by this before the softmax (GRPO trainers score rollouts at the sampling temperature).
    public let temperature: Float

    init(batch: TrainingBatch, acts: Activations, positions: [Int32], temperature: Float) {
        self.batch = batch
        self.acts = acts
        self.positions = positions
        self.temperature = temperature
    }

    /// log p(target) per position (0 where the target is -1).
    public var logProbs: [Float] { Array(UnsafeBufferPointer(start: acts.logProbs, count: batch.count)) }
    /// Entropy (nats) of the full next-token distribution per position with a target, when requested.
    public internal(set) var entropies: [Float]?
}

extension Model {
    /// Rows of the LM head computed at once.
    static let headChunkRows = 64

    /// `temperature` scales the logits (logp = log softmax(logits / T)); 1 for plain likelihood training.
    public func trainForward(_ batch: TrainingBatch, temperature: Float = 1, entropies: Bool = false) throws -> ForwardTape {
        let c = config, n = batch.count, H = c.hiddenSize
        guard n > 0 else { throw RPTError("empty training batch") }
        guard temperature > 0, temperature.isFinite else { throw RPTError("temperature must be positive, got \(temperature)") }
        for l in batch.lengths where l > rope.positions {
            throw RPTError("training sequence of \(l) tokens exceeds max_position_embeddings (\(rope.positions))")
        }
        let acts = Activations(config: c, tokens: n)
        var positions = [Int32](repeating: 0, count: n)
        for (s, start) in batch.starts.enumerated() {
            for j in 0..<batch.lengths[s] { positions[start + j] = Int32(j) }
        }
        let p = params.base
        for (i, t) in batch.tokens.enumerated() {
            guard t >= 0, t < c.vocabSize else { throw RPTError("token id \(t) is outside the vocabulary (0..<\(c.vocabSize))") }
            (acts.layers.first?.xIn ?? acts.xOut).advanced(by: i * H).update(from: p + layout.embed + t * H, count: H)
        }
        let shape = AttentionHeads(heads: c.numHeads, kvHeads: c.numKVHeads, headDim: c.headDim)
        positions.withUnsafeBufferPointer { pos in
            for (l, o) in layout.layers.enumerated() {
                let a = acts.layers[l]
                Vector.rmsNormRows(a.xIn, p + o.inputNorm, a.xn1, rows: n, count: H, eps: c.rmsNormEps)
                Matmul.nt(a.xn1, p + o.wq, a.q, M: n, N: c.qDim, K: H)
                Matmul.nt(a.xn1, p + o.wk, a.k, M: n, N: c.kvDim, K: H)
                Matmul.nt(a.xn1, p + o.wv, a.v, M: n, N: c.kvDim, K: H)
                if let b = o.bq { Matmul.addBias(a.q, p + b, M: n, N: c.qDim) }
                if let b = o.bk { Matmul.addBias(a.k, p + b, M: n, N: c.kvDim) }
                if let b = o.bv { Matmul.addBias(a.v, p + b, M: n, N: c.kvDim) }
                if let qn = o.qNorm, let kn = o.kNorm, let qRaw = a.qRaw, let kRaw = a.kRaw {
                    qRaw.update(from: a.q, count: n * c.qDim)
                    kRaw.update(from: a.k, count: n * c.kvDim)
                    Vector.rmsNormRows(qRaw, p + qn, a.q, rows: n * c.numHeads, count: c.headDim, eps: c.rmsNormEps)
                    Vector.rmsNormRows(kRaw, p + kn, a.k, rows: n * c.numKVHeads, count: c.headDim, eps: c.rmsNormEps)
                }
                applyRope(a.q, rows: n, heads: c.numHeads, positions: pos.baseAddress!, inverse: false)
                applyRope(a.k, rows: n, heads: c.numKVHeads, positions: pos.baseAddress!, inverse: false)
                for (s, r0) in batch.starts.enumerated() {
                    Attention.trainForward(q: a.q + r0 * c.qDim, k: a.k + r0 * c.kvDim, v: a.v + r0 * c.kvDim,
                                           out: a.att + r0 * c.qDim, lse: a.lse + r0 * c.numHeads,
                                           count: batch.lengths[s], shape: shape)
                }
                a.xMid.update(from: a.xIn, count: n * H)
                Matmul.nt(a.att, p + o.wo, a.xMid, M: n, N: H, K: c.qDim, accumulate: true)
                if let b = o.bo { Matmul.addBias(a.xMid, p + b, M: n, N: H) }
                Vector.rmsNormRows(a.xMid, p + o.postNorm, a.xn2, rows: n, count: H, eps: c.rmsNormEps)
                Matmul.nt(a.xn2, p + o.gate, a.gate, M: n, N: c.intermediateSize, K: H)
                Matmul.nt(a.xn2, p + o.up, a.up, M: n, N: c.intermediateSize, K: H)
                let box = UnsafeSendable((a.gate, a.up, a.h))
                Parallel.forRange(n * c.intermediateSize, minChunk: 32768) { i0, i1 in
                    let (g, u, h) = box.value
                    Vector.swiglu(g + i0, u + i0, h + i0, count: i1 - i0)
                }
                let next = l + 1 < c.numLayers ? acts.layers[l + 1].xIn : acts.xOut
                next.update(from: a.xMid, count: n * H)
                Matmul.nt(a.h, p + o.down, next, M: n, N: H, K: c.intermediateSize, accumulate: true)
            }
        }
        Vector.rmsNormRows(acts.xOut, p + layout.finalNorm, acts.xnf, rows: n, count: H, eps: c.rmsNormEps)
        let tape = ForwardTape(batch: batch, acts: acts, positions: positions, temperature: temperature)
        tape.entropies = try headForward(batch, acts, temperature: temperature, entropies: entropies)
        return tape
    }

    func applyRope(_ x: UnsafeMutablePointer<Float>, rows: Int, heads: Int, positions: UnsafePointer<Int32>, inverse: Bool) {
        rope.cos.withUnsafeBufferPointer { cosT in
            rope.sin.withUnsafeBufferPointer { sinT in
                Rope.apply(x, rows: rows, heads: heads, headDim: config.headDim, positions: positions,
                           cos: cosT.baseAddress!, sin: sinT.baseAddress!, inverse: inverse)
            }
        }
    }

    /// log-sum-exp and log p(target) for every row, a chunk of rows at a time.
    /// Returns the per-position entropies when `entropies` is set (H = lse − Σ p·z).
    private func headForward(_ batch: TrainingBatch, _ acts: Activations, temperature: Float, entropies: Bool) throws -> [Float]? {
        var h: [Float]? = entropies ? [Float](repeating: 0, count: batch.count) : nil
        let c = config, n = batch.count, V = c.vocabSize
        let chunk = Self.headChunkRows
        let logits = UnsafeMutablePointer<Float>.allocate(capacity: min(chunk, n) * V)
        defer { logits.deallocate() }
        var r0 = 0
        while r0 < n {
            let rows = min(chunk, n - r0)
            Matmul.nt(acts.xnf + r0 * c.hiddenSize, params.base + layout.lmHead, logits, M: rows, N: V, K: c.hiddenSize)
            if temperature != 1 { Vector.scale(logits, 1 / temperature, count: rows * V) }
            for i in 0..<rows {
                let row = logits + i * V
                let lse = Vector.logSumExp(row, count: V)
                guard lse.isFinite else {
                    throw RPTError("non-finite logits at packed position \(r0 + i) of the training batch")
                }
                acts.headLSE[r0 + i] = lse
                let t = batch.targets[r0 + i]
                acts.logProbs[r0 + i] = t >= 0 ? row[t] - lse : 0
                if h != nil, t >= 0 { h![r0 + i] = lse - Vector.expWeightedSum(row, shift: lse, count: V) }
            }
            r0 += rows
        }
        return h
    }
}
