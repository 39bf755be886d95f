// The scaling fit for the report, decoded from an "rpt-fit/1" file (FitFile): per split, the parameters of
// P(C) = A / C^α + P* (paper §4.2, Eq. 5), its R², and the (compute, accuracy) points it was fitted to.
// The file does not say in which unit C entered the fit (a fitter may rescale FLOPs, e.g. to 1e20 for
// numerical stability), so the curve's compute scale is recovered from the points' "predicted" values
// when raw FLOPs do not reproduce them; without them the curve is drawn in raw FLOPs.

import Foundation

struct FitCurve {
    struct Point {
        var compute: Double
        var accuracy: Double
        var predicted: Double?
        var residual: Double?
    }

    var split: String
    var a: Double?
    var alpha: Double?
    var pStar: Double?
    var r2: Double?
    var n: Int?
    var points: [Point]
    /// C is divided by this before entering A / C^α (1 when the fit used raw FLOPs).
    var computeScale: Double = 1

    /// The fitted accuracy at compute `c` (FLOPs); nil without parameters.
    func predict(_ c: Double) -> Double? {
        guard let a, let alpha, let pStar, c > 0 else { return nil }
        let v = a / pow(c / computeScale, alpha) + pStar
        return v.isFinite ? v : nil
    }

    /// Picks `computeScale` so that the curve reproduces the points' "predicted" values: raw FLOPs when
    /// they already do, else the median scale that each point implies.
    mutating func inferComputeScale() {
        guard let a, let alpha, let pStar, a != 0, alpha != 0 else { return }
        let known = points.filter { $0.predicted != nil && $0.compute > 0 }
        guard !known.isEmpty else { return }
        func fits(_ scale: Double) -> Bool {
            known.allSatisfy { p in
                let v = a / pow(p.compute / scale, alpha) + pStar
                return abs(v - p.predicted!) <= 1e-3 * max(1, abs(p.predicted!))
            }
        }
        if fits(1) { return }
        var implied: [Double] = []
        for p in known {
            let ratio = (p.predicted! - pStar) / a   // = (C/s)^(-α)
            guard ratio > 0 else { continue }
            let scaled = pow(ratio, -1 / alpha)
            if scaled.isFinite, scaled > 0 { implied.append(p.compute / scaled) }
        }
        guard !implied.isEmpty else { return }
        let median = implied.sorted()[implied.count / 2]
        if fits(median) { computeScale = median }
    }
}

struct FitInput {
    static let format = FitFile.format
    var path: String
    var curves: [FitCurve]

    static func load(path: String) throws -> FitInput {
        let file = try FitFile.load(path: path)
        let curves = ReportOrder.splits(Array(file.fits.keys)).map { split -> FitCurve in
            let f = file.fits[split]!
            let points = (f.points ?? []).filter { $0.compute.isFinite && $0.accuracy.isFinite }
                .map { FitCurve.Point(compute: $0.compute, accuracy: $0.accuracy, predicted: $0.predicted, residual: $0.residual) }
            var curve = FitCurve(split: split, a: f.a, alpha: f.alpha, pStar: f.pStar, r2: f.r2, n: f.n,
                                 points: points.sorted { $0.compute < $1.compute })
            curve.inferComputeScale()
            return curve
        }
        return FitInput(path: path, curves: curves)
    }
}
