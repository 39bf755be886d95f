// Decoder-only transformer configuration, read from a Hugging Face config.json
// (transformers' LlamaConfig, Qwen2Config, Qwen3Config). Anything we do not implement is refused with
// an error that names the file and the setting, rather than silently computing something else.

import Foundation

public enum ModelFamily: String, Sendable, Codable {
    case llama = "LlamaForCausalLM"
    case qwen2 = "Qwen2ForCausalLM"
    case qwen3 = "Qwen3ForCausalLM"
}

/// RoPE frequency scaling (transformers `rope_scaling` / `rope_parameters`).
public enum RopeScaling: Sendable, Equatable {
    case none
    /// Positions divided by `factor`.
    case linear(factor: Double)
    /// Llama 3.1's wavelength-dependent scaling.
    case llama3(factor: Double, lowFreqFactor: Double, highFreqFactor: Double, originalMaxPositions: Int)
}

public struct ModelConfig: Sendable, Equatable {
    public var family: ModelFamily
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numLayers: Int
    public var numHeads: Int
    public var numKVHeads: Int
    public var headDim: Int
    public var vocabSize: Int
    public var maxPositions: Int
    public var rmsNormEps: Float
    public var ropeTheta: Double
    public var ropeScaling: RopeScaling
    public var tiedEmbeddings: Bool
    /// q/k/v projections carry a bias (always for Qwen2; `attention_bias` for Llama/Qwen3).
    public var qkvBias: Bool
    /// o_proj carries a bias (Llama/Qwen3 with `attention_bias`).
    public var oBias: Bool
    /// Per-head RMSNorm on queries and keys before RoPE (Qwen3).
    public var qkNorm: Bool
    public var bosTokenId: Int?
    public var eosTokenIds: [Int]
    /// dtype named by the checkpoint (`torch_dtype` / `dtype`), used when saving.
    public var torchDType: String
    /// The original config.json, kept so checkpoints we write keep every field transformers expects.
    public var raw: JSON

    public var qDim: Int { numHeads * headDim }
    public var kvDim: Int { numKVHeads * headDim }

    public init(family: ModelFamily, hiddenSize: Int, intermediateSize: Int, numLayers: Int, numHeads: Int,
                numKVHeads: Int, headDim: Int? = nil, vocabSize: Int, maxPositions: Int = 2048,
                rmsNormEps: Float = 1e-6, ropeTheta: Double = 10000, ropeScaling: RopeScaling = .none,
                tiedEmbeddings: Bool = false, bosTokenId: Int? = nil, eosTokenIds: [Int] = [],
                torchDType: String = "float32") {
        self.family = family
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.numLayers = numLayers
        self.numHeads = numHeads
        self.numKVHeads = numKVHeads
        self.headDim = headDim ?? hiddenSize / numHeads
        self.vocabSize = vocabSize
        self.maxPositions = maxPositions
        self.rmsNormEps = rmsNormEps
        self.ropeTheta = ropeTheta
        self.ropeScaling = ropeScaling
        self.tiedEmbeddings = tiedEmbeddings
        self.qkvBias = family == .qwen2
        self.oBias = false
        self.qkNorm = family == .qwen3
        self.bosTokenId = bosTokenId
        self.eosTokenIds = eosTokenIds
        self.torchDType = torchDType
        self.raw = .null
    }

    /// Reads and validates a config.json.
    public static func load(path: String) throws -> ModelConfig {
        let json = try JSON.load(path: path)
        return try ModelConfig(json: json, file: path)
    }

