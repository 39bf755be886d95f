// The scaling-curve fit (paper §4.2, Eq. 5): Levenberg–Marquardt on generic problems, recovery of known
// A, α, P* from synthetic curves over 1e12–1e18 FLOPs (exact without noise, within a few standard errors
// with seeded Gaussian noise, and standard errors that match the spread over many noisy draws), the two
// input formats, and errors that name the file for bad input.

import Foundation
import Testing
@testable import RPT

/// A synthetic curve: accuracy `pMin` at 1e12 FLOPs rising (or falling) towards `pStar` with exponent `alpha`.
struct Curve: CustomStringConvertible, Sendable {
    var alpha: Double, pStar: Double, pMin: Double
    var a: Double { (pMin - pStar) * pow(1e12, alpha) }
    var description: String { "α=\(alpha) P*=\(pStar) P(1e12)=\(pMin)" }
    func compute(_ n: Int) -> [Double] { (0..<n).map { pow(10, 12 + 6 * Double($0) / Double(n - 1)) } }
    func accuracy(_ c: [Double], noise: Double = 0, seed: UInt64 = 0) -> [Double] {
        var rng = RandomGenerator(seed: seed)
        return c.map { a * pow($0, -alpha) + pStar + noise * Double(rng.nextGaussian()) }
    }
}

@Suite struct PowerLawFitTests {
    static let curves = [
        Curve(alpha: 0.2, pStar: 0.60, pMin: 0.10),
        Curve(alpha: 0.5, pStar: 0.45, pMin: 0.20),
        Curve(alpha: 0.8, pStar: 0.70, pMin: 0.25),
        Curve(alpha: 1.0, pStar: 0.80, pMin: 0.30),
        Curve(alpha: 1.5, pStar: 0.35, pMin: 0.05),
        Curve(alpha: 0.3, pStar: 0.10, pMin: 0.90),   // falling: A > 0, no sign forced
    ]

    @Test(arguments: curves) func recoversExactCurve(_ t: Curve) throws {
        let c = t.compute(13)
        let f = try PowerLawFit.fit(compute: c, accuracy: t.accuracy(c), file: "synthetic")
        #expect(abs(f.alpha - t.alpha) < 1e-6 * t.alpha, "α \(f.alpha) vs \(t.alpha)")
        #expect(abs(f.a - t.a) < 1e-5 * abs(t.a), "A \(f.a) vs \(t.a)")
        #expect(abs(f.pStar - t.pStar) < 1e-7, "P* \(f.pStar) vs \(t.pStar)")
        #expect(f.r2 > 1 - 1e-10)
        #expect(f.residuals.allSatisfy { abs($0) < 1e-8 })
        // A is in original compute units: the prediction formula needs no rescaling.
        #expect(abs(f.a * pow(3e15, -f.alpha) + f.pStar - (t.a * pow(3e15, -t.alpha) + t.pStar)) < 1e-8)
        #expect((f.a < 0) == (t.a < 0))
    }

    @Test(arguments: curves) func recoversNoisyCurveWithinStandardErrors(_ t: Curve) throws {
        let c = t.compute(25)
        let f = try PowerLawFit.fit(compute: c, accuracy: t.accuracy(c, noise: 0.003, seed: 7), file: "synthetic")
        let se = try #require(f.standardErrors)
        #expect(abs(f.alpha - t.alpha) <= 4 * se.alpha, "α \(f.alpha) ± \(se.alpha) vs \(t.alpha)")
        #expect(abs(f.pStar - t.pStar) <= 4 * se.pStar, "P* \(f.pStar) ± \(se.pStar) vs \(t.pStar)")
        #expect(abs(f.a - t.a) <= 4 * se.a, "A \(f.a) ± \(se.a) vs \(t.a)")
        #expect(abs(f.alpha - t.alpha) < 0.25 * t.alpha && abs(f.pStar - t.pStar) < 0.02)
        #expect(f.r2 > 0.98)
        let rms = (f.sse / Double(f.n)).squareRoot()
        #expect(rms > 0.0015 && rms < 0.0045, "residual RMS \(rms) should be near the noise 0.003")
    }

