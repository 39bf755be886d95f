// AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization", ICLR 2019) over a model's flat
// parameter buffer, matching torch.optim.AdamW(foreach=False): decoupled decay first, then the moment
// updates, then the bias-corrected step, all in fp32 (the kernel is RPTKernels/AdamWKernel.swift).
// The per-step scalars are computed in Double from the hyper-parameters, as torch computes them from
// Python floats: bias_correction1 = 1 − β1^t, step_size = lr / bias_correction1,
// bias_correction2_sqrt = (1 − β2^t)^0.5, decay factor = 1 − lr·wd, then rounded to fp32 for the tensor ops.
//
// Parameter groups follow the usual GPT/Llama recipe: weight decay on matrices (ndim ≥ 2: embeddings,
// linear weights, lm_head), none on RMSNorm weights and biases; `.all` decays every tensor.
// A tied LM head shares the embedding's storage, so it is one tensor here and needs no special case.

import Foundation
import RPTKernels

/// Which tensors receive weight decay.
public enum WeightDecayRule: String, Sendable, Codable {
    /// Tensors with ndim ≥ 2 (`ParameterSpec.isMatrix`); norms and biases are not decayed.
    case matricesOnly
    /// Every tensor.
    case all

    public func applies(to spec: ParameterSpec) -> Bool {
        switch self {
        case .matricesOnly: return spec.isMatrix
        case .all: return true
        }
    }
}

public final class AdamW: @unchecked Sendable {
    public let params: ParameterBuffer
    public let grads: ParameterBuffer
    /// First moment (torch `exp_avg`), same layout as the parameters.
    public let m: ParameterBuffer
    /// Second moment (torch `exp_avg_sq`).
    public let v: ParameterBuffer
    /// Number of steps taken (torch `state["step"]`); the next `step()` uses t + 1 in the bias corrections.
    public private(set) var t: Int = 0

    /// Learning rate of the next step (set per step by the caller, e.g. from a `LearningRateSchedule`).
    public var lr: Float
    public var beta1: Float
    public var beta2: Float
    public var eps: Float
    public var weightDecay: Float
    public var decayRule: WeightDecayRule

    /// Defaults are torch.optim.AdamW's (lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 1e-2).
    public init(params: ParameterBuffer, grads: ParameterBuffer, lr: Float = 1e-3, beta1: Float = 0.9,
                beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 0.01,
                decayRule: WeightDecayRule = .matricesOnly) throws {
        guard grads.specs == params.specs else {
            throw RPTError("AdamW: gradient buffer layout differs from the parameter layout")
        }
        self.params = params
        self.grads = grads
        self.m = ParameterBuffer(specs: params.specs)
        self.v = ParameterBuffer(specs: params.specs)
        self.lr = lr
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
        self.decayRule = decayRule
    }

    /// The moments and step count, for a checkpoint (the buffers, not copies).
    public var state: OptimizerState { OptimizerState(m: m, v: v, step: t) }

    /// Restores the moments and step count (from a checkpoint); the buffers are copied.
    public func restore(m newM: ParameterBuffer, v newV: ParameterBuffer, t newT: Int) throws {
        guard newM.specs == params.specs, newV.specs == params.specs else {
            throw RPTError("AdamW: restored moment buffers have a different layout than the parameters")
        }
        guard newT >= 0 else { throw RPTError("AdamW: negative step count \(newT)") }
        m.base.update(from: newM.base, count: m.count)
        v.base.update(from: newV.base, count: v.count)
        t = newT
    }

    /// The scalars of step number `step` (1-based), computed as torch does.
    func scalars(step: Int) -> AdamWKernel.Scalars {
        let lr = Double(self.lr), b1 = Double(beta1), b2 = Double(beta2)
        let biasCorrection1 = 1 - pow(b1, Double(step))
        let biasCorrection2 = 1 - pow(b2, Double(step))
        let stepSize = lr / biasCorrection1
        return AdamWKernel.Scalars(
            decayFactor: Float(1 - lr * Double(weightDecay)), lerpWeight: Float(1 - b1), beta2: beta2,
            oneMinusBeta2: Float(1 - b2), biasCorrection2Sqrt: Float(pow(biasCorrection2, 0.5)), eps: eps,
            negativeStepSize: Float(-stepSize))
    }

    /// One update of every parameter from `grads` (increments t first, like torch).
    public func step() {
        t += 1
        defer { params.markModified() }
        let s = scalars(step: t)
        let runs = decayRuns()
        let box = UnsafeSendable((params.base, grads.base, m.base, v.base))
        let blocks = (params.count + 15) / 16
        Parallel.forRange(blocks, minChunk: 1024) { b0, b1 in
            let (p, g, m, v) = box.value
            let lo = b0 * 16, hi = min(b1 * 16, self.params.count)
            for run in runs where run.start < hi && run.end > lo {
                let a = max(run.start, lo), e = min(run.end, hi)
                AdamWKernel.step(param: p + a, grad: g + a, m: m + a, v: v + a, count: e - a, scalars: s,
                                 decay: run.decay && self.weightDecay != 0)
            }
        }
    }

    /// The element range of every tensor with its decay flag (padding between tensors is left alone).
    private func decayRuns() -> [(start: Int, end: Int, decay: Bool)] {
        params.specs.map { ($0.offset, $0.offset + $0.count, decayRule.applies(to: $0)) }
    }
}
