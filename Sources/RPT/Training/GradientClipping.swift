// Global-norm gradient clipping as torch.nn.utils.clip_grad_norm_(params, max_norm) (norm_type 2):
// total = ‖(‖g_1‖, …, ‖g_k‖)‖₂ over every parameter's gradient, clip_coef = max_norm / (total + 1e-6),
// and every gradient is multiplied by clip_coef when it is < 1. Returns the total norm before clipping.
//
// Precision: torch reduces each tensor's norm in fp32, then takes the norm of the norms. We square every
// element and sum in Double (a float's square is exact in Double), per tensor and across tensors, and round
// the total to Float once; this equals the fp32 result up to its rounding error and does not lose small
// gradients of huge tensors. The sums run over fixed blocks combined in order, so the result does not
// depend on the thread count. The clip coefficient and the scaling are fp32, as in torch.
//
// `firstNonFinite` names the first tensor (layout order) holding a NaN or ±Inf, so a training step can
// stop with a message naming the tensor instead of corrupting the parameters.

import Foundation
import RPTKernels

public enum GradientClipping {
    /// Elements per block of the parallel reductions (fixed, so results are independent of the thread count).
    static let blockSize = 1 << 16

    /// (tensor index, start, end) blocks covering every tensor of the layout, in layout order.
    private static func blocks(_ buffer: ParameterBuffer) -> [(tensor: Int, start: Int, end: Int)] {
        var out: [(tensor: Int, start: Int, end: Int)] = []
        for (i, s) in buffer.specs.enumerated() {
            var a = s.offset
            let end = s.offset + s.count
            repeat {
                let e = min(a + blockSize, end)
                out.append((i, a, e))
                a = e
            } while a < end
        }
        return out
    }

    /// Σ g² of every tensor (Double), in layout order.
    public static func tensorSumsOfSquares(_ buffer: ParameterBuffer) -> [Double] {
        let work = blocks(buffer)
        var partial = [Double](repeating: 0, count: work.count)
        partial.withUnsafeMutableBufferPointer { out in
            let box = UnsafeSendable((out.baseAddress!, buffer.base))
            Parallel.forRange(work.count, minChunk: 1) { w0, w1 in
                let (out, base) = box.value
                for w in w0..<w1 { out[w] = AdamWKernel.sumOfSquares(base + work[w].start, count: work[w].end - work[w].start) }
            }
        }
        var sums = [Double](repeating: 0, count: buffer.specs.count)
        for (w, block) in work.enumerated() { sums[block.tensor] += partial[w] }
        return sums
    }

    /// The global L2 norm of all tensors of `buffer` (see the header for the precision).
    public static func globalNorm(_ buffer: ParameterBuffer) -> Float {
        let total = tensorSumsOfSquares(buffer).reduce(0, +)
        return Float(total.squareRoot())
    }

    /// Scales the gradients so their global norm is at most `maxNorm` (torch: by max_norm / (norm + 1e-6)
    /// when that is < 1). Returns the norm before clipping. A non-finite norm leaves the gradients as they are
    /// (check `firstNonFinite` to report which tensor is bad).
    @discardableResult
    public static func clip(_ grads: ParameterBuffer, maxNorm: Float) -> Float {
        let norm = globalNorm(grads)
        guard norm.isFinite else { return norm }
        let coef = maxNorm / (norm + Float(1e-6))
        if coef < 1 {
            let box = UnsafeSendable(grads.base)
            let blocks = (grads.count + 15) / 16
            Parallel.forRange(blocks, minChunk: 4096) { b0, b1 in
                let lo = b0 * 16, hi = min(b1 * 16, grads.count)
                Vector.scale(box.value + lo, coef, count: hi - lo)
            }
        }
        return norm
    }

    /// The name of the first tensor (layout order) containing a NaN or ±Inf, or nil when all are finite.
    public static func firstNonFinite(_ buffer: ParameterBuffer) -> String? {
        let work = blocks(buffer)
        var finite = [Bool](repeating: true, count: work.count)
        finite.withUnsafeMutableBufferPointer { out in
            let box = UnsafeSendable((out.baseAddress!, buffer.base))
            Parallel.forRange(work.count, minChunk: 1) { w0, w1 in
                let (out, base) = box.value
                for w in w0..<w1 { out[w] = AdamWKernel.allFinite(base + work[w].start, count: work[w].end - work[w].start) }
            }
        }
        guard let bad = finite.firstIndex(of: false) else { return nil }
        return buffer.specs[work[bad].tensor].name
    }
}
