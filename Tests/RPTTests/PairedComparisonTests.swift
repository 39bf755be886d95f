// Paired model comparisons (`rpt eval` with several models, `rpt compare`): the document bootstrap against a
// deliberately simple loop-based re-implementation, the cluster-robust standard error against its textbook
// formula, clustering widening the interval by √(items per document), coverage of the true difference in
// simulation, exact degenerate cases, seeding, pairing by (doc_id, index) across orders and subsets, the
// speed of 10k items × 2000 resamples, per-item outcomes in rpt-eval/1 and their reader, and `rpt eval` +
// `rpt compare` end to end on a tiny model.

import Foundation
import Testing
@testable import RPT

/// SplitMix64: a generator independent of the package's xoshiro256**, for the tests' own resampling.
struct TestRNG: RandomNumberGenerator {
    var x: UInt64
    mutating func next() -> UInt64 {
        x &+= 0x9E37_79B9_7F4A_7C15
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func unit() -> Double { Double(next() >> 11) / 9_007_199_254_740_992.0 }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

/// Synthetic paired data: `docs` documents with 1…`maxItems` items; each document has its own skill for A and
/// for B, so items of a document are correlated. Splits are nested (easy ⊇ medium ⊇ hard).
func syntheticPairs(docs: Int, maxItems: Int, seed: UInt64) -> (a: [ScoredItem], b: [ScoredItem]) {
    var rng = TestRNG(x: seed)
    var a: [ScoredItem] = [], b: [ScoredItem] = []
    for d in 0..<docs {
        let pA = 0.3 + 0.6 * rng.unit(), pB = max(0, pA - 0.1 - 0.2 * rng.unit())
        for i in 0..<(1 + rng.below(maxItems)) {
            let e = Float(2 * rng.unit())
            let item = EvalItem(docId: "doc\(d)", index: i * 3, splits: DifficultySplit.splits(forEntropy: e).map(\.rawValue))
            a.append(ScoredItem(item: item, score: rng.unit() < pA ? 1 : 0))
            b.append(ScoredItem(item: item, score: rng.unit() < pB ? 1 : 0))
        }
    }
    return (a, b)
}

@Suite struct PairedComparisonTests {
    // MARK: the bootstrap

    /// The simplest possible document bootstrap: per resample draw documents, concatenate their items' differences,
    /// average; the interval from nearest-rank order statistics.
    func naiveBootstrap(_ a: [ScoredItem], _ b: [ScoredItem], group: String, resamples: Int, seed: UInt64)
        -> (low: Double, high: Double, sd: Double) {
        var byDoc: [String: [Double]] = [:]
        for (x, y) in zip(a, b) where group == "all" || x.item.groups.contains(group) {
            byDoc[x.item.docId, default: []].append(x.score - y.score)
        }
        let docs = Array(byDoc.values)
        var rng = TestRNG(x: seed)
        var means: [Double] = []
        for _ in 0..<resamples {
            var drawn: [Double] = []
            for _ in 0..<docs.count { drawn += docs[rng.below(docs.count)] }
            means.append(drawn.reduce(0, +) / Double(drawn.count))
        }
        means.sort()
        let m = means.reduce(0, +) / Double(resamples)
        let sd = (means.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(resamples - 1)).squareRoot()
        return (means[Int(0.025 * Double(resamples))], means[Int(0.975 * Double(resamples)) - 1], sd)
    }

    @Test func bootstrapAgreesWithASimpleReimplementation() throws {
        let (a, b) = syntheticPairs(docs: 80, maxItems: 8, seed: 11)
        let c = try PairedComparison(a: a, b: b, resamples: 20_000, seed: 3)
        #expect(c.groups.map(\.name) == ["all", "easy", "medium", "hard"])
        for g in c.groups {
            let members = zip(a, b).filter { g.name == "all" || $0.0.item.groups.contains(g.name) }
            #expect(g.n == members.count && g.documents == Set(members.map(\.0.item.docId)).count)
            #expect(abs(g.meanA - members.map(\.0.score).reduce(0, +) / Double(g.n)) < 1e-12)
            #expect(abs(g.meanB - members.map(\.1.score).reduce(0, +) / Double(g.n)) < 1e-12)
            #expect(abs(g.difference - (g.meanA - g.meanB)) < 1e-12)
            let naive = naiveBootstrap(a, b, group: g.name, resamples: 20_000, seed: 99)
            let width = naive.high - naive.low
            #expect(width > 0.05, "\(g.name): a real interval")
            #expect(abs(g.low - naive.low) < 0.04 * width && abs(g.high - naive.high) < 0.04 * width,
                    "\(g.name): [\(g.low), \(g.high)] vs naive [\(naive.low), \(naive.high)]")
            // The cluster-robust standard error is the normal approximation of the bootstrap's spread.
            #expect(abs(g.standardError! / naive.sd - 1) < 0.08, "\(g.name): se \(g.standardError!) vs bootstrap sd \(naive.sd)")
        }
    }

    @Test func clusterRobustStandardErrorMatchesTheTextbookFormula() throws {
        // Three documents: differences (1, 0) | (1) | (0, 0, -1). N = 6, mean 1/6.
        // CR1: sqrt(M/(M−1) Σ_d (Σ_i (d_i − mean))²) / N with residual sums 2/3, 5/6, −3/2.
        let values: [Double] = [1, 0, 1, 0, 0, -1], docs = [0, 0, 1, 2, 2, 2]
        let boot = ClusterBootstrap(values: values, documents: docs)
        let mean = 1.0 / 6
        let residualSums = [1 + 0 - 2 * mean, 1 - mean, 0 + 0 - 1 - 3 * mean]
        let expected = (1.5 * residualSums.map { $0 * $0 }.reduce(0, +)).squareRoot() / 6
        #expect(boot.documentCount == 3 && boot.itemCount == 6 && abs(boot.mean - mean) < 1e-15)
        #expect(abs(boot.standardError! - expected) < 1e-12)
        #expect(ClusterBootstrap(values: [1, 0], documents: ["x", "x"]).standardError == nil, "one document: no standard error")
    }

    @Test func quantilesInterpolateLikeNumPy() {
        // numpy.percentile([1, 2, 3, 4], [25, 50, 97.5]) = 1.75, 2.5, 3.925; of 1…10 at 2.5: 1.225.
        #expect(abs(ClusterBootstrap.quantile(sorted: [1, 2, 3, 4], 0.25) - 1.75) < 1e-12)
        #expect(abs(ClusterBootstrap.quantile(sorted: [1, 2, 3, 4], 0.5) - 2.5) < 1e-12)
        #expect(abs(ClusterBootstrap.quantile(sorted: [1, 2, 3, 4], 0.975) - 3.925) < 1e-12)
        #expect(abs(ClusterBootstrap.quantile(sorted: (1...10).map(Double.init), 0.025) - 1.225) < 1e-12)
        #expect(ClusterBootstrap.quantile(sorted: [5], 0.975) == 5)
    }

    /// Documents whose items all share one outcome (perfect within-document correlation).
    func correlatedPairs(docs: Int, perDoc: Int, seed: UInt64, uniqueDocuments: Bool = false) -> (a: [ScoredItem], b: [ScoredItem]) {
        var rng = TestRNG(x: seed)
        var a: [ScoredItem] = [], b: [ScoredItem] = []
        for d in 0..<docs {
            let x: Double = rng.unit() < 0.6 ? 1 : 0, y: Double = rng.unit() < 0.4 ? 1 : 0
            for i in 0..<perDoc {
                let item = EvalItem(docId: uniqueDocuments ? "doc\(d)-\(i)" : "doc\(d)", index: i, splits: [])
                a.append(ScoredItem(item: item, score: x))
                b.append(ScoredItem(item: item, score: y))
            }
        }
        return (a, b)
    }

    @Test func clusteringWidensTheIntervalBySqrtOfItemsPerDocument() throws {
        let m = 9, docs = 200
        let (a, b) = correlatedPairs(docs: docs, perDoc: m, seed: 5)
        let (ia, ib) = correlatedPairs(docs: docs, perDoc: m, seed: 5, uniqueDocuments: true)
        let clustered = try PairedComparison(a: a, b: b, resamples: 4000, seed: 1).groups[0]
        let itemLevel = try PairedComparison(a: ia, b: ib, resamples: 4000, seed: 1).groups[0]
        #expect(clustered.difference == itemLevel.difference && clustered.documents == docs && itemLevel.documents == docs * m)
        let ratio = (clustered.high - clustered.low) / (itemLevel.high - itemLevel.low)
        #expect(abs(ratio - Double(m).squareRoot()) < 0.35, "width ratio \(ratio), expected about 3")
        // Standard errors: exactly √m · √((N−1)·M / (N·(M−1))) for identical items within documents.
        let n = Double(docs * m), mm = Double(docs)
        let seRatio = clustered.standardError! / itemLevel.standardError!
        #expect(abs(seRatio - (Double(m) * (n - 1) * mm / (n * (mm - 1))).squareRoot()) < 1e-9)
    }

    @Test func clusteredIntervalsCoverTheTrueDifference() throws {
        // A document's items all share its outcome: A right with probability 0.6, B with 0.4, so the true
        // difference is 0.2. The document bootstrap covers it about 95% of the time; resampling items as if
        // independent (each item its own document) is three times too narrow and covers far less often.
        var covered = 0, coveredItemLevel = 0
        let sims = 300
        for s in 0..<sims {
            let (a, b) = correlatedPairs(docs: 60, perDoc: 9, seed: 1000 + UInt64(s))
            let (ia, ib) = correlatedPairs(docs: 60, perDoc: 9, seed: 1000 + UInt64(s), uniqueDocuments: true)
            let g = try PairedComparison(a: a, b: b, resamples: 400, seed: UInt64(s)).groups[0]
            let gi = try PairedComparison(a: ia, b: ib, resamples: 400, seed: UInt64(s)).groups[0]
            if g.low <= 0.2 && 0.2 <= g.high { covered += 1 }
            if gi.low <= 0.2 && 0.2 <= gi.high { coveredItemLevel += 1 }
        }
        let coverage = Double(covered) / Double(sims), itemCoverage = Double(coveredItemLevel) / Double(sims)
        #expect(coverage > 0.88 && coverage < 0.995, "clustered coverage \(coverage)")
        #expect(itemCoverage < 0.7, "item-level coverage \(itemCoverage)")
    }

    @Test func degenerateCasesHaveExactValues() throws {
        let (a, _) = syntheticPairs(docs: 30, maxItems: 5, seed: 2)
        let same = try PairedComparison(a: a, b: a, resamples: 500, seed: 0)
        for g in same.groups {
            #expect(g.difference == 0 && g.low == 0 && g.high == 0 && g.meanA == g.meanB, "\(g.name)")
        }
        let right = a.map { ScoredItem(item: $0.item, score: 1) }, wrong = a.map { ScoredItem(item: $0.item, score: 0) }
        let c = try PairedComparison(a: right, b: wrong, resamples: 500, seed: 0)
        for g in c.groups {
            #expect(g.difference == 1 && g.low == 1 && g.high == 1 && g.meanA == 1 && g.meanB == 0, "\(g.name)")
            #expect(g.standardError == 0)
        }
        let reversed = try PairedComparison(a: wrong, b: right, resamples: 500, seed: 0).groups[0]
        #expect(reversed.difference == -1 && reversed.low == -1 && reversed.high == -1)
    }

    @Test func sameSeedSameNumbers() throws {
        let (a, b) = syntheticPairs(docs: 40, maxItems: 6, seed: 8)
        let x = try PairedComparison(a: a, b: b, resamples: 1000, seed: 7)
        let y = try PairedComparison(a: a, b: b, resamples: 1000, seed: 7)
        let z = try PairedComparison(a: a, b: b, resamples: 1000, seed: 8)
        #expect(x.groups == y.groups && PairedRecord(x) == PairedRecord(y))
        #expect(x.groups.map(\.difference) == z.groups.map(\.difference))
        #expect(zip(x.groups, z.groups).contains { $0.low != $1.low || $0.high != $1.high }, "another seed draws other resamples")
        // A group's interval does not depend on which other groups exist.
        let onlyAll = try PairedComparison(a: a.map { ScoredItem(item: EvalItem(docId: $0.item.docId, index: $0.item.index, splits: []), score: $0.score) },
                                           b: b, resamples: 1000, seed: 7)
        #expect(onlyAll.groups[0].low == x.groups[0].low && onlyAll.groups[0].high == x.groups[0].high)
    }

    @Test func itemsArePairedByDocumentAndIndexWhateverTheirOrder() throws {
        let (a, b) = syntheticPairs(docs: 25, maxItems: 6, seed: 4)
        let aligned = try PairedComparison(a: a, b: b, resamples: 800, seed: 2)
        // B shuffled, with A's first three items missing from B and two extra items only in B.
        var rng = TestRNG(x: 77)
        var shuffled = Array(b.dropFirst(3)).shuffled(using: &rng)
        shuffled += [ScoredItem(item: EvalItem(docId: "other", index: 0, splits: ["easy"]), score: 1),
                     ScoredItem(item: EvalItem(docId: "doc0", index: 999, splits: []), score: 0)]
        let c = try PairedComparison(a: a, b: shuffled, resamples: 800, seed: 2)
        #expect(c.matched == a.count - 3 && c.unmatchedA == 3 && c.unmatchedB == 2)
        let expected = try PairedComparison(a: Array(a.dropFirst(3)), b: Array(b.dropFirst(3)), resamples: 800, seed: 2)
        #expect(c.groups == expected.groups)
        #expect(aligned.matched == a.count && aligned.unmatchedA == 0 && aligned.unmatchedB == 0)
        #expect(c.table().contains("unmatched items: 3 only in A (A), 2 only in B (B)"))

        // Repeated items cannot be paired; disjoint sets share nothing.
        let e1 = expectRPTError(naming: "ctx") { _ = try PairedComparison(a: a + [a[0]], b: b, context: "ctx") }
        #expect(e1?.message.contains("doc0@0") ?? false)
        let far = b.map { ScoredItem(item: EvalItem(docId: "x" + $0.item.docId, index: $0.item.index, splits: []), score: $0.score) }
        let e2 = expectRPTError(naming: "ctx") { _ = try PairedComparison(a: a, b: far, context: "ctx") }
        #expect(e2?.message.contains("share no items") ?? false)
    }

    @Test func questionsAreGroupedByCategory() throws {
        // Multiple-choice questions: each its own cluster, groups are categories ("all" is not repeated).
        let items = [("q1", "math"), ("q2", "law"), ("q3", "math"), ("q4", "all")].map { EvalItem(questionId: $0.0, category: $0.1) }
        let a = zip(items, [1.0, 0, 1, 1]).map { ScoredItem(item: $0, score: $1) }, b = zip(items, [0.0, 0, 1, 0]).map { ScoredItem(item: $0, score: $1) }
        let c = try PairedComparison(a: a, b: b, resamples: 200)
        #expect(c.questions && c.groups.map(\.name) == ["all", "law", "math"])
        #expect(c.group("all")!.difference == 0.5 && c.group("all")!.documents == 4 && c.group("math")!.difference == 0.5)
        let j = try JSON.encoding(PairedRecord(c), file: "comparison")
        #expect(j["categories"]?["math"]?["n"]?.int == 2 && j["splits"]?.object?.keys.sorted() == ["all"])
        #expect(c.table().hasPrefix("category"))
    }

    @Test func tenThousandItemsTakeWellUnderASecond() throws {
        let (a, b) = syntheticPairs(docs: 1800, maxItems: 10, seed: 21)
        let n = min(a.count, 10_000)
        #expect(n == 10_000, "\(a.count) items")
        let start = Date()
        let c = try PairedComparison(a: Array(a.prefix(n)), b: Array(b.prefix(n)), resamples: 2000, seed: 0)
        let seconds = Date().timeIntervalSince(start)
        print("paired comparison of \(n) items in \(c.groups[0].documents) documents, 4 groups × 2000 resamples: \(String(format: "%.3f", seconds)) s")
        #expect(seconds < 1, "\(seconds) s")
    }

    // MARK: per-item outcomes in rpt-eval/1

    func evaluation(_ label: String, greedy: [Bool]?, samples: [[Bool]]) -> ModelEvaluation {
        let n = greedy?.count ?? samples.count
        let scores = (0..<n).map { ItemScore(greedy: greedy?[$0], samples: samples.isEmpty ? [] : samples[$0]) }
        return ModelEvaluation(target: EvalTarget(path: "/m/" + label), groups: [("all", GroupAccuracy(scores))], answers: nil,
                               seconds: 0, scores: scores)
    }

    @Test func evalJSONCarriesPositionsOutcomesAndPairedDifferences() throws {
        var o = EvalOptions()
        o.mode = .reasoning; o.data = "val.jsonl"; o.samples = 2
        let items = [EvalItem(docId: "d1", index: 4, splits: ["easy"]), EvalItem(docId: "d1", index: 6, splits: ["easy", "medium"]),
                     EvalItem(docId: "d2", index: 1, splits: [])]
        let base = evaluation("base", greedy: [false, false, true], samples: [[false, false], [true, false], [true, true]])
        let trained = evaluation("trained", greedy: [true, false, true], samples: [[true, true], [true, false], [false, true]])
        var r = EvalResults(options: o, itemCount: 3, models: [base, trained], items: items)
        r.paired = try r.pairedComparisons()
        let dir = temporaryDirectory("paired-json")
        let path = dir + "/e.json"
        try AtomicFile.write(Data(try r.json().serialized().utf8), to: path)
        let j = try JSON.load(path: path)
        #expect(j["positions"]?.array?.count == 3)
        #expect(j["positions"]?.array?[1] == .object(["doc_id": .string("d1"), "index": .number(6), "splits": .array([.string("easy"), .string("medium")])]))
        let out = j["results"]!.array![1]["outcomes"]!
        #expect(out["greedy"] == .array([.number(1), .number(0), .number(1)]))
        #expect(out["sample_correct"] == .array([.number(2), .number(1), .number(1)]) && out["samples"]?.int == 2)
        // The existing keys are still there.
        #expect(j["results"]!.array![1]["splits"]?["all"]?["n"]?.int == 3)
        // Paired: trained − base on greedy: (1 − 0, 0 − 0, 1 − 1) → mean 1/3.
        let p = j["paired"]!.array![0]
        #expect(p["a"]?.string == "trained" && p["b"]?.string == "base" && p["score"]?.string == "greedy")
        #expect(abs(p["splits"]!["all"]!["difference"]!.double! - 1.0 / 3) < 1e-12 && p["splits"]!["all"]!["documents"]?.int == 2)
        #expect(p["splits"]!["easy"]!["n"]?.int == 2 && p["splits"]!["medium"]!["n"]?.int == 1)
        // The reader returns what was written, per label.
        let back = try EvalOutcomes.load(path: path)
        #expect(back.items == items && back.mode == "reasoning")
        #expect(back.byLabel["trained"]?.greedy == [true, false, true] && back.byLabel["base"]?.sampleCorrect == [0, 1, 2])
        #expect(back.byLabel["trained"]?.scores(.mean) == [1, 0.5, 0.5])
        // --baseline chooses the reference; an unknown one is an error listing the labels.
        let rev = try r.pairedComparisons(baseline: "trained", score: .mean)
        #expect(rev.count == 1 && rev[0].comparison.a == "base" && rev[0].comparison.b == "trained")
        #expect(abs(rev[0].comparison.groups[0].difference - ((0 - 1) + (0.5 - 0.5) + (1 - 0.5)) / 3) < 1e-12)
        let e = expectRPTError(naming: "--baseline") { _ = try r.pairedComparisons(baseline: "nope") }
        #expect(e?.message.contains("base, trained") ?? false)
    }

    @Test func outcomeReaderRejectsFilesWithoutOrWithBrokenOutcomes() throws {
        let dir = temporaryDirectory("outcomes-bad")
        let positions: JSON = .array([.object(["doc_id": .string("d"), "index": .number(1), "splits": .array([])]),
                                      .object(["doc_id": .string("d"), "index": .number(2), "splits": .array([])])])
        func result(_ label: String, _ outcomes: JSON?) -> JSON {
            var r: [String: JSON] = ["label": .string(label), "splits": .object([:])]
            if let outcomes { r["outcomes"] = outcomes }
            return .object(r)
        }
        let good = result("m1", .object(["greedy": .array([.number(1), .number(0)])]))
        let cases: [(JSON, String)] = [
            (.object(["format": .string("rpt-fit/1")]), "not an rpt-eval/1"),
            (.object(["format": .string("rpt-eval/1"), "results": .array([good])]), "\"positions\" is missing"),
            (.object(["format": .string("rpt-eval/1"), "positions": positions, "results": .array([good, result("m2", nil)])]), "results[1] (m2) has no per-item \"outcomes\""),
            (.object(["format": .string("rpt-eval/1"), "positions": positions,
                      "results": .array([result("m1", .object(["greedy": .array([.number(1)])]))])]), "has 1 entries but \"positions\" has 2"),
            (.object(["format": .string("rpt-eval/1"), "positions": positions,
                      "results": .array([result("m1", .object(["greedy": .array([.number(1), .number(2)])]))])]), "greedy[1] must be 0 or 1"),
            (.object(["format": .string("rpt-eval/1"), "positions": positions,
                      "results": .array([result("m1", .object(["samples": .number(2), "sample_correct": .array([.number(1), .number(3)])]))])]), "exceeds samples = 2"),
            (.object(["format": .string("rpt-eval/1"), "positions": .array([.object(["doc_id": .string("d")])]), "results": .array([good])]), "positions[0]"),
        ]
        for (i, (json, needle)) in cases.enumerated() {
            let path = dir + "/bad\(i).json"
            try AtomicFile.write(Data(json.serialized().utf8), to: path)
            let e = expectRPTError(naming: path) { _ = try EvalOutcomes.load(path: path) }
            #expect(e?.message.contains(needle) ?? false, "case \(i): \(String(describing: e))")
        }
        // Selecting a result: by label, or the only one; otherwise errors list the labels.
        let path = dir + "/two.json"
        try AtomicFile.write(Data(JSON.object(["format": .string("rpt-eval/1"), "positions": positions,
                                               "results": .array([good, result("m2", .object(["samples": .number(4), "sample_correct": .array([.number(4), .number(1)])]))])]).serialized().utf8), to: path)
        let f = try EvalOutcomes.load(path: path)
        #expect(try f.result(label: "m2").sampleCorrect == [4, 1])
        let e1 = expectRPTError(naming: path) { _ = try f.result(label: nil) }
        #expect(e1?.message.contains("m1, m2") ?? false)
        let e2 = expectRPTError(naming: path) { _ = try f.result(label: "m3") }
        #expect(e2?.message.contains("no result labelled \"m3\"") ?? false)
        let e3 = expectRPTError(naming: path) { _ = try f.scoredItems(f.result(label: "m2"), score: .greedy) }
        #expect(e3?.message.contains("without greedy") ?? false)
        #expect(try f.scoredItems(f.result(label: "m2"), score: .mean).map(\.score) == [1, 0.25])
    }

    // MARK: rpt eval + rpt compare end to end

    /// Validation positions from four short documents, tokenized with the fixture models' tokenizer. The random
    /// fixture models rarely predict text, so about two thirds of the targets are qwen2_f32's own argmax (its
    /// standard accuracy is well above 0, and differs from the other models').
    func writeValidation(_ dir: String) throws -> (path: String, records: [PositionRecord]) {
        let tok = try loadTokenizer(path: Repo.fixtureModel("qwen2_f32"))
        let model = try Model.load(path: Repo.fixtureModel("qwen2_f32"))
        let texts = ["The answer is 42, and the next number is 43. Then 44 follows.",
                     "Once upon a time there was a cat who sat on a mat and slept all day.",
                     "Numbers: one, two, three, four, five, six, seven, eight.",
                     "Alice went to the market to buy apples and pears for lunch."]
        var records: [PositionRecord] = []
        for (d, text) in texts.enumerated() {
            let ids = tok.encode(text)
            for t in stride(from: 3, to: ids.count - 2, by: 2) {
                let cont = Array(ids[t..<min(ids.count, t + 4)])
                var bounds: [Int] = [], total = 0
                for id in cont { total += tok.tokenBytes(id).count; bounds.append(total) }
                let e = Float((t * 7 + d * 3) % 20) / 10
                var target = ids[t]
                if (t / 2 + d) % 3 != 0 {
                    let last = Array(try allLogits(model, Array(ids[0..<t])).suffix(model.config.vocabSize))
                    target = last.indices.max { last[$0] < last[$1] }!
                }
                records.append(PositionRecord(docId: "doc\(d)", index: t, context: tok.decode(Array(ids[0..<t])), contextIds: Array(ids[0..<t]),
                                              targetId: target, target: tok.decode([ids[t]]), continuation: tok.bytes(of: cont), boundaries: bounds,
                                              proxyEntropy: e, proxyLogProb: -1, entropy: e, splits: DifficultySplit.splits(forEntropy: e)))
            }
        }
        let path = dir + "/val.jsonl"
        try (records.map(\.line).joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return (path, records)
    }

    @Test func evalThenCompareEndToEnd() throws {
        let dir = temporaryDirectory("compare-cli")
        let (data, records) = try writeValidation(dir)
        let qwen = Repo.fixtureModel("qwen2_f32"), other = Repo.fixtureModel("qwen2_bf16_tied")
        // Standard mode, two models: paired differences printed and written.
        let ntp = dir + "/eval-ntp.json"
        let r1 = try runRPT(["eval", "--model", qwen, "--model", other, "--data", data, "--mode", "ntp", "--out", ntp, "--resamples", "500"])
        #expect(r1.status == 0, "\(r1.stderr)")
        #expect(r1.stdout.contains("qwen2_bf16_tied − qwen2_f32"), "\(r1.stdout)")
        let nj = try JSON.load(path: ntp)
        let greedy = { (i: Int) in nj["results"]!.array![i]["outcomes"]!["greedy"]!.array!.map { $0.double! } }
        #expect(nj["positions"]?.array?.count == records.count && greedy(0).count == records.count)
        // The outcomes add up to the reported accuracy.
        #expect(abs(greedy(0).reduce(0, +) / Double(records.count) - nj["results"]!.array![0]["splits"]!["all"]!["accuracy"]!.double!) < 1e-12)
        let accuracy0 = greedy(0).reduce(0, +) / Double(records.count), accuracy1 = greedy(1).reduce(0, +) / Double(records.count)
        #expect(accuracy0 > 0.5 && accuracy1 < accuracy0, "qwen2_f32 \(accuracy0), qwen2_bf16_tied \(accuracy1)")
        let paired = nj["paired"]!.array![0]
        #expect(paired["a"]?.string == "qwen2_bf16_tied" && paired["b"]?.string == "qwen2_f32" && paired["resamples"]?.int == 500)
        let all = paired["splits"]!["all"]!
        let diff = zip(greedy(1), greedy(0)).map { $0 - $1 }.reduce(0, +) / Double(records.count)
        #expect(abs(all["difference"]!.double! - diff) < 1e-12 && all["documents"]?.int == 4 && all["n"]?.int == records.count)
        let ci = all["ci95"]!.array!.map { $0.double! }
        #expect(ci[0] <= diff && diff <= ci[1] && ci[0] < ci[1] && diff < 0)

        // Reasoning mode on a subset: a different item order and fewer items.
        let reasoning = dir + "/eval-reasoning.json"
        let r2 = try runRPT(["eval", "--model", qwen, "--data", data, "--mode", "reasoning", "--samples", "2", "--max-response-tokens", "8",
                             "--max-positions", "7", "--seed", "3", "--out", reasoning])
        #expect(r2.status == 0, "\(r2.stderr)")
        let rj = try JSON.load(path: reasoning)
        let rItems = rj["positions"]!.array!.map { EvalItem(json: $0)! }
        let rOut = rj["results"]!.array![0]["outcomes"]!
        #expect(rItems.count == 7 && rOut["samples"]?.int == 2 && rOut["sample_correct"]?.array?.count == 7)

        // rpt compare: reasoning (A) against standard mode of the same model (B), paired by (doc_id, index).
        let out = dir + "/compare.json"
        let c = try runRPT(["compare", "--a", reasoning, "--b", ntp + ":qwen2_f32", "--out", out, "--seed", "1"])
        #expect(c.status == 0, "\(c.stderr)")
        for split in ["all", "easy", "medium", "hard"] where rItems.contains(where: { split == "all" || $0.groups.contains(split) }) {
            #expect(c.stdout.split(separator: "\n").contains { $0.hasPrefix(split + " ") }, "\(c.stdout)")
        }
        let cj = try JSON.load(path: out)
        #expect(cj["format"]?.string == "rpt-compare/1" && cj["a"]?["label"]?.string == "qwen2_f32" && cj["b"]?["mode"]?.string == "ntp")
        #expect(cj["matched"]?.int == 7 && cj["unmatched_a"]?.int == 0 && cj["unmatched_b"]?.int == records.count - 7)
        // Independently: look each reasoning item up in the ntp file by key.
        let ntpItems = nj["positions"]!.array!.map { EvalItem(json: $0)! }
        let ntpByKey = Dictionary(uniqueKeysWithValues: zip(ntpItems.map(\.key), greedy(0)))
        let rGreedy = rOut["greedy"]!.array!.map { $0.double! }
        let meanA = rGreedy.reduce(0, +) / 7, meanB = rItems.map { ntpByKey[$0.key]! }.reduce(0, +) / 7
        let call = cj["splits"]!["all"]!
        #expect(abs(call["mean_a"]!.double! - meanA) < 1e-12 && abs(call["mean_b"]!.double! - meanB) < 1e-12)
        #expect(abs(call["difference"]!.double! - (meanA - meanB)) < 1e-12 && meanB > 0)
        #expect(abs(call["mean_a"]!.double! - rj["results"]!.array![0]["splits"]!["all"]!["greedy"]!["accuracy"]!.double!) < 1e-12)
        // Same inputs and seed, same file.
        let again = try runRPT(["compare", "--a", reasoning, "--b", ntp + ":qwen2_f32", "--out", dir + "/compare2.json", "--seed", "1"])
        let first = try String(contentsOfFile: out, encoding: .utf8), second = try String(contentsOfFile: dir + "/compare2.json", encoding: .utf8)
        #expect(again.status == 0 && first == second)

        // Mean of samples for A against the argmax of B.
        let m = try runRPT(["compare", "--a", reasoning, "--b", ntp + ":qwen2_f32", "--score-a", "mean", "--out", dir + "/m.json"])
        #expect(m.status == 0, "\(m.stderr)")
        let mj = try JSON.load(path: dir + "/m.json")
        #expect(abs(mj["splits"]!["all"]!["mean_a"]!.double! - rj["results"]!.array![0]["splits"]!["all"]!["sampled"]!["mean_accuracy"]!.double!) < 1e-12)

        // Errors name the file: several results and no label; an unknown label; no samples in ntp mode.
        let noLabel = try runRPT(["compare", "--a", reasoning, "--b", ntp])
        #expect(noLabel.status != 0 && noLabel.stderr.contains(ntp) && noLabel.stderr.contains("qwen2_f32, qwen2_bf16_tied"), "\(noLabel.stderr)")
        let unknown = try runRPT(["compare", "--a", reasoning + ":nope", "--b", ntp + ":qwen2_f32"])
        #expect(unknown.status != 0 && unknown.stderr.contains(reasoning) && unknown.stderr.contains("nope"), "\(unknown.stderr)")
        let noSamples = try runRPT(["compare", "--a", reasoning, "--b", ntp + ":qwen2_f32", "--score", "mean"])
        #expect(noSamples.status != 0 && noSamples.stderr.contains(ntp) && noSamples.stderr.contains("no sampled responses"), "\(noSamples.stderr)")
        let missing = try runRPT(["compare", "--a", dir + "/missing.json", "--b", ntp + ":qwen2_f32"])
        #expect(missing.status != 0 && missing.stderr.contains("missing.json"))
    }
}
