// The key/value cache: for every layer, `slots` independent sequences of up to `capacity` positions,
// each row kvHeads · headDim values. A slot holds one sequence being generated; G samples of one prompt
// take G slots that start as copies of the prompt's slot (the prompt is prefilled once).
// Values are fp32, or bf16 (docs/kernels.md §8: half the bytes decode attention reads; llama.cpp keeps f16 by
// default): keys and values are rounded to bf16 once, when they are written, and read back as exact fp32.

import CKernels
import RPTKernels

public final class KVCache: InferenceCache, @unchecked Sendable {
    public enum Storage: Sendable { case fp32, bf16 }

    public let layers: Int, slots: Int, capacity: Int, kvDim: Int
    public let storage: Storage
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
        elementSize = storage == .fp32 ? 4 : 2
        lengths = Array(repeating: 0, count: slots)
        let bytes = max(layers * slots * capacity * kvDim * elementSize, 1)
        keys = .allocate(byteCount: bytes, alignment: 64)
        values = .allocate(byteCount: bytes, alignment: 64)
    }

    deinit { keys.deallocate(); values.deallocate() }

    /// Bytes held by the cache.
    public var byteCount: Int { 2 * layers * slots * capacity * kvDim * elementSize }

    /// Byte offset of a cache row.
    @inline(__always) private func offset(layer: Int, slot: Int, position: Int = 0) -> Int {
        ((layer * slots + slot) * capacity + position) * kvDim * elementSize
    }

    /// Writes `count` rows of keys and values (fp32, [count, kvDim]) at positions `position...` of a slot.
    public func write(layer: Int, slot: Int, position: Int, keys k: UnsafePointer<Float>, values v: UnsafePointer<Float>,
                      count: Int) {
        let at = offset(layer: layer, slot: slot, position: position), n = count * kvDim
        switch storage {
        case .fp32:
            (keys + at).assumingMemoryBound(to: Float.self).update(from: k, count: n)
            (values + at).assumingMemoryBound(to: Float.self).update(from: v, count: n)
        case .bf16:
            ck_f32_to_bf16(k, (keys + at).assumingMemoryBound(to: UInt16.self), n)
            ck_f32_to_bf16(v, (values + at).assumingMemoryBound(to: UInt16.self), n)
        }
    }

    /// The first `count` rows of a slot as the attention kernels read them.
    public func view(layer: Int, slot: Int, count: Int) -> KVView {
        let at = offset(layer: layer, slot: slot)
        switch storage {
        case .fp32:
            return KVView(keys: UnsafePointer((keys + at).assumingMemoryBound(to: Float.self)),
                          values: UnsafePointer((values + at).assumingMemoryBound(to: Float.self)), count: count)
        case .bf16:
            return KVView(bf16Keys: UnsafePointer((keys + at).assumingMemoryBound(to: UInt16.self)),
                          values: UnsafePointer((values + at).assumingMemoryBound(to: UInt16.self)), count: count)
        }
    }

    /// Runs `body` with the first `count` rows of a slot's keys and values as fp32 [count, kvDim]: the cache itself,
    /// or (bf16) a widened copy.
    public func withFP32Rows<R>(layer: Int, slot: Int, count: Int,
                                _ body: (UnsafePointer<Float>, UnsafePointer<Float>) throws -> R) rethrows -> R {
        let at = offset(layer: layer, slot: slot)
        switch storage {
        case .fp32:
            return try body((keys + at).assumingMemoryBound(to: Float.self), (values + at).assumingMemoryBound(to: Float.self))
        case .bf16:
            let n = count * kvDim
            return try withUnsafeTemporaryAllocation(of: Float.self, capacity: max(2 * n, 1)) { wide in
                let k = wide.baseAddress!, v = k + n
                ck_bf16_to_f32((keys + at).assumingMemoryBound(to: UInt16.self), k, n)
                ck_bf16_to_f32((values + at).assumingMemoryBound(to: UInt16.self), v, n)
                return try body(k, v)
            }
        }
    }

    /// Makes slot `dst` a copy of the first `lengths[src]` positions of slot `src`.
    public func copySlot(from src: Int, to dst: Int) {
        guard src != dst else { return }
        let bytes = lengths[src] * kvDim * elementSize
        for l in 0..<layers {
            (keys + offset(layer: l, slot: dst)).copyMemory(from: keys + offset(layer: l, slot: src), byteCount: bytes)
            (values + offset(layer: l, slot: dst)).copyMemory(from: values + offset(layer: l, slot: src), byteCount: bytes)
        }
        lengths[dst] = lengths[src]
    }

    public func reset(slot: Int) { lengths[slot] = 0 }
    public func resetAll() { for s in 0..<slots { lengths[s] = 0 } }
}
