// EvalFile ("rpt-eval/1"): what `rpt eval` writes decodes back to the same value, under the key names the format
// documents, and the readers (compare, fit, report, reproduce) see the same numbers.

import Foundation
import Testing
@testable import RPT

@Suite struct EvalFileTests {
    /// A reasoning evaluation of two checkpoints with greedy and sampled outcomes, a served-model record and
    /// answer counts: every optional part of a result filled.
    func results() throws -> EvalResults {
        var o = EvalOptions()
        o.mode = .reasoning; o.data = "val.jsonl"; o.samples = 2; o.maxResponseTokens = 40
        let items = [EvalItem(docId: "d1", index: 4, splits: ["easy", "hard"]), EvalItem(docId: "d1", index: 6, splits: ["easy"]),
                     EvalItem(docId: "d2", index: 1, splits: ["easy", "hard", EvalItem.calculationGroup])]
        func model(_ label: String, step: Int?, flops: Double?, greedy: [Bool], samples: [[Bool]]) -> ModelEvaluation {
            let scores = zip(greedy, samples).map { ItemScore(greedy: $0, samples: $1) }
            var groups: [(name: String, accuracy: GroupAccuracy)] = [("all", GroupAccuracy(scores))]
            for split in ["easy", "hard", EvalItem.calculationGroup] {
                groups.append((split, GroupAccuracy(zip(items, scores).filter { $0.0.groups.contains(split) }.map(\.1))))
            }
            var tally = AnswerOutcomeTally()
            tally.answered = 5; tally.failures[.noBoxed] = 1
            return ModelEvaluation(target: EvalTarget(path: "/runs/d/" + label, label: label, step: step, flops: flops), groups: groups,
                                   answers: tally, seconds: 1.234, scores: scores,
                                   server: .object(["served_model": .string("m"), "capabilities": .object(["prompt_logprobs": .bool(true)])]))
        }
        var r = EvalResults(options: o, itemCount: 3, models: [
            model("initial", step: nil, flops: nil, greedy: [false, true, false], samples: [[false, false], [true, false], [false, true]]),
            model("step-000008", step: 8, flops: 1.5e11, greedy: [true, true, false], samples: [[true, false], [true, true], [true, true]]),
        ], items: items)
        r.paired = try r.pairedComparisons()
        return r
    }

    @Test func whatIsWrittenDecodesToTheSameValue() throws {
        let r = try results()
        let path = temporaryDirectory("evalfile") + "/eval.json"
        try AtomicFile.write(Data((try r.json().serialized() + "\n").utf8), to: path)
        let back = try EvalFile.load(path: path)
        #expect(back == r.file)
        #expect(back.results[1].splits?["hard"]?.sampled?.passCI95 != nil && back.results[0].flops == nil && back.results[1].step == 8)
        #expect(back.results[0].server?["served_model"]?.string == "m", "free-form objects keep their keys")
    }

