// The inference forward pass of a Llama / Qwen2 / Qwen3 decoder (transformers `LlamaModel`,
// `Qwen2Model`, `Qwen3Model`): embedding → L × decoder layer (DecoderLayer.swift: RMSNorm → attention with q/k/v
// bias, q/k RMSNorm, RoPE, GQA → residual → RMSNorm → SwiGLU MLP → residual) → RMSNorm → LM head, appending
// each layer's keys and values to the KV cache.
//
// Tokens of several sequences are packed into one batch (no padding): each segment continues one cache
// slot, so batched prefill of variable-length prompts and batched decode of many samples are the same
// call. Linear layers run over all packed tokens at once; attention runs per segment.

import Foundation
import RPTKernels

/// A packed batch: `tokens` holds the segments one after another.
public struct ForwardBatch: Sendable {
    public struct Segment: Sendable {
        public var slot: Int
        public var count: Int
        public init(slot: Int, count: Int) { self.slot = slot; self.count = count }
    }
    public var tokens: [Int]
    public var segments: [Segment]

    public init(tokens: [Int], segments: [Segment]) {
        self.tokens = tokens
        self.segments = segments
    }

    /// One token for each listed slot (a decode step).
    public init(decode tokens: [Int], slots: [Int]) {
        self.tokens = tokens
        self.segments = slots.map { Segment(slot: $0, count: 1) }
    }
}

/// Which rows of the batch get logits.
public enum LogitRows: Sendable {
    case none, lastOfEachSegment, all
    /// These rows of the packed batch, in this order.
    case selected([Int])
}

/// Reusable activation buffers for `Model.forward`, grown on demand.
public final class ForwardWorkspace: @unchecked Sendable {
    var capacityTokens = 0
    var x, xn, q, k, v, att, gate, up: UnsafeMutablePointer<Float>?
    var positions: UnsafeMutablePointer<Int32>?
    /// Activations rounded to bf16 for the bf16 products (≤ MatmulBF16.maxRows rows of the widest input).
    var xb: UnsafeMutablePointer<UInt16>?

    public init() {}
    deinit { release() }

    private func release() {
        for p in [x, xn, q, k, v, att, gate, up] { p?.deallocate() }
        positions?.deallocate()
        xb?.deallocate()
    }

    func reserve(tokens n: Int, config c: ModelConfig) {
        guard n > capacityTokens else { return }
        release()
        let cap = max(n, 16)
        x = .allocate(capacity: cap * c.hiddenSize)
        xn = .allocate(capacity: cap * c.hiddenSize)
        q = .allocate(capacity: cap * c.qDim)
        k = .allocate(capacity: cap * c.kvDim)
        v = .allocate(capacity: cap * c.kvDim)
        att = .allocate(capacity: cap * c.qDim)
        gate = .allocate(capacity: cap * c.intermediateSize)
        up = .allocate(capacity: cap * c.intermediateSize)
        positions = .allocate(capacity: cap)
        xb = .allocate(capacity: GemmBF16.rowsScratchCount(rows: min(cap, MatmulBF16.maxRows),
                                                           columns: max(c.hiddenSize, c.qDim, c.intermediateSize)))
        capacityTokens = cap
    }
}

extension Model {
    /// Runs the batch through the model, appending its keys/values to the cache slots, and returns
    /// logits [rows, vocab] for the requested rows (row order = batch order).
    public func forward(_ batch: ForwardBatch, cache: KVCache, logits which: LogitRows,
                        workspace ws: ForwardWorkspace = ForwardWorkspace()) throws -> [Float] {
        let hidden = try forwardHidden(batch, cache: cache, rows: which, workspace: ws)
        let rows = hidden.count / config.hiddenSize
        var logits = [Float](repeating: 0, count: rows * config.vocabSize)
        hidden.withUnsafeBufferPointer { h in
            logits.withUnsafeMutableBufferPointer { headLogits(h.baseAddress!, rows: rows, into: $0.baseAddress!, workspace: ws) }
        }
        return logits
    }

    /// The LM head over `rows` final-normed hidden rows: logits [rows, vocab] into `out`, through the bf16 weights
    /// for decode-sized row counts when `inferenceDType` is bf16.
    func headLogits(_ xn: UnsafePointer<Float>, rows: Int, into out: UnsafeMutablePointer<Float>, workspace ws: ForwardWorkspace) {
        guard rows > 0 else { return }
        ws.reserve(tokens: rows, config: config)
        linearProducts(ws)(xn, [(layout.lmHead, out, config.vocabSize)], rows, config.hiddenSize, false)
    }

