// The key/value cache: for every layer, `slots` independent sequences of up to `capacity` positions. A slot holds one
// sequence being generated; G samples of one prompt take G slots that start as copies of the prompt's slot (the prompt
// is prefilled once). Within a layer and slot each KV head's rows are one contiguous run, [kvHead][capacity][headDim]
// (KVLayout.headMajor), so decode attention, which reads one KV head per call, reads one stream (docs/kernels.md §8).
// Values are fp32, or bf16 (§8: half the bytes decode attention reads; llama.cpp keeps f16 by default): keys and
// values are rounded to bf16 once, when they are written, and read back as exact fp32.

import CKernels
import RPTKernels

public final class KVCache: InferenceCache, @unchecked Sendable {
    public enum Storage: Sendable { case fp32, bf16 }

    public let layers: Int, slots: Int, capacity: Int, kvDim: Int
    public let storage: Storage
    /// Where a slot's keys and values lie (the same for every layer and slot).
    public let layout: KVLayout
    private let kvHeads: Int, headDim: Int
    /// Number of filled positions per slot.
    public var lengths: [Int]
    private let keys: UnsafeMutableRawPointer
    private let values: UnsafeMutableRawPointer
    private let elementSize: Int

    public init(config: ModelConfig, slots: Int, capacity: Int, storage: Storage = .fp32) {
        self.layers = config.numLayers
        self.slots = slots
        self.capacity = capacity
        self.kvDim = config.kvDim
        self.storage = storage
        kvHeads = config.numKVHeads
        headDim = config.headDim
        layout = .headMajor(AttentionHeads(heads: config.numHeads, kvHeads: config.numKVHeads, headDim: config.headDim),
                            capacity: capacity)
        elementSize = storage == .fp32 ? 4 : 2
        lengths = Array(repeating: 0, count: slots)
        let bytes = max(layers * slots * capacity * kvDim * elementSize, 1)
        keys = .allocate(byteCount: bytes, alignment: 64)
        values = .allocate(byteCount: bytes, alignment: 64)
    }

    deinit { keys.deallocate(); values.deallocate() }

    /// Bytes held by the cache.
    public var byteCount: Int { 2 * layers * slots * capacity * kvDim * elementSize }

    /// Byte offset of KV head `head`'s row at `position` of a slot.
    @inline(__always) private func offset(layer: Int, slot: Int, head: Int = 0, position: Int = 0) -> Int {
        (((layer * slots + slot) * kvHeads + head) * capacity + position) * headDim * elementSize
    }

    /// Writes `count` rows of keys and values (fp32, [count, kvDim], position-major as the projections make them) at
    /// positions `position...` of a slot.
    public func write(layer: Int, slot: Int, position: Int, keys k: UnsafePointer<Float>, values v: UnsafePointer<Float>,
                      count: Int) {
        for h in 0..<kvHeads {
            for r in 0..<count {
                let at = offset(layer: layer, slot: slot, head: h, position: position + r), from = r * kvDim + h * headDim
                switch storage {
                case .fp32:
                    (keys + at).assumingMemoryBound(to: Float.self).update(from: k + from, count: headDim)
                    (values + at).assumingMemoryBound(to: Float.self).update(from: v + from, count: headDim)
                case .bf16:
                    ck_f32_to_bf16(k + from, (keys + at).assumingMemoryBound(to: UInt16.self), headDim)
                    ck_f32_to_bf16(v + from, (values + at).assumingMemoryBound(to: UInt16.self), headDim)
                }
            }
        }
    }

    /// The first `count` rows of a slot as the attention kernels read them.
    public func view(layer: Int, slot: Int, count: Int) -> KVView {
        let at = offset(layer: layer, slot: slot)
        switch storage {
        case .fp32:
            return KVView(keys: UnsafePointer((keys + at).assumingMemoryBound(to: Float.self)),
                          values: UnsafePointer((values + at).assumingMemoryBound(to: Float.self)), count: count, layout: layout)
        case .bf16:
            return KVView(bf16Keys: UnsafePointer((keys + at).assumingMemoryBound(to: UInt16.self)),
                          values: UnsafePointer((values + at).assumingMemoryBound(to: UInt16.self)), count: count, layout: layout)
        }
    }

    /// Runs `body` with the first `count` rows of a slot's keys and values as fp32, and where they lie: the cache
    /// itself, or (bf16) a widened copy, [kvHead][count][headDim].
    public func withFP32Rows<R>(layer: Int, slot: Int, count: Int,
                                _ body: (UnsafePointer<Float>, UnsafePointer<Float>, KVLayout) throws -> R) rethrows -> R {
        let at = offset(layer: layer, slot: slot)
        switch storage {
        case .fp32:
            return try body((keys + at).assumingMemoryBound(to: Float.self), (values + at).assumingMemoryBound(to: Float.self),
                            layout)
        case .bf16:
            let n = count * headDim
            return try withUnsafeTemporaryAllocation(of: Float.self, capacity: max(2 * kvHeads * n, 1)) { wide in
                let k = wide.baseAddress!, v = k + kvHeads * n
                for h in 0..<kvHeads {
                    let from = offset(layer: layer, slot: slot, head: h)
                    ck_bf16_to_f32((keys + from).assumingMemoryBound(to: UInt16.self), k + h * n, n)
                    ck_bf16_to_f32((values + from).assumingMemoryBound(to: UInt16.self), v + h * n, n)
                }
                return try body(k, v, KVLayout(rowStride: headDim, headStride: n))
            }
        }
    }

    /// Makes slot `dst` a copy of the first `lengths[src]` positions of slot `src`.
    public func copySlot(from src: Int, to dst: Int) {
        guard src != dst else { return }
        let bytes = lengths[src] * headDim * elementSize
        for l in 0..<layers {
            for h in 0..<kvHeads {
                let to = offset(layer: l, slot: dst, head: h), from = offset(layer: l, slot: src, head: h)
                (keys + to).copyMemory(from: keys + from, byteCount: bytes)
                (values + to).copyMemory(from: values + from, byteCount: bytes)
            }
        }
        lengths[dst] = lengths[src]
    }

    public func reset(slot: Int) { lengths[slot] = 0 }
    public func resetAll() { for s in 0..<slots { lengths[s] = 0 } }
}

/// Precision of the KV cache (`--kv-cache-dtype`; llama.cpp's --cache-type-k/v, vLLM's --kv-cache-dtype): `auto`
/// follows the inference weights (bf16 weights keep a bf16 cache, fp32 weights an fp32 one); `fp32` or `bf16` choose
/// it whatever the weights. A bf16 cache runs on every CPU (the attention kernels have portable loops).
public enum KVCacheDType: String, Sendable, CaseIterable, Codable {
    case auto, fp32, bf16

    public func storage(weights: InferenceDType) -> KVCache.Storage {
        switch self {
        case .auto: weights == .bf16 ? .bf16 : .fp32
        case .fp32: .fp32
        case .bf16: .bf16
        }
    }
}
