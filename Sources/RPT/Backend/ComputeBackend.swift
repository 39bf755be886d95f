// The compute seam: what the RPT method asks of a device, at the level it asks it (docs/architecture.md,
// "A compute backend"). Generation, scoring, evaluation and both trainers talk to a model only through this
// protocol; the CPU implementation is CPUBackend.swift. A GPU backend implements the same operations with the
// state on the device:
//
// - inference with a KV cache: `forward` leaves the final-normed hidden rows on the device (`HeadRows`), and the
//   LM-head operations reduce them there to the small results the method reads — log p(target), top-k entropy
//   and argmax per row (`scores`), or one sampled token per row (`sample`); full `logits` only where a caller
//   needs a whole distribution (the dense rewards, the logits probe);
// - training: `trainForward` keeps the activations on the device and returns log p(target) per position,
//   `backward` accumulates the gradient of Σ w_t·logp_t into the device's gradient buffer;
// - the optimizer: AdamW with global-norm clipping, its state on the device;
// - parameter transfer: the host `Model.params` is the master copy that checkpoints read and loaders write;
//   `downloadParameters` brings the device's copy to it, `uploadParameters` sends it to the device.

import Foundation

/// Final-normed hidden states of the rows a `forward` call asked for, kept by the backend (on its device).
public protocol HeadRows: AnyObject {
    /// Number of rows.
    var count: Int { get }
}

/// A KV cache held by a backend: `slots` sequences of up to `capacity` positions each.
public protocol InferenceCache: AnyObject {
    var slots: Int { get }
    var capacity: Int { get }
    /// Filled positions per slot.
    var lengths: [Int] { get }
    /// Makes slot `dst` a copy of slot `src` (G samples of one prompt share its prefill).
    func copySlot(from src: Int, to dst: Int)
}

/// What a training forward pass returns; the activations behind it stay with the backend for `backward`.
public protocol TrainingTape: AnyObject {
    var batch: TrainingBatch { get }
    /// log p(target) per position (0 where the target is −1), at the pass's temperature.
    var logProbs: [Float] { get }
    /// Entropy (nats) of the full next-token distribution per position with a target, when requested.
    var entropies: [Float]? { get }
}

/// The small per-row results of the LM head.
public struct RowScore: Sendable, Equatable {
    /// log softmax(logits)[target], or 0 when the row has no target (−1).
    public var logProb: Float
    /// Top-k entropy of the row (RPT §3.3), or 0 when k is 0.
    public var entropy: Float
    /// The most likely token (first index on ties, as torch.argmax).
    public var argmax: Int
}

/// One sampled token and its log-probability under the model's own distribution (temperature 1).
public struct SampledToken: Sendable, Equatable {
    public var token: Int
    public var logProb: Float
}

/// AdamW's hyper-parameters but the learning rate, which `optimizerStep(lr:)` takes per step.
public struct AdamWSettings: Sendable, Equatable {
    public var beta1: Float, beta2: Float, eps: Float, weightDecay: Float
    public var decayRule: WeightDecayRule
    /// Defaults are torch.optim.AdamW's.
    public init(beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 0.01,
                decayRule: WeightDecayRule = .matricesOnly) {
        self.beta1 = beta1; self.beta2 = beta2; self.eps = eps; self.weightDecay = weightDecay; self.decayRule = decayRule
    }
}

/// AdamW's state on the host: the moments (laid out as the parameters) and the number of steps taken.
public struct OptimizerState {
    public var m: ParameterBuffer
    public var v: ParameterBuffer
    public var step: Int
    public init(m: ParameterBuffer, v: ParameterBuffer, step: Int) { self.m = m; self.v = v; self.step = step }
}

public protocol ComputeBackend: AnyObject {
    /// The model's configuration and layout, and its parameters on the host (the master copy).
    var model: Model { get }

    // MARK: inference

