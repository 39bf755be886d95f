// Backward passes of the row kernels (gradients derived by hand; the tests check them against
// PyTorch autograd fixtures and finite differences):
//   RMSNorm  y = x·r·w, r = (mean(x²)+ε)^-½:  dx = r·(g⊙w) − x·r³/n·Σ(g⊙w⊙x),  dw += Σ_rows g⊙x·r
//   SwiGLU   h = silu(a)·u:  du = dh·silu(a),  da = dh·u·σ(a)·(1 + a·(1−σ(a)))

import Foundation

public enum BackwardKernels {
    /// RMSNorm backward over `rows` rows of n: writes dx (may alias dy) and accumulates dw.
    /// dw accumulation is serial across rows (a per-thread partial sum keeps it deterministic).
    public static func rmsNorm(x: UnsafePointer<Float>, w: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                               dx: UnsafeMutablePointer<Float>, dw: UnsafeMutablePointer<Float>,
                               rows: Int, count n: Int, eps: Float, accumulateDX: Bool = false) {
        let t = min(Parallel.threads, max(1, rows / 8))
        let partial = UnsafeMutablePointer<Float>.allocate(capacity: t * n)
        partial.initialize(repeating: 0, count: t * n)
        defer { partial.deallocate() }
        let box = UnsafeSendable((x, w, dy, dx, partial))
        Parallel.forRange(t, minChunk: 1) { c0, c1 in
            let (x, w, dy, dx, partial) = box.value
            for chunk in c0..<c1 {
                let acc = partial + chunk * n
                for r in (rows * chunk / t)..<(rows * (chunk + 1) / t) {
                    let xr = x + r * n, gr = dy + r * n, out = dx + r * n
                    let ss = Vector.dot(xr, xr, count: n)
                    let rstd = 1 / (ss / Float(n) + eps).squareRoot()
                    var dotv = V16()
                    var i = 0
                    while i + 16 <= n { dotv += load16(gr + i) * load16(w + i) * load16(xr + i); i += 16 }
                    var dot = dotv.sum()
                    while i < n { dot += gr[i] * w[i] * xr[i]; i += 1 }
                    let k = dot * rstd * rstd * rstd / Float(n)
                    i = 0
                    let rv = V16(repeating: rstd), kv = V16(repeating: k)
                    while i + 16 <= n {
                        let xv = load16(xr + i), gv = load16(gr + i)
                        store16(load16(acc + i) + gv * xv * rv, acc + i)
                        let d = rv * gv * load16(w + i) - xv * kv
                        store16(accumulateDX ? load16(out + i) + d : d, out + i)
                        i += 16
                    }
                    while i < n {
                        acc[i] += gr[i] * xr[i] * rstd
                        let d = rstd * gr[i] * w[i] - xr[i] * k
                        out[i] = accumulateDX ? out[i] + d : d
                        i += 1
                    }
                }
            }
        }
        for c in 0..<t { Vector.add(dw, partial + c * n, count: n) }
    }

    /// SwiGLU backward: given a (gate pre-activation), u (up) and dh, writes da and du (may alias a/u).
    public static func swiglu(a: UnsafeMutablePointer<Float>, u: UnsafeMutablePointer<Float>, dh: UnsafePointer<Float>,
                              count n: Int) {
        let box = UnsafeSendable((a, u, dh))
        Parallel.forRange(n, minChunk: 32768) { i0, i1 in
            let (a, u, dh) = box.value
            var i = i0
            while i + 16 <= i1 {
                let av = load16(a + i), uv = load16(u + i), g = load16(dh + i)
                let sig = 1 / (1 + Vector.exp(-av))
                let silu = av * sig
                store16(g * uv * sig * (1 + av * (1 - sig)), a + i)
                store16(g * silu, u + i)
                i += 16
            }
            while i < i1 {
                let av = a[i], uv = u[i], g = dh[i]
                let sig = 1 / (1 + Foundation.exp(-av))
                a[i] = g * uv * sig * (1 + av * (1 - sig))
                u[i] = g * av * sig
                i += 1
            }
        }
    }
}
