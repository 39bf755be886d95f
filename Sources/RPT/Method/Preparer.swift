// `rpt prepare` (RPT §3.3): read a corpus, score every document with the proxy model, keep high-entropy
// positions for training, label validation positions with the split model's entropy (§4.1), and write
// DIR/train.jsonl, DIR/val.jsonl (format: PositionDataset.swift) and DIR/meta.json.
//
// Positions are defined on the policy tokenizer; proxy and split-model values come from the token that starts
// at the same byte (TokenAlignment). The proxy may be an OpenAI-compatible server instead of a local model
// (ServerEntropyScorer, docs/servers.md). Documents are scored in fixed groups of about --batch-tokens tokens (the
// grouping depends only on the corpus and options, so a resumed run computes exactly what an uninterrupted one
// would); each scored document is appended to DIR/.work/scored.jsonl at once, and a rerun with the same scoring
// options skips documents already there. The final files are written atomically from the work file, selecting
// training positions there: a rerun that changes only --entropy-threshold or --max-positions-per-doc re-selects
// from the stored scores without scoring again.

import Foundation

public final class Preparer {
    public let options: PrepareOptions
    /// Where progress lines and warnings go.
    public var log: (String) -> Void = { StandardError.write($0 + "\n") }
    /// Test hook: seconds to sleep after each group (makes a run slow enough to interrupt).
    public var delayPerGroup: Double = 0

    public init(options: PrepareOptions) { self.options = options }

    /// One corpus document ready to score.
    struct Plan {
        var index: Int
        var document: CorpusDocument
        var bytes: [UInt8]
        var isValidation: Bool
        var policyIds: [Int]
        var policySpans: TokenByteSpans?
        var proxyIds: [Int]
        var proxySpans: TokenByteSpans?
        var splitIds: [Int]
        var splitSpans: TokenByteSpans?
    }

    /// What the run did.
    public struct Result: Sendable {
        public var train: PrepareCounts
        public var val: PrepareCounts
        public var trainPositions: Int
        public var valPositions: Int
        /// Documents scored by this invocation (0 when everything was already in the work file).
        public var documentsScoredNow: Int
        /// Proxy tokens per second over the documents scored now.
        public var proxyTokensPerSecond: Double
        public var seconds: Double
        /// With a proxy server: the server, its capabilities, the tally of scored and refused positions, requests/s.
        public var proxyServer: JSON?
    }

