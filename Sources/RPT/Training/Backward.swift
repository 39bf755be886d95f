// The backward pass of TrainForward.swift: given dLoss/dlogp for every position, accumulates the
// gradient of every parameter into a ParameterBuffer laid out like the model's parameters (so tied
// embeddings sum both uses automatically). Gradients accumulate (β = 1 in every weight GEMM), which
// is how micro-batches add up; zero the buffer before a step.
//
// Per position with weight g = dL/dlogp: dlogits = g·(onehot(target) − softmax(logits/T)) / T.
// Linear y = x·Wᵀ: dx = dy·W, dW += dyᵀ·x, db += Σ_rows dy. In bf16 training those products take bf16 operands
// (LinearGradients, BF16GemmWeights.swift).

import Foundation
import RPTKernels

extension Model {
    /// Adds the gradient of L (with dL/dlogp_t = `gradLogProbs[t]`) to `grads`.
    public func backward(_ tape: ForwardTape, gradLogProbs: [Float], into grads: ParameterBuffer) throws {
        let c = config, batch = tape.batch, acts = tape.acts
        let n = batch.count, H = c.hiddenSize, I = c.intermediateSize
        guard gradLogProbs.count == n else { throw RPTError("backward: \(gradLogProbs.count) weights for \(n) positions") }
        guard grads.count == params.count else { throw RPTError("backward: gradient buffer does not match the model's layout") }
        let p = params.base, g = grads.base
        func buffer(_ count: Int) -> UnsafeMutablePointer<Float> {
            let b = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
            b.initialize(repeating: 0, count: max(count, 1))
            return b
        }
        let dx = buffer(n * H), dxn = buffer(n * H)
        let dq = buffer(n * c.qDim), dk = buffer(n * c.kvDim), dv = buffer(n * c.kvDim), datt = buffer(n * c.qDim)
        let dh = buffer(n * I)
        defer { for b in [dx, dxn, dq, dk, dv, datt, dh] { b.deallocate() } }
        let linear = LinearGradients(model: self, grads: grads, bf16: tape.bf16, rows: n)
        let products: Attention.Products = tape.bf16 == nil ? .fp32 : .bf16

        headBackward(tape, gradLogProbs, dxnf: dxn, grads: grads)
        BackwardKernels.rmsNorm(x: acts.xOut, w: p + layout.finalNorm, dy: dxn, dx: dx, dw: g + layout.finalNorm,
                                rows: n, count: H, eps: c.rmsNormEps)
        let shape = AttentionHeads(heads: c.numHeads, kvHeads: c.numKVHeads, headDim: c.headDim)
        let starts = batch.starts
        tape.positions.withUnsafeBufferPointer { pos in
            for l in stride(from: c.numLayers - 1, through: 0, by: -1) {
                let o = layout.layers[l], a = acts.layers[l]
                // MLP block: out = xMid + h·Wdᵀ, h = silu(gate)·up.
                linear.input(dx, o.down, out: H, in: I, into: dh)
                linear.weight(dx, a.h, o.down, out: H, in: I)
                BackwardKernels.swiglu(a: a.gate, u: a.up, dh: dh, count: n * I) // gate/up now hold their gradients
                linear.input(a.gate, o.gate, out: I, in: H, into: dxn)
                linear.input(a.up, o.up, out: I, in: H, into: dxn, accumulate: true)
                linear.weight(a.gate, a.xn2, o.gate, out: I, in: H)
                linear.weight(a.up, a.xn2, o.up, out: I, in: H)
                BackwardKernels.rmsNorm(x: a.xMid, w: p + o.postNorm, dy: dxn, dx: dx, dw: g + o.postNorm,
                                        rows: n, count: H, eps: c.rmsNormEps, accumulateDX: true)

                // Attention block: xMid = xIn + att·Woᵀ (+ bo).
                linear.input(dx, o.wo, out: H, in: c.qDim, into: datt)
                linear.weight(dx, a.att, o.wo, out: H, in: c.qDim)
                if let b = o.bo { columnSums(dx, rows: n, cols: H, into: g + b) }
                dk.update(repeating: 0, count: n * c.kvDim)
                dv.update(repeating: 0, count: n * c.kvDim)
                for (s, r0) in starts.enumerated() {
                    if let p = batch.parents[s] {
                        PrefixAttention.backward(q: a.q, k: a.k, v: a.v, out: a.att, dout: datt, lse: a.lse, dq: dq, dk: dk, dv: dv,
                                                 prefix: PackedRows(row: starts[p], count: batch.lengths[p]),
                                                 continuation: PackedRows(row: r0, count: batch.lengths[s]), shape: shape,
                                                 products: products)
                    } else {
                        Attention.backward(q: a.q + r0 * c.qDim, k: a.k + r0 * c.kvDim, v: a.v + r0 * c.kvDim,
                                           out: a.att + r0 * c.qDim, dout: datt + r0 * c.qDim, lse: a.lse + r0 * c.numHeads,
                                           dq: dq + r0 * c.qDim, dk: dk + r0 * c.kvDim, dv: dv + r0 * c.kvDim,
                                           count: batch.lengths[s], shape: shape, products: products)
                    }
                }
                applyRope(dq, rows: n, heads: c.numHeads, positions: pos.baseAddress!, inverse: true)
                applyRope(dk, rows: n, heads: c.numKVHeads, positions: pos.baseAddress!, inverse: true)
                if let qn = o.qNorm, let kn = o.kNorm, let qRaw = a.qRaw, let kRaw = a.kRaw {
                    BackwardKernels.rmsNorm(x: qRaw, w: p + qn, dy: dq, dx: dq, dw: g + qn, rows: n * c.numHeads,
                                            count: c.headDim, eps: c.rmsNormEps)
                    BackwardKernels.rmsNorm(x: kRaw, w: p + kn, dy: dk, dx: dk, dw: g + kn, rows: n * c.numKVHeads,
                                            count: c.headDim, eps: c.rmsNormEps)
                }
                if let b = o.bq { columnSums(dq, rows: n, cols: c.qDim, into: g + b) }
                if let b = o.bk { columnSums(dk, rows: n, cols: c.kvDim, into: g + b) }
                if let b = o.bv { columnSums(dv, rows: n, cols: c.kvDim, into: g + b) }
                linear.input(dq, o.wq, out: c.qDim, in: H, into: dxn)
                linear.input(dk, o.wk, out: c.kvDim, in: H, into: dxn, accumulate: true)
                linear.input(dv, o.wv, out: c.kvDim, in: H, into: dxn, accumulate: true)
                linear.weight(dq, a.xn1, o.wq, out: c.qDim, in: H)
                linear.weight(dk, a.xn1, o.wk, out: c.kvDim, in: H)
                linear.weight(dv, a.xn1, o.wv, out: c.kvDim, in: H)
                BackwardKernels.rmsNorm(x: a.xIn, w: p + o.inputNorm, dy: dxn, dx: dx, dw: g + o.inputNorm,
                                        rows: n, count: H, eps: c.rmsNormEps, accumulateDX: true)
            }
        }
        // Embedding: scatter-add (serial, so the sum order is fixed).
        for (i, t) in batch.tokens.enumerated() { Vector.add(g + layout.embed + t * H, dx + i * H, count: H) }
    }

