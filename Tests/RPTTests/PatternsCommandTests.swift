// `rpt patterns` as a subprocess: one set prints counts and proportions, two sets print the relative change
// ("n/a" when A is 0) and write rpt-patterns/1 JSON; a malformed file exits non-zero naming file and line.

import Foundation
import Testing
@testable import RPT

@Suite struct PatternsCommandTests {
    func write(_ records: [String], _ path: String) throws {
        let lines = records.map { JSON.object(["step": .number(1), "completion": .string($0)]).serialized() }
        try Data(lines.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: path))
    }

    @Test func oneSetAndComparison() throws {
        let dir = temporaryDirectory("patterns-cli")
        // A: 4 traces, 1 hypothesis, 2 deduction. B: 5 traces, 3 hypothesis, 2 deduction, 1 breakdown.
        try write(["probably x", "finally", "in conclusion", "plain"], dir + "/a.jsonl")
        try write(["probably", "probably finally", "Probably, in conclusion", "break down", "x"], dir + "/b.jsonl")
        let one = try runRPT(["patterns", "--traces", dir + "/a.jsonl"])
        #expect(one.status == 0, "\(one.stderr)")
        #expect(one.stdout.contains("n = 4"))
        let hyp = one.stdout.split(separator: "\n").first { $0.hasPrefix("Hypothesis") }.map(String.init) ?? ""
        #expect(hyp.contains(" 1 ") && hyp.contains("0.2500"), "\(one.stdout)")

        let r = try runRPT(["patterns", "--traces", dir + "/a.jsonl", "--compare", dir + "/b.jsonl", "--out", dir + "/p.json"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = r.stdout.split(separator: "\n").map(String.init)
        // Hypothesis 0.25 → 0.6: +140%; Deduction 0.5 → 0.4: −20%; Breakdown 0 → 0.2: n/a.
        #expect(rows.contains { $0.hasPrefix("Hypothesis") && $0.hasSuffix("+140.0%") }, "\(r.stdout)")
        #expect(rows.contains { $0.hasPrefix("Deduction") && $0.hasSuffix("-20.0%") })
        #expect(rows.contains { $0.hasPrefix("Breakdown") && $0.hasSuffix("n/a") })
        let j = try JSON.load(path: dir + "/p.json")
        #expect(j["format"]?.string == "rpt-patterns/1")
        #expect(j["sets"]?.array?.map { $0["n"]?.int } == [4, 5])
        #expect(j["sets"]?.array?[0]["name"]?.string == dir + "/a.jsonl")
        #expect(j["sets"]?.array?[1]["groups"]?["Hypothesis"]?["count"]?.int == 3)
        #expect(j["relative_change"]?["Hypothesis"]?.double.map { abs($0 - 140) < 1e-9 } == true)
        #expect(j["relative_change"]?["Breakdown"] == .null)
    }

    @Test func fieldKeywordsAndThinkParts() throws {
        let dir = temporaryDirectory("patterns-cli")
        let lines = [#"{"response":"<think>wait</think> probably"}"#, #"{"response":"hmm, wait"}"#]
        try Data(lines.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: dir + "/t.jsonl"))
        try Data(#"{"Hesitation":["hmm","wait"],"Guess":["probably"]}"#.utf8).write(to: URL(fileURLWithPath: dir + "/k.json"))
        let base = ["patterns", "--traces", dir + "/t.jsonl", "--field", "response", "--keywords", dir + "/k.json", "--out", dir + "/p.json"]
        for (flags, hesitation, guess) in [([String](), 2, 1), (["--think-only"], 2, 0), (["--after-think"], 0, 1)] {
            let r = try runRPT(base + flags)
            #expect(r.status == 0, "\(r.stderr)")
            let g = try JSON.load(path: dir + "/p.json")["sets"]?.array?[0]["groups"]
            #expect(g?["Hesitation"]?["count"]?.int == hesitation && g?["Guess"]?["count"]?.int == guess, "\(flags)")
        }
    }

    @Test func malformedOrEmptyFileExitsNamingFileAndLine() throws {
        let dir = temporaryDirectory("patterns-cli")
        try Data("{\"completion\":\"ok\"}\n{oops}\n".utf8).write(to: URL(fileURLWithPath: dir + "/bad.jsonl"))
        let r = try runRPT(["patterns", "--traces", dir + "/bad.jsonl"])
        #expect(r.status != 0 && r.stderr.contains(dir + "/bad.jsonl") && r.stderr.contains("line 2"), "\(r.stderr)")
        try Data().write(to: URL(fileURLWithPath: dir + "/empty.jsonl"))
        try write(["wait"], dir + "/a.jsonl")
        let e = try runRPT(["patterns", "--traces", dir + "/a.jsonl", "--compare", dir + "/empty.jsonl", "--out", dir + "/p.json"])
        #expect(e.status != 0 && e.stderr.contains(dir + "/empty.jsonl"), "\(e.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/p.json"))
        let e2 = try runRPT(["patterns", "--traces", dir + "/empty.jsonl"])
        #expect(e2.status != 0 && e2.stderr.contains(dir + "/empty.jsonl") && e2.stderr.contains("empty"), "\(e2.stderr)")
    }
}