    public func run() throws -> Result {
        let started = Date()
        try options.validate()
        let o = options
        var corpusOptions = o.corpusOptions
        corpusOptions.maxWarnings = 5
        let corpus = try CorpusReader.read(path: o.corpus, options: corpusOptions, onWarning: { [log] in log("warning: " + $0) })

        // Models: load each distinct (model, tokenizer) once.
        var loaded: [String: LanguageModel] = [:]
        func model(_ path: String, _ tok: String?) throws -> LanguageModel {
            let key = path + "\u{0}" + (tok ?? "")
            if let m = loaded[key] { return m }
            let m = try LanguageModel.load(model: path, tokenizer: tok)
            loaded[key] = m
            return m
        }
        // The proxy: a local model, or a server with rpt's tokenizer for it (docs/servers.md).
        let proxyTokenizer: any Tokenizer
        let proxyScorer: any ProxyEntropyScoring
        let window: Int
        var serverScorer: ServerEntropyScorer? = nil
        var serverInfo: [String: JSON] = [:]
        if let server = o.proxyServer {
            if o.proxyTokenizer == nil && o.proxy.hasSuffix(".bin") {
                throw RPTError("a llama2.c checkpoint has no tokenizer inside: pass --proxy-tokenizer FILE", file: o.proxy)
            }
            let source = o.proxyTokenizer ?? (o.proxy.isEmpty ? (o.policyTokenizer ?? o.policy) : o.proxy)
            proxyTokenizer = try loadTokenizer(path: source)
            var isDir: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: source, isDirectory: &isDir)
            let config = (isDir.boolValue ? source : (source as NSString).deletingLastPathComponent) + "/config.json"
            let positions = FileManager.default.fileExists(atPath: config) ? try ModelConfig.load(path: config).maxPositions : nil
            window = o.window ?? min(positions ?? 1024, 1024)
            let client = try CompletionsClient(options: server)
            let caps = try ServerCapabilities.probe(client, tokenizer: proxyTokenizer, promptLogprobs: o.topK)
            log("proxy \(server.url) serves \(server.model): \(caps.summary)" + caps.notes.map { "\n  note: " + $0 }.joined())
            let scorer = try ServerEntropyScorer(client: client, capabilities: caps, tokenizer: proxyTokenizer, topK: o.topK,
                                                 window: window, minContext: o.minContext)
            serverScorer = scorer
            proxyScorer = scorer
            serverInfo = ["url": .string(server.url), "served_model": .string(server.model), "tokenizer": .string(source),
                          "capabilities": caps.json]
        } else {
            let proxy = try model(o.proxy, o.proxyTokenizer)
            proxyTokenizer = proxy.tokenizer
            window = o.window ?? min(proxy.model.config.maxPositions, 1024)
            proxyScorer = try EntropyScorer(model: proxy.model, topK: o.topK, window: window, minContext: o.minContext, batchTokens: o.batchTokens)
        }
        let policyKey = o.policy + "\u{0}" + (o.policyTokenizer ?? "")
        let policyTokenizer: any Tokenizer
        if let m = loaded[policyKey] { policyTokenizer = m.tokenizer } else {
            if o.policy.hasSuffix(".bin") && o.policyTokenizer == nil {
                throw RPTError("a llama2.c checkpoint has no tokenizer inside: pass --policy-tokenizer FILE", file: o.policy)
            }
            policyTokenizer = try loadTokenizer(path: o.policyTokenizer ?? o.policy)
        }
        let splitPath = o.splitModel ?? o.policy
        let splitTok = o.splitModel == nil ? o.policyTokenizer : o.splitModelTokenizer
        // "proxy" names the proxy itself (local or served) as the split model.
        let splitIsProxy = o.splitModel == PrepareOptions.proxySplitModel
            || (o.proxyServer == nil && (splitPath + "\u{0}" + (splitTok ?? "")) == (o.proxy + "\u{0}" + (o.proxyTokenizer ?? "")))
        var splitLM: LanguageModel? = nil
        var splitScorer: EntropyScorer? = nil
        if !splitIsProxy {
            let m = try model(splitPath, splitTok)
            splitLM = m
            splitScorer = try EntropyScorer(model: m.model, topK: o.topK, window: o.window ?? min(m.model.config.maxPositions, 1024),
                                            minContext: o.minContext, batchTokens: o.batchTokens)
        }
        let splitTokenizer = splitLM?.tokenizer ?? proxyTokenizer

        // The document split, then every document's tokenizations.
        let size: ValidationSize = o.validationDocuments.map { .count($0) } ?? .fraction(0.1)
        let split = try TrainValidationSplit(Array(corpus.documents.indices), validation: size, seed: o.seed, source: o.corpus, allowAllValidation: true)
        let isValidation = Set(split.validation)
        var plans: [Plan] = []
        plans.reserveCapacity(corpus.documents.count)
        for (i, var d) in corpus.documents.enumerated() {
            d.text = nfcNormalized(d.text)
            let bytes = Array(d.text.utf8)
            let (pIds, pBOS) = policyTokenizer.documentIds(d.text)
            let (xIds, xBOS) = proxyTokenizer.documentIds(d.text)
            var plan = Plan(index: i, document: d, bytes: bytes, isValidation: isValidation.contains(i),
                            policyIds: pIds, policySpans: TokenByteSpans(tokenizer: policyTokenizer, ids: pIds, hasBOS: pBOS, document: bytes),
                            proxyIds: xIds, proxySpans: TokenByteSpans(tokenizer: proxyTokenizer, ids: xIds, hasBOS: xBOS, document: bytes),
                            splitIds: [], splitSpans: nil)
            if plan.isValidation {
                if splitIsProxy {
                    plan.splitIds = plan.proxyIds
                    plan.splitSpans = plan.proxySpans
                } else {
                    let (sIds, sBOS) = splitTokenizer.documentIds(d.text)
                    plan.splitIds = sIds
                    plan.splitSpans = TokenByteSpans(tokenizer: splitTokenizer, ids: sIds, hasBOS: sBOS, document: bytes)
                }
            }
            plans.append(plan)
        }

