// One decoder layer of Llama / Qwen2 / Qwen3 (transformers `LlamaDecoderLayer`, `Qwen2DecoderLayer`,
// `Qwen3DecoderLayer`): RMSNorm → q/k/v projections (+ bias) → q/k RMSNorm (Qwen3) → RoPE → attention → output
// projection + residual → RMSNorm → SwiGLU MLP + residual. This is the only place the layer is written: the
// inference pass (Forward.swift: KV cache, products in fp32 or bf16) and the training pass (TrainForward.swift:
// packed sequences, every activation kept for Backward.swift) both run it, and differ only in where the
// intermediates live (LayerBuffers), how the products are computed (`linear`) and how attention sees its keys
// (`attend`).

import Foundation
import RPTKernels

/// Where one layer reads and writes. Inference reuses one workspace and updates the residual stream in place
/// (`xMid` and `xOut` are `xIn`, `h` is `gate`, no raw q/k); training gives every activation its own buffer.
struct LayerBuffers {
    /// The residual stream entering the layer.
    var xIn: UnsafeMutablePointer<Float>
    var xn1, q, k, v: UnsafeMutablePointer<Float>
    /// q and k before their RMSNorm (Qwen3), kept for the backward pass; nil: normalised in place.
    var qRaw, kRaw: UnsafeMutablePointer<Float>?
    var att: UnsafeMutablePointer<Float>
    /// The residual stream after the attention block, and after the MLP block (the layer's output).
    var xMid, xn2, gate, up, h, xOut: UnsafeMutablePointer<Float>
}

/// y (+)= x · Wᵀ for weight matrices at parameter offsets that share the input x [M, K] (`accumulate`: y += …).
typealias LinearProducts = (_ x: UnsafePointer<Float>, _ outputs: [(offset: Int, y: UnsafeMutablePointer<Float>, n: Int)],
                            _ M: Int, _ K: Int, _ accumulate: Bool) -> Void

extension Model {
    /// Layer `l` over `n` packed rows at `positions`. `attend` gets the buffers after RoPE and writes `att`.
    ///
    /// `kept` (strictly increasing row indices; inference only, where the residual stream is updated in place): only
    /// these rows' outputs are needed, as in the last layer when logits are wanted for some rows. Keys and values are
    /// still computed for all `n` rows (the cache needs them); the queries, `attend`'s output, the output projection
    /// and the MLP only for the kept rows, which are moved to the first `kept.count` rows of `q`, `att` and the residual
    /// stream. llama.cpp does the same in its last layer (`inp_out_ids`).
    func decoderLayer(_ l: Int, _ b: LayerBuffers, rows n: Int, positions: UnsafePointer<Int32>, kept: [Int]? = nil,
                      linear: LinearProducts, attend: (LayerBuffers) -> Void) {
        let c = config, o = layout.layers[l], p = params.base, H = c.hiddenSize, I = c.intermediateSize
        // Attention block.
        Vector.rmsNormRows(b.xIn, p + o.inputNorm, b.xn1, rows: n, count: H, eps: c.rmsNormEps)
        let m = kept?.count ?? n
        var keptPositions: [Int32] = []
        if let kept {
            precondition(b.xMid == b.xIn && b.xOut == b.xIn && b.qRaw == nil && b.kRaw == nil,
                         "decoderLayer: kept rows need the inference buffers")
            linear(b.xn1, [(o.wk, b.k, c.kvDim), (o.wv, b.v, c.kvDim)], n, H, false)
            Model.compactRows(b.xn1, kept, width: H)
            linear(b.xn1, [(o.wq, b.q, c.qDim)], m, H, false)
            keptPositions = kept.map { positions[$0] }
        } else {
            linear(b.xn1, [(o.wq, b.q, c.qDim), (o.wk, b.k, c.kvDim), (o.wv, b.v, c.kvDim)], n, H, false)
        }
        if let bias = o.bq { Matmul.addBias(b.q, p + bias, M: m, N: c.qDim) }
        if let bias = o.bk { Matmul.addBias(b.k, p + bias, M: n, N: c.kvDim) }
        if let bias = o.bv { Matmul.addBias(b.v, p + bias, M: n, N: c.kvDim) }
        if let qn = o.qNorm, let kn = o.kNorm {
            if let r = b.qRaw { r.update(from: b.q, count: n * c.qDim) }
            if let r = b.kRaw { r.update(from: b.k, count: n * c.kvDim) }
            Vector.rmsNormRows(b.qRaw ?? b.q, p + qn, b.q, rows: m * c.numHeads, count: c.headDim, eps: c.rmsNormEps)
            Vector.rmsNormRows(b.kRaw ?? b.k, p + kn, b.k, rows: n * c.numKVHeads, count: c.headDim, eps: c.rmsNormEps)
        }
        keptPositions.withUnsafeBufferPointer { kp in
            let queryPositions = kept == nil ? positions : kp.baseAddress ?? positions
            applyRope(b.q, rows: m, heads: c.numHeads, positions: queryPositions, inverse: false)
        }
        applyRope(b.k, rows: n, heads: c.numKVHeads, positions: positions, inverse: false)
        attend(b)
        if let kept { Model.compactRows(b.xIn, kept, width: H) }
        let n = m   // from here on, only the rows whose outputs are needed
        if n == 0 { return }
        if b.xMid != b.xIn { b.xMid.update(from: b.xIn, count: n * H) }
        linear(b.att, [(o.wo, b.xMid, H)], n, c.qDim, true)
        if let bias = o.bo { Matmul.addBias(b.xMid, p + bias, M: n, N: H) }

        // MLP block.
        Vector.rmsNormRows(b.xMid, p + o.postNorm, b.xn2, rows: n, count: H, eps: c.rmsNormEps)
        linear(b.xn2, [(o.gate, b.gate, I), (o.up, b.up, I)], n, H, false)
        let box = UnsafeSendable((b.gate, b.up, b.h))
        Parallel.forRange(n * I, minChunk: 32768) { i0, i1 in
            let (g, u, h) = box.value
            Vector.swiglu(g + i0, u + i0, h + i0, count: i1 - i0)
        }
        if b.xOut != b.xMid { b.xOut.update(from: b.xMid, count: n * H) }
        linear(b.h, [(o.down, b.xOut, H)], n, I, true)
    }

    /// Moves rows `kept[i]` (strictly increasing) of x [rows, width] to rows i, in place.
    static func compactRows(_ x: UnsafeMutablePointer<Float>, _ kept: [Int], width: Int) {
        for (i, r) in kept.enumerated() where r != i {
            precondition(r > i, "compactRows: rows must be strictly increasing")
            (x + i * width).update(from: x + r * width, count: width)
        }
    }

    /// Rotary embedding of `rows` rows of `heads` heads at `positions` (`inverse`: the transpose, for backward).
    func applyRope(_ x: UnsafeMutablePointer<Float>, rows: Int, heads: Int, positions: UnsafePointer<Int32>, inverse: Bool) {
        rope.cos.withUnsafeBufferPointer { cosT in
            rope.sin.withUnsafeBufferPointer { sinT in
                Rope.apply(x, rows: rows, heads: heads, headDim: config.headDim, positions: positions,
                           cos: cosT.baseAddress!, sin: sinT.baseAddress!, inverse: inverse)
            }
        }
    }
}