    /// dL/dxnf and the LM head's weight gradient: logits kept by the forward pass (bf16), or recomputed a chunk of
    /// rows at a time.
    private func headBackward(_ tape: ForwardTape, _ gradLogProbs: [Float], dxnf: UnsafeMutablePointer<Float>, grads: ParameterBuffer) {
        let c = config, acts = tape.acts, V = c.vocabSize, H = c.hiddenSize
        // Only rows with a non-zero weight contribute.
        let rows = (0..<tape.batch.count).filter { gradLogProbs[$0] != 0 && tape.batch.targets[$0] >= 0 }
        let invT = 1 / tape.temperature
        // z = logits / T; dz = g·(onehot − softmax(z)); dlogits = dz / T, in place of the row's z.
        func dlogits(_ row: UnsafeMutablePointer<Float>, _ r: Int) {
            _ = Vector.expShifted(row, shift: acts.headLSE[r], count: V)
            Vector.scale(row, -gradLogProbs[r] * invT, count: V)
            row[tape.batch.targets[r]] += gradLogProbs[r] * invT
        }
        let n = tape.batch.count
        if tape.bf16 != nil, rows.count * 10 >= n * 9, let kept = tape.takeKeptLogits() {
            // (Nearly) every row contributes: the kept logits become dlogits in place (zero where a row adds nothing),
            // and the products read all rows where they are.
            defer { kept.deallocate() }
            var next = 0
            for r in 0..<n {
                if next < rows.count && rows[next] == r { dlogits(kept + r * V, r); next += 1 } else { (kept + r * V).update(repeating: 0, count: V) }
            }
            let linear = LinearGradients(model: self, grads: grads, bf16: tape.bf16, rows: n)
            linear.weight(kept, acts.xnf, layout.lmHead, out: V, in: H)
            linear.input(kept, layout.lmHead, out: V, in: H, into: dxnf)
            return
        }
        dxnf.update(repeating: 0, count: n * H)
        let chunk = min(headChunk(), max(rows.count, 1))
        let x = UnsafeMutablePointer<Float>.allocate(capacity: chunk * H)
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: chunk * V)
        let dxc = UnsafeMutablePointer<Float>.allocate(capacity: chunk * H)
        defer { x.deallocate(); buffer.deallocate(); dxc.deallocate() }
        var i0 = 0
        while i0 < rows.count {
            let m = min(chunk, rows.count - i0)
            for i in 0..<m { (x + i * H).update(from: acts.xnf + rows[i0 + i] * H, count: H) }
            if let kept = tape.keptLogits {
                for i in 0..<m { (buffer + i * V).update(from: kept + tape.keptSlot[rows[i0 + i]] * V, count: V) }   // already / T
            } else {
                headLogits(x, rows: m, into: buffer, bf16: tape.bf16)
                if invT != 1 { Vector.scale(buffer, invT, count: m * V) }
            }
            Parallel.forRange(m, minChunk: max(1, (1 << 16) / max(V, 1))) { lo, hi in
                for i in lo..<hi { dlogits(buffer + i * V, rows[i0 + i]) }
            }
            let linear = LinearGradients(model: self, grads: grads, bf16: tape.bf16, rows: m)   // x changes every chunk
            if tape.bf16 == nil {
                // fp32: dW += dlogitsᵀ·x over rows 0..<64, 64..<128, … of `rows` (chunks are multiples of 64 rows), so
                // the gradient's sum keeps the order it had when chunks were 64 rows.
                var s0 = 0
                while s0 < m {
                    let step = min(Self.headChunkRows, m - s0)
                    LinearGradients(model: self, grads: grads, bf16: nil, rows: step)
                        .weight(buffer + s0 * V, x + s0 * H, layout.lmHead, out: V, in: H)
                    s0 += step
                }
            } else {
                linear.weight(buffer, x, layout.lmHead, out: V, in: H)
            }
            linear.input(buffer, layout.lmHead, out: V, in: H, into: dxc)
            for i in 0..<m { (dxnf + rows[i0 + i] * H).update(from: dxc + i * H, count: H) }
            i0 += m
        }
    }

    private func columnSums(_ x: UnsafePointer<Float>, rows: Int, cols: Int, into out: UnsafeMutablePointer<Float>) {
        for r in 0..<rows { Vector.add(out, x + r * cols, count: cols) }
    }
}

