// Matrix products with bf16 operands and fp32 sums for bf16 training and prefill (docs/kernels.md §5): C (+)= A · B
// where A and B are rounded to bf16 as they are packed (ck_gemm_bf16: AMX tiles on CPUs that have them, AVX-512 BF16
// otherwise). B is packed once into a `PackedBF16Matrix` (weights: once per optimizer step); A is read in place,
// with either stride 1. Threads split the larger of C's dimensions, so each packs only its share of the larger
// operand, and every element of C is summed in one fixed order whatever the thread count (bit-exact resumes).

import CKernels
import Dispatch

/// A matrix B [K, N] packed for `GemmBF16.multiply`: bf16 pairs along k in panels of `GemmBF16.panelColumns` columns.
public final class PackedBF16Matrix: @unchecked Sendable {
    public let rows: Int
    public let columns: Int
    let values: UnsafeMutablePointer<UInt16>

    /// Space for a packed [rows, columns] matrix, uninitialised until `pack` writes every value (padding included).
    public init(rows: Int, columns: Int) {
        precondition(rows >= 0 && columns >= 0 && rows <= Int(Int32.max) && columns <= Int(Int32.max))
        self.rows = rows
        self.columns = columns
        let count = max(ck_bf16_packed_b_count(Int32(rows), Int32(columns)), 1)
        values = UnsafeMutableRawPointer.allocate(byteCount: count * 2, alignment: 64).bindMemory(to: UInt16.self, capacity: count)
    }

    /// A packed copy of B [rows, columns] whose element (k, j) is b[k·rowStride + j·columnStride].
    public convenience init(_ b: UnsafePointer<Float>, rows: Int, columns: Int, rowStride: Int, columnStride: Int,
                            threaded: Bool = true) {
        self.init(rows: rows, columns: columns)
        pack(b, rowStride: rowStride, columnStride: columnStride, threaded: threaded)
    }

    deinit { values.deallocate() }

    /// Repacks from B (same shape) with element (k, j) at b[k·rowStride + j·columnStride]; panels split across threads
    /// when `threaded`.
    public func pack(_ b: UnsafePointer<Float>, rowStride: Int, columnStride: Int, threaded: Bool = true) {
        let panels = (columns + GemmBF16.panelColumns - 1) / GemmBF16.panelColumns
        let box = UnsafeSendable((b, values))
        let (K, N) = (Int32(rows), Int32(columns))
        let minChunk = threaded ? max(1, (1 << 16) / max(rows * GemmBF16.panelColumns, 1)) : max(panels, 1)
        Parallel.forRange(panels, minChunk: minChunk) { q0, q1 in
            let (b, values) = box.value
            ck_bf16_pack_b(b, rowStride, columnStride, K, N, Int32(q0), Int32(q1), values)
        }
    }
}

public enum GemmBF16 {
    /// Columns of C per register tile and per panel of a packed B.
    public static let panelColumns = Int(CK_BF16_GEMM_NR)
    /// Rows of C one thread takes at least when threads split the rows (a multiple of both kernels' tiles).
    static let rowUnit = 96

    /// True when this CPU runs the bf16 kernels natively (AVX-512 BF16).
    public static var isSupported: Bool { ck_has_avx512bf16() != 0 }
    /// True when the products run on AMX tiles (an AMX-BF16 CPU whose kernel granted this process the tile state).
    public static var usesAMX: Bool { ck_bf16_gemm_uses_amx() != 0 }
    /// Turns the AMX kernel off (tests compare it with the AVX-512 kernel) or back on where the CPU has it.
    public static func setAMX(enabled: Bool) { ck_bf16_gemm_disable_amx(enabled ? 0 : 1) }

