// Reasoning-pattern matching (paper §4.5, Table 9): case-insensitive substrings, once per group however many
// keywords match, "etc." only with its dot, multi-word keywords as phrases; counts and the paper's relative
// change between two sets; trace files and keyword files, with errors naming the file and line.

import Foundation
import Testing
@testable import RPT

@Suite struct ReasoningPatternTests {
    static let cases: [(String, [String])] = [
        ("Wait, that is wrong.", ["Reflection"]),
        ("WAIT... ALTERNATIVELY we could", ["Transition", "Reflection"]),
        ("Let me break this down and break down the sum; finally, logically, consequently we conclude.", ["Breakdown", "Deduction"]),
        ("apples, pears, etc. are fruit", ["Divergent Thinking"]),
        ("apples, pears, etc are fruit", []),                                  // "etc." needs the dot
        ("I should think differently here", ["Transition"]),
        ("I should think\ndifferently here", []),                              // phrases match with single spaces only
        ("It is probably something like 'the'", ["Hypothesis"]),
        ("Looking back at my thought process, the original answer holds.", ["Reflection"]),
        ("neither of them", ["Divergent Thinking"]),                           // substring: "either" inside "neither"
        ("The next token is ' the'.", []),
        ("", []),
    ]

    @Test(arguments: cases) func matchesGroupsOncePerTrace(_ text: String, _ expected: [String]) {
        #expect(ReasoningPatterns.paper.groups(in: text) == expected)
    }

    @Test func paperTableHasSixGroupsAndTwentyFourKeywords() {
        let p = ReasoningPatterns.paper
        #expect(p.groups.map(\.name) == ["Transition", "Reflection", "Breakdown", "Hypothesis", "Divergent Thinking", "Deduction"])
        #expect(p.groups.map(\.keywords.count).reduce(0, +) == 24)
    }

    @Test func countsAndRelativeChangeOfTwoSets() throws {
        let p = ReasoningPatterns.paper
        // A: 10 traces, 2 with a hypothesis, 4 with a deduction (one of them twice), none with breakdown.
        let a = ["probably", "something like that, probably"] + ["so finally", "in conclusion", "to conclude, finally", "logically"]
            + Array(repeating: "plain", count: 4)
        // B: 20 traces, 8 with a hypothesis, 10 with a deduction, 1 with breakdown.
        let b = Array(repeating: "probably finally", count: 8) + ["finally", "finally"] + ["break down"] + Array(repeating: "x", count: 9)
        let ca = p.count(a), cb = p.count(b)
        #expect(ca.n == 10 && cb.n == 20)
        #expect(ca.count("Hypothesis") == 2 && ca.count("Deduction") == 4 && ca.count("Breakdown") == 0)
        #expect(cb.count("Hypothesis") == 8 && cb.count("Deduction") == 10 && cb.count("Breakdown") == 1)
        #expect(ca.proportion("Deduction") == 0.4 && cb.proportion("Deduction") == 0.5)
        // (0.4 − 0.2) / 0.2 = +100%; (0.5 − 0.4) / 0.4 = +25%; A = 0 → nil.
        #expect(abs(PatternCounts.relativeChange(from: ca, to: cb, group: "Hypothesis")! - 100) < 1e-9)
        #expect(abs(PatternCounts.relativeChange(from: ca, to: cb, group: "Deduction")! - 25) < 1e-9)
        #expect(PatternCounts.relativeChange(from: ca, to: cb, group: "Breakdown") == nil)
        let file = PatternsFile(patterns: p, sets: [("a", ca), ("b", cb)])
        let json = try file.json()
        #expect(json["relative_change"]?["Breakdown"] == .null)
        #expect(json["relative_change"]?["Hypothesis"]?.double.map { abs($0 - 100) < 1e-9 } == true)
        #expect(json["sets"]?.array?[1]["groups"]?["Deduction"]?["count"]?.int == 10)
        #expect(try PatternsFile(patterns: p, sets: [("a", ca)]).json()["relative_change"] == nil)
        #expect(json["group_order"]?.array?.compactMap(\.string) == p.groups.map(\.name))
        #expect(json["keywords"]?["Deduction"]?.array?.isEmpty == false)
        // What is written decodes to the same value.
        let path = temporaryDirectory("patterns") + "/patterns.json"
        try AtomicFile.write(Data(json.serialized().utf8), to: path)
        #expect(try PatternsFile.load(path: path) == file)
    }

    @Test func tracePartsAroundThink() {
        let t = "<think>Wait, maybe</think>\n\nThe answer is probably ' the'."
        #expect(TracePart.whole.extract(t) == t)
        #expect(TracePart.think.extract(t) == "Wait, maybe")
        #expect(TracePart.afterThink.extract(t) == "\n\nThe answer is probably ' the'.")
        #expect(TracePart.afterThink.extract("never closed, wait") == "")
        #expect(TracePart.think.extract("no tags, wait") == "no tags, wait")
    }

    @Test func traceFileFieldSelection() throws {
        let dir = temporaryDirectory("patterns")
        let path = dir + "/t.jsonl"
        try Data("""
        {"step":1,"completion":"wait","text":"ignored"}
        {"text":"probably"}
        {"response":"finally","other":"break down"}
        """.utf8).write(to: URL(fileURLWithPath: path))
        #expect(try TraceFile.load(path: path) == ["wait", "probably", "finally"])
        let e = expectRPTError(naming: path) { _ = try TraceFile.load(path: path, field: "other") }
        #expect(e?.message.contains("line 1") == true)
    }

    @Test(arguments: [
        ("", "empty"),
        ("{\"completion\":\"ok\"}\n{\"completion\":\"bad\"\n", "line 2"),
        ("{\"completion\":\"ok\"}\n\n{\"prediction\":\"x\"}\n", "line 3"),
        ("{\"completion\":7}\n", "line 1"),
        ("\"just a string\"\n", "line 1"),
    ]) func malformedTraceFileNamesFileAndLine(_ text: String, _ expected: String) throws {
        let path = temporaryDirectory("patterns") + "/bad.jsonl"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        let e = expectRPTError(naming: path) { _ = try TraceFile.load(path: path) }
        #expect(e?.message.contains(expected) == true, "\(String(describing: e))")
    }

    @Test func keywordFileKeepsOrderAndValidates() throws {
        let dir = temporaryDirectory("patterns")
        let good = dir + "/k.json"
        try Data(#"{"Zeta":["Hmm"],"Alpha":["let me check","verify"]}"#.utf8).write(to: URL(fileURLWithPath: good))
        let p = try ReasoningPatterns.load(path: good)
        #expect(p.groups.map(\.name) == ["Zeta", "Alpha"])
        #expect(p.groups(in: "HMM, let me check") == ["Zeta", "Alpha"])
        for bad in [#"{"A":[]}"#, #"{"A":["ok",""]}"#, #"{"A":"x"}"#, "{}", "[1]", "{\"A\":"] {
            let path = dir + "/bad.json"
            try Data(bad.utf8).write(to: URL(fileURLWithPath: path))
            expectRPTError(naming: path) { _ = try ReasoningPatterns.load(path: path) }
        }
    }
}
