// The scaling fit for the report, read from an "rpt-fit/1" file: per split, the parameters of
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
    static let format = "rpt-fit/1"
    var path: String
    var curves: [FitCurve]

    static func load(path: String) throws -> FitInput {
        let json = try JSON.load(path: path)
        guard json["format"]?.string == format else {
            throw RPTError("not an \(format) file (format: \(json["format"]?.string.map { "\"\($0)\"" } ?? "missing"))", file: path)
        }
        let fits = try ReportField.object(json["fits"], "fits", path)
        var curves: [FitCurve] = []
        for split in ReportOrder.splits(Array(fits.keys)) {
            let f = "fits.\(split)"
            let o = try ReportField.object(fits[split], f, path)
            var points: [FitCurve.Point] = []
            if let raw = o["points"], !raw.isNull {
                guard let list = raw.array else { throw RPTError("\(f).points must be an array", file: path) }
                for (i, p) in list.enumerated() {
                    let pf = "\(f).points[\(i)]"
                    guard let c = try ReportField.number(p["compute"], pf + ".compute", path),
                          let acc = try ReportField.number(p["accuracy"], pf + ".accuracy", path) else {
                        throw RPTError("\(pf) needs numeric \"compute\" and \"accuracy\"", file: path)
                    }
                    points.append(.init(compute: c, accuracy: acc,
                                        predicted: try ReportField.number(p["predicted"], pf + ".predicted", path),
                                        residual: try ReportField.number(p["residual"], pf + ".residual", path)))
                }
            }
            var curve = FitCurve(split: split, a: try ReportField.number(o["A"], f + ".A", path),
                                 alpha: try ReportField.number(o["alpha"], f + ".alpha", path),
                                 pStar: try ReportField.number(o["p_star"], f + ".p_star", path),
                                 r2: try ReportField.number(o["r2"], f + ".r2", path),
                                 n: try ReportField.int(o["n"], f + ".n", path), points: points.sorted { $0.compute < $1.compute })
            curve.inferComputeScale()
            curves.append(curve)
        }
        return FitInput(path: path, curves: curves)
    }
}
