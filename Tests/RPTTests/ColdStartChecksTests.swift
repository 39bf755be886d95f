// The cold start's stopping check (ColdStartChecks.swift): when it trains on and when it stops, which positions
// it checks on (calculation positions of documents the cold start never trains on, a seeded sample), how a
// checkpoint's dumped responses are scored, and its file format, written and read back, with bad files refused.

import Foundation
import Testing
@testable import RPT

@Suite struct ColdStartChecksTests {
    typealias Check = ColdStartChecks.Check

    @Test func trainsToTheNextCheckAndStopsAtTheThresholdOrTheHorizon() {
        let none = ColdStartChecks()
        #expect(none.nextStep(every: 500, horizon: 1200, threshold: 0.9) == 500)
        let low = ColdStartChecks([Check(step: 500, calculationRight: 0.3, responses: 10), Check(step: 1000, calculationRight: 0.89, responses: 10)])
        // The last check falls at the horizon, not past it.
        #expect(low.nextStep(every: 500, horizon: 1200, threshold: 0.9) == 1200)
        #expect(!low.stoppedEarly(horizon: 1200, threshold: 0.9))
        var reached = low
        reached.checks.append(Check(step: 1200, calculationRight: 0.5, responses: 10))
        #expect(reached.nextStep(every: 500, horizon: 1200, threshold: 0.9) == nil)
        #expect(!reached.stoppedEarly(horizon: 1200, threshold: 0.9))
        // A check at the threshold stops the run before its horizon.
        let right = ColdStartChecks([Check(step: 500, calculationRight: 0.9, responses: 10)])
        #expect(right.nextStep(every: 500, horizon: 1200, threshold: 0.9) == nil)
        #expect(right.stoppedEarly(horizon: 1200, threshold: 0.9))
        #expect(right.nextStep(every: 500, horizon: 1200, threshold: 0.95) == 1000)
    }

    static func record(_ doc: String, _ index: Int, calculation: String?, context: String = "Ann had 3+4=") -> PositionRecord {
        PositionRecord(docId: doc, index: index, context: context, contextIds: [1, 2], targetId: 3, target: "7",
                       continuation: Array("7 apples.".utf8), boundaries: [1, 9], proxyEntropy: 1, proxyLogProb: -1, calculation: calculation)
    }

    @Test func checksCalculationPositionsOfDocumentsTheColdStartNeverSees() {
        var pool: [PositionRecord] = []
        for d in 0..<20 {
            for i in 0..<6 { pool.append(Self.record("doc\(d)", i, calculation: i % 2 == 0 ? "3+4=7" : nil)) }
        }
        let demo = Set((0..<10).map { "doc\($0)" })
        let all = ColdStartChecks.positions(pool: pool, excluding: demo, count: 1000, seed: 1)
        #expect(all.count == 30 && all.allSatisfy { $0.calculation != nil && !demo.contains($0.docId) })
        let some = ColdStartChecks.positions(pool: pool, excluding: demo, count: 12, seed: 1)
        #expect(some.count == 12 && Set(some.map { "\($0.docId)@\($0.index)" }).count == 12)
        #expect(some.allSatisfy { $0.calculation != nil && !demo.contains($0.docId) })
        // Seeded: the same seed draws the same sample, another seed another one; file order is kept.
        #expect(ColdStartChecks.positions(pool: pool, excluding: demo, count: 12, seed: 1) == some)
        #expect(ColdStartChecks.positions(pool: pool, excluding: demo, count: 12, seed: 2) != some)
        let order = { (r: PositionRecord) in pool.firstIndex(of: r)! }
        #expect(some.map(order) == some.map(order).sorted())
    }

    @Test func scoresADumpAndRoundTripsItsFile() throws {
        let dir = temporaryDirectory("cold-start-checks")
        let positions = [Self.record("a", 1, calculation: "3+4=7"), Self.record("a", 2, calculation: "2+2=4"), Self.record("b", 1, calculation: "5+1=6"),
                         Self.record("b", 2, calculation: "9+1=10")]
        func response(_ doc: String, _ index: Int, _ completion: String, kind: String = "greedy") -> String {
            JSON.object(["label": .string("cold-start"), "kind": .string(kind), "doc_id": .string(doc), "index": .number(Double(index)),
                         "completion": .string(completion), "prediction": .string("7"), "reward": .number(0)]).serialized()
        }
        // Exactly right, a wrong result, no calculation, exactly right: 2 of 4; a sampled response is not scored.
        let dump = [response("a", 1, "3+4=7</think>\\boxed{7}"), response("a", 2, "2+2=5</think>\\boxed{5}"), response("b", 1, "</think>\\boxed{6}"),
                    response("b", 2, "9+1=10</think>\\boxed{1}"), response("a", 1, "3+4=8</think>\\boxed{8}", kind: "sample")]
        try dump.joined(separator: "\n").write(toFile: dir + "/dump.jsonl", atomically: true, encoding: .utf8)
        let check = try ColdStartChecks.check(step: 500, dump: dir + "/dump.jsonl", positions: positions)
        #expect(check == Check(step: 500, calculationRight: 0.5, responses: 4))
        let checks = ColdStartChecks([check, Check(step: 1000, calculationRight: 0.75, responses: 4)])
        try checks.write(to: dir + "/checks.jsonl")
        #expect(try ColdStartChecks.read(path: dir + "/checks.jsonl") == checks)
        #expect(try ColdStartChecks.read(path: dir + "/none.jsonl") == ColdStartChecks())
        // Bad files are refused, naming the file and the line.
        let good = try String(contentsOfFile: dir + "/checks.jsonl", encoding: .utf8).split(separator: "\n").map(String.init)
        for (name, text) in [("order", good.reversed().joined(separator: "\n")), ("share", good[0].replacingOccurrences(of: "0.5", with: "1.5")),
                             ("format", good[0].replacingOccurrences(of: "rpt-cold-start-checks/1", with: "x"))] {
            try text.write(toFile: dir + "/\(name).jsonl", atomically: true, encoding: .utf8)
            let e = expectRPTError(naming: dir + "/\(name).jsonl") { _ = try ColdStartChecks.read(path: dir + "/\(name).jsonl") }
            #expect(e?.message.contains("line") == true)
        }
        // A dump of no model at the check positions is an error, not a share of 0.
        try response("z", 9, "1+1=2</think>").write(toFile: dir + "/other.jsonl", atomically: true, encoding: .utf8)
        expectRPTError(naming: dir + "/other.jsonl") { _ = try ColdStartChecks.check(step: 1, dump: dir + "/other.jsonl", positions: positions) }
    }
}
