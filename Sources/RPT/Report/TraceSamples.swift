// Sample reasoning traces for the report, from a run's completions.jsonl (one sampled rollout per
// logged group: step, doc_id, index, target, completion, prediction, reward). The selection shows the
// run's start and end, rewarded and unrewarded: early/late × rewarded/unrewarded, the earliest traces of
// the early steps and the latest of the late ones, filled from the other kinds when one is short.

import Foundation

struct TraceSample {
    var step: Int
    var docId: String
    var index: Int?
    var target: String?
    var completion: String
    var prediction: String?
    var reward: Double
    var rewarded: Bool { reward > 0 }
}

enum TraceSamples {
    static func load(path: String) throws -> (traces: [TraceSample], droppedIncompleteLastLine: Bool) {
        let file = try ReportJSONL.read(path)
        let traces = try file.records.map { line, object in
            let c: CompletionLine
            do { c = try JSON.object(object).decode(CompletionLine.self, file: path) } catch let e as RPTError {
                throw RPTError("line \(line): \(e.message)", file: path)
            }
            return TraceSample(step: c.step, docId: c.docId, index: c.index, target: c.target, completion: c.completion,
                               prediction: c.prediction, reward: c.reward.isFinite ? c.reward : 0)
        }
        return (traces, file.droppedIncompleteLastLine)
    }

    /// Up to `count` traces: a quarter each of early rewarded, early unrewarded, late rewarded, late
    /// unrewarded (early = first half of the logged steps), topped up from whatever is left; by step.
    static func select(_ traces: [TraceSample], count: Int = 8) -> [TraceSample] {
        guard !traces.isEmpty, count > 0 else { return [] }
        let steps = Set(traces.map(\.step)).sorted()
        let middle = steps[steps.count / 2]
        let ordered = traces.enumerated().sorted { ($0.element.step, $0.offset) < ($1.element.step, $1.offset) }.map(\.offset)
        let early = ordered.filter { traces[$0].step < middle || steps.count == 1 }
        let late = ordered.filter { traces[$0].step >= middle && steps.count > 1 }.reversed()
        let buckets: [[Int]] = [early.filter { traces[$0].rewarded }, early.filter { !traces[$0].rewarded },
                                late.filter { traces[$0].rewarded }, late.filter { !traces[$0].rewarded }]
        var chosen: [Int] = [], taken = Set<Int>()
        let share = max(1, count / 4)
        for b in buckets { for i in b.prefix(share) where chosen.count < count { chosen.append(i); taken.insert(i) } }
        // Top up: alternate through the buckets' remainders.
        var cursors = buckets.map { $0.makeIterator() }
        var progressed = true
        while chosen.count < count, progressed {
            progressed = false
            for k in cursors.indices {
                while let i = cursors[k].next() {
                    if taken.insert(i).inserted { chosen.append(i); progressed = true; break }
                }
                if chosen.count >= count { break }
            }
        }
        return chosen.sorted { (traces[$0].step, $0) < (traces[$1].step, $1) }.map { traces[$0] }
    }
}
