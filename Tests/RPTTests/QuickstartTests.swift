// `rpt quickstart`, the README's main command, end to end on the bundled assets at a reduced size: every
// stage runs and leaves its outputs (positions, SFT and RPT checkpoints, evaluations of every checkpoint,
// pattern comparison, report), and the final table has a row per split.

import Foundation
import Testing
@testable import RPT

@Suite struct QuickstartTests {
    @Test func demonstrationsRestateTheContextEndAndBoxTheTarget() {
        #expect(FormatDemonstrations.completion(context: "Once upon a time she was very", target: " happy")
                == " <think> she was very happy </think> \\boxed{ happy}")
        // A target that continues a word: the partial word is kept, and newlines become spaces.
        #expect(FormatDemonstrations.completion(context: "a\nbig pres", target: "ent") == " <think> a big present </think> \\boxed{ent}")
    }

    @Test func quickstartRunsEveryStage() throws {
        let out = temporaryDirectory("quickstart")
        let r = try runRPT(["quickstart", "--out", out, "--steps", "2", "--sft-steps", "4", "--save-every", "1", "--eval-positions", "6"])
        #expect(r.status == 0, "\(r.stderr)")
        for i in 1...7 { #expect(r.stdout.contains("=== [\(i)/7]"), "stage \(i) missing") }
        for split in ["all", "easy", "medium", "hard"] {
            #expect(r.stdout.split(separator: "\n").contains { $0.hasPrefix(split + " ") }, "no \(split) row: \(r.stdout.suffix(1500))")
        }
        let fm = FileManager.default
        for f in ["data/train.jsonl", "data/val.jsonl", "sft-demos.jsonl", "rpt/metrics.jsonl", "rpt/completions.jsonl", "rpt/step-000002",
                  "rpt/eval-ntp.json", "rpt/eval-reasoning.json", "rpt/patterns.json", "responses-before.jsonl", "report.html"] {
            #expect(fm.fileExists(atPath: out + "/" + f), "\(f) missing")
        }
        let metrics = try String(contentsOfFile: out + "/rpt/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(metrics.count == 2)
        let reasoning = try JSON.load(path: out + "/rpt/eval-reasoning.json")
        #expect(reasoning["results"]?.array?.map { $0["label"]?.string ?? "" } == ["initial", "step-000001", "step-000002"])
        #expect(reasoning["results"]?.array?.last?["flops"]?.double ?? 0 > 0)
        let demo = try String(contentsOfFile: out + "/sft-demos.jsonl", encoding: .utf8).split(separator: "\n").first!
        #expect(demo.contains("</think>") && demo.contains("\\\\boxed{"))
    }
}
