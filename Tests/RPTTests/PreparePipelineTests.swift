// `rpt prepare` end to end on small data (RPT §3.3, §4.1): the JSONL template corpus, the document split,
// entropy filtering, nested difficulty splits, the per-document cap, determinism under a seed, the summary,
// rejection of malformed dataset lines, and resuming a killed run to the same output as an uninterrupted one.

import Foundation
import Testing
@testable import RPT

@Suite(.serialized) struct PreparePipelineTests {
    static let corpus = Repo.path("Tests/Fixtures/prepare/omni_tiny.jsonl")

    static func options(out: String, seed: UInt64 = 7, proxy: String = Repo.stories260KHF) throws -> PrepareOptions {
        var o = PrepareOptions(policy: Repo.stories260KHF, proxy: proxy, corpus: corpus, outputDirectory: out,
                               corpusOptions: CorpusOptions(template: try TextTemplate("{problem}\n\n{solution}")))
        o.seed = seed
        o.validationDocuments = 2
        o.minContext = 8
        o.horizon = 8
        o.window = 128
        o.maxContextTokens = 4096
        o.batchTokens = 512
        return o
    }

    @discardableResult
    static func run(_ o: PrepareOptions) throws -> Preparer.Result {
        let p = Preparer(options: o)
        p.log = { _ in }
        return try p.run()
    }

    /// The corpus documents as the template renders them, NFC-normalised, by doc id.
    static func documents() throws -> [String: [UInt8]] {
        let c = try CorpusReader.read(path: corpus, options: CorpusOptions(template: try TextTemplate("{problem}\n\n{solution}")), onWarning: { _ in })
        var out: [String: [UInt8]] = [:]
        for d in c.documents { out[d.id] = Array(nfcNormalized(d.text).utf8) }
        return out
    }

