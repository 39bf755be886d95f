// Accuracy with a 95% confidence interval, and the unbiased pass@k estimator, for `rpt eval` (paper §4.1,
// Table 1; docs/method.md §6.2: greedy decoding and the mean over k samples at T = 0.8).
//
// Binary outcomes (greedy, standard next-token argmax, pass@k) use the Wilson score interval, which stays
// inside [0, 1] and behaves at 0 % and 100 %; mean accuracy over k samples per position is an average of
// per-position means, with a normal interval over positions.

import Foundation

public struct AccuracyEstimate: Sendable, Equatable {
    public var n: Int
    public var accuracy: Double
    public var low: Double
    public var high: Double

    static let z = 1.959963984540054

    /// Wilson score interval for `successes` out of `n`.
    public static func wilson(successes: Int, n: Int) -> AccuracyEstimate {
        guard n > 0 else { return AccuracyEstimate(n: 0, accuracy: 0, low: 0, high: 0) }
        let p = Double(successes) / Double(n), nn = Double(n), z2 = z * z
        let centre = (p + z2 / (2 * nn)) / (1 + z2 / nn)
        let half = z * (p * (1 - p) / nn + z2 / (4 * nn * nn)).squareRoot() / (1 + z2 / nn)
        return AccuracyEstimate(n: n, accuracy: p, low: max(0, centre - half), high: min(1, centre + half))
    }

    /// Mean of per-item values in [0, 1], with mean ± z·s/√n clipped to [0, 1].
    public static func mean(_ values: [Double]) -> AccuracyEstimate {
        guard !values.isEmpty else { return AccuracyEstimate(n: 0, accuracy: 0, low: 0, high: 0) }
        let n = Double(values.count)
        let m = values.reduce(0, +) / n
        let variance = values.count > 1 ? values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / (n - 1) : 0
        let half = z * (variance / n).squareRoot()
        return AccuracyEstimate(n: values.count, accuracy: m, low: max(0, m - half), high: min(1, m + half))
    }

    public var ci95JSON: JSON { .array([.number(low), .number(high)]) }
}

public enum PassAtK {
    /// Probability that at least one of k samples drawn without replacement from n, c of them correct, is
    /// correct: 1 − C(n−c, k) / C(n, k) (Chen et al. 2021), computed as a stable product.
    public static func estimate(n: Int, correct c: Int, k: Int) -> Double {
        precondition(k >= 1 && k <= n && c >= 0 && c <= n)
        if c == 0 { return 0 }
        if n - c < k { return 1 }
        var missAll = 1.0
        for i in (n - c + 1)...n { missAll *= 1 - Double(k) / Double(i) }
        return 1 - missAll
    }
}