        // The work directory: options fingerprint + documents scored so far.
        let fm = FileManager.default
        let workDir = o.outputDirectory + "/.work"
        try createDirectory(workDir)
        // Only the options that change scores are pinned: the threshold and cap select at the end.
        let fingerprint = o.fingerprint(window: window)
        let scoringFingerprint = o.scoringFingerprint(window: window)
        let optionsPath = workDir + "/options.json"
        if fm.fileExists(atPath: optionsPath) {
            let old = try JSON.load(path: optionsPath)
            guard old == scoringFingerprint else {
                let why = old["work_format"] == nil ? "was prepared by an earlier rpt (another work-file format)" : "was scored with different options"
                throw RPTError("this output directory \(why); remove \(workDir) (and its results) or use another --out", file: optionsPath)
            }
        } else {
            try AtomicFile.write(Data(scoringFingerprint.serialized().utf8), to: optionsPath)
        }
        let scoredPath = workDir + "/scored.jsonl"
        var done = try WorkFile.load(scoredPath, documents: plans.count)
        let alreadyDone = done.count
        let appender = try WorkFile.Appender(path: scoredPath)

        // Groups of consecutive documents of about batchTokens proxy tokens (fixed for a given corpus and options).
        var groups: [[Int]] = []
        var current: [Int] = [], currentTokens = 0
        for p in plans {
            current.append(p.index)
            currentTokens += p.proxyIds.count
            if currentTokens >= o.batchTokens { groups.append(current); current = []; currentTokens = 0 }
        }
        if !current.isEmpty { groups.append(current) }

        let progress = ProgressLine(total: plans.count, label: "prepare")
        var lastPlain = Date()
        var scoredNow = 0, proxyTokensNow = 0
        var scoringSeconds = 0.0
        if alreadyDone == plans.count {
            log(String(format: "all %d documents already scored in %@: selecting training positions with entropy > %g without re-scoring",
                       plans.count, scoredPath, Double(o.entropyThreshold)))
        } else if alreadyDone > 0 { log("resuming: \(alreadyDone) of \(plans.count) documents already scored in \(scoredPath)") }
        for group in groups {
            if group.allSatisfy({ done[$0] != nil }) { continue }
            let t0 = Date()
            let members = group.map { plans[$0] }
            let lines = try score(members, proxyScorer: proxyScorer, splitScorer: splitScorer, policyTokenizer: policyTokenizer)
            scoringSeconds += Date().timeIntervalSince(t0)
            for (plan, entry) in zip(members, lines) where done[plan.index] == nil {
                let bytes = entry.lineBytes
                let offset = try appender.append(bytes)
                done[plan.index] = WorkFile.Summary(isValidation: entry.isValidation, counts: entry.counts,
                                                    offset: offset, length: bytes.count - 1)
                scoredNow += 1
                proxyTokensNow += plan.proxyIds.count
            }
            if delayPerGroup > 0 { Thread.sleep(forTimeInterval: delayPerGroup) }
            let rate = scoringSeconds > 0 ? Double(proxyTokensNow) / scoringSeconds : 0
            progress.update(done.count, unit: "docs", detail: String(format: "%.0f tok/s", rate))
            if !progress.isTTY, Date().timeIntervalSince(lastPlain) >= 10 {
                lastPlain = Date()
                let docRate = Double(scoredNow) / Date().timeIntervalSince(started)
                let eta = docRate > 0 ? Double(plans.count - done.count) / docRate : 0
                log(String(format: "prepare: %d/%d documents, %.0f proxy tok/s, ETA %@", done.count, plans.count, rate, ProgressLine.clock(eta)))
            }
        }
        try appender.close()
        progress.finish()