    public init(json: JSON, file: String) throws {
        func fail(_ m: String) -> RPTError { RPTError(m, file: file) }
        guard json.object != nil else { throw fail("config is not a JSON object") }
        func int(_ key: String) throws -> Int {
            guard let v = json[key] else { throw fail("missing field '\(key)'") }
            guard let i = v.int, i > 0 else { throw fail("field '\(key)' must be a positive integer, got \(v.serialized())") }
            return i
        }
        func optInt(_ key: String) throws -> Int? {
            guard let v = json[key], !v.isNull else { return nil }
            guard let i = v.int else { throw fail("field '\(key)' must be an integer, got \(v.serialized())") }
            return i
        }
        func number(_ key: String, default d: Double) throws -> Double {
            guard let v = json[key], !v.isNull else { return d }
            guard let x = v.double, x.isFinite else { throw fail("field '\(key)' must be a number, got \(v.serialized())") }
            return x
        }
        func flag(_ key: String, default d: Bool) throws -> Bool {
            guard let v = json[key], !v.isNull else { return d }
            guard let b = v.bool else { throw fail("field '\(key)' must be true or false, got \(v.serialized())") }
            return b
        }

        let archName: String
        if let archs = json["architectures"]?.array, let first = archs.first?.string {
            archName = first
        } else if let mt = json["model_type"]?.string {
            archName = ["llama": "LlamaForCausalLM", "qwen2": "Qwen2ForCausalLM", "qwen3": "Qwen3ForCausalLM"][mt] ?? mt
        } else {
            throw fail("missing 'architectures' and 'model_type'")
        }
        guard let family = ModelFamily(rawValue: archName) else {
            throw fail("unsupported architecture '\(archName)' (supported: LlamaForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM)")
        }
        let hidden = try int("hidden_size")
        let heads = try int("num_attention_heads")
        let kvHeads = try optInt("num_key_value_heads") ?? heads
        guard kvHeads > 0, heads % kvHeads == 0 else {
            throw fail("num_attention_heads \(heads) is not a multiple of num_key_value_heads \(kvHeads)")
        }
        let headDim = try optInt("head_dim") ?? (hidden / heads)
        guard headDim > 0, headDim % 2 == 0 else { throw fail("head_dim \(headDim) must be positive and even") }
        if json["head_dim"] == nil || json["head_dim"]!.isNull, hidden % heads != 0 {
            throw fail("hidden_size \(hidden) is not divisible by num_attention_heads \(heads) and no head_dim is given")
        }
        if let act = json["hidden_act"]?.string, act != "silu" {
            throw fail("unsupported hidden_act '\(act)' (only silu / SwiGLU)")
        }
        if try flag("mlp_bias", default: false) { throw fail("unsupported: mlp_bias = true") }
        if try flag("use_sliding_window", default: false) { throw fail("unsupported: use_sliding_window = true") }

        self.init(family: family, hiddenSize: hidden, intermediateSize: try int("intermediate_size"),
                  numLayers: try int("num_hidden_layers"), numHeads: heads, numKVHeads: kvHeads, headDim: headDim,
                  vocabSize: try int("vocab_size"), maxPositions: try optInt("max_position_embeddings") ?? 2048,
                  rmsNormEps: Float(try number("rms_norm_eps", default: 1e-6)),
                  ropeTheta: try number("rope_theta", default: 10000),
                  tiedEmbeddings: try flag("tie_word_embeddings", default: false),
                  bosTokenId: try optInt("bos_token_id"))
        let attentionBias = try flag("attention_bias", default: false)
        if family != .qwen2 { qkvBias = attentionBias; oBias = attentionBias }
        if let e = json["eos_token_id"], !e.isNull {
            if let i = e.int { eosTokenIds = [i] }
            else if let a = e.array, a.allSatisfy({ $0.int != nil }) { eosTokenIds = a.map { $0.int! } }
            else { throw fail("field 'eos_token_id' must be an integer or a list of integers") }
        }
        torchDType = json["torch_dtype"]?.string ?? json["dtype"]?.string ?? "float32"
        // rope_scaling (transformers ≤ 4.x) or rope_parameters (5.x) may carry rope_theta and the scaling.
        let scaling = json["rope_scaling"].flatMap { $0.isNull ? nil : $0 } ?? json["rope_parameters"].flatMap { $0.isNull ? nil : $0 }
        if let s = scaling {
            guard s.object != nil else { throw fail("rope_scaling must be an object") }
            if let t = s["rope_theta"]?.double { ropeTheta = t }
            let type = s["rope_type"]?.string ?? s["type"]?.string ?? "default"
            func req(_ k: String) throws -> Double {
                guard let v = s[k]?.double, v.isFinite, v > 0 else { throw fail("rope_scaling of type '\(type)' needs a positive '\(k)'") }
                return v
            }
            switch type {
            case "default": ropeScaling = .none
            case "linear": ropeScaling = .linear(factor: try req("factor"))
            case "llama3":
                ropeScaling = .llama3(factor: try req("factor"), lowFreqFactor: try req("low_freq_factor"),
                                      highFreqFactor: try req("high_freq_factor"),
                                      originalMaxPositions: Int(try req("original_max_position_embeddings")))
            default:
                throw fail("unsupported rope_scaling type '\(type)' (supported: default, linear, llama3)")
            }
        }
        guard ropeTheta > 0 else { throw fail("rope_theta must be positive") }
        raw = json
    }
}
