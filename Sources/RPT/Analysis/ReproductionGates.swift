// The gates of the RPT reproduction in miniature (docs/reproduction.md), judged on the held-out evaluation
// positions of one seed from the files `rpt reproduce` writes (rpt-compare/1, rpt-eval/1, rpt-fit/1):
//   G1  RPT (d, reasoning) beats compute-matched NTP (b, standard) on the hard split; paired 95% CI above 0
//       (paper Table 1: RPT-14B 23.75 vs 20.43 on hard)
//   G2  RPT (d) beats its cold start (c) on every split (RL improves on the cold start)
//   G3  accuracy of (d) against RL compute fits P(C) = A / C^α + P* with R² ≥ 0.95 on every split (Fig. 5)
//   G4  the cold start (c) keeps the base model's (a) standard accuracy: it loses at most 2 points on any split
//   G5  RL's share is real: (d) − (c) on hard has a paired 95% CI above 0, and (d) beats the supervised
//       control (e) that spends RL's compute on more demonstrations from (c)
// Splits are the paper's (entropy > 0.5 / 1.0 / 1.5 under the base model); "calculation" (positions inside an
// annotated calculation's result) is reported beside them, never gated.

import Foundation

public struct ReproductionGates: Sendable {
    public struct Gate: Sendable {
        public var name: String
        public var claim: String
        public var passed: Bool
        /// The numbers the verdict rests on, e.g. "hard: +12.3 [+10.1, +14.6]".
        public var evidence: String
    }

    public static let splits = ["easy", "medium", "hard"]
    public var gates: [Gate] = []

    /// A compare file's group: difference and CI (fractions).
    public struct Difference: Sendable {
        public var meanA: Double, meanB: Double, difference: Double, low: Double, high: Double, n: Int
        public init(meanA: Double, meanB: Double, difference: Double, low: Double, high: Double, n: Int) {
            self.meanA = meanA; self.meanB = meanB; self.difference = difference; self.low = low; self.high = high; self.n = n
        }
        public var json: JSON {
            .object(["a": .number(meanA), "b": .number(meanB), "difference": .number(difference),
                     "ci95": .array([.number(low), .number(high)]), "n": .number(Double(n))])
        }
        public var text: String { String(format: "%+.1f [%+.1f, %+.1f]", 100 * difference, 100 * low, 100 * high) }
    }

    /// The per-group differences of an rpt-compare/1 file.
    public static func differences(compareFile path: String) throws -> [String: Difference] {
        try CompareFile.load(path: path).splits.mapValues {
            Difference(meanA: $0.meanA, meanB: $0.meanB, difference: $0.difference, low: $0.ci95.low, high: $0.ci95.high, n: $0.n)
        }
    }

    /// Judges the five gates. `g1`: d vs b; `rl`: d vs c; `control`: d vs e; `coldStartNTP`: c vs a (standard
    /// mode); `r2`: the fit per split (nil when the fit could not be made).
    public init(g1: [String: Difference], rl: [String: Difference], control: [String: Difference],
                coldStartNTP: [String: Difference], r2: [String: Double]?) {
        func d(_ m: [String: Difference], _ s: String) -> Difference? { m[s] }
        func list(_ m: [String: Difference]) -> String {
            Self.splits.map { s in "\(s) " + (m[s]?.text ?? "–") }.joined(separator: "; ")
        }
        let hard1 = d(g1, "hard")
        gates.append(Gate(name: "G1", claim: "RPT (reasoning) beats compute-matched NTP on hard, paired 95% CI above 0",
                          passed: (hard1?.low ?? -1) > 0, evidence: "hard " + (hard1?.text ?? "–")))
        gates.append(Gate(name: "G2", claim: "RPT beats its cold start on every split",
                          passed: Self.splits.allSatisfy { (rl[$0]?.difference ?? -1) > 0 }, evidence: list(rl)))
        let r2Text = Self.splits.map { s in "\(s) " + (r2?[s].map { String(format: "%.3f", $0) } ?? "–") }.joined(separator: "; ")
        gates.append(Gate(name: "G3", claim: "accuracy vs RL compute fits Eq. 5 with R² ≥ 0.95 on every split",
                          passed: Self.splits.allSatisfy { (r2?[$0] ?? 0) >= 0.95 }, evidence: r2Text))
        gates.append(Gate(name: "G4", claim: "the cold start loses at most 2 points of the base model's NTP accuracy on any split",
                          passed: Self.splits.allSatisfy { (coldStartNTP[$0]?.difference ?? -1) >= -0.02 }, evidence: list(coldStartNTP)))
        let hardRL = d(rl, "hard"), hardControl = d(control, "hard")
        gates.append(Gate(name: "G5", claim: "RL − cold start on hard has a paired CI above 0, and RPT beats the supervised control",
                          passed: (hardRL?.low ?? -1) > 0 && (hardControl?.difference ?? -1) > 0,
                          evidence: "hard vs cold start " + (hardRL?.text ?? "–") + "; hard vs control " + (hardControl?.text ?? "–")))
    }

    public var json: JSON {
        .array(gates.map { .object(["gate": .string($0.name), "claim": .string($0.claim), "passed": .bool($0.passed), "evidence": .string($0.evidence)]) })
    }
}
