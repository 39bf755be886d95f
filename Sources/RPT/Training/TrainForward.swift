// The training forward pass: the same decoder layers as Forward.swift (DecoderLayer.swift; checked against it
// in the tests), over packed sequences that each start at position 0 or continue a shared prefix
// (TrainingBatch.parents, PrefixAttention.swift), keeping activations for the backward pass and
// returning log p(target) at every position. The LM head runs in chunks of rows so the full
// [tokens × vocab] logits never exist at once (Qwen's vocabulary is 151k).

import Foundation
import RPTKernels

/// The result of a training forward pass, consumed by `Model.backward`.
public final class ForwardTape: TrainingTape, @unchecked Sendable {
    public let batch: TrainingBatch
    let acts: Activations
    let positions: [Int32]
    /// Logits are divided by this before the softmax (GRPO trainers score rollouts at the sampling temperature).
    public let temperature: Float
    /// The bf16 packs of the weights in bf16 training (nil in fp32), for the backward products.
    let bf16: BF16GemmWeights?
    /// Logits / T kept for the backward pass, which reads them instead of recomputing the LM head: in bf16 of every
    /// row [count × vocab] when they fit `keptLogitsValues`, in fp32 of the rows with a target when they fit
    /// `keptTrainedLogitsValues`.
    var keptLogits: UnsafeMutablePointer<Float>?
    /// The row of `keptLogits` that holds each packed row's logits (-1: not kept).
    var keptSlot: [Int] = []

    init(batch: TrainingBatch, acts: Activations, positions: [Int32], temperature: Float, bf16: BF16GemmWeights?) {
        self.batch = batch
        self.acts = acts
        self.positions = positions
        self.temperature = temperature
        self.bf16 = bf16
    }

    deinit { keptLogits?.deallocate() }

    /// The kept logits, handed over once (the backward pass turns them into dlogits in place); nil afterwards.
    func takeKeptLogits() -> UnsafeMutablePointer<Float>? {
        defer { keptLogits = nil }
        return keptLogits
    }

    /// log p(target) per position (0 where the target is -1).
    public var logProbs: [Float] { Array(UnsafeBufferPointer(start: acts.logProbs, count: batch.count)) }
    /// Entropy (nats) of the full next-token distribution per position with a target, when requested.
    public internal(set) var entropies: [Float]?
}

extension Model {
    /// The fewest rows of the LM head computed at once, and the rows of each fp32 weight-gradient product of the head.
    static let headChunkRows = 64

