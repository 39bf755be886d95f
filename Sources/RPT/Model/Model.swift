// A decoder-only transformer (Llama / Qwen2 / Qwen3): its configuration, tensor layout, and weights.
// The forward pass lives in Forward.swift; loading in HFCheckpoint.swift and Llama2CCheckpoint.swift.

import Foundation

public final class Model: @unchecked Sendable {
    public let config: ModelConfig
    public let layout: ModelLayout
    public let params: ParameterBuffer
    /// RoPE cos/sin tables, [maxPositions][headDim/2] each.
    public let rope: RopeTable
    /// Weight precision of decode-sized products in `forward` (InferenceWeights.swift). Set `.bf16` only after
    /// `InferenceDType.requireSupported()`.
    public var inferenceDType: InferenceDType = .fp32 {
        didSet { if inferenceDType == .fp32 { bf16Lock.lock(); bf16Prefill = nil; bf16Lock.unlock() } }
    }
    /// Precision of the caches `CPUBackend.makeCache` makes (KVCacheDType; `auto` follows `inferenceDType`).
    public var kvCacheDType: KVCacheDType = .auto
    private let bf16Lock = NSLock()
    private var bf16: BF16Weights?
    /// Precision of the training products (TrainingDType.swift). Set `.bf16` only after
    /// `TrainingDType.requireSupported()`.
    public var trainingDType: TrainingDType = .fp32 {
        didSet { if trainingDType == .fp32 { bf16Lock.lock(); bf16Training = nil; bf16Lock.unlock() } }
    }
    private var bf16Training: BF16GemmWeights?
    private var bf16Prefill: BF16GemmWeights?
    /// The training LM head's memory (TrainForward.swift): bf16 training keeps the logits of a batch for the backward
    /// pass up to this many values (64 MiB); both precisions compute the head in chunks of this many values.
    var keptLogitsValues = 1 << 24
    /// fp32 training keeps the logits of the rows with a target up to this many values (256 MiB): recomputing them is a
    /// quarter of the head's products (docs/kernels.md §6). The backward pass reads them in the order and chunks it
    /// would have recomputed them, so the results are the same either way.
    var keptTrainedLogitsValues = 1 << 26

    public init(config: ModelConfig, params: ParameterBuffer? = nil) {
        self.config = config
        self.layout = ModelLayout(config: config)
        self.params = params ?? ParameterBuffer(specs: layout.specs)
        self.rope = RopeTable(config: config)
    }

    public var parameterCount: Int { layout.specs.reduce(0) { $0 + $1.count } }

    /// The bf16 weights for this forward pass (same offsets as `params`), or nil in fp32 mode.
    func bf16Weights() -> UnsafePointer<UInt16>? {
        guard inferenceDType == .bf16 else { return nil }
        bf16Lock.lock()
        let copy = bf16 ?? BF16Weights(params: params, specs: layout.specs)
        bf16 = copy
        bf16Lock.unlock()
        return copy.current(for: params)
    }

    /// The packed bf16 weights for training products, or nil in fp32 mode.
    func bf16TrainingWeights() -> BF16GemmWeights? {
        guard trainingDType == .bf16 else { return nil }
        bf16Lock.lock()
        defer { bf16Lock.unlock() }
        let packs = bf16Training ?? BF16GemmWeights(params: params, layout: layout, gradients: true)
        bf16Training = packs
        return packs
    }

    /// The forward packs for prefill-sized products when `inferenceDType` is bf16 (the training packs when bf16
    /// training made them), built at the first such product; nil in fp32 mode.
    func bf16PrefillWeights() -> BF16GemmWeights? {
        guard inferenceDType == .bf16 else { return nil }
        bf16Lock.lock()
        defer { bf16Lock.unlock() }
        if let training = bf16Training { return training }
        let packs = bf16Prefill ?? BF16GemmWeights(params: params, layout: layout, gradients: false)
        bf16Prefill = packs
        return packs
    }

