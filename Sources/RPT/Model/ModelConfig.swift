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
        // Integer sizes: positive and within ModelLimits, so no product of them can overflow or ask for an absurd
        // allocation before the weights are even looked at.
        func int(_ key: String, max limit: Int) throws -> Int {
            guard let v = json[key] else { throw fail("missing field '\(key)'") }
            return try sizeField(key, v, max: limit)
        }
        func optInt(_ key: String, max limit: Int) throws -> Int? {
            guard let v = json[key], !v.isNull else { return nil }
            return try sizeField(key, v, max: limit)
        }
        func sizeField(_ key: String, _ v: JSON, max limit: Int) throws -> Int {
            guard let i = v.int, i > 0 else { throw fail("field '\(key)' must be a positive integer, got \(RPTError.echo(v))") }
            guard i <= limit else { throw fail("field '\(key)' = \(i) exceeds the supported maximum \(limit)") }
            return i
        }
        // Token ids: any integer (null = none), as before.
        func optId(_ key: String) throws -> Int? {
            guard let v = json[key], !v.isNull else { return nil }
            guard let i = v.int else { throw fail("field '\(key)' must be an integer, got \(RPTError.echo(v))") }
            return i
        }
        // Absent or null fields take the transformers default; a present field of another type is an error.
        func number(_ key: String, default d: Double) throws -> Double {
            guard let v = json[key], !v.isNull else { return d }
            guard let x = v.double, x.isFinite else { throw fail("field '\(key)' must be a number, got \(RPTError.echo(v))") }
            return x
        }
        func flag(_ key: String, default d: Bool) throws -> Bool {
            guard let v = json[key], !v.isNull else { return d }
            guard let b = v.bool else { throw fail("field '\(key)' must be true or false, got \(RPTError.echo(v))") }
            return b
        }
        func optString(_ key: String) throws -> String? {
            guard let v = json[key], !v.isNull else { return nil }
            guard let s = v.string else { throw fail("field '\(key)' must be a string, got \(RPTError.echo(v))") }
            return s
        }

        let family = try Self.family(json, fail: fail)
        let hidden = try int("hidden_size", max: ModelLimits.hiddenSize)
        let heads = try int("num_attention_heads", max: ModelLimits.heads)
        let kvHeads = try optInt("num_key_value_heads", max: ModelLimits.heads) ?? heads
        guard heads % kvHeads == 0 else {
            throw fail("num_attention_heads \(heads) is not a multiple of num_key_value_heads \(kvHeads)")
        }
        let explicitHeadDim = try optInt("head_dim", max: ModelLimits.headDim)
        if explicitHeadDim == nil, hidden % heads != 0 {
            throw fail("hidden_size \(hidden) is not divisible by num_attention_heads \(heads) and no head_dim is given")
        }
        let headDim = explicitHeadDim ?? (hidden / heads)
        guard headDim > 0, headDim % 2 == 0, headDim <= ModelLimits.headDim else {
            throw fail("head_dim \(headDim) must be positive, even and at most \(ModelLimits.headDim)")
        }
        // Only SwiGLU is implemented; transformers' ACT2FN maps both "silu" and "swish" to SiLU.
        if let v = json["hidden_act"] {
            guard let act = v.string else { throw fail("field 'hidden_act' must be a string, got \(RPTError.echo(v))") }
            guard ModelLimits.activations.contains(act) else {
                throw fail("unsupported hidden_act '\(RPTError.echo(act))' (only silu / swish, i.e. SwiGLU)")
            }
        }
        if try flag("mlp_bias", default: false) { throw fail("unsupported: mlp_bias = true") }
        if try flag("use_sliding_window", default: false) { throw fail("unsupported: use_sliding_window = true") }
        let epsilon = try number("rms_norm_eps", default: 1e-6)
        guard epsilon >= 0, Float(epsilon).isFinite else { throw fail("field 'rms_norm_eps' must be a non-negative Float32, got \(epsilon)") }

        self.init(family: family, hiddenSize: hidden, intermediateSize: try int("intermediate_size", max: ModelLimits.intermediateSize),
                  numLayers: try int("num_hidden_layers", max: ModelLimits.layers), numHeads: heads, numKVHeads: kvHeads, headDim: headDim,
                  vocabSize: try int("vocab_size", max: ModelLimits.vocabSize),
                  maxPositions: try optInt("max_position_embeddings", max: ModelLimits.positions) ?? 2048,
                  rmsNormEps: Float(epsilon),
                  ropeTheta: try number("rope_theta", default: 10000),
                  tiedEmbeddings: try flag("tie_word_embeddings", default: false),
                  bosTokenId: try optId("bos_token_id"))
        let attentionBias = try flag("attention_bias", default: false)
        if family != .qwen2 { qkvBias = attentionBias; oBias = attentionBias }
        if let e = json["eos_token_id"], !e.isNull {
            if let i = e.int { eosTokenIds = [i] }
            else if let a = e.array, a.allSatisfy({ $0.int != nil }) { eosTokenIds = a.compactMap(\.int) }
            else { throw fail("field 'eos_token_id' must be an integer or a list of integers, got \(RPTError.echo(e))") }
        }
        torchDType = try optString("torch_dtype") ?? optString("dtype") ?? "float32"
        // rope_scaling (transformers ≤ 4.x) or rope_parameters (5.x) may carry rope_theta and the scaling;
        // null means none (common in real configs).
        let scaling = json["rope_scaling"].flatMap { $0.isNull ? nil : $0 } ?? json["rope_parameters"].flatMap { $0.isNull ? nil : $0 }
        if let s = scaling { try readRopeScaling(s, fail: fail) }
        guard ropeTheta > 0 else { throw fail("rope_theta must be positive") }
        try checkRopeTableSize(file: file)
        raw = json
    }

    /// The architecture from `architectures[0]`, or failing that `model_type`. Either, when present, must be of the right type.
    private static func family(_ json: JSON, fail: (String) -> RPTError) throws -> ModelFamily {
        var archName: String?
        if let v = json["architectures"], !v.isNull {
            guard let archs = v.array, archs.allSatisfy({ $0.string != nil }) else {
                throw fail("field 'architectures' must be a list of strings, got \(RPTError.echo(v))")
            }
            archName = archs.first?.string
        }
        if archName == nil, let v = json["model_type"], !v.isNull {
            guard let mt = v.string else { throw fail("field 'model_type' must be a string, got \(RPTError.echo(v))") }
            archName = ["llama": "LlamaForCausalLM", "qwen2": "Qwen2ForCausalLM", "qwen3": "Qwen3ForCausalLM"][mt] ?? mt
        }
        guard let archName else { throw fail("missing 'architectures' and 'model_type'") }
        guard let family = ModelFamily(rawValue: archName) else {
            throw fail("unsupported architecture '\(RPTError.echo(archName))' (supported: LlamaForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM)")
        }
        return family
    }

    /// A rope_scaling / rope_parameters object. Its rope_type (or legacy `type`) must be a string when present:
    /// a null, number or list would otherwise silently mean "default" and drop the scaling.
    private mutating func readRopeScaling(_ s: JSON, fail: (String) -> RPTError) throws {
        guard s.object != nil else { throw fail("rope_scaling must be an object, got \(RPTError.echo(s))") }
        if let v = s["rope_theta"], !v.isNull {
            guard let t = v.double, t.isFinite, t > 0 else { throw fail("rope_scaling 'rope_theta' must be a positive number, got \(RPTError.echo(v))") }
            ropeTheta = t
        }
        var type = "default"
        for key in ["type", "rope_type"] {       // rope_type wins over the legacy `type`, as in transformers
            guard let v = s[key] else { continue }
            guard let t = v.string else { throw fail("rope_scaling '\(key)' must be a string, got \(RPTError.echo(v))") }
            type = t
        }
        func req(_ k: String) throws -> Double {
            guard let v = s[k]?.double, v.isFinite, v > 0 else {
                throw fail("rope_scaling of type '\(RPTError.echo(type))' needs a positive '\(k)', got \(RPTError.echo(s[k] ?? .null))")
            }
            return v
        }
        switch type {
        case "default": ropeScaling = .none
        case "linear": ropeScaling = .linear(factor: try req("factor"))
        case "llama3":
            let original = try req("original_max_position_embeddings")
            guard original == original.rounded(), original <= Double(ModelLimits.positions) else {
                throw fail("rope_scaling 'original_max_position_embeddings' must be an integer of at most \(ModelLimits.positions), got \(original)")
            }
            ropeScaling = .llama3(factor: try req("factor"), lowFreqFactor: try req("low_freq_factor"),
                                  highFreqFactor: try req("high_freq_factor"), originalMaxPositions: Int(original))
        default:
            throw fail("unsupported rope_scaling type '\(RPTError.echo(type))' (supported: default, linear, llama3)")
        }
    }

    /// The RoPE cos/sin tables (max_position_embeddings × head_dim floats in all) are built when the model is.
    func checkRopeTableSize(file: String) throws {
        guard let floats = checkedProduct([maxPositions, headDim]), floats <= ModelLimits.ropeTableFloats else {
            throw RPTError("max_position_embeddings \(maxPositions) × head_dim \(headDim) needs RoPE tables larger than "
                           + "\(ModelLimits.ropeTableFloats) floats", file: file)
        }
    }

    /// Float32 parameters this config implies, overflow-checked (nil on overflow). Matches ModelLayout's tensors
    /// before its 16-float alignment padding.
    public var impliedParameterCount: Int? {
        let h = hiddenSize, i = intermediateSize
        var perLayer: [[Int]] = [[h], [qDim, h], [kvDim, h], [kvDim, h], [h, qDim], [h], [i, h], [i, h], [h, i]]
        if qkvBias { perLayer += [[qDim], [kvDim], [kvDim]] }
        if oBias { perLayer.append([h]) }
        if qkNorm { perLayer += [[headDim], [headDim]] }
        var global: [[Int]] = [[vocabSize, h], [h]]
        if !tiedEmbeddings { global.append([vocabSize, h]) }
        guard let layer = checkedSum(perLayer.map(checkedProduct)), let layers = checkedProduct([layer, numLayers]),
              let rest = checkedSum(global.map(checkedProduct)) else { return nil }
        return checkedSum([layers, rest])
    }
}

