// Attention of a sequence that continues a shared prefix (TrainingBatch.parents): the prefix's rows and the
// continuation's rows are gathered into one contiguous causal sequence and run through the same training attention
// kernels as any sequence (RPTKernels/AttentionTraining.swift) with its query rows starting at the continuation
// (`firstRow`): the prefix's own queries are the prefix's own attention, computed once. The backward thus adds
// exactly the continuation's dependence on the prefix's keys and values, and nothing twice.

import Foundation
import RPTKernels

/// Rows of one packed sequence: its first row in the batch and its length.
struct PackedRows {
    var row: Int, count: Int
}

/// The (P + R)-row gathered sequence of a prefix and one continuation, in scratch buffers.
private struct GatheredSequence {
    let n: Int, shape: AttentionHeads
    let q, k, v, out: UnsafeMutablePointer<Float>
    let lse: UnsafeMutablePointer<Float>

    init(prefix p: PackedRows, continuation c: PackedRows, q: UnsafePointer<Float>, k: UnsafePointer<Float>,
         v: UnsafePointer<Float>, shape: AttentionHeads) {
        n = p.count + c.count
        self.shape = shape
        let qd = shape.qDim, kd = shape.kvDim
        self.q = .allocate(capacity: n * qd); self.k = .allocate(capacity: n * kd); self.v = .allocate(capacity: n * kd)
        out = .allocate(capacity: n * qd); lse = .allocate(capacity: shape.heads * n)
        // Queries: the continuation's rows only (neither kernel reads rows before `firstRow`); keys and values: all.
        (self.q + p.count * qd).update(from: q + c.row * qd, count: c.count * qd)
        Self.gather(k, kd, p, c, into: self.k)
        Self.gather(v, kd, p, c, into: self.v)
    }

    func release() { for b in [q, k, v, out, lse] { b.deallocate() } }

    /// Prefix rows, then continuation rows, of a [rows, width] buffer.
    static func gather(_ x: UnsafePointer<Float>, _ width: Int, _ p: PackedRows, _ c: PackedRows, into out: UnsafeMutablePointer<Float>) {
        out.update(from: x + p.row * width, count: p.count * width)
        (out + p.count * width).update(from: x + c.row * width, count: c.count * width)
    }
}

enum PrefixAttention {
    /// The continuation's attention output and log-sum-exp (`lse` holds each sequence's block, [heads][rows], at
    /// its first row × heads).
    static func forward(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
                        lse: UnsafeMutablePointer<Float>, prefix p: PackedRows, continuation c: PackedRows, shape: AttentionHeads,
                        products: Attention.Products = .fp32) {
        let g = GatheredSequence(prefix: p, continuation: c, q: q, k: k, v: v, shape: shape)
        defer { g.release() }
        Attention.trainForward(q: g.q, k: g.k, v: g.v, out: g.out, lse: g.lse, count: g.n, shape: shape, firstRow: p.count,
                               products: products)
        (out + c.row * shape.qDim).update(from: g.out + p.count * shape.qDim, count: c.count * shape.qDim)
        for h in 0..<shape.heads {
            (lse + c.row * shape.heads + h * c.count).update(from: g.lse + h * g.n + p.count, count: c.count)
        }
    }

    /// Writes the continuation's dq rows and adds its dk/dv to the prefix's and its own rows.
    static func backward(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, out: UnsafePointer<Float>,
                         dout: UnsafePointer<Float>, lse: UnsafePointer<Float>, dq: UnsafeMutablePointer<Float>,
                         dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>,
                         prefix p: PackedRows, continuation c: PackedRows, shape: AttentionHeads,
                         products: Attention.Products = .fp32) {
        let g = GatheredSequence(prefix: p, continuation: c, q: q, k: k, v: v, shape: shape)
        let qd = shape.qDim, kd = shape.kvDim, n = g.n
        let dOut = UnsafeMutablePointer<Float>.allocate(capacity: n * qd), dQ = UnsafeMutablePointer<Float>.allocate(capacity: n * qd)
        let dK = UnsafeMutablePointer<Float>.allocate(capacity: n * kd), dV = UnsafeMutablePointer<Float>.allocate(capacity: n * kd)
        defer { g.release(); for b in [dOut, dQ, dK, dV] { b.deallocate() } }
        // The kernel reads out, dout and lse of the query rows from `firstRow` only: the continuation's.
        (g.out + p.count * qd).update(from: out + c.row * qd, count: c.count * qd)
        for h in 0..<shape.heads {
            (g.lse + h * n + p.count).update(from: lse + c.row * shape.heads + h * c.count, count: c.count)
        }
        (dOut + p.count * qd).update(from: dout + c.row * qd, count: c.count * qd)
        dK.update(repeating: 0, count: n * kd)
        dV.update(repeating: 0, count: n * kd)
        Attention.backward(q: g.q, k: g.k, v: g.v, out: g.out, dout: dOut, lse: g.lse, dq: dQ, dk: dK, dv: dV, count: n, shape: shape,
                           firstRow: p.count, products: products)
        (dq + c.row * qd).update(from: dQ + p.count * qd, count: c.count * qd)
        Vector.add(dk + p.row * kd, dK, count: p.count * kd)
        Vector.add(dk + c.row * kd, dK + p.count * kd, count: c.count * kd)
        Vector.add(dv + p.row * kd, dV, count: p.count * kd)
        Vector.add(dv + c.row * kd, dV + p.count * kd, count: c.count * kd)
    }
}