    /// Loads an HF directory (config.json + safetensors), or a llama2.c `.bin` checkpoint.
    public static func load(path: String) throws -> Model {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw RPTError("no such file or directory", file: path)
        }
        if isDir.boolValue { return try loadHFDirectory(path) }
        if path.hasSuffix(".json") { return try loadHFDirectory((path as NSString).deletingLastPathComponent) }
        return try loadLlama2C(path: path)
    }

    /// Refuses a model whose weights and RoPE tables (as Float32) would not fit in this machine's memory, before
    /// anything is allocated: an oversized allocation otherwise traps, or the process is killed part-way through.
    /// `file` is the file that declared the sizes. Call after the config's own bounds have been checked.
    static func checkAllocation(config: ModelConfig, file: String,
                                availableBytes: UInt64 = ProcessInfo.processInfo.physicalMemory) throws {
        guard let parameters = config.impliedParameterCount,
              let floats = checkedSum([parameters, checkedProduct([config.maxPositions, config.headDim])]),
              let bytes = checkedProduct([floats, MemoryLayout<Float>.size]) else {
            throw RPTError("model sizes overflow: the declared dimensions are not a real model", file: file)
        }
        guard UInt64(bytes) <= availableBytes else {
            throw RPTError("the declared model has \(parameters) parameters and needs \(gibibytes(bytes)) GiB as Float32, "
                           + "more than this machine's \(gibibytes(Int(clamping: availableBytes))) GiB of memory", file: file)
        }
    }

    private static func gibibytes(_ bytes: Int) -> String {
        String(format: "%.1f", Double(bytes) / Double(1 << 30))
    }
}

/// Throws naming `file` and the tensor (`label`, e.g. "tensor 'lm_head.weight'") when any of the `count` loaded
/// values is NaN or ±Inf: such a weight makes every output NaN (a "logprob": null that still exits 0) instead of
/// failing at load.
func requireFinite(_ values: UnsafePointer<Float>, count: Int, label: String, file: String) throws {
    guard let i = firstNonFinite(values, count: count) else { return }
    throw RPTError("\(label) has a non-finite value (\(values[i])) at element \(i) of \(count): "
                   + "the checkpoint is corrupt or its training diverged", file: file)
}

/// RoPE angles as transformers computes them: inv_freq in Float32, angle = Float(pos) · inv_freq[i].
public struct RopeTable: Sendable {
    public let halfDim: Int
    public let positions: Int
    public let cos: [Float]
    public let sin: [Float]

    public init(config c: ModelConfig, positions: Int? = nil) {
        halfDim = c.headDim / 2
        self.positions = positions ?? max(c.maxPositions, 1)
        let invFreq = RopeTable.inverseFrequencies(config: c)
        var cosT = [Float](repeating: 0, count: self.positions * halfDim)
        var sinT = cosT
        for p in 0..<self.positions {
            for i in 0..<halfDim {
                let angle = Float(p) * invFreq[i]
                cosT[p * halfDim + i] = Float(Foundation.cos(Double(angle)))
                sinT[p * halfDim + i] = Float(Foundation.sin(Double(angle)))
            }
        }
        cos = cosT
        sin = sinT
    }

    /// inv_freq[i] = 1 / theta^(2i/d), then the config's rope_scaling (transformers `_compute_*_parameters`).
    public static func inverseFrequencies(config c: ModelConfig) -> [Float] {
        let d = c.headDim
        var inv = (0..<(d / 2)).map { i in Float(1.0) / Float(pow(c.ropeTheta, Double(Float(2 * i) / Float(d)))) }
        switch c.ropeScaling {
        case .none: break
        case .linear(let factor):
            inv = inv.map { $0 / Float(factor) }
        case .llama3(let factor, let low, let high, let original):
            let lowWavelen = Double(original) / low
            let highWavelen = Double(original) / high
            inv = inv.map { f in
                let wavelen = 2 * Double.pi / Double(f)
                if wavelen < highWavelen { return f }
                if wavelen > lowWavelen { return f / Float(factor) }
                let smooth = (Double(original) / wavelen - low) / (high - low)
                return Float((1 - smooth) * Double(f) / factor + smooth * Double(f))
            }
        }
        return inv
    }
}
