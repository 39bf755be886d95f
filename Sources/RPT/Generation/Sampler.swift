// Choosing the next token from logits, in the order transformers' generate applies its warpers:
// temperature, then top-k, then top-p (nucleus: the smallest set of most likely tokens whose
// probability reaches p), then a draw from the renormalised distribution. Temperature 0 is greedy.

import Foundation
import RPTKernels

public struct SamplingParameters: Sendable, Equatable, Codable {
    public var temperature: Float
    public var topK: Int
    public var topP: Float

    public init(temperature: Float = 1, topK: Int = 0, topP: Float = 1) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
    }

    public static let greedy = SamplingParameters(temperature: 0)

    public func validate() throws {
        guard temperature >= 0, temperature.isFinite else { throw RPTError("temperature must be ≥ 0, got \(temperature)") }
        guard topK >= 0 else { throw RPTError("top-k must be ≥ 0 (0 = off), got \(topK)") }
        guard topP > 0, topP <= 1 else { throw RPTError("top-p must be in (0, 1], got \(topP)") }
    }
}

public enum Sampler {
    /// Picks a token id. `rng` is advanced exactly once per non-greedy call.
    public static func sample(_ logits: UnsafePointer<Float>, vocab: Int, params: SamplingParameters,
                              rng: inout RandomGenerator) -> Int {
        if params.temperature == 0 || params.topK == 1 {
            return Vector.argmax(logits, count: vocab) ?? 0   // topK(k: 1)'s token: NaNs passed over
        }
        let invT = 1 / params.temperature
        // Candidates in descending order when truncation is on; all tokens in index order otherwise.
        var candidates: [Int]
        if params.topK > 0 {
            candidates = Distribution.topK(logits, vocab: vocab, k: params.topK)
        } else if params.topP < 1 {
            candidates = nucleusCandidates(logits, vocab: vocab, invT: invT, topP: params.topP)
        } else {
            candidates = []
        }
        if candidates.isEmpty {
            // Full distribution: one pass in index order (the weights kept for the draw's pass).
            let m = Vector.max(logits, count: vocab)
            return withUnsafeTemporaryAllocation(of: Double.self, capacity: vocab) { e in
                var z: Double = 0
                for i in 0..<vocab { e[i] = Foundation.exp(Double((logits[i] - m) * invT)); z += e[i] }
                let u = rng.nextUnit() * z
                var acc: Double = 0
                for i in 0..<vocab {
                    acc += e[i]
                    if u < acc { return i }
                }
                return Distribution.topK(logits, vocab: vocab, k: 1).first ?? 0
            }
        }
        let m = logits[candidates[0]]
        var probs = candidates.map { Foundation.exp(Double((logits[$0] - m) * invT)) }
        var z = probs.reduce(0, +)
        if params.topK == 0 {
            // Nucleus over the whole vocabulary: the candidate list may be a prefix, so normalise by all tokens.
            z = 0
            for i in 0..<vocab { z += Foundation.exp(Double((logits[i] - m) * invT)) }
        }
        if params.topP < 1 {
            // Keep the smallest prefix whose mass reaches top-p (the token that crosses is kept).
            // Mass is measured over the full (temperature-scaled, top-k-truncated) distribution.
            var acc: Double = 0
            var keep = probs.count
            for (i, p) in probs.enumerated() {
                acc += p
                if acc / z >= Double(params.topP) { keep = i + 1; break }
            }
            probs.removeSubrange(keep...)
            candidates.removeSubrange(keep...)
            z = probs.reduce(0, +)
        }
        let u = rng.nextUnit() * z
        var acc: Double = 0
        for (i, p) in probs.enumerated() {
            acc += p
            if u < acc { return candidates[i] }
        }
        return candidates[candidates.count - 1]
    }

    /// Token ids sorted by logit, descending (ties by index), at least enough of them to hold top-p of
    /// the mass: the 256 best when they suffice (the common case), otherwise the whole vocabulary.
    private static func nucleusCandidates(_ logits: UnsafePointer<Float>, vocab: Int, invT: Float, topP: Float) -> [Int] {
        let best = Distribution.topK(logits, vocab: vocab, k: 256)
        let m = logits[best[0]]
        var z: Double = 0
        for i in 0..<vocab { z += Foundation.exp(Double((logits[i] - m) * invT)) }
        var acc: Double = 0
        for i in best {
            acc += Foundation.exp(Double((logits[i] - m) * invT))
            if acc / z >= Double(topP) { return best }
        }
        return (0..<vocab).sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
    }
}
