// Causal self-attention for training: the forward pass keeps only the row log-sum-exp of the scores
// (not the T×T probabilities), and the backward pass recomputes P = exp(S − lse) block by block, as
// FlashAttention does (Dao et al. 2022, §3.1), so activation memory is O(T) per head.
//
// Backward, per head h with KV head g (GQA) and O = P·V, S = scale·Q·Kᵀ:
//   dV_g += Pᵀ·dO,  dP = dO·V_gᵀ,  dS = P ⊙ (dP − rowsum(dO ⊙ O)),  dQ = scale·dS·K_g,  dK_g += scale·dSᵀ·Q.
//
// The products run in fp32 (sgemm, serial over heads, OpenBLAS's threads inside each product) or, in bf16 training,
// with bf16 operands (GemmBF16, as PyTorch's autocast runs attention's matmuls), one thread per KV head's group of
// query heads: each group writes only its own columns of dK and dV.

import Foundation

extension Attention {
    /// The matrix products of training attention: fp32 sgemm, or bf16 operands with fp32 sums on the calling thread.
    public enum Products: Sendable {
        case fp32, bf16

        /// C = α·op(A)·op(B) (+ C when `accumulate`); bf16 takes α ≠ 1 only where C is overwritten.
        func gemm(transA: Bool, transB: Bool, M: Int, N: Int, K: Int, alpha: Float = 1, _ a: UnsafePointer<Float>, lda: Int,
                  _ b: UnsafePointer<Float>, ldb: Int, accumulate: Bool, _ c: UnsafeMutablePointer<Float>, ldc: Int) {
            switch self {
            case .fp32:
                Matmul.gemm(transA: transA, transB: transB, M: M, N: N, K: K, alpha: alpha, a, lda: lda, b, ldb: ldb,
                            beta: accumulate ? 1 : 0, c, ldc: ldc)
            case .bf16:
                precondition(alpha == 1 || !accumulate, "bf16 attention products scale only an overwritten C")
                GemmBF16.gemm(transA: transA, transB: transB, M: M, N: N, K: K, a, lda: lda, b, ldb: ldb,
                              accumulate: accumulate, c, ldc: ldc, threaded: false)
                if alpha != 1 { for i in 0..<M { Vector.scale(c + i * ldc, alpha, count: N) } }
            }
        }

        /// Runs `body(g)` for every KV head g: in order (fp32: each product is threaded) or one thread per group (bf16).
        func forEachGroup(_ shape: AttentionHeads, _ body: (Int) -> Void) {
            switch self {
            case .fp32: for g in 0..<shape.kvHeads { body(g) }
            case .bf16: Parallel.forRange(shape.kvHeads) { g0, g1 in for g in g0..<g1 { body(g) } }
            }
        }
    }

