// `rpt compare`: the paired difference A − B between two results of `rpt eval` files, e.g. reasoning mode of a
// trained checkpoint against standard next-token accuracy of the base model, on the items both evaluated
// (matched by doc_id and index): a table per split (n, A, B, A − B, 95% document-bootstrap CI, documents) and
// optionally the file "rpt-compare/1" (CompareFile).

import ArgumentParser
import Foundation
import RPT

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "compare",
        abstract: "Paired difference A − B of two rpt eval results per split, with a document-bootstrap 95% CI.",
        discussion: """
        Each side is FILE or FILE:LABEL, an rpt-eval/1 file written by `rpt eval --out` and the label of one of its results (optional when the file holds one result). Items are paired by (doc_id, index).

        Examples:
          rpt compare --a eval-reasoning.json:step-000100 --b eval-ntp.json:base
          rpt compare --a eval.json:step-000100 --b eval.json:initial --score mean --out compare.json
        """)

    @Option(help: "Side A: FILE[:LABEL].") var a: String
    @Option(help: "Side B (the reference): FILE[:LABEL].") var b: String
    @Option(help: "Per-item score of both sides: greedy (0/1; ntp: argmax) or mean (correct samples / k).") var score: String = "greedy"
    @Option(name: .customLong("score-a"), help: "Score of side A (overrides --score).") var scoreA: String?
    @Option(name: .customLong("score-b"), help: "Score of side B (overrides --score).") var scoreB: String?
    @Option(help: "Bootstrap resamples (of documents).") var resamples: Int = 2000
    @Option(help: "Random seed of the bootstrap.") var seed: UInt64 = 0
    @Option(help: "Write the comparison (rpt-compare/1 JSON) here.") var out: String?

    /// FILE or FILE:LABEL; a path that exists as given is a file without a label.
    static func split(_ spec: String) -> (file: String, label: String?) {
        if FileManager.default.fileExists(atPath: spec) { return (spec, nil) }
        guard let colon = spec.lastIndex(of: ":") else { return (spec, nil) }
        let label = String(spec[spec.index(after: colon)...])
        return (String(spec[..<colon]), label.isEmpty ? nil : label)
    }

    func run() throws {
        func kind(_ s: String?, _ flag: String) throws -> PairedScore {
            let name = s ?? score
            guard let k = PairedScore(rawValue: name) else { throw ValidationError("\(flag) must be greedy or mean (got \(name))") }
            return k
        }
        let kinds = (try kind(scoreA, "--score-a"), try kind(scoreB, "--score-b"))
        guard resamples >= 1 else { throw ValidationError("--resamples must be ≥ 1") }
        let sideA = CompareCommand.split(a), sideB = CompareCommand.split(b)
        let fileA = try EvalOutcomes.load(path: sideA.file)
        let fileB = sideB.file == sideA.file ? fileA : try EvalOutcomes.load(path: sideB.file)
        let resultA = try fileA.result(label: sideA.label), resultB = try fileB.result(label: sideB.label)
        let itemsA = try fileA.scoredItems(resultA, score: kinds.0), itemsB = try fileB.scoredItems(resultB, score: kinds.1)
        let c = try PairedComparison(a: itemsA, b: itemsB, labelA: resultA.label, labelB: resultB.label,
                                     resamples: resamples, seed: seed, context: "\(sideA.file) vs \(sideB.file)")
        print("A = \(resultA.label) (\(sideA.file), \(fileA.mode), \(kinds.0.rawValue))")
        print("B = \(resultB.label) (\(sideB.file), \(fileB.mode), \(kinds.1.rawValue))")
        print("\(c.matched) paired items; A − B per item, 95% CI from \(resamples) document resamples (seed \(seed)); percent")
        print(c.table())
        if let out {
            func side(_ f: EvalOutcomes, _ r: EvalOutcomes.Result, _ file: String, _ k: PairedScore) -> CompareFile.Side {
                CompareFile.Side(file: file, label: r.label, model: r.model, mode: f.mode, score: k.rawValue)
            }
            let file = CompareFile(c, a: side(fileA, resultA, sideA.file, kinds.0), b: side(fileB, resultB, sideB.file, kinds.1))
            try AtomicFile.write(Data((try file.json(file: out).serialized() + "\n").utf8), to: out)
            print("wrote \(out)")
        }
    }
}
