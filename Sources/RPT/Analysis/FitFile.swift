// The file `rpt fit --out` writes, "rpt-fit/1": one Codable type that `rpt fit` fills and every reader decodes
// (`rpt report`: FitInput; `rpt reproduce`: the G3 gate and results.json; the quickstart summary). Per split, the
// Eq. 5 parameters (paper §4.2) in original compute units, R², the points with predictions and residuals, and
// standard errors (absent when n = 3):
// {"format":"rpt-fit/1","source":FILE,"skipped":[..],"fits":{"<split>":{"A":..,"alpha":..,"p_star":..,
//  "r2":..,"n":..,"compute_scale":..,"points":[{"compute":..,"accuracy":..,"predicted":..,"residual":..}],
//  "stderr":{"A":..,"alpha":..,"p_star":..}}}}
// Splits whose fit failed are absent from "fits" and named in "skipped".

import Foundation

public struct FitFile: StageFile, Sendable, Equatable {
    public static let format = "rpt-fit/1"

    public struct Point: Codable, Sendable, Equatable {
        public var compute: Double
        public var accuracy: Double
        public var predicted: Double?
        public var residual: Double?
    }

    public struct Parameters: Codable, Sendable, Equatable {
        public var a: Double?
        public var alpha: Double?
        public var pStar: Double?
        enum CodingKeys: String, CodingKey { case a = "A", alpha, pStar = "p_star" }
    }

    /// One split's fit of P(C) = A / C^α + P*.
    public struct Fit: Codable, Sendable, Equatable {
        public var a: Double?
        public var alpha: Double?
        public var pStar: Double?
        public var r2: Double?
        public var n: Int?
        /// C was divided by this inside the fit (A is reported in original units).
        public var computeScale: Double?
        public var points: [Point]?
        public var stderr: Parameters?
        enum CodingKeys: String, CodingKey {
            case a = "A", alpha, pStar = "p_star", r2, n, computeScale = "compute_scale", points, stderr
        }

        public init(_ f: PowerLawFit) {
            a = f.a; alpha = f.alpha; pStar = f.pStar; r2 = f.r2; n = f.n; computeScale = f.computeScale
            points = f.compute.indices.map { Point(compute: f.compute[$0], accuracy: f.accuracy[$0], predicted: f.predicted[$0], residual: f.residuals[$0]) }
            stderr = f.standardErrors.map { Parameters(a: $0.a, alpha: $0.alpha, pStar: $0.pStar) }
        }
    }

    public var format: String = FitFile.format
    public var source: String?
    public var skipped: [String]?
    public var fits: [String: Fit]

    public init(fits: [(split: String, fit: PowerLawFit)], source: String, skipped: [String] = []) {
        self.source = source
        self.skipped = skipped
        self.fits = Dictionary(fits.map { ($0.split, Fit($0.fit)) }, uniquingKeysWith: { a, _ in a })
    }

    /// R² per split (splits whose fit failed are absent).
    public var r2: [String: Double] { fits.compactMapValues(\.r2) }
}