    func makeCache(slots: Int, capacity: Int) throws -> any InferenceCache
    /// Runs a packed batch, appending its keys and values to the cache slots, and keeps the hidden states of
    /// `rows` (row order = batch order) for the head operations below.
    func forward(_ batch: ForwardBatch, cache: any InferenceCache, rows: LogitRows) throws -> any HeadRows
    /// Full logits [rows, vocab].
    func logits(_ rows: any HeadRows) throws -> [Float]
    /// Per row: log p(`targets[i]`) (−1: none), the top-`topK` entropy (0: skip) and the argmax.
    func scores(_ rows: any HeadRows, targets: [Int], topK: Int) throws -> [RowScore]
    /// Draw i: one token from row `draws[i]` with `params` and the stream `rngs[i]` (advanced as `Sampler.sample`
    /// does); several draws may read one row (the G samples of a prompt after its prefill). NaN logits throw.
    func sample(_ rows: any HeadRows, draws: [Int], _ params: SamplingParameters, rngs: inout [RandomGenerator]) throws -> [SampledToken]

    // MARK: training

    /// log p(target) for every position of the batch at `temperature`, keeping what `backward` needs.
    func trainForward(_ batch: TrainingBatch, temperature: Float, entropies: Bool) throws -> any TrainingTape
    /// Adds the gradient of L, with dL/dlogp_t = `gradLogProbs[t]`, to the gradient buffer.
    func backward(_ tape: any TrainingTape, gradLogProbs: [Float]) throws
    func zeroGradients() throws
    /// The name of the first parameter tensor whose gradient holds a NaN or ±Inf, or nil.
    func firstNonFiniteGradient() throws -> String?
    /// Scales the gradients to global L2 norm ≤ `maxNorm` (0: no clipping) as torch's clip_grad_norm_ does;
    /// returns the norm before clipping.
    func clipGradients(maxNorm: Float) throws -> Float
    /// One AdamW update of every parameter from the gradients (the optimizer is created on first use).
    func optimizerStep(lr: Float) throws

    // MARK: state transfer

    /// AdamW's moments and step count, for a checkpoint (fresh state before the first step).
    func optimizerState() throws -> OptimizerState
    func restoreOptimizer(_ state: OptimizerState) throws
    /// The gradient buffer as it stands, on the host, laid out as the parameters (tests, diagnostics).
    func downloadGradients() throws -> ParameterBuffer
    /// Brings the device's parameters to `model.params` (before a checkpoint reads them).
    func downloadParameters() throws
    /// Sends `model.params` to the device (after a loader or a test wrote them).
    func uploadParameters() throws
}

/// The backends this build has. A new backend adds a case and its `make`.
public enum ComputeBackendKind: String, CaseIterable, Sendable, Codable {
    case cpu

    /// What every stage runs on in this build.
    public static let `default` = ComputeBackendKind.cpu

    /// A backend running `model`; `optimizer` configures AdamW for training.
    public func make(model: Model, optimizer: AdamWSettings = AdamWSettings()) throws -> any ComputeBackend {
        switch self {
        case .cpu: return CPUBackend(model: model, optimizer: optimizer)
        }
    }
}

extension Model {
    /// A backend running this model: the build's default kind.
    public func backend(optimizer: AdamWSettings = AdamWSettings()) throws -> any ComputeBackend {
        try ComputeBackendKind.default.make(model: self, optimizer: optimizer)
    }
}

extension ComputeBackend {
    /// One draw per row, row i with `rngs[i]`.
    public func sample(_ rows: any HeadRows, _ params: SamplingParameters, rngs: inout [RandomGenerator]) throws -> [SampledToken] {
        try sample(rows, draws: Array(0..<rows.count), params, rngs: &rngs)
    }

    /// log p(target) per position at `temperature`, without entropies.
    public func trainForward(_ batch: TrainingBatch, temperature: Float = 1) throws -> any TrainingTape {
        try trainForward(batch, temperature: temperature, entropies: false)
    }

    /// Logits of every position of one sequence (fresh cache): the logits probe, tests.
    public func sequenceLogits(_ tokens: [Int]) throws -> [Float] {
        guard !tokens.isEmpty else { return [] }
        let cache = try makeCache(slots: 1, capacity: tokens.count)
        return try logits(forward(ForwardBatch(tokens: tokens, segments: [.init(slot: 0, count: tokens.count)]), cache: cache, rows: .all))
    }
}
