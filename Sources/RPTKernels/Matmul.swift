// Linear layers, y = x · Wᵀ (+ bias), with W in the Hugging Face [out, in] row-major layout.
// Large M (prefill, training) goes to OpenBLAS sgemm; small M (decode) to our C kernel, which streams
// W once instead of packing it (docs/kernels.md §1, §3).

import CKernels
import COpenBLAS
import Dispatch
import Foundation

/// FLOPs and time spent inside matrix products, collected only while `Matmul.profile` is set
/// (benchmarks use it to report the fraction of peak the matmuls reach).
public final class MatmulProfile: @unchecked Sendable {
    public var flops: Double = 0
    public var seconds: Double = 0
    /// The same for products with M·N·K ≥ 2^24 (the "large" matmuls).
    public var largeFlops: Double = 0
    public var largeSeconds: Double = 0
    /// Products may be recorded from several threads at once (bf16 attention runs one per KV group); their seconds
    /// then add up over the threads.
    private let lock = NSLock()
    public init() {}

    @inline(__always) func record(_ m: Int, _ n: Int, _ k: Int, since t0: UInt64) {
        let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        let f = 2 * Double(m) * Double(n) * Double(k)
        lock.lock()
        defer { lock.unlock() }
        flops += f; seconds += dt
        if m * n * k >= 1 << 24 { largeFlops += f; largeSeconds += dt }
    }
}

public enum Matmul {
    /// Up to this many rows of x use the small-M kernel (docs/kernels.md §1: at 32 rows it decoded 1.1–1.4× faster than
    /// sgemm, which packs W on every call; at 64 rows the two were level).
    public static let smallM = 32

    nonisolated(unsafe) public static var profile: MatmulProfile?

    /// y[M, N] = x[M, K] · w[N, K]ᵀ, or y += … when `accumulate`.
    public static func nt(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                          M: Int, N: Int, K: Int, accumulate: Bool = false) {
        if M == 0 || N == 0 { return }
        let t0 = profile == nil ? 0 : DispatchTime.now().uptimeNanoseconds
        defer { profile?.record(M, N, K, since: t0) }
        if M <= smallM {
            let box = UnsafeSendable((x, w, y))
            Parallel.forRange(N, minChunk: 64) { n0, n1 in
                let (x, w, y) = box.value
                ck_gemm_nt_small(x, w, y, Int32(M), Int32(K), Int32(N), Int32(n0), Int32(n1), accumulate ? 1 : 0)
            }
        } else {
            _ = Parallel.threads   // OpenBLAS's kernels chosen (Parallel.openBLASCore) before its first product
            ck_pool_nap()          // OpenBLAS's threads need the cores our idle workers spin on
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(M), Int32(N), Int32(K), 1, x, Int32(K), w, Int32(K),
                        accumulate ? 1 : 0, y, Int32(N))
        }
    }

    /// Several products of the same x in one call: y_i[M, N_i] = x[M, K] · w_iᵀ. For small M the rows of
    /// all weights are split across threads in a single parallel region (decode runs q/k/v and gate/up
    /// this way, halving the thread hand-offs per token).
    public static func ntFused(_ x: UnsafePointer<Float>, _ outputs: [(w: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, n: Int)],
                               M: Int, K: Int) {
        guard M <= smallM, M > 0 else {
            for o in outputs { nt(x, o.w, o.y, M: M, N: o.n, K: K) }
            return
        }
        let t0 = profile == nil ? 0 : DispatchTime.now().uptimeNanoseconds
        let total = outputs.reduce(0) { $0 + $1.n }
        defer { profile?.record(M, total, K, since: t0) }
        let box = UnsafeSendable((x, outputs))
        Parallel.forPieces(outputs.map(\.n), minChunk: 64) { i, lo, hi in
            let (x, outputs) = box.value
            let o = outputs[i]
            ck_gemm_nt_small(x, o.w, o.y, Int32(M), Int32(K), Int32(o.n), Int32(lo), Int32(hi), 0)
        }
    }

    /// Adds a bias row to every row of y[M, N].
    public static func addBias(_ y: UnsafeMutablePointer<Float>, _ b: UnsafePointer<Float>, M: Int, N: Int) {
        for m in 0..<M { Vector.add(y + m * N, b, count: N) }
    }

    /// General row-major sgemm with explicit leading dimensions (attention blocks, backward passes).
    public static func gemm(transA: Bool, transB: Bool, M: Int, N: Int, K: Int, alpha: Float = 1,
                            _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
                            beta: Float = 0, _ c: UnsafeMutablePointer<Float>, ldc: Int) {
        if M == 0 || N == 0 { return }
        let t0 = profile == nil ? 0 : DispatchTime.now().uptimeNanoseconds
        defer { profile?.record(M, N, K, since: t0) }
        _ = Parallel.threads
        ck_pool_nap()
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(M), Int32(N), Int32(K), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}
