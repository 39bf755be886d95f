// Linear layers with bf16 weights, y = x · Wᵀ, for decode and rollouts (docs/kernels.md §4): the weights are
// read as bf16 (half the bytes of fp32), x is rounded to bf16 once per call into a caller-provided scratch
// buffer, and products accumulate in fp32 (VDPBF16PS; ck_gemm_nt_small_bf16). Only products with at most
// `maxRows` rows come here (from `amxRows` rows only where the CPU has no AMX: there they run GemmBF16.multiplyRows,
// docs/kernels.md §7); larger products in bf16 run GemmBF16 (docs/kernels.md §5).

import CKernels
import Dispatch

public enum MatmulBF16 {
    /// Up to this many rows of x use the bf16 kernel (a batch of decoded sequences).
    public static let maxRows = 64

    /// From this many rows, where the CPU has AMX tiles (GemmBF16.usesAMX), products go to the AMX decode kernel
    /// (GemmBF16.multiplyRows) instead (docs/kernels.md §7: on the Intel Xeon this kernel is compute-bound from a few
    /// rows, and the AMX one read the weights 1.5–2.8× faster at 2–8 rows).
    public static let amxRows = 2

    /// True when this CPU runs the bf16 kernels natively (AVX-512 BF16); elsewhere bf16 inference is not offered.
    public static var isSupported: Bool { ck_has_avx512bf16() != 0 }

    /// bf16 (round to nearest even) of `count` floats, split across threads when large.
    public static func convert(_ x: UnsafePointer<Float>, to y: UnsafeMutablePointer<UInt16>, count: Int) {
        let box = UnsafeSendable((x, y))
        Parallel.forRange(count, minChunk: 1 << 20) { i0, i1 in
            let (x, y) = box.value
            ck_f32_to_bf16(x + i0, y + i0, i1 - i0)
        }
    }

    /// Whether a weight matrix [N, K] is stored packed in a `packed` weight buffer (ck_bf16_packs: K a multiple
    /// of 32 and at least 8 rows); the others stay row-major.
    public static func packs(rows N: Int, columns K: Int) -> Bool { ck_bf16_packs(Int32(N), Int32(K)) != 0 }

    /// The bf16 weights of a matrix [N, K] in the packed layout when `packs` accepts it (row-major otherwise).
    /// `scratch` holds ≥ N·K values.
    public static func convertPacked(_ x: UnsafePointer<Float>, to y: UnsafeMutablePointer<UInt16>, rows N: Int, columns K: Int,
                                     scratch: UnsafeMutablePointer<UInt16>) {
        guard packs(rows: N, columns: K) else { convert(x, to: y, count: N * K); return }
        convert(x, to: scratch, count: N * K)
        ck_pack_bf16_rows8(scratch, y, Int32(N), Int32(K))
    }

    /// y[M, N] = x[M, K] · w[N, K]ᵀ (or y += … when `accumulate`); `scratch` holds ≥ M·K values.
    public static func nt(_ x: UnsafePointer<Float>, _ w: UnsafePointer<UInt16>, _ y: UnsafeMutablePointer<Float>,
                          M: Int, N: Int, K: Int, accumulate: Bool = false, packed: Bool = false, scratch: UnsafeMutablePointer<UInt16>) {
        ntFused(x, [(w, y, N)], M: M, K: K, accumulate: accumulate, packed: packed, scratch: scratch)
    }

    /// Several products of the same x in one parallel region: y_i[M, N_i] (+)= x[M, K] · w_iᵀ. With `packed`, each
    /// w_i that `packs` accepts is in the packed layout (convertPacked). Threads split the rows in whole groups of 8.
    public static func ntFused(_ x: UnsafePointer<Float>,
                               _ outputs: [(w: UnsafePointer<UInt16>, y: UnsafeMutablePointer<Float>, n: Int)],
                               M: Int, K: Int, accumulate: Bool = false, packed: Bool = false, scratch: UnsafeMutablePointer<UInt16>) {
        precondition(M <= maxRows, "MatmulBF16 takes at most \(maxRows) rows")
        guard M > 0 else { return }
        let t0 = Matmul.profile == nil ? 0 : DispatchTime.now().uptimeNanoseconds
        let total = outputs.reduce(0) { $0 + $1.n }
        defer { Matmul.profile?.record(M, total, K, since: t0) }
        ck_f32_to_bf16(x, scratch, M * K)
        let groups = outputs.map { ($0.n + 7) / 8 }
        let box = UnsafeSendable((UnsafePointer(scratch), outputs))
        Parallel.forPieces(groups, minChunk: 8) { i, lo, hi in
            let (xb, outputs) = box.value
            let o = outputs[i], n0 = Int32(lo * 8), n1 = Int32(min(hi * 8, o.n))
            if packed && packs(rows: o.n, columns: K) {
                ck_gemm_nt_small_bf16_packed(xb, o.w, o.y, Int32(M), Int32(K), Int32(o.n), Int32(o.n), n0, n1, accumulate ? 1 : 0)
            } else {
                ck_gemm_nt_small_bf16(xb, o.w, o.y, Int32(M), Int32(K), Int32(o.n), n0, n1, accumulate ? 1 : 0)
            }
        }
    }
}