    /// Over 200 seeds the spread of α̂ and P̂* matches the reported standard errors (within 25%).
    @Test func standardErrorsMatchMonteCarloSpread() throws {
        let t = Curve(alpha: 0.5, pStar: 0.45, pMin: 0.20)
        let c = t.compute(20)
        var alphas: [Double] = [], pStars: [Double] = [], seAlpha: [Double] = [], sePStar: [Double] = []
        for seed in 1...200 {
            let f = try PowerLawFit.fit(compute: c, accuracy: t.accuracy(c, noise: 0.004, seed: UInt64(seed)), file: "mc")
            let se = try #require(f.standardErrors)
            alphas.append(f.alpha); pStars.append(f.pStar); seAlpha.append(se.alpha); sePStar.append(se.pStar)
        }
        func sd(_ x: [Double]) -> Double {
            let m = x.reduce(0, +) / Double(x.count)
            return (x.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(x.count - 1)).squareRoot()
        }
        func mean(_ x: [Double]) -> Double { x.reduce(0, +) / Double(x.count) }
        #expect(abs(sd(alphas) / mean(seAlpha) - 1) < 0.25, "sd α̂ \(sd(alphas)) vs mean s.e. \(mean(seAlpha))")
        #expect(abs(sd(pStars) / mean(sePStar) - 1) < 0.25, "sd P̂* \(sd(pStars)) vs mean s.e. \(mean(sePStar))")
        #expect(abs(mean(alphas) - t.alpha) < 0.02 && abs(mean(pStars) - t.pStar) < 0.002)
    }

    /// The paper's checkpoints (steps 100–1200) span barely a decade of compute; the exact curve is still recovered.
    @Test(arguments: [Curve(alpha: 0.5, pStar: 0.45, pMin: 0.2), Curve(alpha: 1.2, pStar: 0.35, pMin: 0.05), Curve(alpha: 0.15, pStar: 0.9, pMin: 0.1)])
    func recoversCurveFromPaperCheckpointSchedule(_ t: Curve) throws {
        let c = [100.0, 200, 400, 800, 1000, 1200].map { $0 * 1e13 }
        let f = try PowerLawFit.fit(compute: c, accuracy: t.accuracy(c), file: "steps")
        #expect(abs(f.alpha - t.alpha) < 1e-6 && abs(f.pStar - t.pStar) < 1e-6 && abs(f.a / t.a - 1) < 1e-5, "\(f.alpha) \(f.pStar) \(f.a)")
    }

    @Test func threePointsFitExactlyWithoutStandardErrors() throws {
        let t = Curve(alpha: 0.7, pStar: 0.5, pMin: 0.2)
        let c = [1e13, 1e15, 1e17]
        let f = try PowerLawFit.fit(compute: c, accuracy: t.accuracy(c), file: "three")
        #expect(f.standardErrors == nil)
        #expect(abs(f.alpha - 0.7) < 1e-6 && f.residuals.allSatisfy { abs($0) < 1e-9 })
    }

    @Test func badInputIsAnErrorNamingTheFile() throws {
        let e = expectRPTError(naming: "points.jsonl") {
            _ = try PowerLawFit.fit(compute: [1e12, 1e13], accuracy: [0.1, 0.2], file: "points.jsonl", split: "hard")
        }
        #expect(e?.message.contains("split \"hard\"") == true && e?.message.contains("3 distinct") == true)
        expectRPTError(naming: "p") { _ = try PowerLawFit.fit(compute: [1e12, 1e12, 1e13, 1e13], accuracy: [0.1, 0.11, 0.2, 0.21], file: "p") }
        expectRPTError(naming: "p") { _ = try PowerLawFit.fit(compute: [1e12, 1e13, 1e14], accuracy: [0.1, .nan, 0.3], file: "p") }
        expectRPTError(naming: "p") { _ = try PowerLawFit.fit(compute: [1e12, .infinity, 1e14], accuracy: [0.1, 0.2, 0.3], file: "p") }
        expectRPTError(naming: "p") { _ = try PowerLawFit.fit(compute: [1e12, 0, 1e14], accuracy: [0.1, 0.2, 0.3], file: "p") }
        expectRPTError(naming: "p") { _ = try PowerLawFit.fit(compute: [1e12, 1e13, 1e14], accuracy: [0.3, 0.3, 0.3], file: "p") }
    }

    // MARK: Levenberg–Marquardt on its own

    @Test func levenbergMarquardtSolvesRosenbrock() throws {
        func residuals(_ p: [Double]) -> [Double] { [10 * (p[1] - p[0] * p[0]), 1 - p[0]] }
        func jacobian(_ p: [Double]) -> [[Double]] { [[-20 * p[0], 10], [-1, 0]] }
        let r = try #require(LevenbergMarquardt().minimize(initial: [-1.2, 1], residuals: residuals, jacobian: jacobian))
        #expect(abs(r.parameters[0] - 1) < 1e-8 && abs(r.parameters[1] - 1) < 1e-8 && r.cost < 1e-16)
    }

