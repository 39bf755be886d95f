// Row kernels over unsafe Float32 buffers, written with SIMD16 so that they compile to AVX vector code
// (the target sets -target-cpu). Each has a scalar tail; the scalar reference versions live in tests.

import CKernels
import Foundation

public typealias V16 = SIMD16<Float>

@inline(__always) func load16(_ p: UnsafePointer<Float>) -> V16 {
    UnsafeRawPointer(p).loadUnaligned(as: V16.self)
}

@inline(__always) func store16(_ v: V16, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: V16.self)
}

public enum Vector {
    /// e^x for 16 lanes: range reduction by ln 2 (Cody–Waite) and a degree-6 polynomial (Cephes expf);
    /// max relative error ≈ 2e-7 on [-87, 88]. Uses only operations that vectorise (no rounding or
    /// int-conversion APIs; see docs/kernels.md §2).
    @inline(__always)
    public static func exp(_ v: V16) -> V16 {
        var x = v.replacing(with: 88.37626, where: v .> 88.37626)
        x = x.replacing(with: -87.33654, where: x .< -87.33654)
        let magic: Float = 12_582_912 // 1.5 · 2^23: adding it rounds to an integer in the low mantissa bits
        let r = x * 1.442695040888963 + magic
        let n = r - magic
        let f = x - n * 0.693359375 + n * 2.12194440e-4
        var p = V16(repeating: 1.9875691500e-4)
        p = p * f + 1.3981999507e-3
        p = p * f + 8.3334519073e-3
        p = p * f + 4.1665795894e-2
        p = p * f + 1.6666665459e-1
        p = p * f + 5.0000001201e-1
        let y = p * (f * f) + f + 1
        let ni = unsafeBitCast(r, to: SIMD16<Int32>.self) &- unsafeBitCast(V16(repeating: magic), to: SIMD16<Int32>.self)
        let pow2 = unsafeBitCast((ni &+ 127) &<< 23, to: V16.self)
        return y * pow2
    }

    /// y += x
    public static func add(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count n: Int) {
        var i = 0
        while i + 16 <= n { store16(load16(y + i) + load16(x + i), y + i); i += 16 }
        while i < n { y[i] += x[i]; i += 1 }
    }

    /// y += a · x
    public static func axpy(_ y: UnsafeMutablePointer<Float>, _ a: Float, _ x: UnsafePointer<Float>, count n: Int) {
        var i = 0
        let av = V16(repeating: a)
        while i + 16 <= n { store16(load16(y + i) + av * load16(x + i), y + i); i += 16 }
        while i < n { y[i] += a * x[i]; i += 1 }
    }

    /// x *= a
    public static func scale(_ x: UnsafeMutablePointer<Float>, _ a: Float, count n: Int) {
        var i = 0
        while i + 16 <= n { store16(load16(x + i) * a, x + i); i += 16 }
        while i < n { x[i] *= a; i += 1 }
    }

    /// The sum of x[0..<n], read the way the decode kernels stream weights (one prefetched stream; ck_stream_sum):
    /// timed by `rpt bench` as the read bandwidth decode can reach.
    public static func streamSum(_ x: UnsafePointer<Float>, count n: Int) -> Float { ck_stream_sum(x, n) }

