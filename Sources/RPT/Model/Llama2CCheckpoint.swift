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
        guard let data = FileManager.default.contents(atPath: path) else { throw RPTError("cannot read file", file: path) }
        func fail(_ m: String) -> RPTError { RPTError(m, file: path) }
        guard data.count >= 28 else { throw fail("truncated: \(data.count) bytes, too short for the llama2.c header") }
        let header: [Int] = data.withUnsafeBytes { raw in
            (0..<7).map { Int(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self))) }
        }
        if header[0] == 0x616b_3432 {
            throw fail("this is a llama2.c version 1/2 export (magic 'ak42'); only the legacy (version 0) format is supported")
        }
        let (dim, hidden, layers, heads, kvHeads, vocabSigned, seqLen) = (header[0], header[1], header[2], header[3], header[4], header[5], header[6])
        guard dim > 0, hidden > 0, layers > 0, heads > 0, kvHeads > 0, seqLen > 0, vocabSigned != 0,
              dim % heads == 0, heads % kvHeads == 0, (dim / heads) % 2 == 0, dim <= 1 << 16, layers <= 1024 else {
            throw fail("implausible llama2.c header \(header): not a llama2.c legacy checkpoint?")
        }
        let vocab = abs(vocabSigned)
        let tied = vocabSigned > 0
        let headSize = dim / heads
        let kvDim = kvHeads * headSize
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
        let model = Model(config: config)
        let L = layers
        // Sizes in floats, in file order.
        let sections: [(String, Int)] = [
            ("token_embedding", vocab * dim), ("rms_att", L * dim), ("wq", L * dim * dim), ("wk", L * kvDim * dim),
            ("wv", L * kvDim * dim), ("wo", L * dim * dim), ("rms_ffn", L * dim), ("w1", L * hidden * dim),
            ("w2", L * dim * hidden), ("w3", L * hidden * dim), ("rms_final", dim),
            ("freq_cis", seqLen * headSize), ("wcls", tied ? 0 : vocab * dim),
        ]
        let needed = 28 + 4 * sections.reduce(0) { $0 + $1.1 }
        guard data.count >= needed else {
            throw fail("truncated: header describes \(needed) bytes of weights but the file has \(data.count)")
        }
        guard data.count == needed else {
            throw fail("file has \(data.count - needed) trailing bytes after the weights the header describes")
        }
        let p = model.params
        data.withUnsafeBytes { raw in
            var cursor = 28
            func read(_ count: Int, into dst: UnsafeMutablePointer<Float>) {
                for i in 0..<count {
                    dst[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: cursor + 4 * i, as: UInt32.self)))
                }
                cursor += 4 * count
            }
            let lay = model.layout
            read(vocab * dim, into: p.base + lay.embed)
            for l in 0..<L { read(dim, into: p.base + lay.layers[l].inputNorm) }
            var tmp = [Float](repeating: 0, count: dim * dim)
            for l in 0..<L {
                tmp.withUnsafeMutableBufferPointer { read(dim * dim, into: $0.baseAddress!) }
                permuteRotaryRows(tmp, heads: heads, rows: dim, cols: dim, into: p.base + lay.layers[l].wq)
            }
            for l in 0..<L {
                tmp.withUnsafeMutableBufferPointer { read(kvDim * dim, into: $0.baseAddress!) }
                permuteRotaryRows(tmp, heads: kvHeads, rows: kvDim, cols: dim, into: p.base + lay.layers[l].wk)
            }
            for l in 0..<L { read(kvDim * dim, into: p.base + lay.layers[l].wv) }
            for l in 0..<L { read(dim * dim, into: p.base + lay.layers[l].wo) }
            for l in 0..<L { read(dim, into: p.base + lay.layers[l].postNorm) }
            for l in 0..<L { read(hidden * dim, into: p.base + lay.layers[l].gate) }
            for l in 0..<L { read(dim * hidden, into: p.base + lay.layers[l].down) }
            for l in 0..<L { read(hidden * dim, into: p.base + lay.layers[l].up) }
            read(dim, into: p.base + lay.finalNorm)
            cursor += 4 * seqLen * headSize
            if !tied { read(vocab * dim, into: p.base + lay.lmHead) }
        }
        return model
    }

    /// llama2.c export.py's `permute`: per head, rows [pair0.re, pair0.im, pair1.re, ...] become
    /// [all re..., all im...], i.e. w.view(heads, d/2, 2, cols).transpose(1, 2).
    private static func permuteRotaryRows(_ w: [Float], heads: Int, rows: Int, cols: Int, into dst: UnsafeMutablePointer<Float>) {
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
