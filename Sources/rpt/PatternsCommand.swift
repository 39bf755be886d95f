// `rpt patterns`: the reasoning-pattern analysis of paper §4.5 (Table 9 keyword groups): the share of traces
// showing each group, for one set of traces or two side by side with the relative change (B − A) / A.

import ArgumentParser
import Foundation
import RPT

struct PatternsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "patterns",
        abstract: "Count reasoning patterns (paper Table 9 keyword groups) in traces; compare two sets.")

    @Option(help: "Traces JSONL (field \"completion\", else \"text\" or \"response\").")
    var traces: String

    @Option(help: "A second traces JSONL to compare against --traces (B vs A).")
    var compare: String?

    @Option(help: "Only records whose \"label\" is this (one model of an `rpt eval --dump` file).")
    var label: String?

    @Option(name: .customLong("compare-label"), help: "Only records of --compare (or of --traces again) with this label.")
    var compareLabel: String?

    @Option(help: "The JSON field holding the trace text.")
    var field: String?

    @Option(help: "Keyword groups JSON {\"Group\": [\"keyword\", ...]} (default: the paper's Table 9).")
    var keywords: String?

    @Flag(name: .customLong("after-think"), help: "Analyse only the text after </think>.")
    var afterThink = false

    @Flag(name: .customLong("think-only"), help: "Analyse only the thinking (before </think>).")
    var thinkOnly = false

    @Option(help: "Write rpt-patterns/1 JSON to this file.")
    var out: String?

    func run() throws {
        guard !(afterThink && thinkOnly) else { throw ValidationError("--after-think and --think-only exclude each other") }
        let part: TracePart = afterThink ? .afterThink : thinkOnly ? .think : .whole
        let patterns = try keywords.map { try ReasoningPatterns.load(path: $0) } ?? .paper
        var sets: [(name: String, counts: PatternCounts)] = []
        var inputs = [(traces, label)]
        if compare != nil || compareLabel != nil { inputs.append((compare ?? traces, compareLabel)) }
        for (file, l) in inputs {
            sets.append((l.map { "\(file):\($0)" } ?? file, patterns.count(try TraceFile.load(path: file, field: field, part: part, label: l))))
        }
        let names = patterns.groups.map(\.name)
        let width = max(20, (names.map(\.count).max() ?? 0) + 2)
        func cell(_ s: String, _ w: Int = 14) -> String { s.padding(toLength: max(w, s.count), withPad: " ", startingAt: 0) }
        func share(_ c: PatternCounts, _ g: String) -> String {
            String(format: "%.1f%% (%d)", 100 * (c.proportion(g) ?? 0), c.count(g) ?? 0)
        }
        if sets.count == 1 {
            let c = sets[0].counts
            print(cell("group", width) + cell("count") + "proportion   (n = \(c.n))")
            for g in names { print(cell(g, width) + cell("\(c.count(g) ?? 0)") + String(format: "%.4f", c.proportion(g) ?? 0)) }
        } else {
            let (a, b) = (sets[0].counts, sets[1].counts)
            print("A = \(sets[0].name) (n = \(a.n)), B = \(sets[1].name) (n = \(b.n))")
            print(cell("group", width) + cell("A", 18) + cell("B", 18) + "change (B−A)/A")
            for g in names {
                let change = PatternCounts.relativeChange(from: a, to: b, group: g).map { String(format: "%+.1f%%", $0) } ?? "n/a"
                print(cell(g, width) + cell(share(a, g), 18) + cell(share(b, g), 18) + change)
            }
        }
        if let out {
            try AtomicFile.write(Data((try PatternsFile(patterns: patterns, sets: sets).json(file: out).serialized() + "\n").utf8), to: out)
        }
    }
}
