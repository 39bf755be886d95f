// Dense solves for the handful of unknowns of a curve fit (Levenberg–Marquardt steps, covariance):
// Gaussian elimination with partial pivoting on row-major [[Double]]. Not for large systems.

import Foundation

enum SmallLinearAlgebra {
    /// Solves `a · x = b`; nil when `a` is singular to working precision.
    static func solve(_ a: [[Double]], _ b: [Double]) -> [Double]? {
        let n = b.count
        precondition(a.count == n && a.allSatisfy { $0.count == n }, "solve: shape mismatch")
        var m = a, x = b
        let scale = a.joined().map(abs).max() ?? 0
        guard scale > 0, scale.isFinite else { return nil }
        for col in 0..<n {
            let pivot = (col..<n).max { abs(m[$0][col]) < abs(m[$1][col]) }!
            guard abs(m[pivot][col]) > scale * 1e-14 else { return nil }
            if pivot != col { m.swapAt(pivot, col); x.swapAt(pivot, col) }
            for row in (col + 1)..<n {
                let f = m[row][col] / m[col][col]
                if f == 0 { continue }
                for k in col..<n { m[row][k] -= f * m[col][k] }
                x[row] -= f * x[col]
            }
        }
        for row in stride(from: n - 1, through: 0, by: -1) {
            var s = x[row]
            for k in (row + 1)..<n { s -= m[row][k] * x[k] }
            x[row] = s / m[row][row]
        }
        return x.allSatisfy(\.isFinite) ? x : nil
    }

    /// The inverse of `a`, column by column; nil when singular.
    static func inverse(_ a: [[Double]]) -> [[Double]]? {
        let n = a.count
        var columns: [[Double]] = []
        for j in 0..<n {
            var e = [Double](repeating: 0, count: n)
            e[j] = 1
            guard let c = solve(a, e) else { return nil }
            columns.append(c)
        }
        return (0..<n).map { i in (0..<n).map { j in columns[j][i] } }
    }

    /// JᵀJ and Jᵀr for a Jacobian given as rows (one per residual).
    static func normalEquations(_ jacobian: [[Double]], _ residuals: [Double]) -> (jtj: [[Double]], jtr: [Double]) {
        let p = jacobian.first?.count ?? 0
        var jtj = [[Double]](repeating: [Double](repeating: 0, count: p), count: p)
        var jtr = [Double](repeating: 0, count: p)
        for (row, r) in zip(jacobian, residuals) {
            for i in 0..<p {
                jtr[i] += row[i] * r
                for j in 0..<p { jtj[i][j] += row[i] * row[j] }
            }
        }
        return (jtj, jtr)
    }
}