    /// y (+)= x · Wᵀ for weights at `offset`s of the parameter buffer. When `inferenceDType` is bf16: decode-sized
    /// products read the bf16 copies (MatmulBF16), or, from MatmulBF16.amxRows rows where the CPU has AMX, the GEMM's
    /// packed weights through the AMX decode kernel (GemmBF16.multiplyRows); larger ones (prefill) run the bf16 GEMM
    /// (GemmBF16.multiply); fp32 otherwise.
    private func linearProducts(_ ws: ForwardWorkspace) -> LinearProducts {
        let p = params.base, pb = bf16Weights(), scratch = ws.xb!, params = self.params
        return { x, outputs, M, K, accumulate in
            let amx = M >= MatmulBF16.amxRows && GemmBF16.usesAMX
            if let pb, M <= MatmulBF16.maxRows, !amx {
                MatmulBF16.ntFused(x, outputs.map { (pb + $0.offset, $0.y, $0.n) }, M: M, K: K, accumulate: accumulate,
                                   packed: true, scratch: scratch)
            } else if pb != nil, M <= MatmulBF16.maxRows, let packs = self.bf16PrefillWeights() {
                GemmBF16.multiplyRows(x, outputs.map { (packs.packs($0.offset, for: params).forward, $0.y) }, M: M, K: K,
                                      accumulate: accumulate, scratch: scratch)
            } else if pb != nil, let packs = self.bf16PrefillWeights() {
                for o in outputs {
                    GemmBF16.multiply(x, rowStride: K, columnStride: 1, packs.packs(o.offset, for: params).forward, o.y,
                                      ldc: o.n, M: M, accumulate: accumulate)
                }
            } else if outputs.count == 1 {
                Matmul.nt(x, p + outputs[0].offset, outputs[0].y, M: M, N: outputs[0].n, K: K, accumulate: accumulate)
            } else {
                precondition(!accumulate)
                Matmul.ntFused(x, outputs.map { (UnsafePointer(p + $0.offset), $0.y, $0.n) }, M: M, K: K)
            }
        }
    }

    /// The decoder over the batch (appending to the cache) and the final norm of the requested rows:
    /// [rows, hidden], the input of the LM head.
    func forwardHidden(_ batch: ForwardBatch, cache: KVCache, rows which: LogitRows,
                       workspace ws: ForwardWorkspace) throws -> [Float] {
        let c = config
        let n = batch.tokens.count
        guard n > 0 else { return [] }
        guard batch.segments.reduce(0, { $0 + $1.count }) == n else {
            throw RPTError("forward: segment lengths do not add up to the token count")
        }
        var rows: [Int] = []
        switch which {
        case .none: break
        case .all: rows = Array(0..<n)
        case .lastOfEachSegment:
            var end = 0
            for seg in batch.segments { end += seg.count; rows.append(end - 1) }
        case .selected(let selected):
            guard selected.allSatisfy({ $0 >= 0 && $0 < n }) else {
                throw RPTError("forward: a selected row is outside the batch's \(n) rows")
            }
            rows = selected
        }
        ws.reserve(tokens: n, config: c)
        let x = ws.x!, xn = ws.xn!, q = ws.q!, k = ws.k!, v = ws.v!, att = ws.att!, gate = ws.gate!, up = ws.up!
        let pos = ws.positions!
        let p = params.base
        let H = c.hiddenSize
        let linear = linearProducts(ws)

        // Positions, bounds, embeddings.
        var row = 0
        for seg in batch.segments {
            let start = cache.lengths[seg.slot]
            guard start + seg.count <= cache.capacity else {
                throw RPTError("sequence in slot \(seg.slot) needs \(start + seg.count) positions but the cache holds \(cache.capacity)")
            }
            guard start + seg.count <= rope.positions else {
                throw RPTError("sequence of \(start + seg.count) tokens exceeds max_position_embeddings (\(rope.positions))")
            }
            for j in 0..<seg.count { pos[row + j] = Int32(start + j) }
            row += seg.count
        }
        for (i, t) in batch.tokens.enumerated() {
            guard t >= 0, t < c.vocabSize else { throw RPTError("token id \(t) is outside the vocabulary (0..<\(c.vocabSize))") }
            (x + i * H).update(from: p + layout.embed + t * H, count: H)
        }

        let shape = AttentionHeads(heads: c.numHeads, kvHeads: c.numKVHeads, headDim: c.headDim)
        // The residual stream x is updated in place; the MLP's product overwrites its gate.
        let buffers = LayerBuffers(xIn: x, xn1: xn, q: q, k: k, v: v, qRaw: nil, kRaw: nil, att: att,
                                   xMid: x, xn2: xn, gate: gate, up: up, h: gate, xOut: x)
        // The last layer computes only the requested rows' outputs when they are fewer than all and in order
        // (decoderLayer's `kept`); it leaves them in the first rows of x.
        let kept: [Int]? = rows.count < n && zip(rows, rows.dropFirst()).allSatisfy({ $0 < $1 }) ? rows : nil
        let last = layout.layers.count - 1
        for l in layout.layers.indices {
            let keptHere = l == last ? kept : nil
            decoderLayer(l, buffers, rows: n, positions: pos, kept: keptHere, linear: linear) { b in
                // Append keys/values to the cache, then attend over each slot's cache.
                var row = 0
                for seg in batch.segments {
                    cache.write(layer: l, slot: seg.slot, position: cache.lengths[seg.slot], keys: b.k + row * c.kvDim,
                                values: b.v + row * c.kvDim, count: seg.count)
                    row += seg.count
                }
                if let keptHere {
                    attendRows(keptHere, batch: batch, cache: cache, layer: l, q: b.q, out: b.att, positions: pos, shape: shape)
                } else {
                    attend(batch: batch, cache: cache, layer: l, q: b.q, out: b.att, shape: shape)
                }
            }
        }
        for seg in batch.segments { cache.lengths[seg.slot] += seg.count }

        // Final norm of the requested rows.
        var hidden = [Float](repeating: 0, count: rows.count * H)
        hidden.withUnsafeMutableBufferPointer { out in
            for (i, r) in rows.enumerated() {
                Vector.rmsNorm(x + (kept == nil ? r : i) * H, p + layout.finalNorm, out.baseAddress! + i * H, count: H,
                               eps: c.rmsNormEps)
            }
        }
        return hidden
    }

