// Quantities of one next-token distribution given its logits: log-probabilities, the top-k, and the
// top-k entropy that RPT uses to find hard positions (paper §3.3; docs/method.md §4.2): take the k
// largest logits, renormalise them with a softmax over those k alone, H = −Σ p ln p in nats (≤ ln k).

import Foundation
import RPTKernels

public enum Distribution {
    /// log softmax(logits)[token].
    public static func logProb(_ logits: UnsafePointer<Float>, vocab: Int, token: Int) -> Float {
        logits[token] - Vector.logSumExp(logits, count: vocab)
    }

    /// Index of the first largest value (torch.argmax's convention); NaNs are passed over, but a NaN first value
    /// (or no values) gives 0.
    public static func argmax(_ p: UnsafePointer<Float>, count: Int) -> Int {
        guard count > 0, !p[0].isNaN else { return 0 }
        return Vector.argmax(p, count: count) ?? 0
    }

    /// Indices of the k largest logits, largest first (ties: lower index first).
    public static func topK(_ logits: UnsafePointer<Float>, vocab: Int, k: Int) -> [Int] {
        let k = min(k, vocab)
        guard k > 0 else { return [] }
        // A sorted window of the best k seen so far; most logits fail the threshold test at once.
        var best: [(value: Float, index: Int)] = []
        best.reserveCapacity(k + 1)
        var threshold = -Float.infinity
        for i in 0..<vocab {
            let v = logits[i]
            if best.count == k && !(v > threshold) { continue }
            if v.isNaN { continue }
            var j = best.count
            while j > 0 && best[j - 1].value < v { j -= 1 }
            best.insert((v, i), at: j)
            if best.count > k { best.removeLast() }
            if best.count == k { threshold = best[k - 1].value }
        }
        return best.map(\.index)
    }

    /// The RPT entropy: Shannon entropy (nats) of the softmax over the top-k logits only.
    public static func topKEntropy(_ logits: UnsafePointer<Float>, vocab: Int, k: Int = 16) -> Float {
        let idx = topK(logits, vocab: vocab, k: k)
        guard let first = idx.first else { return 0 }
        let m = logits[first]
        var z: Double = 0
        var s: Double = 0
        for i in idx {
            let a = Double(logits[i] - m)
            let e = Foundation.exp(a)
            z += e
            s += e * a
        }
        // H = log Z − Σ p·a, with a = logit − max.
        return Float(Foundation.log(z) - s / z)
    }

    /// The same entropy from the k largest of `values`, any shift of the logits: log-probabilities as a server
    /// returns them (top-k log-softmax values) give what `topKEntropy(_:vocab:k:)` gives for the logits.
    public static func topKEntropy(values: [Float], k: Int = 16) -> Float {
        let top = values.filter { !$0.isNaN }.sorted(by: >).prefix(k)
        guard let m = top.first else { return 0 }
        var z: Double = 0
        var s: Double = 0
        for v in top {
            let a = Double(v - m)
            let e = Foundation.exp(a)
            z += e
            s += e * a
        }
        return Float(Foundation.log(z) - s / z)
    }
}