    /// `temperature` scales the logits (logp = log softmax(logits / T)); 1 for plain likelihood training.
    public func trainForward(_ batch: TrainingBatch, temperature: Float = 1, entropies: Bool = false) throws -> ForwardTape {
        let c = config, n = batch.count, H = c.hiddenSize
        guard n > 0 else { throw RPTError("empty training batch") }
        guard temperature > 0, temperature.isFinite else { throw RPTError("temperature must be positive, got \(temperature)") }
        guard batch.parents.count == batch.lengths.count,
              batch.parents.enumerated().allSatisfy({ s, p in p.map { $0 < s && batch.parents[$0] == nil } ?? true }) else {
            throw RPTError("training batch: a sequence continues a later sequence or a continuation")
        }
        let first = batch.firstPositions
        for (s, l) in batch.lengths.enumerated() where first[s] + l > rope.positions {
            throw RPTError("training sequence of \(first[s] + l) tokens exceeds max_position_embeddings (\(rope.positions))")
        }
        let acts = Activations(config: c, tokens: n)
        var positions = [Int32](repeating: 0, count: n)
        for (s, start) in batch.starts.enumerated() {
            for j in 0..<batch.lengths[s] { positions[start + j] = Int32(first[s] + j) }
        }
        let starts = batch.starts
        let p = params.base
        for (i, t) in batch.tokens.enumerated() {
            guard t >= 0, t < c.vocabSize else { throw RPTError("token id \(t) is outside the vocabulary (0..<\(c.vocabSize))") }
            (acts.layers.first?.xIn ?? acts.xOut).advanced(by: i * H).update(from: p + layout.embed + t * H, count: H)
        }
        let shape = AttentionHeads(heads: c.numHeads, kvHeads: c.numKVHeads, headDim: c.headDim)
        // Every activation in its own buffer (Activations), products one matrix at a time (fp32, or bf16 packs).
        let bf16 = bf16TrainingWeights(), params = self.params
        let products: Attention.Products = bf16 == nil ? .fp32 : .bf16
        let linear: LinearProducts = { x, outputs, M, K, accumulate in
            for out in outputs {
                if let bf16 {
                    GemmBF16.multiply(x, rowStride: K, columnStride: 1, bf16.packs(out.offset, for: params).forward, out.y,
                                      ldc: out.n, M: M, accumulate: accumulate)
                } else {
                    Matmul.nt(x, p + out.offset, out.y, M: M, N: out.n, K: K, accumulate: accumulate)
                }
            }
        }
        positions.withUnsafeBufferPointer { pos in
            for l in layout.layers.indices {
                let a = acts.layers[l]
                let buffers = LayerBuffers(xIn: a.xIn, xn1: a.xn1, q: a.q, k: a.k, v: a.v, qRaw: a.qRaw, kRaw: a.kRaw, att: a.att,
                                           xMid: a.xMid, xn2: a.xn2, gate: a.gate, up: a.up, h: a.h,
                                           xOut: l + 1 < c.numLayers ? acts.layers[l + 1].xIn : acts.xOut)
                decoderLayer(l, buffers, rows: n, positions: pos.baseAddress!, linear: linear) { b in
                    for (s, r0) in starts.enumerated() {
                        if let p = batch.parents[s] {
                            PrefixAttention.forward(q: b.q, k: b.k, v: b.v, out: b.att, lse: a.lse,
                                                    prefix: PackedRows(row: starts[p], count: batch.lengths[p]),
                                                    continuation: PackedRows(row: r0, count: batch.lengths[s]), shape: shape,
                                                    products: products)
                        } else {
                            Attention.trainForward(q: b.q + r0 * c.qDim, k: b.k + r0 * c.kvDim, v: b.v + r0 * c.kvDim,
                                                   out: b.att + r0 * c.qDim, lse: a.lse + r0 * c.numHeads,
                                                   count: batch.lengths[s], shape: shape, products: products)
                        }
                    }
                }
            }
        }
        Vector.rmsNormRows(acts.xOut, p + layout.finalNorm, acts.xnf, rows: n, count: H, eps: c.rmsNormEps)
        let tape = ForwardTape(batch: batch, acts: acts, positions: positions, temperature: temperature, bf16: bf16)
        tape.entropies = try headForward(tape, entropies: entropies)
        return tape
    }

    /// Rows of the LM head computed at once: as many as `keptLogitsValues` allows, in multiples of 64 (at least 64).
    /// Larger products run closer to the GEMM's peak (docs/kernels.md §6).
    func headChunk() -> Int {
        max(1, keptLogitsValues / max(config.vocabSize, 1) / Self.headChunkRows) * Self.headChunkRows
    }

    /// logits[rows, V] = x[rows, H] · W_headᵀ (fp32 sgemm at every row count, so a row's logits do not depend on how many
    /// rows share its product; or bf16 packs).
    func headLogits(_ x: UnsafePointer<Float>, rows: Int, into logits: UnsafeMutablePointer<Float>, bf16: BF16GemmWeights?) {
        let H = config.hiddenSize, V = config.vocabSize
        if let bf16 {
            GemmBF16.multiply(x, rowStride: H, columnStride: 1, bf16.packs(layout.lmHead, for: params).forward, logits,
                              ldc: V, M: rows)
        } else {
            Matmul.gemm(transA: false, transB: true, M: rows, N: V, K: H, x, lda: H, params.base + layout.lmHead, ldb: H,
                        logits, ldc: V)
        }
    }

