// llama2.c's legacy checkpoint format (karpathy/llama2.c `export.py --version 0`, read by run.c):
// seven int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len; a negative vocab_size
// means an untied classifier follows), then Float32 tensors in order: token embedding, attention RMSNorm
// weights, wq, wk, wv, wo, FFN RMSNorm weights, w1, w2, w3, final RMSNorm, RoPE tables (freq_cis real and
// imaginary, unused here), and the classifier when untied.
//
// llama2.c rotates interleaved pairs (x[2i], x[2i+1]); transformers rotates halves. We import into the
// Hugging Face convention by permuting the rows of wq and wk per head exactly as llama2.c's HF export does.

import Foundation

extension Model {
    static func loadLlama2C(path: String) throws -> Model {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            throw RPTError("cannot read file (\(error.localizedDescription))", file: path)
        }
        // Everything the header claims is checked against fixed bounds and the file's size before any allocation.
        let header = try Llama2CHeader(data, file: path)
        let config = header.config
        try checkAllocation(config: config, file: path)
        let model = Model(config: config)
        try header.readWeights(data, into: model, file: path)
        return model
    }

    /// llama2.c export.py's `permute`: per head, rows [pair0.re, pair0.im, pair1.re, ...] become
    /// [all re..., all im...], i.e. w.view(heads, d/2, 2, cols).transpose(1, 2).
    fileprivate static func permuteRotaryRows(_ w: [Float], heads: Int, rows: Int, cols: Int, into dst: UnsafeMutablePointer<Float>) {
        let perHead = rows / heads
        let half = perHead / 2
        for h in 0..<heads {
            for i in 0..<half {
                for part in 0..<2 {
                    let src = h * perHead + 2 * i + part
                    let out = h * perHead + part * half + i
                    for c in 0..<cols { dst[out * cols + c] = w[src * cols + c] }
                }
            }
        }
    }
}

/// The seven int32 of a legacy llama2.c header, validated: each within ModelLimits, consistent with one another,
/// and describing exactly as many weights as the file holds.
struct Llama2CHeader {
    static let byteCount = 28
    let dim, hidden, layers, heads, kvHeads, vocab, seqLen: Int
    /// A positive vocab_size means the classifier is tied to the token embedding.
    let tied: Bool
    var headSize: Int { dim / heads }
    var kvDim: Int { kvHeads * headSize }

