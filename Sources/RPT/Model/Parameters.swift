// All parameters of a model in one contiguous, 64-byte-aligned Float32 buffer (llm.c's ParameterTensors):
// one allocation makes AdamW, gradient zeroing, clipping and checkpointing single loops, and gradients
// reuse the same layout. Names and shapes are the Hugging Face state-dict names, so loading and saving
// safetensors is a name lookup.

import Foundation

public struct ParameterSpec: Sendable, Equatable {
    public var name: String
    public var shape: [Int]
    public var offset: Int
    public var count: Int { shape.reduce(1, *) }
    /// Matrices get weight decay; norms and biases do not (the usual AdamW grouping).
    public var isMatrix: Bool { shape.count >= 2 }
}

/// A flat Float32 buffer with named views. Reference semantics: copy with `clone()`.
public final class ParameterBuffer: @unchecked Sendable {
    public let specs: [ParameterSpec]
    public let count: Int
    public let base: UnsafeMutablePointer<Float>
    private let index: [String: Int]
    /// Moves on every in-place update of the values (`markModified()`, called by the optimizer), so copies derived
    /// from them (the bf16 inference weights) know to refresh.
    public private(set) var generation: UInt64 = 0

    public init(specs: [ParameterSpec]) {
        self.specs = specs
        self.count = specs.last.map { $0.offset + $0.count } ?? 0
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
        base = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        base.initialize(repeating: 0, count: max(count, 1))
        var idx: [String: Int] = [:]
        for (i, s) in specs.enumerated() { idx[s.name] = i }
        index = idx
    }

    deinit { base.deallocate() }

    public func spec(_ name: String) -> ParameterSpec? { index[name].map { specs[$0] } }

    /// Pointer to a named tensor (the name must exist: layouts are built from the config).
    public func pointer(_ name: String) -> UnsafeMutablePointer<Float> {
        base + specs[index[name]!].offset
    }

    public func values(_ name: String) -> [Float] {
        let s = specs[index[name]!]
        return Array(UnsafeBufferPointer(start: base + s.offset, count: s.count))
    }

    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: base, count: count) }

    public func clone() -> ParameterBuffer {
        let c = ParameterBuffer(specs: specs)
        c.base.update(from: base, count: count)
        return c
    }

    public func zero() { base.update(repeating: 0, count: count); markModified() }

    /// Records that the values changed in place (see `generation`).
    public func markModified() { generation &+= 1 }
}

/// Offsets of one decoder layer's tensors inside a `ParameterBuffer` (nil where the family has none).
public struct LayerOffsets: Sendable {
    public var inputNorm = 0, wq = 0, wk = 0, wv = 0, wo = 0
    public var bq: Int?, bk: Int?, bv: Int?, bo: Int?
    public var qNorm: Int?, kNorm: Int?
    public var postNorm = 0, gate = 0, up = 0, down = 0
}

/// The tensor names, shapes and offsets of a model, derived from its config.
public struct ModelLayout: Sendable {
    public var specs: [ParameterSpec] = []
    public var embed = 0
    public var layers: [LayerOffsets] = []
    public var finalNorm = 0
    /// Offset of the LM head; equals `embed` when embeddings are tied.
    public var lmHead = 0

    public init(config c: ModelConfig) {
        var offset = 0
        func add(_ name: String, _ shape: [Int]) -> Int {
            let spec = ParameterSpec(name: name, shape: shape, offset: offset)
            specs.append(spec)
            // Keep every tensor 64-byte aligned for the SIMD kernels.
            offset += (spec.count + 15) / 16 * 16
            return spec.offset
        }
        let h = c.hiddenSize
        embed = add("model.embed_tokens.weight", [c.vocabSize, h])
        for l in 0..<c.numLayers {
            let p = "model.layers.\(l)."
            var o = LayerOffsets()
            o.inputNorm = add(p + "input_layernorm.weight", [h])
            o.wq = add(p + "self_attn.q_proj.weight", [c.qDim, h])
            if c.qkvBias { o.bq = add(p + "self_attn.q_proj.bias", [c.qDim]) }
            o.wk = add(p + "self_attn.k_proj.weight", [c.kvDim, h])
            if c.qkvBias { o.bk = add(p + "self_attn.k_proj.bias", [c.kvDim]) }
            o.wv = add(p + "self_attn.v_proj.weight", [c.kvDim, h])
            if c.qkvBias { o.bv = add(p + "self_attn.v_proj.bias", [c.kvDim]) }
            o.wo = add(p + "self_attn.o_proj.weight", [h, c.qDim])
            if c.oBias { o.bo = add(p + "self_attn.o_proj.bias", [h]) }
            if c.qkNorm {
                o.qNorm = add(p + "self_attn.q_norm.weight", [c.headDim])
                o.kNorm = add(p + "self_attn.k_norm.weight", [c.headDim])
            }
            o.postNorm = add(p + "post_attention_layernorm.weight", [h])
            o.gate = add(p + "mlp.gate_proj.weight", [c.intermediateSize, h])
            o.up = add(p + "mlp.up_proj.weight", [c.intermediateSize, h])
            o.down = add(p + "mlp.down_proj.weight", [h, c.intermediateSize])
            layers.append(o)
        }
        finalNorm = add("model.norm.weight", [h])
        lmHead = c.tiedEmbeddings ? embed : add("lm_head.weight", [c.vocabSize, h])
    }
}

/// Index of the first NaN or ±Inf among `count` floats, or nil when all are finite.
/// A float is non-finite exactly when its 8 exponent bits are all ones; adding 1 to the exponent field then
/// carries into bit 31, so one branch-free pass of and/add/or (which the compiler vectorises) detects any, and
/// only then does a scalar search locate the first.
public func firstNonFinite(_ values: UnsafePointer<Float>, count: Int) -> Int? {
    var carry: UInt32 = 0
    values.withMemoryRebound(to: UInt32.self, capacity: count) { bits in
        for i in 0..<count { carry |= (bits[i] & 0x7F80_0000) &+ 0x0080_0000 }
    }
    guard carry & 0x8000_0000 != 0 else { return nil }
    return (0..<count).first { !values[$0].isFinite }
}
