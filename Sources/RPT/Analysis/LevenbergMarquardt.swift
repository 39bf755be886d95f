// Nonlinear least squares by Levenberg–Marquardt (Marquardt 1963, with diagonal scaling of JᵀJ as in
// Moré 1978): minimise ½‖r(p)‖² for any residual function r, with an analytic or forward-difference
// Jacobian. Used by the scaling-curve fit (paper §4.2, Eq. 5); generic so other curves can reuse it.

import Foundation

public struct LevenbergMarquardt {
    public var maxIterations = 500
    /// Stop when a step changes every parameter by less than this, relative to its size.
    public var parameterTolerance = 1e-12
    /// Stop when an accepted step lowers the cost by less than this fraction.
    public var costTolerance = 1e-15

    public init() {}

    public struct Result {
        public var parameters: [Double]
        public var residuals: [Double]
        /// ‖r‖², the sum of squared residuals.
        public var cost: Double
        public var jacobian: [[Double]]
        public var iterations: Int
        public var converged: Bool
    }

    /// Minimises ‖residuals(p)‖² from `initial`. `jacobian(p)` gives ∂rᵢ/∂pⱼ as rows; nil → forward differences.
    /// Returns nil when the residuals are not finite at `initial`.
    public func minimize(initial: [Double], residuals: ([Double]) -> [Double],
                         jacobian: (([Double]) -> [[Double]])? = nil) -> Result? {
        func jac(_ p: [Double]) -> [[Double]] { jacobian?(p) ?? Self.forwardDifference(p, residuals) }
        var p = initial
        var r = residuals(p)
        guard r.allSatisfy(\.isFinite) else { return nil }
        var cost = Self.sumOfSquares(r)
        var j = jac(p)
        var lambda = 1e-3
        var converged = false
        var iteration = 0
        while iteration < maxIterations, !converged {
            iteration += 1
            let (jtj, jtr) = SmallLinearAlgebra.normalEquations(j, r)
            var accepted = false
            while lambda < 1e16 {
                var damped = jtj
                for i in 0..<p.count { damped[i][i] += lambda * max(jtj[i][i], 1e-300) }
                guard let step = SmallLinearAlgebra.solve(damped, jtr.map { -$0 }) else { lambda *= 10; continue }
                let candidate = zip(p, step).map(+)
                let rc = residuals(candidate)
                let cc = Self.sumOfSquares(rc)
                if cc.isFinite, cc <= cost {
                    let small = zip(step, candidate).allSatisfy { abs($0) <= parameterTolerance * (abs($1) + parameterTolerance) }
                    converged = small || cost - cc <= costTolerance * cost
                    p = candidate; r = rc; cost = cc
                    lambda = max(lambda / 10, 1e-12)
                    accepted = true
                    break
                }
                lambda *= 10
            }
            if !accepted { converged = true; break }   // no downhill step at any damping: a minimum
            j = jac(p)
        }
        return Result(parameters: p, residuals: r, cost: cost, jacobian: j, iterations: iteration, converged: converged)
    }

    static func sumOfSquares(_ r: [Double]) -> Double { r.reduce(0) { $0 + $1 * $1 } }

    static func forwardDifference(_ p: [Double], _ f: ([Double]) -> [Double]) -> [[Double]] {
        let r0 = f(p)
        var rows = [[Double]](repeating: [Double](repeating: 0, count: p.count), count: r0.count)
        for k in 0..<p.count {
            let h = 1.5e-8 * max(abs(p[k]), 1)
            var q = p
            q[k] += h
            let r1 = f(q)
            for i in 0..<r0.count { rows[i][k] = (r1[i] - r0[i]) / h }
        }
        return rows
    }
}