    /// C[M, N] (+)= A · B, A [M, K] at a[i·rowStride + k·columnStride] (one of the strides 1), B packed [K, N], C row-major
    /// with row stride ldc. `threaded: false` runs on the calling thread (callers that split work themselves).
    public static func multiply(_ a: UnsafePointer<Float>, rowStride: Int, columnStride: Int, _ b: PackedBF16Matrix,
                                _ c: UnsafeMutablePointer<Float>, ldc: Int, M: Int, accumulate: Bool = false,
                                threaded: Bool = true) {
        let N = b.columns, K = b.rows
        if M == 0 || N == 0 { return }
        precondition(rowStride == 1 || columnStride == 1, "GemmBF16: A needs a unit stride")
        let t0 = Matmul.profile == nil ? 0 : DispatchTime.now().uptimeNanoseconds
        defer { Matmul.profile?.record(M, N, K, since: t0) }
        let box = UnsafeSendable((a, b.values, c))
        let acc: Int32 = accumulate ? 1 : 0
        let work = M * N * max(K, 1)
        let split = threaded && Parallel.threads > 1 && work >= 1 << 21
        if split && N / panelColumns >= M / rowUnit {
            let panels = (N + panelColumns - 1) / panelColumns
            Parallel.forRange(panels) { q0, q1 in
                let (a, bp, c) = box.value
                ck_gemm_bf16(Int32(M), Int32(N), Int32(K), a, rowStride, columnStride, bp, c, ldc, 0, Int32(M),
                             Int32(q0 * panelColumns), Int32(min(q1 * panelColumns, N)), acc, nil)
            }
        } else {
            let units = split ? (M + rowUnit - 1) / rowUnit : 1
            Parallel.forRange(units) { u0, u1 in
                let (a, bp, c) = box.value
                let m0 = split ? u0 * rowUnit : 0, m1 = split ? min(u1 * rowUnit, M) : M
                ck_gemm_bf16(Int32(M), Int32(N), Int32(K), a, rowStride, columnStride, bp, c, ldc, Int32(m0), Int32(m1),
                             0, Int32(N), acc, nil)
            }
        }
    }

    /// Values of the scratch `multiplyRows` needs for `rows` rows of `columns` values.
    public static func rowsScratchCount(rows: Int, columns: Int) -> Int {
        Int(ck_bf16_rows_x_count(Int32(rows), Int32(columns)))
    }

    /// Several decode-sized products of the same x in one parallel region: y_i[M, N_i] (+)= x[M, K] · B_i, each B_i a
    /// packed Wᵀ [K, N_i] (ck_gemm_bf16_rows: on AMX, every panel of B read once as one stream). Threads split the
    /// panels of all products; each output element is summed in one order whatever the split. `scratch` holds
    /// `rowsScratchCount(rows: M, columns: K)` values.
    public static func multiplyRows(_ x: UnsafePointer<Float>, _ outputs: [(b: PackedBF16Matrix, y: UnsafeMutablePointer<Float>)],
                                    M: Int, K: Int, accumulate: Bool = false, scratch: UnsafeMutablePointer<UInt16>) {
        guard M > 0, !outputs.isEmpty else { return }
        precondition(outputs.allSatisfy { $0.b.rows == K }, "GemmBF16.multiplyRows: a packed matrix has the wrong depth")
        let t0 = Matmul.profile == nil ? 0 : DispatchTime.now().uptimeNanoseconds
        defer { Matmul.profile?.record(M, outputs.reduce(0) { $0 + $1.b.columns }, K, since: t0) }
        ck_bf16_rows_pack_x(x, Int32(M), Int32(K), scratch)
        let panels = outputs.map { ($0.b.columns + panelColumns - 1) / panelColumns }
        let box = UnsafeSendable((UnsafePointer(scratch), outputs))
        Parallel.forPieces(panels, minChunk: 4) { i, lo, hi in
            let (xa, outputs) = box.value
            let o = outputs[i]
            ck_gemm_bf16_rows(xa, Int32(M), Int32(K), o.b.values, o.y, o.b.columns, Int32(lo * panelColumns),
                              Int32(min(hi * panelColumns, o.b.columns)), accumulate ? 1 : 0)
        }
    }

    /// `Matmul.gemm`'s product in bf16 for two fp32 operands: C[M, N] (+)= op(A) · op(B), B packed on the way.
    public static func gemm(transA: Bool, transB: Bool, M: Int, N: Int, K: Int, _ a: UnsafePointer<Float>, lda: Int,
                            _ b: UnsafePointer<Float>, ldb: Int, accumulate: Bool, _ c: UnsafeMutablePointer<Float>, ldc: Int,
                            threaded: Bool = true) {
        let packed = PackedBF16Matrix(b, rows: K, columns: N, rowStride: transB ? 1 : ldb, columnStride: transB ? ldb : 1,
                                      threaded: threaded)
        multiply(a, rowStride: transA ? 1 : lda, columnStride: transA ? lda : 1, packed, c, ldc: ldc, M: M, accumulate: accumulate,
                 threaded: threaded)
    }
}
