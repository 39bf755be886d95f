// Causal scaled-dot-product attention with grouped-query heads over a key/value cache
// (softmax(q·kᵀ/√d)·v; "Attention Is All You Need" §3.2, GQA: query head h reads KV head h / (H/H_kv)).
//
// Keys and values of one sequence: a KV head's rows every `rowStride` values, KV heads `headStride` apart (KVLayout:
// the KV cache keeps each head's rows contiguous, docs/kernels.md §8). Two paths:
//  - `rows`: one query row at a time (decode, short prefill), parallel over (row, KV head);
//  - `blocked`: blocks of query rows through sgemm (long prefill), where the matrix units win.

import CKernels
import Foundation

public struct AttentionHeads: Sendable {
    public var heads: Int, kvHeads: Int, headDim: Int
    public init(heads: Int, kvHeads: Int, headDim: Int) { self.heads = heads; self.kvHeads = kvHeads; self.headDim = headDim }
    public var qDim: Int { heads * headDim }
    public var kvDim: Int { kvHeads * headDim }
    public var group: Int { heads / kvHeads }
    public var scale: Float { 1 / Float(headDim).squareRoot() }
}

/// Where a KV head's keys (or values) lie, in elements: position t of KV head g at g · headStride + t · rowStride.
public struct KVLayout: Sendable, Equatable {
    public var rowStride: Int, headStride: Int
    public init(rowStride: Int, headStride: Int) { self.rowStride = rowStride; self.headStride = headStride }
    /// Rows [position][kvHeads · headDim], as the K and V projections write them.
    public static func positionMajor(_ shape: AttentionHeads) -> KVLayout {
        KVLayout(rowStride: shape.kvDim, headStride: shape.headDim)
    }
    /// [kvHead][capacity][headDim]: each KV head's rows one contiguous run (the KV cache).
    public static func headMajor(_ shape: AttentionHeads, capacity: Int) -> KVLayout {
        KVLayout(rowStride: shape.headDim, headStride: capacity * shape.headDim)
    }
}

/// Where one query row reads its keys and values: the first `count` cache rows of its sequence, fp32 or bf16, laid out
/// as `layout` says (nil: position-major).
public struct KVView {
    public var keys: UnsafeRawPointer
    public var values: UnsafeRawPointer
    public var count: Int
    /// Keys and values are bf16 (the upper halves of fp32 values); otherwise fp32.
    public var bf16: Bool
    public var layout: KVLayout?
    public init(keys: UnsafePointer<Float>, values: UnsafePointer<Float>, count: Int, layout: KVLayout? = nil) {
        self.keys = UnsafeRawPointer(keys); self.values = UnsafeRawPointer(values); self.count = count; bf16 = false
        self.layout = layout
    }
    public init(bf16Keys keys: UnsafePointer<UInt16>, values: UnsafePointer<UInt16>, count: Int, layout: KVLayout? = nil) {
        self.keys = UnsafeRawPointer(keys); self.values = UnsafeRawPointer(values); self.count = count; bf16 = true
        self.layout = layout
    }
}

public enum Attention {
    /// Keys read by every query head of a group before the next block (64 keys × 64 floats: 16 KB, in L1).
    static let keyBlock = 64