    @Test func templateCorpusGivesByteExactFilteredPositions() throws {
        let out = temporaryDirectory("prep")
        var o = try Self.options(out: out)
        o.entropyThreshold = 1.5
        let r = try Self.run(o)
        let train = try PositionDataset.read(path: out + "/train.jsonl")
        let val = try PositionDataset.read(path: out + "/val.jsonl")
        #expect(!train.isEmpty && !val.isEmpty)
        #expect(r.train.documents == 6 && r.val.documents == 2)
        let meta = try JSON.load(path: out + "/meta.json")
        #expect(meta["corpus"]?["skipped"]?["missing field"]?.int == 1)
        // Documents, never positions, are split.
        #expect(Set(train.map(\.docId)).isDisjoint(with: Set(val.map(\.docId))))
        let docs = try Self.documents()
        let tok = try loadTokenizer(path: Repo.stories260KHF)
        for rec in train + val {
            let doc = try #require(docs[rec.docId])
            let (ids, bos) = tok.documentIds(String(decoding: doc, as: UTF8.self))
            let spans = try #require(TokenByteSpans(tokenizer: tok, ids: ids, hasBOS: bos, document: doc))
            #expect(rec.index >= 8)
            #expect(rec.targetId == ids[rec.index])
            #expect(rec.contextIds == Array(ids[0..<rec.index]))
            // The template text: context bytes + continuation are the document's bytes from its start.
            // (x_t may start inside a character: then the context is the lossy decoding of the exact bytes.)
            let start = spans.starts[rec.index]
            #expect(rec.context == String(decoding: doc[0..<start], as: UTF8.self))
            #expect(Array(doc[start..<(start + rec.continuation.count)]) == rec.continuation)
            if !rec.context.contains("\u{FFFD}") { #expect(Array(doc.prefix(start)) == Array(rec.context.utf8)) }
            #expect(rec.continuation == Array(doc[spans.continuationRange(from: rec.index, horizon: 8)]))
            #expect(rec.boundaries == spans.boundaries(from: rec.index, horizon: 8))
        }
        for rec in train {
            #expect(rec.proxyEntropy > 1.5)
            #expect(rec.entropy == nil && rec.splits == nil)
        }
        for rec in val {
            let e = try #require(rec.entropy)
            #expect(e > 0.5)
            #expect(rec.splits == DifficultySplit.splits(forEntropy: e))
            #expect(abs(e - rec.proxyEntropy) < 1e-6)  // split model = policy = proxy here
        }
        // Validation keeps positions below the training threshold (it is not filtered by the proxy threshold).
        #expect(val.contains { $0.proxyEntropy <= 1.5 })
        #expect(r.val.splitCounts[0] == val.count)
        #expect(r.val.splitCounts[1] == val.filter { $0.entropy! > 1.0 }.count)
        #expect(r.val.splitCounts[2] == val.filter { $0.entropy! > 1.5 }.count)
        let summary = try PrepareSummary.render(directory: out)
        #expect(summary.contains("train   6"))
        #expect(summary.contains("> 1.0") && summary.contains("█") && summary.contains("entropy threshold (train): 1.50"))
    }

    @Test func nestedDifficultySplits() {
        #expect(DifficultySplit.splits(forEntropy: 0.2) == [])
        #expect(DifficultySplit.splits(forEntropy: 0.5) == [])
        #expect(DifficultySplit.splits(forEntropy: 0.51) == [.easy])
        #expect(DifficultySplit.splits(forEntropy: 1.0) == [.easy])
        #expect(DifficultySplit.splits(forEntropy: 1.2) == [.easy, .medium])
        #expect(DifficultySplit.splits(forEntropy: 2.7) == [.easy, .medium, .hard])
        let v = PositionSelection.validation([(3, 0.4), (4, 0.6), (5, 1.1), (6, 1.6)])
        #expect(v.map(\.index) == [4, 5, 6])
        #expect(v.map(\.splits.count) == [1, 2, 3])
    }

    @Test func sameSeedSameFilesDifferentSeedDifferentSplit() throws {
        let a = temporaryDirectory("prep-a"), b = temporaryDirectory("prep-b"), c = temporaryDirectory("prep-c")
        try Self.run(try Self.options(out: a, seed: 7))
        let ob = try Self.options(out: b, seed: 7)
        try Self.run(ob)
        try Self.run(try Self.options(out: c, seed: 8))
        for f in ["train.jsonl", "val.jsonl", "meta.json"] {
            #expect(FileManager.default.contents(atPath: a + "/" + f) == FileManager.default.contents(atPath: b + "/" + f), "\(f)")
        }
        let valA = Set(try PositionDataset.read(path: a + "/val.jsonl").map(\.docId))
        let valC = Set(try PositionDataset.read(path: c + "/val.jsonl").map(\.docId))
        #expect(valA != valC)
    }

    @Test func capAndContextTruncation() throws {
        let out = temporaryDirectory("prep-cap")
        var o = try Self.options(out: out)
        o.maxPositionsPerDocument = 3
        o.maxContextTokens = 16
        let r = try Self.run(o)
        let train = try PositionDataset.read(path: out + "/train.jsonl")
        #expect(r.train.capped > 0)
        for (_, recs) in Dictionary(grouping: train, by: \.docId) { #expect(recs.count <= 3) }
        let docs = try Self.documents()
        for rec in train {
            #expect(rec.contextIds.count == min(16, rec.index))
            // The truncated context is the text right before the target.
            let doc = try #require(docs[rec.docId])
            guard !rec.context.contains("\u{FFFD}") else { continue }  // a cut inside a character is lossy
            let tail = Array(rec.context.utf8) + rec.continuation
            #expect((0...(doc.count - tail.count)).contains { Array(doc[$0..<($0 + tail.count)]) == tail })
        }
    }

    @Test func differentProxyTokenizerAlignsByBytes() throws {
        let out = temporaryDirectory("prep-x")
        let o = try Self.options(out: out, proxy: Repo.fixtureModel("qwen2_f32"))
        let r = try Self.run(o)
        #expect(r.train.unalignedProxy + r.val.unalignedProxy > 0)
        #expect(r.train.scored > 0)
        let val = try PositionDataset.read(path: out + "/val.jsonl")
        for rec in val { #expect(rec.entropy! > 0.5) }  // split model = the policy, not the proxy
    }

    @Test func malformedDatasetLinesNameFileAndLine() throws {
        let dir = temporaryDirectory("prep-bad")
        let good = PositionRecord(docId: "d", index: 2, context: "ab", contextIds: [1, 5], targetId: 7, target: "c",
                                  continuation: Array("cde".utf8), boundaries: [1, 3], proxyEntropy: 1.5, proxyLogProb: -2)
        #expect(try PositionRecord(line: good.line, file: "f", line: 1) == good)
        var v = good
        v.context = "a\"b\\\n\u{1}é 数"; v.entropy = 1.25; v.splits = [.easy, .medium]
        v.calculation = "47+8=55"
        // The fast writer writes the Codable encoding (sorted keys), and decoding it gives the record back.
        #expect(v.line == (try JSON.encoding(v, file: "f")).serialized())
        #expect(try JSONDecoder().decode(PositionRecord.self, from: Data(v.line.utf8)) == v)
        #expect(try PositionRecord(line: v.line, file: "f", line: 1) == v)
        let bad: [String] = [
            "{not json",
            good.line.replacingOccurrences(of: "rpt-positions/1", with: "rpt-positions/9"),
            good.line.replacingOccurrences(of: "[1,3]", with: "[1,2]"),
            good.line.replacingOccurrences(of: "\"index\":2", with: "\"index\":\"2\""),
            good.line.replacingOccurrences(of: "\"continuation_b64\":\"", with: "\"continuation_b64\":\"%%"),
            good.line.replacingOccurrences(of: "\"target_id\":7}", with: "\"target_id\":7,\"splits\":[\"trivial\"],\"entropy\":1}"),
            good.line.replacingOccurrences(of: "\"context_ids\":[1,5]", with: "\"context_ids\":[1,5,6]"),
            good.line.replacingOccurrences(of: "\"target_id\":7", with: "\"target_id\":-7"),
            good.line.replacingOccurrences(of: "\"context_ids\":[1,5]", with: "\"context_ids\":[-1,5]"),
            good.line.replacingOccurrences(of: "\"target_id\":7}", with: "\"target_id\":7,\"splits\":[\"easy\"]}"),
            good.line.replacingOccurrences(of: "\"target_id\":7}", with: "\"target_id\":7,\"calculation\":3}"),
            good.line.replacingOccurrences(of: "\"context_ids\":[1,5]", with: "\"context_ids\":[1,5.5]"),
        ]
        for (i, line) in bad.enumerated() {
            let path = dir + "/bad\(i).jsonl"
            try (good.line + "\n" + line + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            do {
                _ = try PositionDataset.read(path: path)
                Issue.record("line accepted: \(line)")
            } catch let e as RPTError {
                #expect(e.file == path && e.message.hasPrefix("line 2:"), "\(e)")
                // Each names the field at fault (or the JSON itself).
                let field = ["JSON", "format", "boundaries", "index", "continuation_b64", "splits", "context_ids", "target_id",
                             "context_ids", "entropy", "calculation", "context_ids[1]"][i]
                #expect(e.message.contains(field), "\(e.message) should name \(field)")
            }
        }
    }

    @Test func killedRunResumesToTheSameOutput() throws {
        let killed = temporaryDirectory("prep-kill"), clean = temporaryDirectory("prep-clean")
        func args(_ out: String) -> [String] {
            ["prepare", "--policy", Repo.stories260KHF, "--proxy", Repo.stories260KHF, "--corpus", Self.corpus,
             "--text-template", "{problem}\\n\\n{solution}", "--out", out, "--val-docs", "2", "--seed", "3",
             "--min-context", "8", "--horizon", "8", "--batch-tokens", "1"]
        }
        let p = Process()
        p.executableURL = try rptBinary()
        p.arguments = args(killed)
        p.environment = ProcessInfo.processInfo.environment.merging(["RPT_PREPARE_GROUP_DELAY": "0.3"]) { $1 }
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let work = killed + "/.work/scored.jsonl"
        func lines() -> Int { (FileManager.default.contents(atPath: work) ?? Data()).filter { $0 == 0x0A }.count }
        let deadline = Date().addingTimeInterval(20)
        while lines() < 2 && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let before = lines()
        #expect(before >= 2 && before < 8, "killed with \(before) of 8 documents scored")
        #expect(!FileManager.default.fileExists(atPath: killed + "/train.jsonl"))
        // A write cut short by the kill: a partial last line must be dropped, not trusted.
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: work))
        try h.seekToEnd()
        try h.write(contentsOf: Data("{\"doc\":7,\"doc_id\":\"omni".utf8))
        try h.close()

        let resumed = try runRPT(args(killed))
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("resuming: \(before) of 8"))
        let full = try runRPT(args(clean))
        #expect(full.status == 0, "\(full.stderr)")
        for f in ["train.jsonl", "val.jsonl", "meta.json"] {
            let a = FileManager.default.contents(atPath: killed + "/" + f), b = FileManager.default.contents(atPath: clean + "/" + f)
            #expect(a != nil && a == b, "\(f)")
        }
        #expect(lines() == 8)  // each document exactly once
        // --stats on the CLI.
        let stats = try runRPT(["prepare", "--stats", killed])
        #expect(stats.status == 0 && stats.stdout.contains("proxy entropy histogram"))
        // Different options on the same unfinished directory are refused.
        var changed = args(killed)
        changed[changed.firstIndex(of: "--seed")! + 1] = "4"
        let refused = try runRPT(changed)
        #expect(refused.status != 0 && refused.stderr.contains("scored with different options"))
    }

    /// Changing only the entropy threshold or the per-document cap re-selects from the stored scores: nothing is
    /// scored again, and the files equal those of a fresh run with the new values.
    @Test func newThresholdReselectsWithoutRescoring() throws {
        let reused = temporaryDirectory("prep-rethreshold"), fresh = temporaryDirectory("prep-rethreshold-fresh")
        func args(_ out: String, threshold: String, cap: [String] = []) -> [String] {
            ["prepare", "--policy", Repo.stories260KHF, "--proxy", Repo.stories260KHF, "--corpus", Self.corpus,
             "--template", "{problem}\\n\\n{solution}", "--out", out, "--val-docs", "2", "--seed", "3",
             "--min-context", "8", "--horizon", "8", "--entropy-threshold", threshold] + cap
        }
        let first = try runRPT(args(reused, threshold: "0.5"))
        #expect(first.status == 0, "\(first.stderr)")
        let low = try PositionDataset.read(path: reused + "/train.jsonl").count
        let work = reused + "/.work/scored.jsonl"
        let workBefore = FileManager.default.contents(atPath: work)
        for (threshold, cap) in [("1.5", [String]()), ("0.5", ["--max-positions-per-doc", "3"])] {
            let again = try runRPT(args(reused, threshold: threshold, cap: cap))
            #expect(again.status == 0, "\(again.stderr)")
            #expect(again.stderr.contains("already scored"), "\(again.stderr)")
            #expect(FileManager.default.contents(atPath: work) == workBefore)   // nothing appended
            try? FileManager.default.removeItem(atPath: fresh)
            let clean = try runRPT(args(fresh, threshold: threshold, cap: cap))
            #expect(clean.status == 0, "\(clean.stderr)")
            for f in ["train.jsonl", "val.jsonl", "meta.json"] {
                let a = FileManager.default.contents(atPath: reused + "/" + f), b = FileManager.default.contents(atPath: fresh + "/" + f)
                #expect(a != nil && a == b, "\(f) at threshold \(threshold) \(cap)")
            }
            let n = try PositionDataset.read(path: reused + "/train.jsonl").count
            #expect(n > 0 && n < low, "\(n) positions at \(threshold) \(cap), \(low) at 0.5")
            let meta = try JSON.load(path: reused + "/meta.json")
            #expect(meta["options"]?["entropy_threshold"]?.double == Double(threshold))
        }
    }
}