    /// Attention for the packed rows `selected` only, whose queries are the first `selected.count` rows of `q`
    /// (the last layer's kept rows): each sees its slot's cache up to its own position. Writes the same rows of `out`.
    private func attendRows(_ selected: [Int], batch: ForwardBatch, cache: KVCache, layer l: Int,
                            q: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>,
                            positions: UnsafePointer<Int32>, shape: AttentionHeads) {
        guard !selected.isEmpty else { return }
        var slotOfRow: [Int] = []
        slotOfRow.reserveCapacity(batch.tokens.count)
        for seg in batch.segments { slotOfRow += repeatElement(seg.slot, count: seg.count) }
        let views = selected.map { cache.view(layer: l, slot: slotOfRow[$0], count: Int(positions[$0]) + 1) }
        Attention.rows(q: q, out: out, rows: selected.count, shape: shape) { views[$0] }
    }

    /// Attention for every segment: long segments through the blocked sgemm path, the rest row by row.
    private func attend(batch: ForwardBatch, cache: KVCache, layer l: Int, q: UnsafeMutablePointer<Float>,
                        out: UnsafeMutablePointer<Float>, shape: AttentionHeads) {
        var rowSegments: [(row: Int, slot: Int, start: Int, count: Int)] = []
        var row = 0
        for seg in batch.segments {
            let start = cache.lengths[seg.slot]
            if seg.count >= 32 {
                // Over a bf16 cache the query is rounded to bf16 as the row kernels round it (ck_attention_scores_bf16).
                if cache.storage == .bf16 { Vector.roundToBF16(q + row * shape.qDim, count: seg.count * shape.qDim) }
                cache.withFP32Rows(layer: l, slot: seg.slot, count: start + seg.count) { keys, values, layout in
                    Attention.blocked(q: q + row * shape.qDim, out: out + row * shape.qDim, count: seg.count, start: start,
                                      keys: keys, values: values, shape: shape, layout: layout)
                }
            } else {
                rowSegments.append((row, seg.slot, start, seg.count))
            }
            row += seg.count
        }
        guard !rowSegments.isEmpty else { return }
        // Gather the rows handled one by one; each sees its own causal prefix of its slot.
        var rowIndex: [Int] = [], views: [KVView] = []
        for s in rowSegments {
            for j in 0..<s.count {
                rowIndex.append(s.row + j)
                views.append(cache.view(layer: l, slot: s.slot, count: s.start + j + 1))
            }
        }
        if rowIndex.count == batch.tokens.count {
            Attention.rows(q: q, out: out, rows: rowIndex.count, shape: shape) { views[$0] }
        } else {
            // Compact the short-segment rows, attend, scatter back.
            let m = rowIndex.count
            let qs = UnsafeMutablePointer<Float>.allocate(capacity: m * shape.qDim)
            let os = UnsafeMutablePointer<Float>.allocate(capacity: m * shape.qDim)
            defer { qs.deallocate(); os.deallocate() }
            for (i, r) in rowIndex.enumerated() { (qs + i * shape.qDim).update(from: q + r * shape.qDim, count: shape.qDim) }
            Attention.rows(q: qs, out: os, rows: m, shape: shape) { views[$0] }
            for (i, r) in rowIndex.enumerated() { (out + r * shape.qDim).update(from: os + i * shape.qDim, count: shape.qDim) }
        }
    }
}