    /// out[r] = attention of q[r] over view(r), for r in 0..<rows. q and out are [rows, qDim]. The query heads that share
    /// a KV head run together over blocks of keys, so the cache is read once per KV head rather than once per query head
    /// (split per head when there are too few (row, KV head) pairs to keep every thread busy).
    /// `portable`: the Swift loops even where the AVX-512 kernel runs (tests compare the two).
    public static func rows(q: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, rows: Int, shape: AttentionHeads,
                            portable: Bool = false, view: (Int) -> KVView) {
        let avx512 = !portable && ck_has_avx512() != 0
        let views = (0..<rows).map(view)
        let maxCount = views.map(\.count).max() ?? 0
        let heads = rows * shape.kvHeads >= 2 * Parallel.threads ? shape.group : 1   // query heads per item
        let items = rows * shape.heads / heads, itemsPerRow = shape.heads / heads
        let box = UnsafeSendable((q, out, views))
        Parallel.forRange(items, minChunk: max(1, 4096 / max(maxCount * shape.headDim * heads / 64, 1))) { i0, i1 in
            let (q, out, views) = box.value
            withUnsafeTemporaryAllocation(of: Float.self, capacity: max(maxCount * heads, 1)) { scores in
                for item in i0..<i1 {
                    let r = item / itemsPerRow, h = item % itemsPerRow * heads
                    let qh = q + r * shape.qDim + h * shape.headDim, oh = out + r * shape.qDim + h * shape.headDim
                    if views[r].bf16 {
                        groupBF16(q: qh, out: oh, heads: heads, view: views[r], kvHead: h / shape.group, shape: shape,
                                  scores: scores.baseAddress!, portable: !avx512)
                    } else if avx512 {
                        groupAVX512(q: qh, out: oh, heads: heads, view: views[r], kvHead: h / shape.group, shape: shape,
                                    scores: scores.baseAddress!)
                    } else {
                        group(q: qh, out: oh, heads: heads, view: views[r], kvHead: h / shape.group, shape: shape,
                              scores: scores.baseAddress!)
                    }
                }
            }
        }
    }

    /// `group` through the C kernels (ck_attention_scores, ck_attention_values; docs/kernels.md §7): FMA, 16 keys'
    /// scores summed in one tree, the value rows read once per 4 heads. Same result up to fp32 rounding.
    @inline(__always)
    static func groupAVX512(q: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, heads: Int, view: KVView, kvHead: Int,
                            shape: AttentionHeads, scores: UnsafeMutablePointer<Float>) {
        let d = shape.headDim, n = view.count, layout = view.layout ?? .positionMajor(shape)
        let k = view.keys.assumingMemoryBound(to: Float.self) + kvHead * layout.headStride
        let v = view.values.assumingMemoryBound(to: Float.self) + kvHead * layout.headStride
        ck_attention_scores(q, Int32(heads), Int32(d), k, v, layout.rowStride, Int32(n), shape.scale, scores)
        for j in 0..<heads { Vector.softmax(scores + j * n, count: n) }
        ck_attention_values(scores, Int32(heads), Int32(d), v, layout.rowStride, Int32(n), out)
    }

    /// `groupAVX512` over a bf16 cache (ck_attention_scores_bf16, ck_attention_values_bf16): the same fp32 arithmetic on
    /// the widened values; `portable`: the C kernels' portable loops.
    @inline(__always)
    static func groupBF16(q: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, heads: Int, view: KVView, kvHead: Int,
                          shape: AttentionHeads, scores: UnsafeMutablePointer<Float>, portable: Bool) {
        let d = shape.headDim, n = view.count, p: Int32 = portable ? 1 : 0, layout = view.layout ?? .positionMajor(shape)
        let k = view.keys.assumingMemoryBound(to: UInt16.self) + kvHead * layout.headStride
        let v = view.values.assumingMemoryBound(to: UInt16.self) + kvHead * layout.headStride
        ck_attention_scores_bf16(q, Int32(heads), Int32(d), k, v, layout.rowStride, Int32(n), shape.scale, scores, p)
        for j in 0..<heads { Vector.softmax(scores + j * n, count: n) }
        ck_attention_values_bf16(scores, Int32(heads), Int32(d), v, layout.rowStride, Int32(n), out, p)
    }

