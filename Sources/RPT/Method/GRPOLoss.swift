// The GRPO policy loss (DeepSeekMath §4.1; docs/method.md §5.2–5.3) over packed rollouts, as per-token weights
// dL/dlogp for `Model.backward`:
//   group advantage   A_i = (r_i − mean_g r) / (std_g r + ε)   (std unbiased, as torch.std; Dr. GRPO: no std)
//   ratio             ρ = exp(logp − logp_old)                   (logp_old: rollout-time log-probs)
//   token loss        l = −min(ρA, clip(ρ, 1−ε_low, 1+ε_high)A) + β·KL
//   KL to a reference k1: logp − logp_ref;  k3: e^(logp_ref−logp) − (logp_ref−logp) − 1 (Schulman's estimator)
//   aggregation       token-mean (DAPO/verl default), seq-mean-token-mean (original GRPO), or a constant
//                     normaliser (Dr. GRPO: Σ l / (n_seq · C))
// With one update per rollout batch ρ ≡ 1 and clipping never binds: the exact on-policy setting of RPT.

import Foundation

public enum LossAggregation: String, Codable, Sendable, CaseIterable {
    case tokenMean = "token-mean"
    case seqMeanTokenMean = "seq-mean-token-mean"
    case constant = "constant"
}

public enum KLEstimator: String, Codable, Sendable { case k1, k3 }

public struct GRPOLossOptions: Codable, Sendable, Equatable {
    public var clipLow: Float = 0.2
    public var clipHigh: Float = 0.2
    public var aggregation: LossAggregation = .tokenMean
    /// Denominator C of the constant aggregation (e.g. the maximum response length).
    public var constantNormalizer: Float = 1024
    public var klCoefficient: Float = 0
    public var klEstimator: KLEstimator = .k3
    public init() {}
}

public enum GroupAdvantages {
    /// Advantages for rewards laid out group after group (`groupSize` each).
    public static func compute(rewards: [Float], groupSize g: Int, normalizeByStd: Bool = true, epsilon: Float = 1e-6) -> [Float] {
        precondition(g >= 1 && rewards.count % g == 0, "rewards must fill whole groups")
        var out = [Float](repeating: 0, count: rewards.count)
        for start in stride(from: 0, to: rewards.count, by: g) {
            let group = rewards[start..<(start + g)]
            let mean = group.reduce(0, +) / Float(g)
            var std: Float = 0
            if g > 1 {
                std = (group.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Float(g - 1)).squareRoot()
            }
            for i in 0..<g {
                let a = rewards[start + i] - mean
                out[start + i] = normalizeByStd ? a / (std + epsilon) : a
            }
        }
        return out
    }

    /// True when every reward of the group is equal (its advantages are all zero: dynamic sampling drops it).
    public static func isZeroVariance(_ group: ArraySlice<Float>) -> Bool {
        guard let first = group.first else { return true }
        return group.allSatisfy { $0 == first }
    }
}

/// Loss value, per-token weights for the backward pass, and statistics of one GRPO update.
public struct GRPOLossResult: Sendable {
    public var loss: Float
    /// dL/dlogp for every packed position (zero outside response tokens).
    public var gradLogProbs: [Float]
    /// Fraction of response tokens whose ratio lies outside the clip range and whose gradient is cut.
    public var clipFraction: Float
    /// Mean KL estimate over response tokens (0 when β = 0).
    public var meanKL: Float
}

public enum GRPOLoss {
    /// - Parameters:
    ///   - logProbs: current log p(token) per packed position (from `Model.trainForward`).
    ///   - oldLogProbs / refLogProbs: the same positions at rollout time / under the reference model.
    ///   - mask: 1 on response tokens to train, 0 elsewhere (per packed position).
    ///   - sequenceOf: the sequence index of every packed position; `advantages` is per sequence.
    public static func compute(logProbs: [Float], oldLogProbs: [Float], refLogProbs: [Float]? = nil, mask: [Float],
                               sequenceOf: [Int], advantages: [Float], options o: GRPOLossOptions) -> GRPOLossResult {
        let n = logProbs.count
        let sequences = advantages.count
        var tokensPerSequence = [Float](repeating: 0, count: sequences)
        for t in 0..<n where mask[t] != 0 { tokensPerSequence[sequenceOf[t]] += mask[t] }
        let totalTokens = tokensPerSequence.reduce(0, +)
        func weight(_ t: Int) -> Float {
            switch o.aggregation {
            case .tokenMean: return mask[t] / max(totalTokens, 1)
            case .seqMeanTokenMean: return mask[t] / max(tokensPerSequence[sequenceOf[t]], 1) / Float(sequences)
            case .constant: return mask[t] / (Float(sequences) * o.constantNormalizer)
            }
        }
        var grad = [Float](repeating: 0, count: n)
        var loss: Double = 0, clipped: Float = 0, klSum: Double = 0
        for t in 0..<n where mask[t] != 0 {
            let a = advantages[sequenceOf[t]]
            let rho = Foundation.exp(logProbs[t] - oldLogProbs[t])
            let clippedRho = min(max(rho, 1 - o.clipLow), 1 + o.clipHigh)
            let unclippedObj = rho * a, clippedObj = clippedRho * a
            // d(−min(ρA, clip(ρ)A))/dlogp: −ρA where the unclipped branch is the minimum, else 0 (clip is flat).
            var g: Float = unclippedObj <= clippedObj ? -rho * a : (clippedRho == rho ? -rho * a : 0)
            if rho != clippedRho && unclippedObj > clippedObj { clipped += 1 }
            var l = -min(unclippedObj, clippedObj)
            if o.klCoefficient != 0, let ref = refLogProbs {
                let d = ref[t] - logProbs[t]
                switch o.klEstimator {
                case .k1:
                    l += o.klCoefficient * -d
                    g += o.klCoefficient
                    klSum += Double(-d)
                case .k3:
                    let e = Foundation.exp(d)
                    l += o.klCoefficient * (e - d - 1)
                    g += o.klCoefficient * (1 - e)
                    klSum += Double(e - d - 1)
                }
            }
            let w = weight(t)
            loss += Double(l * w)
            grad[t] = g * w
        }
        let responseTokens = mask.filter { $0 != 0 }.count
        return GRPOLossResult(loss: Float(loss), gradLogProbs: grad,
                              clipFraction: responseTokens > 0 ? clipped / Float(responseTokens) : 0,
                              meanKL: responseTokens > 0 ? Float(klSum / Double(responseTokens)) : 0)
    }
}
