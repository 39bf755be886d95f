// `rpt export --to gguf`: a Llama / Qwen2 / Qwen3 model and its tokenizer as one GGUF file (GGUFWriter.swift,
// GGUF spec: github.com/ggml-org/ggml docs/gguf.md) that llama.cpp, Ollama and LM Studio load. The mapping
// follows what llama.cpp's own converter (convert_hf_to_gguf.py, gguf-py constants.py / tensor_mapping.py) writes
// and what its loader reads (src/llama-model.cpp, src/models/{llama,qwen2,qwen3}.cpp):
//
//   general.architecture   "llama" | "qwen2" | "qwen3"; general.type "model", general.name, general.file_type
//                          (0 all F32, 32 mostly BF16), general.quantization_version 2, general.alignment 32
//   {arch}.*               context_length, embedding_length, block_count, feed_forward_length,
//                          attention.head_count, attention.head_count_kv, rope.freq_base,
//                          attention.layer_norm_rms_epsilon; attention.key_length / value_length (llama, qwen3;
//                          qwen2 when head_dim is not hidden/heads or config.json names it); llama adds vocab_size and
//                          rope.dimension_count; linear RoPE scaling: rope.scaling.type "linear" + rope.scaling.factor
//   tensors                token_embd, blk.N.{attn_norm, attn_q, attn_k, attn_v, attn_output, attn_q_norm,
//                          attn_k_norm, ffn_norm, ffn_gate, ffn_up, ffn_down} (.weight; q/k/v/output .bias when
//                          present), output_norm, output (absent when embeddings are tied: llama.cpp then uses
//                          token_embd), rope_freqs (Llama 3.1 scaling: per-frequency divisors)
//
// llama.cpp's "llama" graph applies RoPE to interleaved pairs (x[2i], x[2i+1]) while Hugging Face weights rotate
// halves, so attn_q / attn_k rows (and biases) are permuted per head exactly as the converter's `permute` does;
// Qwen2/Qwen3 use NEOX (rotate-half) RoPE in llama.cpp and keep the Hugging Face order. With --type bf16, matrices
// are BF16 and 1-D tensors (norms, biases, rope_freqs) stay F32, as the converter leaves them.

import Foundation

/// Tensor precision of an export.
public enum GGUFFileType: String, CaseIterable, Sendable {
    case f32, bf16

    /// `general.file_type` (llama.h `llama_ftype`: ALL_F32 = 0, MOSTLY_BF16 = 32).
    var fileTypeCode: UInt32 { self == .f32 ? 0 : 32 }
    var matrixType: GGMLType { self == .f32 ? .f32 : .bf16 }
}

public enum GGUFExport {
    /// The llama.cpp architecture name of a model family.
    public static func architecture(_ family: ModelFamily) -> String {
        switch family {
        case .llama: "llama"
        case .qwen2: "qwen2"
        case .qwen3: "qwen3"
        }
    }

    /// What was written.
    public struct Summary: Sendable {
        public var architecture: String
        public var tensors: Int
        public var bytes: Int
        public var tokenizerModel: String
        public var preTokenizer: String
        public var vocabSize: Int
    }