/// The two products of a linear layer's backward pass, y = x·Wᵀ: dx (+)= dy·W and dW += dyᵀ·x, in fp32 (sgemm) or with
/// bf16 operands (GemmBF16 on the weights' packs; x packed once for the weights that share it).
struct LinearGradients {
    let model: Model
    let grads: ParameterBuffer
    let bf16: BF16GemmWeights?
    /// Rows of dy and x.
    let rows: Int
    private let packedInput = PackedInputCache()

    init(model: Model, grads: ParameterBuffer, bf16: BF16GemmWeights?, rows: Int) {
        self.model = model
        self.grads = grads
        self.bf16 = bf16
        self.rows = rows
    }

    /// dx[rows, in] (+)= dy[rows, out] · W[out, in], W at `weight` in the parameters.
    func input(_ dy: UnsafePointer<Float>, _ weight: Int, out: Int, in: Int, into dx: UnsafeMutablePointer<Float>,
               accumulate: Bool = false) {
        let n = rows
        if let bf16 {
            GemmBF16.multiply(dy, rowStride: out, columnStride: 1, bf16.packs(weight, for: model.params).input, dx, ldc: `in`,
                              M: n, accumulate: accumulate)
        } else {
            Matmul.gemm(transA: false, transB: false, M: n, N: `in`, K: out, dy, lda: out, model.params.base + weight, ldb: `in`,
                        beta: accumulate ? 1 : 0, dx, ldc: `in`)
        }
    }

    /// dW[out, in] += dy[rows, out]ᵀ · x[rows, in], W at `weight` (the gradient buffer has the parameters' offsets).
    func weight(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ weight: Int, out: Int, in: Int) {
        let n = rows
        if bf16 != nil {
            GemmBF16.multiply(dy, rowStride: 1, columnStride: out, packedInput.packs(x, rows: n, columns: `in`), grads.base + weight,
                              ldc: `in`, M: out, accumulate: true)
        } else {
            Matmul.gemm(transA: true, transB: false, M: out, N: `in`, K: n, dy, lda: out, x, ldb: `in`, beta: 1,
                        grads.base + weight, ldc: `in`)
        }
    }
}

/// The last activation packed as B for a weight gradient: q, k and v share x, gate and up share theirs. Keyed by the
/// buffer, so its values must not change while one LinearGradients is in use.
private final class PackedInputCache {
    private var last: (x: UnsafePointer<Float>, rows: Int, columns: Int, packed: PackedBF16Matrix)?

    func packs(_ x: UnsafePointer<Float>, rows: Int, columns: Int) -> PackedBF16Matrix {
        if let last, last.x == x, last.rows == rows, last.columns == columns { return last.packed }
        let packed = PackedBF16Matrix(x, rows: rows, columns: columns, rowStride: columns, columnStride: 1)
        last = (x, rows, columns, packed)
        return packed
    }
}