    /// One sequence of `count` rows at positions 0..<count. q/out [count, qDim]; k/v [count, kvDim] (row
    /// stride kvDim); lse [heads, count]. Only query rows from `firstRow` are computed (a shared prefix's rows
    /// are computed once by the prefix itself; PrefixAttention.swift).
    public static func trainForward(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                                    out: UnsafeMutablePointer<Float>, lse: UnsafeMutablePointer<Float>,
                                    count: Int, shape: AttentionHeads, firstRow: Int = 0, block: Int = 128,
                                    products: Products = .fp32) {
        let d = shape.headDim
        let box = UnsafeSendable((q, k, v, out, lse))
        products.forEachGroup(shape) { g in
            let (q, k, v, out, lse) = box.value
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: max(min(block, count) * count, 1))
            defer { scores.deallocate() }
            var r0 = firstRow
            while r0 < count {
                let rb = min(block, count - r0), keys = r0 + rb
                for h in g * shape.group..<(g + 1) * shape.group {
                    products.gemm(transA: false, transB: true, M: rb, N: keys, K: d, alpha: shape.scale,
                                  q + r0 * shape.qDim + h * d, lda: shape.qDim, k + g * d, ldb: shape.kvDim,
                                  accumulate: false, scores, ldc: keys)
                    for i in 0..<rb {
                        let row = scores + i * keys
                        let visible = r0 + i + 1
                        let m = Vector.max(row, count: visible)
                        let s = Vector.expShifted(row, shift: m, count: visible)
                        Vector.scale(row, 1 / s, count: visible)
                        (row + visible).update(repeating: 0, count: keys - visible)
                        lse[h * count + r0 + i] = m + Foundation.log(s)
                    }
                    products.gemm(transA: false, transB: false, M: rb, N: d, K: keys, scores, lda: keys,
                                  v + g * d, ldb: shape.kvDim, accumulate: false, out + r0 * shape.qDim + h * d, ldc: shape.qDim)
                }
                r0 += rb
            }
        }
    }

    /// Gradients of one sequence: writes dq, accumulates into dk and dv (which the caller zeroes). Query rows
    /// before `firstRow` are taken to have a zero upstream gradient: they add nothing and their dq is not written.
    public static func backward(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                                out: UnsafePointer<Float>, dout: UnsafePointer<Float>, lse: UnsafePointer<Float>,
                                dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>,
                                count: Int, shape: AttentionHeads, firstRow: Int = 0, block: Int = 128,
                                products: Products = .fp32) {
        let d = shape.headDim
        let cap = max(min(block, count) * count, 1)
        let box = UnsafeSendable((q, k, v, out, dout, lse, dq, dk, dv))
        products.forEachGroup(shape) { g in
            let (q, k, v, out, dout, lse, dq, dk, dv) = box.value
            let p = UnsafeMutablePointer<Float>.allocate(capacity: cap)
            let dp = UnsafeMutablePointer<Float>.allocate(capacity: cap)
            let rowDot = UnsafeMutablePointer<Float>.allocate(capacity: max(min(block, count), 1))
            defer { p.deallocate(); dp.deallocate(); rowDot.deallocate() }
            var r0 = firstRow
            while r0 < count {
                let rb = min(block, count - r0), keys = r0 + rb
                for h in g * shape.group..<(g + 1) * shape.group {
                    let qh = q + r0 * shape.qDim + h * d, doh = dout + r0 * shape.qDim + h * d, oh = out + r0 * shape.qDim + h * d
                    products.gemm(transA: false, transB: true, M: rb, N: keys, K: d, alpha: shape.scale,
                                  qh, lda: shape.qDim, k + g * d, ldb: shape.kvDim, accumulate: false, p, ldc: keys)
                    for i in 0..<rb {
                        let row = p + i * keys
                        let visible = r0 + i + 1
                        _ = Vector.expShifted(row, shift: lse[h * count + r0 + i], count: visible)
                        (row + visible).update(repeating: 0, count: keys - visible)
                        rowDot[i] = Vector.dot(doh + i * shape.qDim, oh + i * shape.qDim, count: d)
                    }
                    // dV_g += Pᵀ·dO_h
                    products.gemm(transA: true, transB: false, M: keys, N: d, K: rb, p, lda: keys, doh, ldb: shape.qDim,
                                  accumulate: true, dv + g * d, ldc: shape.kvDim)
                    // dP = dO_h·V_gᵀ, then scale·dS = scale·P ⊙ (dP − rowDot) in place of dP
                    products.gemm(transA: false, transB: true, M: rb, N: keys, K: d, doh, lda: shape.qDim, v + g * d,
                                  ldb: shape.kvDim, accumulate: false, dp, ldc: keys)
                    let scale = shape.scale
                    for i in 0..<rb {
                        let pr = p + i * keys, dr = dp + i * keys
                        let c = rowDot[i]
                        switch products {
                        case .fp32: for j in 0..<keys { dr[j] = pr[j] * (dr[j] - c) }
                        case .bf16: for j in 0..<keys { dr[j] = scale * (pr[j] * (dr[j] - c)) }
                        }
                    }
                    // dQ_h = scale·dS·K_g ; dK_g += scale·dSᵀ·Q_h (bf16: the scale is already in dp)
                    let alpha: Float = products == .fp32 ? scale : 1
                    products.gemm(transA: false, transB: false, M: rb, N: d, K: keys, alpha: alpha, dp, lda: keys,
                                  k + g * d, ldb: shape.kvDim, accumulate: false, dq + r0 * shape.qDim + h * d, ldc: shape.qDim)
                    products.gemm(transA: true, transB: false, M: keys, N: d, K: rb, alpha: alpha, dp, lda: keys,
                                  qh, ldb: shape.qDim, accumulate: true, dk + g * d, ldc: shape.kvDim)
                }
                r0 += rb
            }
        }
    }
}
