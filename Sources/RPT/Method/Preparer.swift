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

    /// The run, stage by stage: read the corpus, set up the scorers, tokenize every document, open the work file,
    /// score what it lacks, then write train.jsonl, val.jsonl and meta.json from it.
    public func run() throws -> Result {
        let started = Date()
        try options.validate()
        var corpusOptions = try options.corpusOptions()
        corpusOptions.maxWarnings = 5
        let corpus = try CorpusReader.read(path: options.corpus, options: corpusOptions, onWarning: { [log] in log("warning: " + $0) })
        let scorers = try Scorers(options)
        if let line = scorers.serverLog { log(line) }
        let size: ValidationSize = options.validationDocuments.map { .count($0) } ?? .fraction(0.1)
        let split = try TrainValidationSplit(Array(corpus.documents.indices), validation: size, seed: options.seed, source: options.corpus,
                                             allowAllValidation: true)
        let plans = self.plans(corpus.documents, validation: Set(split.validation), scorers: scorers)
        let work = try openWorkFile(window: scorers.window, documents: plans.count)
        let scoring = try scoreMissing(plans, work: work, scorers: scorers, started: started)
        let written = try writePositions(plans, done: scoring.done, scoredPath: work.scoredPath)
        let proxyServer = scorers.serverReport()
        try writeMeta(corpus: corpus, split: split, written: written, window: scorers.window, proxyServer: proxyServer)
        return Result(train: written.train, val: written.val, trainPositions: written.trainPositions, valPositions: written.valPositions,
                      documentsScoredNow: scoring.scoredNow,
                      proxyTokensPerSecond: scoring.seconds > 0 ? Double(scoring.proxyTokens) / scoring.seconds : 0,
                      seconds: Date().timeIntervalSince(started), proxyServer: proxyServer)
    }

    /// The tokenizers and entropy scorers of a run: the proxy (a local model, or a server with rpt's tokenizer for
    /// it, docs/servers.md), the policy's tokenizer (positions are defined on it), and the split model unless it is
    /// the proxy. Each distinct (model, tokenizer) is loaded once.
    struct Scorers {
        var proxyTokenizer: any Tokenizer
        var proxy: any ProxyEntropyScoring
        var window: Int
        var server: ServerEntropyScorer?
        var serverInfo: [String: JSON]?
        /// What probing the server found, for the log.
        var serverLog: String?
        var policyTokenizer: any Tokenizer
        var split: EntropyScorer?
        var splitTokenizer: any Tokenizer

        init(_ o: PrepareOptions) throws {
            var loaded: [String: LanguageModel] = [:]
            func model(_ path: String, _ tok: String?) throws -> LanguageModel {
                let key = path + "\u{0}" + (tok ?? "")
                if let m = loaded[key] { return m }
                let m = try LanguageModel.load(model: path, tokenizer: tok)
                loaded[key] = m
                return m
            }
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
                let scorer = try ServerEntropyScorer(client: client, capabilities: caps, tokenizer: proxyTokenizer, topK: o.topK,
                                                     window: window, minContext: o.minContext)
                self.server = scorer
                proxy = scorer
                serverInfo = ["url": .string(server.url), "served_model": .string(server.model), "tokenizer": .string(source),
                              "capabilities": caps.json]
                serverLog = "proxy \(server.url) serves \(server.model): \(caps.summary)" + caps.notes.map { "\n  note: " + $0 }.joined()
            } else {
                let m = try model(o.proxy, o.proxyTokenizer)
                proxyTokenizer = m.tokenizer
                window = o.window ?? min(m.model.config.maxPositions, 1024)
                proxy = try EntropyScorer(model: m.model, topK: o.topK, window: window, minContext: o.minContext, batchTokens: o.batchTokens)
            }
            if let m = loaded[o.policy + "\u{0}" + (o.policyTokenizer ?? "")] { policyTokenizer = m.tokenizer } else {
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
            splitTokenizer = proxyTokenizer
            if !splitIsProxy {
                let m = try model(splitPath, splitTok)
                splitTokenizer = m.tokenizer
                split = try EntropyScorer(model: m.model, topK: o.topK, window: o.window ?? min(m.model.config.maxPositions, 1024),
                                          minContext: o.minContext, batchTokens: o.batchTokens)
            }
        }

        /// meta.json's "proxy_server": the server, its capabilities, the tally of scored and refused positions, requests/s.
        func serverReport() -> JSON? {
            guard let scorer = server, var info = serverInfo else { return nil }
            let stats = scorer.client.statistics
            info["positions"] = scorer.tally.json
            info["requests"] = .number(Double(stats.requests))
            info["retries"] = .number(Double(stats.retries))
            info["requests_per_second"] = .number((scorer.client.requestsPerSecond * 100).rounded() / 100)
            return .object(info)
        }
    }

    /// Every document NFC-normalized and tokenized by the policy, the proxy and (validation documents) the split model.
    func plans(_ documents: [CorpusDocument], validation: Set<Int>, scorers: Scorers) -> [Plan] {
        documents.enumerated().map { i, doc in
            var d = doc
            d.text = nfcNormalized(d.text)
            let bytes = Array(d.text.utf8)
            let (pIds, pBOS) = scorers.policyTokenizer.documentIds(d.text)
            let (xIds, xBOS) = scorers.proxyTokenizer.documentIds(d.text)
            var plan = Plan(index: i, document: d, bytes: bytes, isValidation: validation.contains(i),
                            policyIds: pIds, policySpans: TokenByteSpans(tokenizer: scorers.policyTokenizer, ids: pIds, hasBOS: pBOS, document: bytes),
                            proxyIds: xIds, proxySpans: TokenByteSpans(tokenizer: scorers.proxyTokenizer, ids: xIds, hasBOS: xBOS, document: bytes),
                            splitIds: [], splitSpans: nil)
            if plan.isValidation {
                if scorers.split == nil {
                    plan.splitIds = plan.proxyIds
                    plan.splitSpans = plan.proxySpans
                } else {
                    let (sIds, sBOS) = scorers.splitTokenizer.documentIds(d.text)
                    plan.splitIds = sIds
                    plan.splitSpans = TokenByteSpans(tokenizer: scorers.splitTokenizer, ids: sIds, hasBOS: sBOS, document: bytes)
                }
            }
            return plan
        }
    }

    /// The work directory: its scoring fingerprint (only the options that change scores are pinned: the threshold
    /// and cap select at the end), the documents scored so far, and an appender for the rest.
    struct Work {
        var scoredPath: String
        var done: [Int: WorkFile.Summary]
        var appender: WorkFile.Appender
    }

    func openWorkFile(window: Int, documents: Int) throws -> Work {
        let workDir = options.outputDirectory + "/.work"
        try createDirectory(workDir)
        let scoringFingerprint = options.scoringFingerprint(window: window)
        let optionsPath = workDir + "/options.json"
        if FileManager.default.fileExists(atPath: optionsPath) {
            let old = try JSON.load(path: optionsPath)
            guard old == scoringFingerprint else {
                let why = old["work_format"] == nil ? "was prepared by an earlier rpt (another work-file format)" : "was scored with different options"
                throw RPTError("this output directory \(why); remove \(workDir) (and its results) or use another --out", file: optionsPath)
            }
        } else {
            try AtomicFile.write(Data(scoringFingerprint.serialized().utf8), to: optionsPath)
        }
        let scoredPath = workDir + "/scored.jsonl"
        return Work(scoredPath: scoredPath, done: try WorkFile.load(scoredPath, documents: documents), appender: try WorkFile.Appender(path: scoredPath))
    }

    /// Scores the documents the work file lacks, in groups of consecutive documents of about --batch-tokens proxy
    /// tokens (fixed for a given corpus and options), appending each document's entry at once.
    func scoreMissing(_ plans: [Plan], work: Work, scorers: Scorers, started: Date) throws
        -> (done: [Int: WorkFile.Summary], scoredNow: Int, proxyTokens: Int, seconds: Double) {
        var done = work.done
        var groups: [[Int]] = []
        var current: [Int] = [], currentTokens = 0
        for p in plans {
            current.append(p.index)
            currentTokens += p.proxyIds.count
            if currentTokens >= options.batchTokens { groups.append(current); current = []; currentTokens = 0 }
        }
        if !current.isEmpty { groups.append(current) }

        let alreadyDone = done.count
        if alreadyDone == plans.count {
            log(String(format: "all %d documents already scored in %@: selecting training positions with entropy > %g without re-scoring",
                       plans.count, work.scoredPath, Double(options.entropyThreshold)))
        } else if alreadyDone > 0 { log("resuming: \(alreadyDone) of \(plans.count) documents already scored in \(work.scoredPath)") }
        let progress = ProgressLine(total: plans.count, label: "prepare")
        var lastPlain = Date()
        var scoredNow = 0, proxyTokens = 0, seconds = 0.0
        for group in groups {
            if group.allSatisfy({ done[$0] != nil }) { continue }
            let t0 = Date()
            let members = group.map { plans[$0] }
            let lines = try score(members, proxyScorer: scorers.proxy, splitScorer: scorers.split, policyTokenizer: scorers.policyTokenizer)
            seconds += Date().timeIntervalSince(t0)
            for (plan, entry) in zip(members, lines) where done[plan.index] == nil {
                let bytes = entry.lineBytes
                let offset = try work.appender.append(bytes)
                done[plan.index] = WorkFile.Summary(isValidation: entry.isValidation, counts: entry.counts, offset: offset, length: bytes.count - 1)
                scoredNow += 1
                proxyTokens += plan.proxyIds.count
            }
            if delayPerGroup > 0 { Thread.sleep(forTimeInterval: delayPerGroup) }
            let rate = seconds > 0 ? Double(proxyTokens) / seconds : 0
            let count = done.count
            progress.update(count, unit: "docs", detail: String(format: "%.0f tok/s", rate))
            if !progress.isTTY, Date().timeIntervalSince(lastPlain) >= 10 {
                lastPlain = Date()
                let docRate = Double(scoredNow) / Date().timeIntervalSince(started)
                let eta = docRate > 0 ? Double(plans.count - count) / docRate : 0
                log(String(format: "prepare: %d/%d documents, %.0f proxy tok/s, ETA %@", count, plans.count, rate, ProgressLine.clock(eta)))
            }
        }
        try work.appender.close()
        progress.finish()
        return (done, scoredNow, proxyTokens, seconds)
    }

    /// What writePositions wrote.
    struct Written {
        var train = PrepareCounts(), val = PrepareCounts()
        var trainPositions = 0, valPositions = 0
    }

    /// train.jsonl and val.jsonl streamed from the work file in corpus order, selecting training positions there.
    func writePositions(_ plans: [Plan], done: [Int: WorkFile.Summary], scoredPath: String) throws -> Written {
        var w = Written()
        let trainFile = try StreamingAtomicFile(path: options.outputDirectory + "/train.jsonl")
        let valFile = try StreamingAtomicFile(path: options.outputDirectory + "/val.jsonl")
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
            if e.isValidation { w.val.add(e.counts); w.valPositions += e.records.count } else { w.train.add(e.counts); w.trainPositions += e.records.count }
        }
        try trainFile.commit()
        try valFile.commit()
        return w
    }

    /// meta.json: the options, the corpus statistics, counts per split and per threshold, and the proxy server.
    func writeMeta(corpus: Corpus, split: TrainValidationSplit<Int>, written w: Written, window: Int, proxyServer: JSON?) throws {
        var corpusJSON: [String: JSON] = [
            "source": .string(corpus.source), "summary": .string(corpus.stats.summary),
            "read": .number(Double(corpus.stats.read)), "kept": .number(Double(corpus.stats.kept)),
        ]
        var skipped: [String: JSON] = [:]
        for r in SkipReason.allCases { skipped[r.rawValue] = .number(Double(corpus.stats.skipped(r))) }
        corpusJSON["skipped"] = .object(skipped)
        var meta: [String: JSON] = [
            "format": .string(PositionRecord.format),
            "options": options.fingerprint(window: window),
            "corpus": .object(corpusJSON),
            "train": w.train.json,
            "val": w.val.json,
            "counts": .object(["train_documents": .number(Double(split.train.count)), "val_documents": .number(Double(split.validation.count)),
                               "train_positions": .number(Double(w.trainPositions)), "val_positions": .number(Double(w.valPositions))]),
            "threshold_table": .array(PrepareCounts.thresholds.indices.map { i in
                .object(["threshold": .number(Double(PrepareCounts.thresholds[i])),
                         "train": .number(Double(w.train.aboveThreshold[i])), "val": .number(Double(w.val.aboveThreshold[i]))])
            }),
        ]
        if let proxyServer { meta["proxy_server"] = proxyServer }
        try AtomicFile.write(Data((JSON.object(meta).serialized() + "\n").utf8), to: options.outputDirectory + "/meta.json")
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