    /// Builds the GGUF for a loaded model and tokenizer. `source` names the model in errors; `name` is general.name.
    public static func writer(model: Model, tokenizer: any Tokenizer, tokenizerPath: String, source: String, name: String,
                              type: GGUFFileType) throws -> GGUFWriter {
        let c = model.config
        try requireRepresentable(c, source: source)
        let vocab = try GGUFVocabulary.make(tokenizer: tokenizer, path: tokenizerPath, config: c)
        let arch = architecture(c.family)

        var w = GGUFWriter()
        w.set("general.architecture", .string(arch))
        w.set("general.type", .string("model"))
        w.set("general.name", .string(name))
        w.set("general.file_type", .uint32(type.fileTypeCode))
        w.set("general.quantization_version", .uint32(2))
        func u32(_ key: String, _ v: Int) { w.set("\(arch).\(key)", .uint32(UInt32(v))) }
        if c.family == .llama { u32("vocab_size", c.vocabSize) }
        u32("context_length", c.maxPositions)
        u32("embedding_length", c.hiddenSize)
        u32("block_count", c.numLayers)
        u32("feed_forward_length", c.intermediateSize)
        u32("attention.head_count", c.numHeads)
        u32("attention.head_count_kv", c.numKVHeads)
        w.set("\(arch).rope.freq_base", .float32(Float(c.ropeTheta)))
        w.set("\(arch).attention.layer_norm_rms_epsilon", .float32(c.rmsNormEps))
        // transformers' Llama and Qwen3 configs always carry head_dim, and the converter then writes these keys.
        if c.family != .qwen2 || c.headDim * c.numHeads != c.hiddenSize || c.raw["head_dim"]?.int != nil {
            u32("attention.key_length", c.headDim)
            u32("attention.value_length", c.headDim)
        }
        if c.family == .llama { u32("rope.dimension_count", c.headDim) }
        if case .linear(let factor) = c.ropeScaling {
            w.set("\(arch).rope.scaling.type", .string("linear"))
            w.set("\(arch).rope.scaling.factor", .float32(Float(factor)))
        }
        vocab.apply(to: &w)

        // Tensors, in the order llama.cpp lists them.
        let p = model.params
        func tensor(_ gguf: String, _ hf: String, permuteHeads: Int? = nil) throws {
            guard let spec = p.spec(hf) else { return }
            let tensorType: GGMLType = spec.shape.count == 1 ? .f32 : type.matrixType
            if let heads = permuteHeads, c.family == .llama {
                let values = interleavedRoPEOrder(Array(UnsafeBufferPointer(start: p.base + spec.offset, count: spec.count)),
                                                  heads: heads, rows: spec.shape[0])
                try w.addTensor(gguf, shape: spec.shape, type: tensorType, source: .values(values))
            } else {
                try w.addTensor(gguf, shape: spec.shape, type: tensorType, source: .parameters(p, offset: spec.offset, count: spec.count))
            }
        }
        try tensor("token_embd.weight", "model.embed_tokens.weight")
        if case .llama3 = c.ropeScaling {
            try w.addTensor("rope_freqs.weight", shape: [c.headDim / 2], type: .f32, source: .values(llama3FrequencyDivisors(c)))
        }
        for l in 0..<c.numLayers {
            let hf = "model.layers.\(l).", gg = "blk.\(l)."
            try tensor(gg + "attn_norm.weight", hf + "input_layernorm.weight")
            try tensor(gg + "attn_q.weight", hf + "self_attn.q_proj.weight", permuteHeads: c.numHeads)
            try tensor(gg + "attn_q.bias", hf + "self_attn.q_proj.bias", permuteHeads: c.numHeads)
            try tensor(gg + "attn_k.weight", hf + "self_attn.k_proj.weight", permuteHeads: c.numKVHeads)
            try tensor(gg + "attn_k.bias", hf + "self_attn.k_proj.bias", permuteHeads: c.numKVHeads)
            try tensor(gg + "attn_v.weight", hf + "self_attn.v_proj.weight")
            try tensor(gg + "attn_v.bias", hf + "self_attn.v_proj.bias")
            try tensor(gg + "attn_output.weight", hf + "self_attn.o_proj.weight")
            try tensor(gg + "attn_output.bias", hf + "self_attn.o_proj.bias")
            try tensor(gg + "attn_q_norm.weight", hf + "self_attn.q_norm.weight")
            try tensor(gg + "attn_k_norm.weight", hf + "self_attn.k_norm.weight")
            try tensor(gg + "ffn_norm.weight", hf + "post_attention_layernorm.weight")
            try tensor(gg + "ffn_gate.weight", hf + "mlp.gate_proj.weight")
            try tensor(gg + "ffn_up.weight", hf + "mlp.up_proj.weight")
            try tensor(gg + "ffn_down.weight", hf + "mlp.down_proj.weight")
        }
        try tensor("output_norm.weight", "model.norm.weight")
        if !c.tiedEmbeddings { try tensor("output.weight", "lm_head.weight") }
        return w
    }