    @inline(__always)
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count n: Int) -> Float {
        var acc0 = V16(), acc1 = V16()
        var i = 0
        while i + 32 <= n {
            acc0 += load16(a + i) * load16(b + i)
            acc1 += load16(a + i + 16) * load16(b + i + 16)
            i += 32
        }
        if i + 16 <= n { acc0 += load16(a + i) * load16(b + i); i += 16 }
        var s = (acc0 + acc1).sum()
        while i < n { s += a[i] * b[i]; i += 1 }
        return s
    }

    public static func max(_ x: UnsafePointer<Float>, count n: Int) -> Float {
        var m = -Float.infinity
        var i = 0
        if n >= 16 {
            var mv = load16(x)
            i = 16
            while i + 16 <= n { let v = load16(x + i); mv = mv.replacing(with: v, where: v .> mv); i += 16 }
            m = mv.max()
        }
        while i < n { if x[i] > m { m = x[i] }; i += 1 }
        return m
    }

    /// The first index of the largest non-NaN value of x[0..<n], nil when every value is NaN or n is 0 (ck_argmax:
    /// AVX-512 where the CPU has it; `portable` forces the scalar scan it is tested against).
    public static func argmax(_ x: UnsafePointer<Float>, count n: Int, portable: Bool = false) -> Int? {
        let i = ck_argmax(x, n, portable ? 1 : 0)
        return i < 0 ? nil : i
    }

    /// x[i] rounded to bf16 (nearest even, ck_f32_to_bf16), kept as fp32.
    public static func roundToBF16(_ x: UnsafeMutablePointer<Float>, count n: Int) {
        withUnsafeTemporaryAllocation(of: UInt16.self, capacity: 4096) { h in
            var i = 0
            while i < n {
                let m = Swift.min(4096, n - i)
                ck_f32_to_bf16(x + i, h.baseAddress!, m)
                ck_bf16_to_f32(h.baseAddress!, x + i, m)
                i += m
            }
        }
    }

    /// x[i] = exp(x[i] - shift); returns the sum.
    @discardableResult
    public static func expShifted(_ x: UnsafeMutablePointer<Float>, shift: Float, count n: Int) -> Float {
        var acc = V16()
        var i = 0
        let sv = V16(repeating: shift)
        while i + 16 <= n { let e = exp(load16(x + i) - sv); store16(e, x + i); acc += e; i += 16 }
        var s = acc.sum()
        while i < n { let e = Foundation.exp(x[i] - shift); x[i] = e; s += e; i += 1 }
        return s
    }

    /// Σ e^(x − shift) · x (x unchanged): with shift = log Σ e^x this is E_p[x], so H = shift − result.
    public static func expWeightedSum(_ x: UnsafePointer<Float>, shift: Float, count n: Int) -> Float {
        var acc = V16()
        var i = 0
        let sv = V16(repeating: shift)
        while i + 16 <= n { let v = load16(x + i); acc += exp(v - sv) * v; i += 16 }
        var s = acc.sum()
        while i < n { s += Foundation.exp(x[i] - shift) * x[i]; i += 1 }
        return s
    }

    /// In-place softmax of one row.
    public static func softmax(_ x: UnsafeMutablePointer<Float>, count n: Int) {
        let m = max(x, count: n)
        let s = expShifted(x, shift: m, count: n)
        scale(x, 1 / s, count: n)
    }

    /// log Σ exp(x) of one row (x unchanged).
    public static func logSumExp(_ x: UnsafePointer<Float>, count n: Int) -> Float {
        let m = max(x, count: n)
        var acc = V16()
        var i = 0
        let mv = V16(repeating: m)
        while i + 16 <= n { acc += exp(load16(x + i) - mv); i += 16 }
        var s = acc.sum()
        while i < n { s += Foundation.exp(x[i] - m); i += 1 }
        return m + Foundation.log(s)
    }

    /// out = silu(gate) · up, silu(g) = g / (1 + e^-g)  (SwiGLU).
    public static func swiglu(_ gate: UnsafePointer<Float>, _ up: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, count n: Int) {
        var i = 0
        while i + 16 <= n {
            let g = load16(gate + i)
            store16(g / (1 + exp(-g)) * load16(up + i), out + i)
            i += 16
        }
        while i < n { let g = gate[i]; out[i] = g / (1 + Foundation.exp(-g)) * up[i]; i += 1 }
    }

    /// RMSNorm of one row: out = x / sqrt(mean(x²) + eps) · w.
    public static func rmsNorm(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                               count n: Int, eps: Float) {
        let ss = dot(x, x, count: n)
        let r = 1 / (ss / Float(n) + eps).squareRoot()
        var i = 0
        let rv = V16(repeating: r)
        while i + 16 <= n { store16(load16(x + i) * rv * load16(w + i), out + i); i += 16 }
        while i < n { out[i] = x[i] * r * w[i]; i += 1 }
    }

    /// RMSNorm over `rows` rows of `n` (in place allowed).
    public static func rmsNormRows(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                                   rows: Int, count n: Int, eps: Float) {
        let box = UnsafeSendable((x, w, out))
        Parallel.forRange(rows, minChunk: Swift.max(1, 16384 / Swift.max(n, 1))) { r0, r1 in
            let (x, w, out) = box.value
            for r in r0..<r1 { rmsNorm(x + r * n, w, out + r * n, count: n, eps: eps) }
        }
    }
}