        // Final files streamed from the work file, in corpus order.
        var train = PrepareCounts(), val = PrepareCounts()
        var trainPositions = 0, valPositions = 0
        let trainFile = try StreamingAtomicFile(path: o.outputDirectory + "/train.jsonl")
        let valFile = try StreamingAtomicFile(path: o.outputDirectory + "/val.jsonl")
        guard let reader = FileHandle(forReadingAtPath: scoredPath) else { throw RPTError("cannot read work file", file: scoredPath) }
        defer { try? reader.close() }
        for i in plans.indices {
            guard let summary = done[i] else { throw RPTError("document \(i) missing after scoring", file: scoredPath) }
            var e = try WorkFile.read(reader, summary, path: scoredPath)
            guard e.index == i else { throw RPTError("work file entry for document \(i) holds document \(e.index)", file: scoredPath) }
            guard e.isValidation == plans[i].isValidation else {
                throw RPTError("work file entry for document \(i) is of the other split", file: scoredPath)
            }
            if !e.isValidation { e.records = try trainingRecords(plans[i], &e, workFile: scoredPath) }
            let file = e.isValidation ? valFile : trainFile
            for r in e.records { try file.append(r.lineBytes + [0x0A]) }
            if e.isValidation { val.add(e.counts); valPositions += e.records.count } else { train.add(e.counts); trainPositions += e.records.count }
        }
        try trainFile.commit()
        try valFile.commit()
        var corpusJSON: [String: JSON] = [
            "source": .string(corpus.source), "summary": .string(corpus.stats.summary),
            "read": .number(Double(corpus.stats.read)), "kept": .number(Double(corpus.stats.kept)),
        ]
        var skipped: [String: JSON] = [:]
        for r in SkipReason.allCases { skipped[r.rawValue] = .number(Double(corpus.stats.skipped(r))) }
        corpusJSON["skipped"] = .object(skipped)
        var meta: JSON = .object([
            "format": .string(PositionRecord.format),
            "options": fingerprint,
            "corpus": .object(corpusJSON),
            "train": train.json,
            "val": val.json,
            "counts": .object(["train_documents": .number(Double(split.train.count)), "val_documents": .number(Double(split.validation.count)),
                               "train_positions": .number(Double(trainPositions)), "val_positions": .number(Double(valPositions))]),
            "threshold_table": .array(PrepareCounts.thresholds.indices.map { i in
                .object(["threshold": .number(Double(PrepareCounts.thresholds[i])),
                         "train": .number(Double(train.aboveThreshold[i])), "val": .number(Double(val.aboveThreshold[i]))])
            }),
        ])
        var proxyServer: JSON? = nil
        if let scorer = serverScorer {
            let stats = scorer.client.statistics
            serverInfo["positions"] = scorer.tally.json
            serverInfo["requests"] = .number(Double(stats.requests))
            serverInfo["retries"] = .number(Double(stats.retries))
            serverInfo["requests_per_second"] = .number((scorer.client.requestsPerSecond * 100).rounded() / 100)
            proxyServer = .object(serverInfo)
            if var m = meta.object { m["proxy_server"] = proxyServer; meta = .object(m) }
        }
        try AtomicFile.write(Data((meta.serialized() + "\n").utf8), to: o.outputDirectory + "/meta.json")
        return Result(train: train, val: val, trainPositions: trainPositions, valPositions: valPositions,
                      documentsScoredNow: scoredNow,
                      proxyTokensPerSecond: scoringSeconds > 0 ? Double(proxyTokensNow) / scoringSeconds : 0,
                      seconds: Date().timeIntervalSince(started), proxyServer: proxyServer)
    }

    /// Scores a group of documents and builds each one's work-file entry.
    func score(_ plans: [Plan], proxyScorer: any ProxyEntropyScoring, splitScorer: EntropyScorer?,
               policyTokenizer: any Tokenizer) throws -> [WorkFile.Entry] {
        let usable = plans.filter { $0.policySpans != nil && $0.proxySpans != nil }
        let proxyScores = try proxyScorer.score(usable.map(\.proxyIds))
        var proxyByDoc: [Int: SequenceScores] = [:]
        for (p, s) in zip(usable, proxyScores) { proxyByDoc[p.index] = s }
        var splitByDoc: [Int: SequenceScores] = [:]
        let validation = usable.filter { $0.isValidation && $0.splitSpans != nil }
        if let splitScorer {
            for (p, s) in zip(validation, try splitScorer.score(validation.map(\.splitIds))) { splitByDoc[p.index] = s }
        } else {
            for p in validation { splitByDoc[p.index] = proxyByDoc[p.index] }
        }
        return plans.map { p in
            entry(p, proxy: proxyByDoc[p.index], split: splitByDoc[p.index], policyTokenizer: policyTokenizer)
        }
    }

    func entry(_ p: Plan, proxy: SequenceScores?, split: SequenceScores?, policyTokenizer: any Tokenizer) -> WorkFile.Entry {
        let o = options
        var c = PrepareCounts()
        c.documents = 1
        c.policyTokens = p.policyIds.count
        c.proxyTokens = p.proxyIds.count
        guard let spans = p.policySpans, let proxySpans = p.proxySpans, let proxy else {
            c.unreproducibleDocuments = 1
            return WorkFile.Entry(index: p.index, docId: p.document.id, isValidation: p.isValidation, counts: c, records: [])
        }
        let toProxy = TokenAlignment(policy: spans, other: proxySpans)
        let toSplit = p.splitSpans.map { TokenAlignment(policy: spans, other: $0) }
        var candidates: [(index: Int, entropy: Float)] = []
        var splitCandidates: [(index: Int, entropy: Float)] = []
        var proxyAt: [Int: (entropy: Float, logProb: Float)] = [:]
        var splitEntropyAt: [Int: Float] = [:]
        for t in 1..<max(1, p.policyIds.count) {
            c.candidatePositions += 1
            guard t >= o.minContext else { c.shortContext += 1; continue }
            guard let j = toProxy.otherIndex[t], j >= 1, !proxy.entropy[j].isNaN else { c.unalignedProxy += 1; continue }
            let e = proxy.entropy[j]
            c.addScored(e)
            proxyAt[t] = (e, proxy.logProb[j])
            candidates.append((t, e))
            if p.isValidation {
                guard let split, let k = toSplit?.otherIndex[t], k >= 1, !split.entropy[k].isNaN else { c.unalignedSplitModel += 1; continue }
                splitEntropyAt[t] = split.entropy[k]
                splitCandidates.append((t, split.entropy[k]))
            }
        }
        guard p.isValidation else {
            // Training positions are selected when the final files are written (trainingRecords), so that a new
            // threshold or cap needs no re-scoring.
            let scored = candidates.map { WorkFile.ScoredPosition(index: $0.index, entropy: $0.entropy, logProb: proxyAt[$0.index]!.logProb) }
            return WorkFile.Entry(index: p.index, docId: p.document.id, isValidation: false, counts: c, records: [], scored: scored)
        }
        var records: [PositionRecord] = []
        for (t, s) in PositionSelection.validation(splitCandidates) {
            var r = record(p, spans: spans, t, proxyEntropy: proxyAt[t]!.entropy, proxyLogProb: proxyAt[t]!.logProb)
            r.entropy = splitEntropyAt[t]
            r.splits = s
            for x in s { c.splitCounts[DifficultySplit.allCases.firstIndex(of: x)!] += 1 }
            records.append(r)
        }
        c.written = records.count
        return WorkFile.Entry(index: p.index, docId: p.document.id, isValidation: true, counts: c, records: records)
    }

    /// A training document's positions under the current threshold and cap, from its scored positions; sets the
    /// entry's written and capped counts.
    func trainingRecords(_ p: Plan, _ e: inout WorkFile.Entry, workFile: String) throws -> [PositionRecord] {
        let o = options
        guard let spans = p.policySpans, !e.scored.isEmpty else { return [] }
        // The work file must describe this corpus's document (the corpus file may have changed since it was scored).
        guard e.docId == p.document.id, e.scored.allSatisfy({ $0.index >= 1 && $0.index < p.policyIds.count }) else {
            throw RPTError("document \(p.index) (\(p.document.id)) does not match its scored entry: the corpus changed since it was scored; remove the work directory", file: workFile)
        }
        let byIndex = Dictionary(e.scored.map { ($0.index, $0) }, uniquingKeysWith: { a, _ in a })
        let candidates = e.scored.map { (index: $0.index, entropy: $0.entropy) }
        let kept = PositionSelection.training(candidates, threshold: o.entropyThreshold, cap: o.maxPositionsPerDocument,
                                              seed: o.seed, document: p.index)
        e.counts.capped = candidates.filter { $0.entropy > o.entropyThreshold }.count - kept.count
        e.counts.written = kept.count
        return kept.map { t in record(p, spans: spans, t, proxyEntropy: byIndex[t]!.entropy, proxyLogProb: byIndex[t]!.logProb) }
    }

    /// The position record of token `t` of a document.
    func record(_ p: Plan, spans: TokenByteSpans, _ t: Int, proxyEntropy: Float, proxyLogProb: Float) -> PositionRecord {
        let o = options
        let contextStart = max(0, t - o.maxContextTokens)
        let range = spans.continuationRange(from: t, horizon: o.horizon)
        let byteStart = contextStart == 0 ? 0 : spans.starts[contextStart]
        return PositionRecord(
            docId: p.document.id, index: t,
            context: String(decoding: p.bytes[byteStart..<spans.starts[t]], as: UTF8.self),
            contextIds: Array(p.policyIds[contextStart..<t]),
            targetId: p.policyIds[t],
            target: String(decoding: p.bytes[spans.starts[t]..<spans.ends[t]], as: UTF8.self),
            continuation: Array(p.bytes[range]),
            boundaries: spans.boundaries(from: t, horizon: o.horizon),
            proxyEntropy: proxyEntropy, proxyLogProb: proxyLogProb,
            calculation: CalculatorAnnotations.calculation(covering: spans.starts[t], in: p.document.calculations)?.expression)
    }

    private func createDirectory(_ path: String) throws {
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw RPTError("cannot create directory (\(error.localizedDescription))", file: path)
        }
    }
}
