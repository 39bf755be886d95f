// `rpt fit`: fit the paper's scaling curve (§4.2, Eq. 5) P(C) = A / C^α + P* to (training compute,
// accuracy) points per split, print the parameters, R² and residuals, and optionally write rpt-fit/1 JSON.

import ArgumentParser
import Foundation
import RPT

struct FitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fit",
        abstract: "Fit accuracy vs training compute to P(C) = A / C^α + P* per split (paper Eq. 5).")

    @Option(help: "JSONL points {\"split\",\"compute\"|\"flops\",\"accuracy\"} or an rpt-eval/1 JSON file.")
    var points: String

    @Option(help: "Write the fits as rpt-fit/1 JSON to this file.")
    var out: String?

    /// The start of the error when no split could be fitted (callers that go on without a fit match it).
    static let nothingFittable = "no split could be fitted"

    func run() throws {
        if let out { try OutputGuard.refuseOverwriting(out, inputs: [points]) }
        let input = try FitPoints.load(path: points)
        for note in input.skipped { StandardError.write("note: \(note)\n") }
        var fits: [(split: String, fit: PowerLawFit)] = []
        var failed: [String] = []
        for split in input.splits {
            let ps = input.points[split]!
            do {
                fits.append((split, try PowerLawFit.fit(compute: ps.map(\.compute), accuracy: ps.map(\.accuracy),
                                                         file: points, split: split)))
            } catch let e as RPTError {
                // One split that cannot be fitted (e.g. constant accuracy) does not hide the others.
                failed.append("\(split): \(e.message)")
                StandardError.write("note: no fit for \(e.message)\n")
            }
        }
        guard !fits.isEmpty else { throw RPTError("\(Self.nothingFittable) (\(failed.joined(separator: "; ")))", file: points) }
        print(row(["split", "n", "A", "alpha", "P*", "R2"]))
        for (split, f) in fits {
            print(row([split, "\(f.n)", g(f.a), g(f.alpha), g(f.pStar), String(format: "%.4f", f.r2)]))
            if let e = f.standardErrors {
                print(row(["  ± s.e.", "", g(e.a), g(e.alpha), g(e.pStar), ""]))
            }
        }
        for (split, f) in fits {
            print("\nresiduals (\(split)):")
            print(row(["compute", "accuracy", "predicted", "residual"]))
            for i in 0..<f.n {
                print(row([g(f.compute[i]), g(f.accuracy[i]), g(f.predicted[i]), String(format: "%+.4g", f.residuals[i])]))
            }
        }
        if let out {
            let file = FitFile(fits: fits, source: points, skipped: input.skipped + failed.map { "no fit for \($0)" })
            try AtomicFile.write(Data((try file.json(file: out).serialized() + "\n").utf8), to: out)
        }
    }

    private func g(_ x: Double) -> String { String(format: "%.6g", x) }
    private func row(_ cells: [String]) -> String {
        cells.map { $0.padding(toLength: max(12, $0.count), withPad: " ", startingAt: 0) }.joined(separator: " ")
    }
}
