// The "rpt-fit/1" JSON written by `rpt fit`: one entry per split with the Eq. 5 parameters in original
// compute units, R², the points with predictions and residuals, and standard errors (null when n = 3):
// {"format":"rpt-fit/1","source":FILE,"skipped":[..],"fits":{"<split>":{"A":..,"alpha":..,"p_star":..,
//  "r2":..,"n":..,"compute_scale":..,"points":[{"compute":..,"accuracy":..,"predicted":..,"residual":..}],
//  "stderr":{"A":..,"alpha":..,"p_star":..}|null}}}

import Foundation

public enum FitReport {
    public static let format = "rpt-fit/1"

    public static func json(_ fits: [(split: String, fit: PowerLawFit)], source: String, skipped: [String] = []) -> JSON {
        var out: [String: JSON] = [:]
        for (split, f) in fits { out[split] = json(f) }
        return .object(["format": .string(format), "source": .string(source),
                        "skipped": .array(skipped.map(JSON.string)), "fits": .object(out)])
    }

    public static func json(_ f: PowerLawFit) -> JSON {
        let points: [JSON] = f.compute.indices.map { i in
            .object(["compute": .number(f.compute[i]), "accuracy": .number(f.accuracy[i]),
                     "predicted": .number(f.predicted[i]), "residual": .number(f.residuals[i])])
        }
        let stderr: JSON = f.standardErrors.map {
            .object(["A": .number($0.a), "alpha": .number($0.alpha), "p_star": .number($0.pStar)])
        } ?? .null
        return .object(["A": .number(f.a), "alpha": .number(f.alpha), "p_star": .number(f.pStar),
                        "r2": .number(f.r2), "n": .number(Double(f.n)), "compute_scale": .number(f.computeScale),
                        "points": .array(points), "stderr": stderr])
    }
}