    /// Loads `modelPath` (an HF directory, its config.json, a llama2.c .bin with `tokenizerPath`, or a training run
    /// directory, meaning its newest checkpoint) and writes the GGUF to `out` atomically.
    public static func export(model modelPath: String, tokenizer tokenizerPath: String?, out: String,
                              type: GGUFFileType, name: String? = nil) throws -> Summary {
        let resolved = resolveModelPath(modelPath)
        let lm = try LanguageModel.load(model: resolved, tokenizer: tokenizerPath)
        let defaultName = ((resolved as NSString).lastPathComponent as NSString).deletingPathExtension
        let w = try writer(model: lm.model, tokenizer: lm.tokenizer, tokenizerPath: tokenizerPath ?? resolved, source: resolved,
                           name: name ?? defaultName, type: type)
        try OutputGuard.refuseOverwriting(out, inputs: inputFiles([resolved, tokenizerPath].compactMap { $0 }))
        let bytes = try w.write(to: out)
        return Summary(architecture: architecture(lm.model.config.family), tensors: w.tensors.count, bytes: bytes,
                       tokenizerModel: w.value("tokenizer.ggml.model").flatMap { if case .string(let s) = $0 { s } else { nil } } ?? "",
                       preTokenizer: w.value("tokenizer.ggml.pre").flatMap { if case .string(let s) = $0 { s } else { nil } } ?? "",
                       vocabSize: lm.model.config.vocabSize)
    }

    /// The paths read from: each given path, and every file of a given directory.
    static func inputFiles(_ paths: [String]) -> [String] {
        paths.flatMap { path -> [String] in
            let inside = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            return [path] + inside.map { (path as NSString).appendingPathComponent($0) }
        }
    }

    /// A run directory (no config.json, but checkpoints) stands for its newest checkpoint.
    public static func resolveModelPath(_ path: String) -> String {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue,
              !FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent("config.json")),
              let latest = Checkpoint.latest(in: path) else { return path }
        return latest
    }

    /// Refuses what llama.cpp's graphs for these architectures cannot represent, naming the config.
    static func requireRepresentable(_ c: ModelConfig, source: String) throws {
        let arch = architecture(c.family)
        func fail(_ m: String) -> RPTError { RPTError("cannot export to GGUF: " + m, file: source) }
        if c.family == .qwen2, c.qDim != c.hiddenSize {
            throw fail("llama.cpp's qwen2 needs num_attention_heads × head_dim = hidden_size (\(c.numHeads) × \(c.headDim) ≠ \(c.hiddenSize))")
        }
        if c.family != .llama, c.oBias { throw fail("llama.cpp's \(arch) has no o_proj bias (attention_bias = true)") }
        if c.family != .llama, case .llama3 = c.ropeScaling {
            throw fail("llama.cpp's \(arch) does not read Llama 3 RoPE scaling (rope_freqs); only the llama architecture does")
        }
    }

    /// Rows of a q or k projection (or its bias), reordered per head from Hugging Face's rotate-half layout
    /// [re_0 … re_{d/2-1}, im_0 … im_{d/2-1}] to the interleaved [re_0, im_0, re_1, im_1, …] that llama.cpp's
    /// "llama" RoPE expects: w.reshape(heads, 2, d/2, cols).swapaxes(1, 2), as convert_hf_to_gguf.py permutes.
    static func interleavedRoPEOrder(_ w: [Float], heads: Int, rows: Int) -> [Float] {
        let cols = w.count / rows, d = rows / heads, half = d / 2
        var out = [Float](repeating: 0, count: w.count)
        for h in 0..<heads {
            for j in 0..<half {
                for t in 0..<2 {
                    let src = (h * d + t * half + j) * cols, dst = (h * d + 2 * j + t) * cols
                    for k in 0..<cols { out[dst + k] = w[src + k] }
                }
            }
        }
        return out
    }

    /// Llama 3.1 RoPE scaling as llama.cpp reads it: `rope_freqs` holds, per frequency, the divisor of the unscaled
    /// inverse frequency (1 at high frequencies, `factor` at low ones, a smooth blend between), computed as the
    /// converter computes it.
    static func llama3FrequencyDivisors(_ c: ModelConfig) -> [Float] {
        guard case .llama3(let factor, let low, let high, let original) = c.ropeScaling else { return [] }
        // In Float32 throughout, as the converter's torch arithmetic is.
        let d = c.headDim
        let lowWavelen = Float(Double(original) / low), highWavelen = Float(Double(original) / high)
        return (0..<(d / 2)).map { i in
            let freq: Float = 1 / powf(Float(c.ropeTheta), Float(2 * i) / Float(d))
            let wavelen: Float = Float(2 * Double.pi) / freq
            if wavelen < highWavelen { return 1 }
            if wavelen > lowWavelen { return Float(factor) }
            let smooth: Float = (Float(original) / wavelen - Float(low)) / Float(high - low)
            return 1 / ((1 - smooth) / Float(factor) + smooth)
        }
    }
}
