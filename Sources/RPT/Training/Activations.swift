// What the training forward pass keeps for the backward pass (llm.c's ActivationTensors), per layer:
// the residual input, the normed inputs of both blocks, q/k (after RoPE; before q/k-norm too for
// Qwen3), v, the attention output, the residual after attention, and the MLP's gate/up/product.
// Attention probabilities are not stored: only each row's log-sum-exp (see AttentionTraining.swift).

final class Activations: @unchecked Sendable {
    struct Layer {
        var xIn, xn1, q, k, v, att, xMid, xn2, gate, up, h: UnsafeMutablePointer<Float>
        var qRaw, kRaw: UnsafeMutablePointer<Float>?
        /// Row log-sum-exp of the attention scores: for the sequence starting at packed row r0 with
        /// length L, heads × L values at offset r0 · heads.
        var lse: UnsafeMutablePointer<Float>
    }

    let tokens: Int
    var layers: [Layer] = []
    /// Residual stream after the last layer, and its final RMSNorm.
    let xOut, xnf: UnsafeMutablePointer<Float>
    /// log Σ exp(logits) and log p(target) per position (0 where there is no target).
    let headLSE, logProbs: UnsafeMutablePointer<Float>
    private var owned: [UnsafeMutablePointer<Float>] = []

    init(config c: ModelConfig, tokens n: Int) {
        tokens = n
        func alloc(_ count: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
            p.initialize(repeating: 0, count: max(count, 1))
            return p
        }
        var owned: [UnsafeMutablePointer<Float>] = []
        func a(_ count: Int) -> UnsafeMutablePointer<Float> { let p = alloc(count); owned.append(p); return p }
        for _ in 0..<c.numLayers {
            layers.append(Layer(xIn: a(n * c.hiddenSize), xn1: a(n * c.hiddenSize), q: a(n * c.qDim), k: a(n * c.kvDim),
                                v: a(n * c.kvDim), att: a(n * c.qDim), xMid: a(n * c.hiddenSize), xn2: a(n * c.hiddenSize),
                                gate: a(n * c.intermediateSize), up: a(n * c.intermediateSize), h: a(n * c.intermediateSize),
                                qRaw: c.qkNorm ? a(n * c.qDim) : nil, kRaw: c.qkNorm ? a(n * c.kvDim) : nil,
                                lse: a(n * c.numHeads)))
        }
        xOut = a(n * c.hiddenSize)
        xnf = a(n * c.hiddenSize)
        headLSE = a(n)
        logProbs = a(n)
        self.owned = owned
    }

    deinit { for p in owned { p.deallocate() } }

    /// Bytes held (for memory reports).
    static func byteCount(config c: ModelConfig, tokens n: Int) -> Int {
        let perLayer = n * (4 * c.hiddenSize + 2 * c.qDim + 2 * c.kvDim + 3 * c.intermediateSize + c.numHeads)
            + (c.qkNorm ? n * (c.qDim + c.kvDim) : 0)
        return 4 * (c.numLayers * perLayer + n * (2 * c.hiddenSize + 2))
    }
}
