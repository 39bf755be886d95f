// Accuracy of one evaluation group — a difficulty split (paper §4.1: easy / medium / hard by entropy > 0.5 /
// 1.0 / 1.5) or a multiple-choice category (§4.4) — from per-item scores: greedy (or argmax) accuracy, mean
// accuracy over k samples and pass@k, each with its 95% confidence interval.

import Foundation

/// How one item fared: its greedy (or standard next-token argmax) result, and its sampled results.
public struct ItemScore: Sendable, Equatable {
    public var greedy: Bool?
    public var samples: [Bool]
    public init(greedy: Bool?, samples: [Bool] = []) {
        self.greedy = greedy
        self.samples = samples
    }
}

public struct GroupAccuracy: Sendable, Equatable {
    public var n: Int
    public var greedy: AccuracyEstimate?
    public var sampledMean: AccuracyEstimate?
    public var passAtK: AccuracyEstimate?
    public var k: Int

    /// The headline number: greedy when present, else the sampled mean.
    public var primary: AccuracyEstimate {
        greedy ?? sampledMean ?? AccuracyEstimate(n: n, accuracy: 0, low: 0, high: 0)
    }

    public init(_ items: [ItemScore]) {
        n = items.count
        let greedyItems = items.compactMap(\.greedy)
        greedy = greedyItems.isEmpty && !items.isEmpty ? nil
            : AccuracyEstimate.wilson(successes: greedyItems.filter { $0 }.count, n: greedyItems.count)
        k = items.map(\.samples.count).min() ?? 0
        if k > 0 {
            sampledMean = AccuracyEstimate.mean(items.map { Double($0.samples.filter { $0 }.count) / Double($0.samples.count) })
            let kk = k
            let pass = items.map { PassAtK.estimate(n: $0.samples.count, correct: $0.samples.filter { $0 }.count, k: kk) }
            // With n = k samples the estimate is the indicator "any correct", so the Wilson interval applies.
            passAtK = items.allSatisfy({ $0.samples.count == kk })
                ? AccuracyEstimate.wilson(successes: pass.filter { $0 == 1 }.count, n: items.count)
                : AccuracyEstimate.mean(pass)
        }
    }

    public var json: JSON {
        var o: [String: JSON] = ["n": .number(Double(n)), "accuracy": .number(primary.accuracy), "ci95": primary.ci95JSON]
        if let g = greedy { o["greedy"] = .object(["accuracy": .number(g.accuracy), "ci95": g.ci95JSON]) }
        if let m = sampledMean, let p = passAtK {
            o["sampled"] = .object(["mean_accuracy": .number(m.accuracy), "ci95": m.ci95JSON, "pass_at_k": .number(p.accuracy),
                                    "pass_ci95": p.ci95JSON, "k": .number(Double(k))])
        }
        return .object(o)
    }
}