    @Test func theKeysAreTheDocumentedOnes() throws {
        // Read as plain JSON, so that a renamed key fails here even though the Codable round trip would still agree.
        let j = try results().json()
        for key in ["format", "data", "mode", "samples", "temperature", "greedy", "template", "max_response_tokens", "items", "positions",
                    "results", "paired"] {
            #expect(j[key] != nil, "top-level \(key)")
        }
        #expect(j["format"]?.string == "rpt-eval/1")
        #expect(j["positions"]?.array?[2] == .object(["doc_id": .string("d2"), "index": .number(1),
                                                       "splits": .array([.string("easy"), .string("hard"), .string("calculation")])]))
        let r = try #require(j["results"]?.array?[1])
        for key in ["model", "label", "step", "flops", "seconds", "answers", "splits", "outcomes", "server"] { #expect(r[key] != nil, "results[1].\(key)") }
        #expect(r["answers"]?["failure_noBoxed"]?.int == 1 && r["answers"]?["failed"]?.int == 1)
        let hard = try #require(r["splits"]?["hard"])
        #expect(hard["n"]?.int == 2 && hard["accuracy"]?.double == 0.5 && hard["ci95"]?.array?.count == 2)
        #expect(hard["greedy"]?["accuracy"]?.double == 0.5)
        for key in ["mean_accuracy", "ci95", "pass_at_k", "pass_ci95", "k"] { #expect(hard["sampled"]?[key] != nil, "sampled.\(key)") }
        #expect(r["outcomes"] == .object(["greedy": .array([.number(1), .number(1), .number(0)]),
                                          "sample_correct": .array([.number(1), .number(2), .number(2)]), "samples": .number(2)]))
    }

    @Test func everyReaderSeesTheSameNumbers() throws {
        let r = try results()
        let path = temporaryDirectory("evalfile-readers") + "/eval.json"
        try AtomicFile.write(Data(try r.json().serialized().utf8), to: path)
        let file = r.file
        // rpt compare
        let outcomes = try EvalOutcomes.load(path: path)
        #expect(outcomes.items == file.positions && outcomes.byLabel["step-000008"]?.sampleCorrect == [1, 2, 2])
        // rpt fit: the checkpoint with FLOPs, one point per group; the initial model skipped.
        let points = try FitPoints.load(path: path)
        #expect(points.points["hard"] == [.init(compute: 1.5e11, accuracy: 0.5)] && points.skipped.count == 1)
        // rpt report
        let input = try EvalInput.load(path: path)
        #expect(input.results.map(\.label) == ["initial", "step-000008"])
        #expect(input.results[1].splits.map(\.name) == ["easy", "hard", "all", "calculation"])
        #expect(input.results[1].splits[1].score == file.results[1].splits?["hard"])
    }

    @Test func aFieldOfTheWrongTypeIsNamed() throws {
        let dir = temporaryDirectory("evalfile-bad")
        let cases: [(String, String)] = [
            (#"{"format":"rpt-eval/1","results":[{"label":"x","step":"eight","splits":{}}]}"#, "results[0].step: expected a number"),
            (#"{"format":"rpt-eval/1","results":[{"splits":{"hard":{"n":2.5}}}]}"#, "results[0].splits.hard.n"),
            (#"{"format":"rpt-eval/1","results":[{"splits":{"hard":{"sampled":{"pass_ci95":[0,1,2]}}}}]}"#,
             "results[0].splits.hard.sampled.pass_ci95: expected [low, high]"),
            (#"{"format":"rpt-eval/1","results":[{"outcomes":{"greedy":[1,true]}}]}"#, "results[0].outcomes.greedy[1]: expected a number"),
            (#"{"format":"rpt-eval/1","positions":[{"doc_id":"d"}],"results":[]}"#, "positions[0]: must be"),
            (#"{"format":"rpt-eval/1","results":{}}"#, "\"results\" must be an array"),
            (#"{"format":"rpt-eval/1","results":[7]}"#, "results[0]: expected"),
        ]
        for (i, (text, needle)) in cases.enumerated() {
            let path = dir + "/bad\(i).json"
            try AtomicFile.write(Data(text.utf8), to: path)
            let e = expectRPTError(naming: path) { _ = try EvalFile.load(path: path) }
            #expect(e?.message.contains(needle) == true, "case \(i): \(String(describing: e)) should say \(needle)")
        }
    }
}

/// FitFile ("rpt-fit/1"): what `rpt fit` writes decodes back to the same value under the documented keys, and
/// the report reads the same curve.
@Suite struct FitFileTests {
    func fitFile() throws -> FitFile {
        let compute = [1e11, 2e11, 4e11, 8e11, 1.6e12, 3.2e12]
        let accuracy = compute.map { 0.45 - 3.0 / pow($0 / 1e9, 0.5) + (($0 / 1e11).truncatingRemainder(dividingBy: 3) - 1) * 0.002 }
        let hard = try PowerLawFit.fit(compute: compute, accuracy: accuracy, file: "points")
        let three = try PowerLawFit.fit(compute: Array(compute.prefix(3)), accuracy: Array(accuracy.prefix(3)), file: "points")
        return FitFile(fits: [("hard", hard), ("easy", three)], source: "eval-reasoning.json", skipped: ["no fit for medium"])
    }

    @Test func whatIsWrittenDecodesToTheSameValue() throws {
        let f = try fitFile()
        let path = temporaryDirectory("fitfile") + "/fit.json"
        try AtomicFile.write(Data(try f.json().serialized().utf8), to: path)
        #expect(try FitFile.load(path: path) == f)
        // The documented keys, read as plain JSON.
        let j = try JSON.load(path: path)
        #expect(j["format"]?.string == "rpt-fit/1" && j["source"]?.string == "eval-reasoning.json" && j["skipped"]?.array?.count == 1)
        let hard = try #require(j["fits"]?["hard"])
        for key in ["A", "alpha", "p_star", "r2", "n", "compute_scale", "points", "stderr"] { #expect(hard[key] != nil, "fits.hard.\(key)") }
        for key in ["A", "alpha", "p_star"] { #expect(hard["stderr"]?[key]?.double != nil, "stderr.\(key)") }
        #expect(j["fits"]?["easy"]?["stderr"] == nil, "no standard errors from three points")
        for key in ["compute", "accuracy", "predicted", "residual"] { #expect(hard["points"]?.array?[0][key]?.double != nil, "points[0].\(key)") }
        // The report draws the same numbers.
        let input = try FitInput.load(path: path)
        #expect(input.curves.map(\.split) == ["easy", "hard"])
        #expect(input.curves[1].r2 == f.fits["hard"]?.r2 && input.curves[1].points.count == 6)
    }

    @Test func nonFiniteNumbersAreWrittenAsNull() throws {
        var f = try fitFile()
        f.fits["hard"]?.r2 = .nan
        f.fits["hard"]?.points?[0].predicted = .infinity
        let j = try f.json()
        #expect(j["fits"]?["hard"]?["r2"] == .null && j["fits"]?["hard"]?["points"]?.array?[0]["predicted"] == .null)
        #expect(j.serialized().contains("\"r2\":null"))
    }
}

/// CompareFile ("rpt-compare/1"): what `rpt compare` writes decodes back to the same value under the documented
/// keys, and the reproduction's gates read the same differences.
@Suite struct CompareFileTests {
    @Test func whatIsWrittenDecodesToTheSameValue() throws {
        let items = (0..<12).map { EvalItem(docId: "d\($0 / 3)", index: $0, splits: $0 % 2 == 0 ? ["easy", "hard"] : ["easy"]) }
        let a = items.enumerated().map { ScoredItem(item: $1, score: $0 % 3 == 0 ? 0 : 1) }
        let b = items.enumerated().map { ScoredItem(item: $1, score: $0 % 4 == 0 ? 1 : 0) }
        let c = try PairedComparison(a: a, b: b, labelA: "rpt", labelB: "ntp", resamples: 200, seed: 3)
        let file = CompareFile(c, a: .init(file: "eval-reasoning.json", label: "rpt", model: "/d", mode: "reasoning", score: "greedy"),
                               b: .init(file: "eval-ntp.json", label: "ntp", model: nil, mode: "ntp", score: "greedy"))
        let path = temporaryDirectory("comparefile") + "/compare.json"
        try AtomicFile.write(Data(try file.json().serialized().utf8), to: path)
        #expect(try CompareFile.load(path: path) == file)
        let j = try JSON.load(path: path)
        #expect(j["format"]?.string == "rpt-compare/1" && j["a"]?["mode"]?.string == "reasoning" && j["b"]?["label"]?.string == "ntp")
        for key in ["matched", "unmatched_a", "unmatched_b", "resamples", "seed", "splits"] { #expect(j[key] != nil, "\(key)") }
        let hard = try #require(j["splits"]?["hard"])
        for key in ["n", "documents", "mean_a", "mean_b", "difference", "ci95", "se"] { #expect(hard[key] != nil, "splits.hard.\(key)") }
        let d = try ReproductionGates.differences(compareFile: path)
        let g = try #require(c.group("hard"))
        #expect(d["hard"]?.difference == g.difference && d["hard"]?.low == g.low && d["hard"]?.n == 6)
    }
}
