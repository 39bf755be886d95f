// `rpt corpus`: writes the generated "ledger stories" corpus of the RPT miniature (LedgerCorpus.swift,
// docs/reproduction.md) as JSONL {"text": …} with GSM8K-style calculator annotations on every running total;
// read it with `--calculations` (pretrain, prepare) so that models never see the annotations.

import ArgumentParser
import Foundation
import RPT

struct CorpusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "corpus",
        abstract: "Write the generated ledger-stories corpus (seeded JSONL with calculator annotations).")

    @Option(help: "Stories to write.") var docs: Int = 1000
    @Option(help: "Random seed (the same seed gives the same corpus).") var seed: UInt64 = 0
    @Option(help: "Changes before each stated total (a total n changes away needs n operations composed).")
    var changesPerTotal: Int = LedgerCorpusOptions().changesPerTotal
    @Option(help: "Output JSONL file.") var out: String

    func run() throws {
        guard docs >= 1 else { throw ValidationError("--docs must be ≥ 1") }
        guard LedgerCorpusOptions.changesPerTotalRange.contains(changesPerTotal) else {
            throw ValidationError("--changes-per-total must be within \(LedgerCorpusOptions.changesPerTotalRange), got \(changesPerTotal)")
        }
        var o = LedgerCorpusOptions()
        o.documents = docs
        o.seed = seed
        o.changesPerTotal = changesPerTotal
        let n = try LedgerCorpus.write(o, to: out)
        print("wrote \(n) ledger stories to \(out)")
    }
}