    @Test func levenbergMarquardtWithForwardDifferences() throws {
        let t = (0..<20).map { Double($0) / 4 }
        let y = t.map { 2.5 * exp(-1.3 * $0) + 0.4 }
        func residuals(_ p: [Double]) -> [Double] { zip(t, y).map { p[0] * exp(-p[1] * $0) + p[2] - $1 } }
        let r = try #require(LevenbergMarquardt().minimize(initial: [1, 0.5, 0], residuals: residuals))
        #expect(abs(r.parameters[0] - 2.5) < 1e-6 && abs(r.parameters[1] - 1.3) < 1e-6 && abs(r.parameters[2] - 0.4) < 1e-6)
        #expect(LevenbergMarquardt().minimize(initial: [0], residuals: { _ in [.nan] }) == nil)
    }

    // MARK: Input files

    @Test func readsJSONLinesWithFlopsSynonymAndDefaultSplit() throws {
        let dir = temporaryDirectory("fit")
        let path = dir + "/p.jsonl"
        try Data("""
        {"split":"hard","compute":1e13,"accuracy":0.1}
        {"flops":1e14,"accuracy":0.3}

        {"split":"hard","flops":2e15,"accuracy":0.2}\r
        {"split":null,"compute":3e15,"accuracy":0.4}
        """.utf8).write(to: URL(fileURLWithPath: path))
        let p = try FitPoints.load(path: path)
        #expect(p.splits == ["hard", "all"])
        #expect(p.points["hard"] == [.init(compute: 1e13, accuracy: 0.1), .init(compute: 2e15, accuracy: 0.2)])
        #expect(p.points["all"]?.map(\.compute) == [1e14, 3e15])
    }

    @Test func readsEvalFileSkippingResultsWithoutCompute() throws {
        let path = temporaryDirectory("fit") + "/eval.json"
        try Data(Self.evalFile.utf8).write(to: URL(fileURLWithPath: path))
        let p = try FitPoints.load(path: path)
        #expect(p.splits == ["easy", "hard"])
        #expect(p.points["easy"]?.map(\.compute) == [1e15, 2e15, 4e15])
        #expect(p.points["hard"]?.map(\.accuracy) == [0.1, 0.15, 0.18])
        #expect(p.skipped.count == 1 && p.skipped[0].contains("step-000000"))
    }

    static let evalFile = """
    {"format":"rpt-eval/1","results":[
     {"model":"runs/x/step-000000","step":0,"flops":null,"splits":{"easy":{"n":10,"accuracy":0.2,"ci95":[0.1,0.3]},"hard":{"n":10,"accuracy":0.05}}},
     {"model":"runs/x/step-000100","step":100,"flops":1e15,"splits":{"easy":{"n":10,"accuracy":0.3},"hard":{"n":10,"accuracy":0.1}}},
     {"model":"runs/x/step-000200","step":200,"flops":2e15,"splits":{"easy":{"n":10,"accuracy":0.36},"hard":{"n":10,"accuracy":0.15}}},
     {"model":"runs/x/step-000400","step":400,"flops":4e15,"splits":{"easy":{"n":10,"accuracy":0.4},"hard":{"n":10,"accuracy":0.18}}}]}
    """

    @Test(arguments: [
        ("{\"compute\":1e13,\"accuracy\":0.1}\n{\"compute\":1e14,\"accuracy\":0.2\n", "line 2"),
        ("{\"compute\":1e13,\"accuracy\":0.1}\n{\"compute\":NaN,\"accuracy\":0.2}\n", "line 2"),
        ("{\"compute\":1e13,\"accuracy\":\"nan\"}\n", "line 1"),
        ("{\"compute\":1e999,\"accuracy\":0.1}\n", "line 1"),
        ("{\"compute\":-5,\"accuracy\":0.1}\n", "line 1"),
        ("[1,2]\n", "line 1"),
        ("\n  \n", "empty"),
        ("{\"format\":\"rpt-eval/2\",\"results\":[]}", "unsupported format"),
        ("{\"format\":\"rpt-eval/1\",\"results\":[{\"flops\":null}]}", "no result with flops"),
    ]) func malformedPointsFileNamesFileAndLine(_ text: String, _ expected: String) throws {
        let path = temporaryDirectory("fit") + "/bad.jsonl"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        let e = expectRPTError(naming: path) { _ = try FitPoints.load(path: path) }
        #expect(e?.message.contains(expected) == true, "\(String(describing: e))")
    }
}
