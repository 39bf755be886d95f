// The optimizer step's elementwise kernels, SIMD16 with scalar tails:
//   * AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization", ICLR 2019) in the exact fp32
//     operation order of torch.optim.AdamW with foreach=False (torch/optim/adam.py `_single_tensor_adam`,
//     decoupled_weight_decay=True) and the ATen CPU vector kernels each of its tensor ops runs:
//       p.mul_(1 − lr·wd)                              p = p · decayFactor
//       m.lerp_(g, 1 − β1)                             m = fma(w, g − m, m)   (ATen lerp_vec, weight < ½)
//       v.mul_(β2).addcmul_(g, g, value=1 − β2)        v = fma((1 − β2) · g, g, v · β2)
//                                                        (ATen's `self + value·t1·t2`, contracted to an FMA by the
//                                                        compiler in torch's x86 builds; checked bit for bit)
//       denom = (v.sqrt() / sqrt(bc2)).add_(eps)       denom = √v / sqrt(bc2) + eps
//       p.addcdiv_(m, denom, value=−lr/bc1)            p = p + ((−lr/bc1) · m) / denom
//     Every intermediate is rounded to fp32 exactly as the separate torch ops round it. The one known
//     difference: torch's CPU sqrt (MKL VML) is off by 1 ulp for ~20% of inputs; ours is correctly rounded.
//   * the sum of squares in Double (for the global gradient norm) and a finiteness check.

import Foundation

public enum AdamWKernel {
    /// Per-step scalars, computed by the caller in Double from the hyper-parameters (as torch computes them
    /// from Python floats) and rounded to Float where torch hands them to an fp32 tensor op.
    public struct Scalars: Sendable {
        /// 1 − lr·wd (used only where weight decay applies).
        public var decayFactor: Float
        /// 1 − β1, the lerp weight.
        public var lerpWeight: Float
        public var beta2: Float
        /// 1 − β2, the addcmul value.
        public var oneMinusBeta2: Float
        /// sqrt(1 − β2^t).
        public var biasCorrection2Sqrt: Float
        public var eps: Float
        /// −lr / (1 − β1^t).
        public var negativeStepSize: Float

        public init(decayFactor: Float, lerpWeight: Float, beta2: Float, oneMinusBeta2: Float,
                    biasCorrection2Sqrt: Float, eps: Float, negativeStepSize: Float) {
            self.decayFactor = decayFactor
            self.lerpWeight = lerpWeight
            self.beta2 = beta2
            self.oneMinusBeta2 = oneMinusBeta2
            self.biasCorrection2Sqrt = biasCorrection2Sqrt
            self.eps = eps
            self.negativeStepSize = negativeStepSize
        }
    }

    /// One AdamW update of `n` contiguous elements (params, grads, first and second moments).
    public static func step(param p: UnsafeMutablePointer<Float>, grad g: UnsafePointer<Float>,
                            m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>,
                            count n: Int, scalars s: Scalars, decay: Bool) {
        // ATen's lerp: weight < ½ → start + w·(end − start); otherwise end − (1 − w)·(end − start), both as one FMA.
        let smallWeight = abs(s.lerpWeight) < 0.5
        let coeff: Float = smallWeight ? s.lerpWeight : s.lerpWeight - 1
        let decayFactor: Float = decay ? s.decayFactor : 1
        let coeffV = V16(repeating: coeff), decayV = V16(repeating: decayFactor), b2V = V16(repeating: s.beta2)
        let omb2V = V16(repeating: s.oneMinusBeta2), bc2V = V16(repeating: s.biasCorrection2Sqrt)
        let epsV = V16(repeating: s.eps), stepV = V16(repeating: s.negativeStepSize)
        var i = 0
        while i + 16 <= n {
            var pv = load16(p + i)
            if decay { pv = pv * decayV }
            let gv = load16(g + i)
            var mv = load16(m + i)
            let diff = gv - mv
            mv = (smallWeight ? mv : gv).addingProduct(coeffV, diff)
            let vv = (load16(v + i) * b2V).addingProduct(omb2V * gv, gv)
            let denom = nonNegative(vv).squareRoot() / bc2V + epsV
            pv = pv + stepV * mv / denom
            store16(pv, p + i)
            store16(mv, m + i)
            store16(vv, v + i)
            i += 16
        }
        while i < n {
            var pv = p[i]
            if decay { pv = pv * decayFactor }
            let gv = g[i]
            var mv = m[i]
            mv = (smallWeight ? mv : gv).addingProduct(coeff, gv - mv)
            let vv = (v[i] * s.beta2).addingProduct(s.oneMinusBeta2 * gv, gv)
            let denom = vv.magnitude.squareRoot() / s.biasCorrection2Sqrt + s.eps
            pv = pv + s.negativeStepSize * mv / denom
            p[i] = pv
            m[i] = mv
            v[i] = vv
            i += 1
        }
    }

    /// |x| by clearing the sign bits. v ≥ 0 already (only −0 changes, and √−0 / c + eps = √0 / c + eps), but
    /// LLVM can then prove the square root's argument non-negative and emits vsqrtps instead of 16 scalar
    /// square roots, each guarded by a libm call that would set errno for negative inputs.
    @inline(__always) static func nonNegative(_ x: V16) -> V16 {
        unsafeBitCast(unsafeBitCast(x, to: SIMD16<UInt32>.self) & SIMD16<UInt32>(repeating: 0x7FFF_FFFF), to: V16.self)
    }

    /// Σ x² over `n` elements, each square and every sum in Double (a float's square is exact in Double).
    public static func sumOfSquares(_ x: UnsafePointer<Float>, count n: Int) -> Double {
        var acc0 = SIMD8<Double>(), acc1 = SIMD8<Double>()
        var i = 0
        while i + 16 <= n {
            let xv = load16(x + i)
            let lo = SIMD8<Double>(xv.lowHalf), hi = SIMD8<Double>(xv.highHalf)
            acc0 = acc0.addingProduct(lo, lo)
            acc1 = acc1.addingProduct(hi, hi)
            i += 16
        }
        var s = (acc0 + acc1).sum()
        while i < n { let d = Double(x[i]); s += d * d; i += 1 }
        return s
    }

    /// True when none of the `n` elements is NaN or ±Inf (exponent bits all ones).
    public static func allFinite(_ x: UnsafePointer<Float>, count n: Int) -> Bool {
        let expMask: UInt32 = 0x7F80_0000
        var maxExp = SIMD16<UInt32>()
        let maskV = SIMD16<UInt32>(repeating: expMask)
        var i = 0
        while i + 16 <= n {
            let bits = unsafeBitCast(load16(x + i), to: SIMD16<UInt32>.self) & maskV
            maxExp.replace(with: bits, where: bits .> maxExp)
            i += 16
        }
        if maxExp.max() == expMask { return false }
        while i < n { if x[i].bitPattern & expMask == expMask { return false }; i += 1 }
        return true
    }
}