/// Upper bounds on the sizes a config.json or llama2.c header may declare. Each is several times the largest
/// released Llama / Qwen model's value, so real checkpoints pass; together they keep every size product far
/// from Int overflow and stop a corrupt or hostile file from requesting an absurd allocation.
public enum ModelLimits {
    /// hidden_size / llama2.c dim (Llama 3.1 405B: 16384).
    public static let hiddenSize = 1 << 16
    /// intermediate_size / hidden_dim (Llama 3.1 405B: 53248).
    public static let intermediateSize = 1 << 18
    /// num_hidden_layers / n_layers (largest released: 126).
    public static let layers = 1024
    /// num_attention_heads and num_key_value_heads (largest released: 128).
    public static let heads = 1024
    /// head_dim (largest released: 256).
    public static let headDim = 1024
    /// vocab_size (largest released: ~262k); the same bound as the tokenizer's largest id (BPEModel.maxId + 1).
    public static let vocabSize = 1 << 22
    /// max_position_embeddings / seq_len (Qwen2.5-1M: 1,010,000). Sizes the RoPE tables built at load.
    public static let positions = 1 << 20
    /// RoPE cos + sin tables, max_position_embeddings × head_dim floats (1 GiB; 1M positions at head_dim 256).
    public static let ropeTableFloats = 1 << 28
    /// hidden_act values that mean SiLU (transformers ACT2FN).
    public static let activations: Set<String> = ["silu", "swish"]
}

/// Product of sizes, or nil when it overflows Int (sizes come from files we do not trust).
func checkedProduct(_ factors: [Int]) -> Int? {
    var p = 1
    for f in factors {
        let (r, overflow) = p.multipliedReportingOverflow(by: f)
        if overflow { return nil }
        p = r
    }
    return p
}

/// Sum of sizes, or nil when a term is nil or the sum overflows Int.
func checkedSum(_ terms: [Int?]) -> Int? {
    var s = 0
    for t in terms {
        guard let t else { return nil }
        let (r, overflow) = s.addingReportingOverflow(t)
        if overflow { return nil }
        s = r
    }
    return s
}
