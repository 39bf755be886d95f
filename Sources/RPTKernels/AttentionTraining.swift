// Causal self-attention for training: the forward pass keeps only the row log-sum-exp of the scores
// (not the T×T probabilities), and the backward pass recomputes P = exp(S − lse) block by block, as
// FlashAttention does (Dao et al. 2022, §3.1), so activation memory is O(T) per head.
//
// Backward, per head h with KV head g (GQA) and O = P·V, S = scale·Q·Kᵀ:
//   dV_g += Pᵀ·dO,  dP = dO·V_gᵀ,  dS = P ⊙ (dP − rowsum(dO ⊙ O)),  dQ = scale·dS·K_g,  dK_g += scale·dSᵀ·Q.

import Foundation

extension Attention {
    /// One sequence of `count` rows at positions 0..<count. q/out [count, qDim]; k/v [count, kvDim] (row
    /// stride kvDim); lse [heads, count]. Only query rows from `firstRow` are computed (a shared prefix's rows
    /// are computed once by the prefix itself; PrefixAttention.swift).
    public static func trainForward(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                                    out: UnsafeMutablePointer<Float>, lse: UnsafeMutablePointer<Float>,
                                    count: Int, shape: AttentionHeads, firstRow: Int = 0, block: Int = 128) {
        let d = shape.headDim
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: max(min(block, count) * count, 1))
        defer { scores.deallocate() }
        var r0 = firstRow
        while r0 < count {
            let rb = min(block, count - r0), keys = r0 + rb
            for h in 0..<shape.heads {
                let g = h / shape.group
                Matmul.gemm(transA: false, transB: true, M: rb, N: keys, K: d, alpha: shape.scale,
                            q + r0 * shape.qDim + h * d, lda: shape.qDim, k + g * d, ldb: shape.kvDim,
                            beta: 0, scores, ldc: keys)
                for i in 0..<rb {
                    let row = scores + i * keys
                    let visible = r0 + i + 1
                    let m = Vector.max(row, count: visible)
                    let s = Vector.expShifted(row, shift: m, count: visible)
                    Vector.scale(row, 1 / s, count: visible)
                    (row + visible).update(repeating: 0, count: keys - visible)
                    lse[h * count + r0 + i] = m + Foundation.log(s)
                }
                Matmul.gemm(transA: false, transB: false, M: rb, N: d, K: keys, scores, lda: keys,
                            v + g * d, ldb: shape.kvDim, beta: 0, out + r0 * shape.qDim + h * d, ldc: shape.qDim)
            }
            r0 += rb
        }
    }

    /// Gradients of one sequence: writes dq, accumulates into dk and dv (which the caller zeroes). Query rows
    /// before `firstRow` are taken to have a zero upstream gradient: they add nothing and their dq is not written.
    public static func backward(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                                out: UnsafePointer<Float>, dout: UnsafePointer<Float>, lse: UnsafePointer<Float>,
                                dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>,
                                count: Int, shape: AttentionHeads, firstRow: Int = 0, block: Int = 128) {
        let d = shape.headDim
        let cap = max(min(block, count) * count, 1)
        let p = UnsafeMutablePointer<Float>.allocate(capacity: cap)
        let dp = UnsafeMutablePointer<Float>.allocate(capacity: cap)
        let rowDot = UnsafeMutablePointer<Float>.allocate(capacity: max(min(block, count), 1))
        defer { p.deallocate(); dp.deallocate(); rowDot.deallocate() }
        var r0 = firstRow
        while r0 < count {
            let rb = min(block, count - r0), keys = r0 + rb
            for h in 0..<shape.heads {
                let g = h / shape.group
                let qh = q + r0 * shape.qDim + h * d, doh = dout + r0 * shape.qDim + h * d, oh = out + r0 * shape.qDim + h * d
                Matmul.gemm(transA: false, transB: true, M: rb, N: keys, K: d, alpha: shape.scale,
                            qh, lda: shape.qDim, k + g * d, ldb: shape.kvDim, beta: 0, p, ldc: keys)
                for i in 0..<rb {
                    let row = p + i * keys
                    let visible = r0 + i + 1
                    _ = Vector.expShifted(row, shift: lse[h * count + r0 + i], count: visible)
                    (row + visible).update(repeating: 0, count: keys - visible)
                    rowDot[i] = Vector.dot(doh + i * shape.qDim, oh + i * shape.qDim, count: d)
                }
                // dV_g += Pᵀ·dO_h
                Matmul.gemm(transA: true, transB: false, M: keys, N: d, K: rb, p, lda: keys, doh, ldb: shape.qDim,
                            beta: 1, dv + g * d, ldc: shape.kvDim)
                // dP = dO_h·V_gᵀ, then dS = P ⊙ (dP − rowDot) in place of dP
                Matmul.gemm(transA: false, transB: true, M: rb, N: keys, K: d, doh, lda: shape.qDim, v + g * d, ldb: shape.kvDim,
                            beta: 0, dp, ldc: keys)
                for i in 0..<rb {
                    let pr = p + i * keys, dr = dp + i * keys
                    let c = rowDot[i]
                    for j in 0..<keys { dr[j] = pr[j] * (dr[j] - c) }
                }
                // dQ_h = scale·dS·K_g ; dK_g += scale·dSᵀ·Q_h
                Matmul.gemm(transA: false, transB: false, M: rb, N: d, K: keys, alpha: shape.scale, dp, lda: keys,
                            k + g * d, ldb: shape.kvDim, beta: 0, dq + r0 * shape.qDim + h * d, ldc: shape.qDim)
                Matmul.gemm(transA: true, transB: false, M: keys, N: d, K: rb, alpha: shape.scale, dp, lda: keys,
                            qh, ldb: shape.qDim, beta: 1, dk + g * d, ldc: shape.kvDim)
            }
            r0 += rb
        }
    }
}