    init(_ data: Data, file: String) throws {
        func fail(_ m: String) -> RPTError { RPTError(m, file: file) }
        guard data.count >= Self.byteCount else {
            throw fail("truncated: \(data.count) bytes, too short for the llama2.c header")
        }
        let h: [Int] = data.withUnsafeBytes { raw in
            (0..<7).map { Int(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self))) }
        }
        if h[0] == 0x616b_3432 {
            throw fail("this is a llama2.c version 1/2 export (magic 'ak42'); only the legacy (version 0) format is supported")
        }
        func implausible(_ why: String) -> RPTError {
            fail("implausible llama2.c header \(h): \(why); not a llama2.c legacy checkpoint?")
        }
        // Each field is positive and within the same bounds as config.json (ModelLimits), so size products cannot
        // overflow and seq_len cannot request gigabytes of RoPE tables.
        let fields: [(String, Int, Int)] = [
            ("dim", h[0], ModelLimits.hiddenSize), ("hidden_dim", h[1], ModelLimits.intermediateSize),
            ("n_layers", h[2], ModelLimits.layers), ("n_heads", h[3], ModelLimits.heads),
            ("n_kv_heads", h[4], ModelLimits.heads), ("vocab_size", abs(h[5]), ModelLimits.vocabSize),
            ("seq_len", h[6], ModelLimits.positions),
        ]
        for (name, value, limit) in fields {
            guard value > 0 else { throw implausible("\(name) = \(value) is not positive") }
            guard value <= limit else { throw implausible("\(name) = \(value) exceeds the limit \(limit)") }
        }
        (dim, hidden, layers, heads, kvHeads, vocab, seqLen) = (h[0], h[1], h[2], h[3], h[4], abs(h[5]), h[6])
        tied = h[5] > 0
        // Heads split dim evenly, key/value heads are shared by whole groups of heads, RoPE rotates pairs.
        guard dim % heads == 0, heads % kvHeads == 0, (dim / heads) % 2 == 0 else {
            throw implausible("dim \(dim), n_heads \(heads), n_kv_heads \(kvHeads) do not give an even head size shared by whole head groups")
        }
        // The weights the header implies must be exactly the rest of the file.
        guard let floats = checkedSum(sections.map { checkedProduct($0.shape) }),
              let needed = checkedSum([Self.byteCount, checkedProduct([floats, 4])]) else {
            throw implausible("the sizes it implies overflow")
        }
        guard data.count >= needed else {
            throw fail("truncated: header describes \(needed) bytes of weights but the file has \(data.count)")
        }
        guard data.count == needed else {
            throw fail("file has \(data.count - needed) trailing bytes after the weights the header describes")
        }
    }

    /// Tensor groups in file order with their shapes (layer-stacked groups lead with n_layers). freq_cis is the
    /// RoPE tables llama2.c stores (real and imaginary halves); we compute our own.
    var sections: [(name: String, shape: [Int])] {
        let L = layers
        return [
            ("token_embedding", [vocab, dim]), ("rms_att", [L, dim]), ("wq", [L, dim, dim]), ("wk", [L, kvDim, dim]),
            ("wv", [L, kvDim, dim]), ("wo", [L, dim, dim]), ("rms_ffn", [L, dim]), ("w1", [L, hidden, dim]),
            ("w2", [L, dim, hidden]), ("w3", [L, hidden, dim]), ("rms_final", [dim]),
            ("freq_cis", [seqLen, headSize]), ("wcls", tied ? [0] : [vocab, dim]),
        ]
    }

    var config: ModelConfig {
        var config = ModelConfig(family: .llama, hiddenSize: dim, intermediateSize: hidden, numLayers: layers,
                                 numHeads: heads, numKVHeads: kvHeads, vocabSize: vocab, maxPositions: seqLen,
                                 rmsNormEps: 1e-5, ropeTheta: 10000, tiedEmbeddings: tied,
                                 bosTokenId: 1, eosTokenIds: [2])
        config.raw = .object([
            "architectures": .array([.string("LlamaForCausalLM")]), "model_type": .string("llama"),
            "hidden_size": .number(Double(dim)), "intermediate_size": .number(Double(hidden)),
            "num_hidden_layers": .number(Double(layers)), "num_attention_heads": .number(Double(heads)),
            "num_key_value_heads": .number(Double(kvHeads)), "vocab_size": .number(Double(vocab)),
            "max_position_embeddings": .number(Double(seqLen)), "rms_norm_eps": .number(1e-5),
            "rope_theta": .number(10000), "tie_word_embeddings": .bool(tied), "hidden_act": .string("silu"),
            "bos_token_id": .number(1), "eos_token_id": .number(2), "torch_dtype": .string("float32"),
        ])
        return config
    }

    /// Copies the weights (whose size the initialiser checked) into `model`, refusing NaN or ±Inf in any group.
    func readWeights(_ data: Data, into model: Model, file: String) throws {
        let p = model.params
        let lay = model.layout
        let (L, dim, hidden, kvDim) = (layers, self.dim, self.hidden, self.kvDim)
        try data.withUnsafeBytes { raw in
            var cursor = Self.byteCount
            func read(_ count: Int, into dst: UnsafeMutablePointer<Float>, _ group: String, layer: Int? = nil) throws {
                for i in 0..<count {
                    dst[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: cursor + 4 * i, as: UInt32.self)))
                }
                cursor += 4 * count
                let label = "tensor group '\(group)'" + (layer.map { " (layer \($0) of \(L))" } ?? "")
                try requireFinite(dst, count: count, label: label, file: file)
            }
            try read(vocab * dim, into: p.base + lay.embed, "token_embedding")
            for l in 0..<L { try read(dim, into: p.base + lay.layers[l].inputNorm, "rms_att", layer: l) }
            var tmp = [Float](repeating: 0, count: dim * dim)
            for l in 0..<L {
                try tmp.withUnsafeMutableBufferPointer { try read(dim * dim, into: $0.baseAddress!, "wq", layer: l) }
                Model.permuteRotaryRows(tmp, heads: heads, rows: dim, cols: dim, into: p.base + lay.layers[l].wq)
            }
            for l in 0..<L {
                try tmp.withUnsafeMutableBufferPointer { try read(kvDim * dim, into: $0.baseAddress!, "wk", layer: l) }
                Model.permuteRotaryRows(tmp, heads: kvHeads, rows: kvDim, cols: dim, into: p.base + lay.layers[l].wk)
            }
            for l in 0..<L { try read(kvDim * dim, into: p.base + lay.layers[l].wv, "wv", layer: l) }
            for l in 0..<L { try read(dim * dim, into: p.base + lay.layers[l].wo, "wo", layer: l) }
            for l in 0..<L { try read(dim, into: p.base + lay.layers[l].postNorm, "rms_ffn", layer: l) }
            for l in 0..<L { try read(hidden * dim, into: p.base + lay.layers[l].gate, "w1", layer: l) }
            for l in 0..<L { try read(dim * hidden, into: p.base + lay.layers[l].down, "w2", layer: l) }
            for l in 0..<L { try read(hidden * dim, into: p.base + lay.layers[l].up, "w3", layer: l) }
            try read(dim, into: p.base + lay.finalNorm, "rms_final")
            cursor += 4 * seqLen * headSize      // freq_cis: unused
            if !tied { try read(vocab * dim, into: p.base + lay.lmHead, "wcls") }
        }
    }
}