    /// log-sum-exp and log p(target) for every row with a target (rows without one, e.g. prompts, need no logits), a
    /// chunk of rows at a time. Returns the per-position entropies when `entropies` is set (H = lse − Σ p·z).
    private func headForward(_ tape: ForwardTape, entropies: Bool) throws -> [Float]? {
        let batch = tape.batch, acts = tape.acts, temperature = tape.temperature
        let c = config, n = batch.count, V = c.vocabSize, H = c.hiddenSize
        let entropy: UnsafeMutablePointer<Float>? = entropies ? .allocate(capacity: max(n, 1)) : nil
        entropy?.initialize(repeating: 0, count: max(n, 1))
        defer { entropy?.deallocate() }
        /// Scores packed rows `packed` whose logits / T are at row(i), rows in parallel (each writes only its entries).
        func score(_ packed: ArraySlice<Int>, _ row: (Int) -> UnsafeMutablePointer<Float>) throws {
            var finite = [Bool](repeating: true, count: packed.count)
            finite.withUnsafeMutableBufferPointer { ok in
                let okBox = UnsafeSendable(ok.baseAddress!)
                Parallel.forRange(packed.count, minChunk: max(1, (1 << 16) / max(V, 1))) { lo, hi in
                    for i in lo..<hi {
                        let z = row(i), r = packed[packed.startIndex + i]
                        let lse = Vector.logSumExp(z, count: V)
                        guard lse.isFinite else { okBox.value[i] = false; continue }
                        acts.headLSE[r] = lse
                        acts.logProbs[r] = z[batch.targets[r]] - lse
                        if let entropy { entropy[r] = lse - Vector.expWeightedSum(z, shift: lse, count: V) }
                    }
                }
            }
            if let i = finite.firstIndex(of: false) {
                throw RPTError("non-finite logits at packed position \(packed[packed.startIndex + i]) of the training batch")
            }
        }
        let rows = (0..<n).filter { batch.targets[$0] >= 0 }
        if tape.bf16 != nil && n * V <= keptLogitsValues {
            // bf16, small enough: the logits of every row, kept for the backward pass.
            let kept = UnsafeMutablePointer<Float>.allocate(capacity: n * V)
            tape.keptLogits = kept
            headLogits(acts.xnf, rows: n, into: kept, bf16: tape.bf16)
            if temperature != 1 { Vector.scale(kept, 1 / temperature, count: n * V) }
            tape.keptSlot = Array(0..<n)
            try score(rows[...]) { kept + rows[$0] * V }
        } else {
            // A chunk of rows at a time, into one buffer, or (fp32, when they fit) into the kept logits of these rows.
            let keep = tape.bf16 == nil && rows.count * V <= keptTrainedLogitsValues
            let chunk = min(headChunk(), max(rows.count, 1))
            let x = UnsafeMutablePointer<Float>.allocate(capacity: chunk * H)
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: (keep ? max(rows.count, 1) : chunk) * V)
            defer { x.deallocate(); if !keep { buffer.deallocate() } }
            if keep {
                tape.keptLogits = buffer
                tape.keptSlot = [Int](repeating: -1, count: n)
                for (i, r) in rows.enumerated() { tape.keptSlot[r] = i }
            }
            var i0 = 0
            while i0 < rows.count {
                let m = min(chunk, rows.count - i0), logits = keep ? buffer + i0 * V : buffer
                for i in 0..<m { (x + i * H).update(from: acts.xnf + rows[i0 + i] * H, count: H) }
                headLogits(x, rows: m, into: logits, bf16: tape.bf16)
                if temperature != 1 { Vector.scale(logits, 1 / temperature, count: m * V) }
                try score(rows[i0..<(i0 + m)]) { logits + $0 * V }
                i0 += m
            }
        }
        return entropy.map { Array(UnsafeBufferPointer(start: $0, count: n)) }
    }
}
