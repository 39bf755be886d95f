// `rpt fit` as a subprocess: a JSONL of points and an rpt-eval/1 file give a table and rpt-fit/1 JSON whose
// parameters match the library fit; too few points exit non-zero with an error naming the file.

import Foundation
import Testing
@testable import RPT

@Suite struct FitCommandTests {
    @Test func fitsJSONLinesPerSplitAndWritesJSON() throws {
        let dir = temporaryDirectory("fit-cli")
        let easy = Curve(alpha: 0.4, pStar: 0.6, pMin: 0.2), hard = Curve(alpha: 0.9, pStar: 0.3, pMin: 0.05)
        let c = easy.compute(7)
        var lines: [String] = []
        for (name, t) in [("easy", easy), ("hard", hard)] {
            for (ci, p) in zip(c, t.accuracy(c)) { lines.append(JSON.object(["split": .string(name), "flops": .number(ci), "accuracy": .number(p)]).serialized()) }
        }
        try Data(lines.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: dir + "/points.jsonl"))
        let r = try runRPT(["fit", "--points", dir + "/points.jsonl", "--out", dir + "/fit.json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("easy") && r.stdout.contains("hard") && r.stdout.contains("residuals (hard)"))
        let j = try JSON.load(path: dir + "/fit.json")
        #expect(j["format"]?.string == "rpt-fit/1")
        for (name, t) in [("easy", easy), ("hard", hard)] {
            let f = try #require(j["fits"]?[name])
            #expect(f["n"]?.int == 7 && f["points"]?.array?.count == 7)
            #expect(abs(f["alpha"]!.double! - t.alpha) < 1e-5 && abs(f["p_star"]!.double! - t.pStar) < 1e-6)
            #expect(abs(f["A"]!.double! / t.a - 1) < 1e-4)
            #expect(f["r2"]!.double! > 0.999999)
            #expect(f["stderr"]?["alpha"]?.double != nil)
            let p0 = try #require(f["points"]?.array?.first)
            #expect(abs(p0["predicted"]!.double! - p0["accuracy"]!.double!) < 1e-8 && p0["residual"]?.double != nil)
        }
    }

    @Test func fitsEvalFileAndNotesSkippedResults() throws {
        let dir = temporaryDirectory("fit-cli")
        try Data(PowerLawFitTests.evalFile.utf8).write(to: URL(fileURLWithPath: dir + "/eval.json"))
        let r = try runRPT(["fit", "--points", dir + "/eval.json", "--out", dir + "/fit.json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("step-000000"))
        let j = try JSON.load(path: dir + "/fit.json")
        #expect(j["fits"]?["easy"]?["n"]?.int == 3 && j["fits"]?["hard"]?["n"]?.int == 3)
        #expect(j["fits"]?["easy"]?["stderr"] == nil && j["fits"]?["easy"]?["r2"] != nil)   // three points: exact fit, no standard errors
        #expect(j["skipped"]?.array?.count == 1)
    }

    @Test func tooFewPointsExitsWithErrorNamingFile() throws {
        let dir = temporaryDirectory("fit-cli")
        let path = dir + "/two.jsonl"
        try Data("{\"compute\":1e13,\"accuracy\":0.1}\n{\"compute\":1e14,\"accuracy\":0.2}\n".utf8).write(to: URL(fileURLWithPath: path))
        let r = try runRPT(["fit", "--points", path, "--out", dir + "/fit.json"])
        #expect(r.status != 0)
        #expect(r.stderr.contains(path) && r.stderr.contains("3 distinct"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/fit.json"))
    }

    /// An accuracy outside [0, 1] (a percentage, a wrong field) is an error naming the file and line, in JSON lines
    /// and in an evaluation file.
    @Test func accuraciesOutsideZeroOneAreRefused() throws {
        let dir = temporaryDirectory("fit-range")
        let lines = dir + "/points.jsonl"
        try Data((1...4).map { "{\"compute\":\(Double($0) * 1e12),\"accuracy\":\($0 == 3 ? 41.5 : 0.4)}\n" }.joined().utf8)
            .write(to: URL(fileURLWithPath: lines))
        let r = try runRPT(["fit", "--points", lines])
        #expect(r.status != 0 && r.stderr.contains(lines) && r.stderr.contains("line 3") && r.stderr.contains("[0, 1]"), "\(r.stderr)")
        let eval = dir + "/eval.json"
        try Data(#"{"format":"rpt-eval/1","results":[{"model":"m","flops":1e12,"splits":{"all":{"accuracy":-0.1}}}]}"#.utf8)
            .write(to: URL(fileURLWithPath: eval))
        let e = try runRPT(["fit", "--points", eval])
        #expect(e.status != 0 && e.stderr.contains(eval) && e.stderr.contains("[0, 1]"), "\(e.stderr)")
    }
}