    /// `heads` consecutive query heads (q and out [heads, headDim]) that read KV head `kvHead`. Each head's sums run over
    /// the keys in order, as they would for that head alone.
    @inline(__always)
    static func group(q: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, heads: Int, view: KVView, kvHead: Int,
                      shape: AttentionHeads, scores: UnsafeMutablePointer<Float>) {
        let d = shape.headDim, layout = view.layout ?? .positionMajor(shape), stride = layout.rowStride
        let k = view.keys.assumingMemoryBound(to: Float.self) + kvHead * layout.headStride
        let v = view.values.assumingMemoryBound(to: Float.self) + kvHead * layout.headStride
        let n = view.count
        var t0 = 0
        while t0 < n {
            let t1 = min(t0 + keyBlock, n)
            for j in 0..<heads {
                let qj = q + j * d, s = scores + j * n
                for t in t0..<t1 { s[t] = Vector.dot(qj, k + t * stride, count: d) * shape.scale }
            }
            t0 = t1
        }
        for j in 0..<heads {
            Vector.softmax(scores + j * n, count: n)
            (out + j * d).update(repeating: 0, count: d)
        }
        // out += s[t]·v_t over t, 64 values of out held in registers across the keys (the additions of Vector.axpy, in
        // the same order); the last d % 64 through Vector.axpy.
        for j in 0..<heads {
            let s = scores + j * n, o = out + j * d
            var c = 0
            while c + 64 <= d {
                var o0 = V16(), o1 = V16(), o2 = V16(), o3 = V16()
                for t in 0..<n {
                    let a = V16(repeating: s[t]), x = v + t * stride + c
                    o0 = o0 + a * load16(x); o1 = o1 + a * load16(x + 16)
                    o2 = o2 + a * load16(x + 32); o3 = o3 + a * load16(x + 48)
                }
                store16(o0, o + c); store16(o1, o + c + 16); store16(o2, o + c + 32); store16(o3, o + c + 48)
                c += 64
            }
            if c < d { for t in 0..<n { Vector.axpy(o + c, s[t], v + t * stride + c, count: d - c) } }
        }
    }

    /// Causal attention for `count` consecutive query rows of one sequence whose first row is at cache
    /// position `start` (rows at positions start..<start+count; the cache holds start+count rows).
    /// q/out are [count, qDim]. Uses blocks of `block` query rows and two sgemms per head and block. `layout`: where the
    /// keys and values lie (nil: position-major).
    public static func blocked(q: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, count: Int, start: Int,
                               keys: UnsafePointer<Float>, values: UnsafePointer<Float>, shape: AttentionHeads,
                               layout: KVLayout? = nil, block: Int = 128) {
        let d = shape.headDim, layout = layout ?? .positionMajor(shape)
        let total = start + count
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: block * total)
        defer { scores.deallocate() }
        var r0 = 0
        while r0 < count {
            let rb = min(block, count - r0)
            let keysNeeded = start + r0 + rb
            for h in 0..<shape.heads {
                let g = h / shape.group
                // scores[rb, keysNeeded] = scale · Q_h · K_gᵀ
                Matmul.gemm(transA: false, transB: true, M: rb, N: keysNeeded, K: d, alpha: shape.scale,
                            q + r0 * shape.qDim + h * d, lda: shape.qDim, keys + g * layout.headStride, ldb: layout.rowStride,
                            beta: 0, scores, ldc: keysNeeded)
                // causal softmax: row i sees keys 0...start+r0+i
                let box = UnsafeSendable(scores)
                Parallel.forRange(rb, minChunk: max(1, 8192 / keysNeeded)) { i0, i1 in
                    for i in i0..<i1 {
                        let row = box.value + i * keysNeeded
                        let visible = start + r0 + i + 1
                        Vector.softmax(row, count: visible)
                        (row + visible).update(repeating: 0, count: keysNeeded - visible)
                    }
                }
                // out_h[rb, d] = P · V_g
                Matmul.gemm(transA: false, transB: false, M: rb, N: d, K: keysNeeded, scores, lda: keysNeeded,
                            values + g * layout.headStride, ldb: layout.rowStride, beta: 0, out + r0 * shape.qDim + h * d,
                            ldc: shape.qDim)
            }
            r0 += rb
        }
    }
}
