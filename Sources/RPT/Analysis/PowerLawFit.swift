// The scaling curve of paper §4.2, Eq. 5: next-token accuracy against training compute,
// P(C) = A / C^α + P*, fitted by nonlinear least squares. Compute is divided by a power of ten near its
// geometric mean for conditioning; the starting point comes from a grid over α with A and P* solved
// linearly at each α, then Levenberg–Marquardt refines all three from the best few grid minima.
// A is reported in the original compute units (accuracy rising with compute gives A < 0; no sign is forced).

import Foundation

public struct PowerLawFit: Sendable {
    public var a: Double
    public var alpha: Double
    public var pStar: Double
    /// Standard errors from σ²(JᵀJ)⁻¹ with σ² = SSE/(n−3); nil with exactly three points or a singular JᵀJ.
    public var standardErrors: (a: Double, alpha: Double, pStar: Double)?
    public var compute: [Double]
    public var accuracy: [Double]
    /// The power of ten compute was divided by while fitting.
    public var computeScale: Double
    public var iterations: Int

    public func predict(_ c: Double) -> Double { a * pow(c, -alpha) + pStar }
    public var predicted: [Double] { compute.map(predict) }
    public var residuals: [Double] { zip(accuracy, predicted).map { $0 - $1 } }
    public var n: Int { compute.count }
    public var sse: Double { residuals.reduce(0) { $0 + $1 * $1 } }

    /// Coefficient of determination 1 − SSE/SST.
    public var r2: Double {
        let mean = accuracy.reduce(0, +) / Double(n)
        let sst = accuracy.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        return 1 - sse / sst
    }

    /// Fits the curve; errors name `file` (and `split`, when given).
    public static func fit(compute: [Double], accuracy: [Double], file: String, split: String? = nil) throws -> PowerLawFit {
        func fail(_ why: String) -> RPTError { RPTError((split.map { "split \"\($0)\": " } ?? "") + why, file: file) }
        guard compute.count == accuracy.count else { throw fail("compute and accuracy differ in length") }
        for (c, p) in zip(compute, accuracy) {
            guard c.isFinite, p.isFinite else { throw fail("non-finite value (compute \(c), accuracy \(p))") }
            guard c > 0 else { throw fail("compute must be positive (got \(c))") }
        }
        guard Set(compute).count >= 3 else {
            throw fail("need at least 3 distinct compute values to fit A, α and P* (got \(Set(compute).count))")
        }
        guard Set(accuracy).count >= 2 else {
            throw fail("accuracy is \(accuracy[0]) at every point; a power law is not identifiable")
        }
        let meanLog = compute.reduce(0) { $0 + log10($1) } / Double(compute.count)
        let scale = pow(10, meanLog.rounded())
        let x = compute.map { $0 / scale }
        let model = ScaledModel(x: x, y: accuracy)

        var best: LevenbergMarquardt.Result?
        for start in model.startingPoints() {
            guard let r = LevenbergMarquardt().minimize(initial: start, residuals: model.residuals, jacobian: model.jacobian),
                  r.parameters.allSatisfy(\.isFinite) else { continue }
            if best == nil || r.cost < best!.cost { best = r }
        }
        guard let b = best else { throw fail("the fit did not converge to finite parameters") }
        let (aScaled, alpha, pStar) = (b.parameters[0], b.parameters[1], b.parameters[2])
        let a = aScaled * pow(scale, alpha)
        guard a.isFinite else { throw fail("A overflows in the original compute units (α = \(alpha))") }
        return PowerLawFit(a: a, alpha: alpha, pStar: pStar,
                           standardErrors: standardErrors(b, n: x.count, scale: scale),
                           compute: compute, accuracy: accuracy, computeScale: scale, iterations: b.iterations)
    }

    /// Delta method from the scaled parameters (A_s, α, P*) to (A = A_s·s^α, α, P*).
    static func standardErrors(_ r: LevenbergMarquardt.Result, n: Int, scale s: Double) -> (a: Double, alpha: Double, pStar: Double)? {
        guard n > 3 else { return nil }
        let sigma2 = r.cost / Double(n - 3)
        let (jtj, _) = SmallLinearAlgebra.normalEquations(r.jacobian, r.residuals)
        guard let inv = SmallLinearAlgebra.inverse(jtj) else { return nil }
        let cov = inv.map { $0.map { $0 * sigma2 } }
        let (aS, alpha) = (r.parameters[0], r.parameters[1])
        let dA = [pow(s, alpha), aS * pow(s, alpha) * log(s)]   // ∂A/∂A_s, ∂A/∂α
        let varA = dA[0] * dA[0] * cov[0][0] + 2 * dA[0] * dA[1] * cov[0][1] + dA[1] * dA[1] * cov[1][1]
        let out = (a: varA.squareRoot(), alpha: cov[1][1].squareRoot(), pStar: cov[2][2].squareRoot())
        return [out.a, out.alpha, out.pStar].allSatisfy(\.isFinite) ? out : nil
    }
}

/// y ≈ A_s·x^(−α) + P* on rescaled compute x; parameters [A_s, α, P*].
private struct ScaledModel {
    let x: [Double]
    let y: [Double]

    func residuals(_ p: [Double]) -> [Double] {
        zip(x, y).map { xi, yi in p[0] * pow(xi, -p[1]) + p[2] - yi }
    }

    func jacobian(_ p: [Double]) -> [[Double]] {
        x.map { xi in
            let t = pow(xi, -p[1])
            return [t, -p[0] * t * log(xi), 1]
        }
    }

    /// For fixed α the model is linear in (A_s, P*): ordinary least squares on [x^−α, 1].
    func linearFit(alpha: Double) -> (params: [Double], sse: Double)? {
        let t = x.map { pow($0, -alpha) }
        let n = Double(t.count)
        let st = t.reduce(0, +), sy = y.reduce(0, +)
        let stt = t.reduce(0) { $0 + $1 * $1 }, sty = zip(t, y).reduce(0) { $0 + $1.0 * $1.1 }
        guard let sol = SmallLinearAlgebra.solve([[stt, st], [st, n]], [sty, sy]) else { return nil }
        let p = [sol[0], alpha, sol[1]]
        let sse = residuals(p).reduce(0) { $0 + $1 * $1 }
        return sse.isFinite ? (p, sse) : nil
    }

    /// The local minima of the profile SSE(α) over α in [0.005, 5] (log grid), best first, at most four.
    func startingPoints() -> [[Double]] {
        let grid = (0..<160).map { 0.005 * pow(1000, Double($0) / 159) }
        let fits = grid.map { linearFit(alpha: $0) }
        var minima: [(params: [Double], sse: Double)] = []
        for i in fits.indices {
            guard let f = fits[i] else { continue }
            let left = i > 0 ? fits[i - 1]?.sse ?? .infinity : .infinity
            let right = i + 1 < fits.count ? fits[i + 1]?.sse ?? .infinity : .infinity
            if f.sse <= left && f.sse <= right { minima.append(f) }
        }
        if minima.isEmpty, let any = fits.compactMap({ $0 }).min(by: { $0.sse < $1.sse }) { minima = [any] }
        return minima.sorted { $0.sse < $1.sse }.prefix(4).map(\.params)
    }
}
