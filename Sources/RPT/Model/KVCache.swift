// The key/value cache: for every layer, `slots` independent sequences of up to `capacity` positions,
// each row kvHeads · headDim floats. A slot holds one sequence being generated; G samples of one prompt
// take G slots that start as copies of the prompt's slot (the prompt is prefilled once).

public final class KVCache: InferenceCache, @unchecked Sendable {
    public let layers: Int, slots: Int, capacity: Int, kvDim: Int
    /// Number of filled positions per slot.
    public var lengths: [Int]
    let keys: UnsafeMutablePointer<Float>
    let values: UnsafeMutablePointer<Float>

    public init(config: ModelConfig, slots: Int, capacity: Int) {
        self.layers = config.numLayers
        self.slots = slots
        self.capacity = capacity
        self.kvDim = config.kvDim
        lengths = Array(repeating: 0, count: slots)
        let n = layers * slots * capacity * kvDim
        keys = .allocate(capacity: max(n, 1))
        values = .allocate(capacity: max(n, 1))
    }

    deinit { keys.deallocate(); values.deallocate() }

    /// Bytes held by the cache.
    public var byteCount: Int { 2 * layers * slots * capacity * kvDim * 4 }

    @inline(__always) func offset(layer: Int, slot: Int, position: Int = 0) -> Int {
        ((layer * slots + slot) * capacity + position) * kvDim
    }

    public func keys(layer: Int, slot: Int) -> UnsafeMutablePointer<Float> { keys + offset(layer: layer, slot: slot) }
    public func values(layer: Int, slot: Int) -> UnsafeMutablePointer<Float> { values + offset(layer: layer, slot: slot) }

    /// Makes slot `dst` a copy of the first `lengths[src]` positions of slot `src`.
    public func copySlot(from src: Int, to dst: Int) {
        guard src != dst else { return }
        let n = lengths[src] * kvDim
        for l in 0..<layers {
            (keys + offset(layer: l, slot: dst)).update(from: keys + offset(layer: l, slot: src), count: n)
            (values + offset(layer: l, slot: dst)).update(from: values + offset(layer: l, slot: src), count: n)
        }
        lengths[dst] = lengths[src]
    }

    public func reset(slot: Int) { lengths[slot] = 0 }
    public func resetAll() { for s in 0..<slots { lengths[s] = 0 } }
}
