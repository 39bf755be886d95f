// The backward pass of TrainForward.swift: given dLoss/dlogp for every position, accumulates the
// gradient of every parameter into a ParameterBuffer laid out like the model's parameters (so tied
// embeddings sum both uses automatically). Gradients accumulate (β = 1 in every weight GEMM), which
// is how micro-batches add up; zero the buffer before a step.
//
// Per position with weight g = dL/dlogp: dlogits = g·(onehot(target) − softmax(logits/T)) / T.
// Linear y = x·Wᵀ: dx = dy·W, dW += dyᵀ·x, db += Σ_rows dy.

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

        headBackward(tape, gradLogProbs, dxnf: dxn, grads: grads)
        BackwardKernels.rmsNorm(x: acts.xOut, w: p + layout.finalNorm, dy: dxn, dx: dx, dw: g + layout.finalNorm,
                                rows: n, count: H, eps: c.rmsNormEps)
        let shape = AttentionHeads(heads: c.numHeads, kvHeads: c.numKVHeads, headDim: c.headDim)
        let starts = batch.starts
        tape.positions.withUnsafeBufferPointer { pos in
            for l in stride(from: c.numLayers - 1, through: 0, by: -1) {
                let o = layout.layers[l], a = acts.layers[l]
                // MLP block: out = xMid + h·Wdᵀ, h = silu(gate)·up.
                Matmul.gemm(transA: false, transB: false, M: n, N: I, K: H, dx, lda: H, p + o.down, ldb: I, beta: 0, dh, ldc: I)
                Matmul.gemm(transA: true, transB: false, M: H, N: I, K: n, dx, lda: H, a.h, ldb: I, beta: 1, g + o.down, ldc: I)
                BackwardKernels.swiglu(a: a.gate, u: a.up, dh: dh, count: n * I) // gate/up now hold their gradients
                Matmul.gemm(transA: false, transB: false, M: n, N: H, K: I, a.gate, lda: I, p + o.gate, ldb: H, beta: 0, dxn, ldc: H)
                Matmul.gemm(transA: false, transB: false, M: n, N: H, K: I, a.up, lda: I, p + o.up, ldb: H, beta: 1, dxn, ldc: H)
                Matmul.gemm(transA: true, transB: false, M: I, N: H, K: n, a.gate, lda: I, a.xn2, ldb: H, beta: 1, g + o.gate, ldc: H)
                Matmul.gemm(transA: true, transB: false, M: I, N: H, K: n, a.up, lda: I, a.xn2, ldb: H, beta: 1, g + o.up, ldc: H)
                BackwardKernels.rmsNorm(x: a.xMid, w: p + o.postNorm, dy: dxn, dx: dx, dw: g + o.postNorm,
                                        rows: n, count: H, eps: c.rmsNormEps, accumulateDX: true)

                // Attention block: xMid = xIn + att·Woᵀ (+ bo).
                Matmul.gemm(transA: false, transB: false, M: n, N: c.qDim, K: H, dx, lda: H, p + o.wo, ldb: c.qDim, beta: 0, datt, ldc: c.qDim)
                Matmul.gemm(transA: true, transB: false, M: H, N: c.qDim, K: n, dx, lda: H, a.att, ldb: c.qDim, beta: 1, g + o.wo, ldc: c.qDim)
                if let b = o.bo { columnSums(dx, rows: n, cols: H, into: g + b) }
                dk.update(repeating: 0, count: n * c.kvDim)
                dv.update(repeating: 0, count: n * c.kvDim)
                for (s, r0) in starts.enumerated() {
                    if let p = batch.parents[s] {
                        PrefixAttention.backward(q: a.q, k: a.k, v: a.v, out: a.att, dout: datt, lse: a.lse, dq: dq, dk: dk, dv: dv,
                                                 prefix: PackedRows(row: starts[p], count: batch.lengths[p]),
                                                 continuation: PackedRows(row: r0, count: batch.lengths[s]), shape: shape)
                    } else {
                        Attention.backward(q: a.q + r0 * c.qDim, k: a.k + r0 * c.kvDim, v: a.v + r0 * c.kvDim,
                                           out: a.att + r0 * c.qDim, dout: datt + r0 * c.qDim, lse: a.lse + r0 * c.numHeads,
                                           dq: dq + r0 * c.qDim, dk: dk + r0 * c.kvDim, dv: dv + r0 * c.kvDim,
                                           count: batch.lengths[s], shape: shape)
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
                Matmul.gemm(transA: false, transB: false, M: n, N: H, K: c.qDim, dq, lda: c.qDim, p + o.wq, ldb: H, beta: 0, dxn, ldc: H)
                Matmul.gemm(transA: false, transB: false, M: n, N: H, K: c.kvDim, dk, lda: c.kvDim, p + o.wk, ldb: H, beta: 1, dxn, ldc: H)
                Matmul.gemm(transA: false, transB: false, M: n, N: H, K: c.kvDim, dv, lda: c.kvDim, p + o.wv, ldb: H, beta: 1, dxn, ldc: H)
                Matmul.gemm(transA: true, transB: false, M: c.qDim, N: H, K: n, dq, lda: c.qDim, a.xn1, ldb: H, beta: 1, g + o.wq, ldc: H)
                Matmul.gemm(transA: true, transB: false, M: c.kvDim, N: H, K: n, dk, lda: c.kvDim, a.xn1, ldb: H, beta: 1, g + o.wk, ldc: H)
                Matmul.gemm(transA: true, transB: false, M: c.kvDim, N: H, K: n, dv, lda: c.kvDim, a.xn1, ldb: H, beta: 1, g + o.wv, ldc: H)
                BackwardKernels.rmsNorm(x: a.xIn, w: p + o.inputNorm, dy: dxn, dx: dx, dw: g + o.inputNorm,
                                        rows: n, count: H, eps: c.rmsNormEps, accumulateDX: true)
            }
        }
        // Embedding: scatter-add (serial, so the sum order is fixed).
        for (i, t) in batch.tokens.enumerated() { Vector.add(g + layout.embed + t * H, dx + i * H, count: H) }
    }

    /// dL/dxnf and the LM head's weight gradient, recomputing logits a chunk of rows at a time.
    private func headBackward(_ tape: ForwardTape, _ gradLogProbs: [Float], dxnf: UnsafeMutablePointer<Float>, grads: ParameterBuffer) {
        let c = config, acts = tape.acts, V = c.vocabSize, H = c.hiddenSize
        // Only rows with a non-zero weight contribute.
        let rows = (0..<tape.batch.count).filter { gradLogProbs[$0] != 0 && tape.batch.targets[$0] >= 0 }
        dxnf.update(repeating: 0, count: tape.batch.count * H)
        let chunk = Self.headChunkRows
        let x = UnsafeMutablePointer<Float>.allocate(capacity: chunk * H)
        let dlogits = UnsafeMutablePointer<Float>.allocate(capacity: chunk * V)
        let dxc = UnsafeMutablePointer<Float>.allocate(capacity: chunk * H)
        defer { x.deallocate(); dlogits.deallocate(); dxc.deallocate() }
        var i0 = 0
        while i0 < rows.count {
            let m = min(chunk, rows.count - i0)
            for i in 0..<m { (x + i * H).update(from: acts.xnf + rows[i0 + i] * H, count: H) }
            Matmul.nt(x, params.base + layout.lmHead, dlogits, M: m, N: V, K: H)
            let invT = 1 / tape.temperature
            for i in 0..<m {
                let r = rows[i0 + i], row = dlogits + i * V
                // z = logits / T; dz = g·(onehot − softmax(z)); dlogits = dz / T
                if invT != 1 { Vector.scale(row, invT, count: V) }
                _ = Vector.expShifted(row, shift: acts.headLSE[r], count: V)
                Vector.scale(row, -gradLogProbs[r] * invT, count: V)
                row[tape.batch.targets[r]] += gradLogProbs[r] * invT
            }
            Matmul.gemm(transA: true, transB: false, M: V, N: H, K: m, dlogits, lda: V, x, ldb: H, beta: 1,
                        grads.base + layout.lmHead, ldc: H)
            Matmul.gemm(transA: false, transB: false, M: m, N: H, K: V, dlogits, lda: V, params.base + layout.lmHead, ldb: H,
                        beta: 0, dxc, ldc: H)
            for i in 0..<m { (dxnf + rows[i0 + i] * H).update(from: dxc + i * H, count: H) }
            i0 += m
        }
    }

    private func columnSums(_ x: UnsafePointer<Float>, rows: Int, cols: Int, into out: UnsafeMutablePointer<Float>) {
        for r in 0..<rows { Vector.add(out, x + r * cols, count: cols) }
    }
}
