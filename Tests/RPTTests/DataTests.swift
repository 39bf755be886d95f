// The data side of `rpt pretrain`: corpus reading (text, JSONL, templates, bad records counted not fatal),
// the document-level train/validation split, the pretraining token stream (shapes, target shift, exact
// resume, epoch reshuffle), and SFT examples (completion-only masks, truncation rules). Expected token ids
// come from `tokenizer.encode` of the parts; expected record fields from Foundation's JSONSerialization.

import Foundation
import Testing
@testable import RPT

enum DataFixtures {
    static let omniMath = Repo.path("Tests/Fixtures/data/omni_math_sample.jsonl")
    static let stories = Repo.path("Tests/Fixtures/data/short_stories.txt")

    private static let qwenResult = Result { try loadTokenizer(path: Repo.fixtureModel("qwen2_f32")) }
    private static let llamaResult = Result { try loadTokenizer(path: Repo.stories260KTokenizer) }
    /// Tiny byte-level BPE: no BOS, EOS `<|endoftext|>`.
    static func qwen() throws -> any Tokenizer { try qwenResult.get() }
    /// llama2.c SentencePiece BPE: BOS 1, EOS 2.
    static func llama() throws -> any Tokenizer { try llamaResult.get() }

    /// The Omni-MATH fixture's records, parsed by Foundation (independent of our JSON reader).
    static func omniMathRecords() throws -> [[String: Any]] {
        let text = try String(contentsOfFile: omniMath, encoding: .utf8)
        return try text.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    /// Writes `bytes` to `name` in `dir` (created if needed) and returns the path.
    @discardableResult
    static func write(_ bytes: [UInt8], _ name: String, in dir: String) throws -> String {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func write(_ text: String, _ name: String, in dir: String) throws -> String {
        try write(Array(text.utf8), name, in: dir)
    }

    static let quiet: @Sendable (String) -> Void = { _ in }
}


@Suite struct DataCorpusReaderTests {
    @Test func directoryReadsTxtFilesInSortedOrderOneDocumentEach() throws {
        let dir = temporaryDirectory("rpt-corpus")
        try DataFixtures.write("second document", "b.txt", in: dir)
        try DataFixtures.write("first document\n", "a.txt", in: dir)
        try DataFixtures.write("not a text file", "notes.md", in: dir)
        let corpus = try CorpusReader.read(path: dir, onWarning: DataFixtures.quiet)
        #expect(corpus.documents.map(\.text) == ["first document\n", "second document"])
        #expect(corpus.documents.map(\.id) == ["a.txt", "b.txt"])
        #expect(corpus.stats.files == 2 && corpus.stats.read == 2 && corpus.stats.kept == 2)
    }

    @Test func delimitedTextSplitsOnTheDelimiterWithStableIdsAndLines() throws {
        let corpus = try CorpusReader.read(path: DataFixtures.stories,
                                           options: CorpusOptions(documentDelimiter: "\n\n\n"),
                                           onWarning: DataFixtures.quiet)
        let expected = try String(contentsOfFile: DataFixtures.stories, encoding: .utf8).components(separatedBy: "\n\n\n")
        #expect(corpus.documents.map(\.text) == expected)
        #expect(corpus.documents.map(\.id) == (0..<4).map { "short_stories.txt#\($0)" })
        #expect(corpus.documents.map(\.line) == [1, 4, 7, 10])
        #expect(corpus.stats.read == 4 && corpus.stats.skippedTotal == 0)
    }

    @Test func emptyPiecesBetweenDelimitersAreCountedWithFileAndLine() throws {
        let dir = temporaryDirectory("rpt-corpus")
        let path = try DataFixtures.write("one<|endoftext|>\n<|endoftext|>two\nlines<|endoftext|>three<|endoftext|>\n",
                                          "docs.txt", in: dir)
        var warnings: [String] = []
        let corpus = try CorpusReader.read(path: path, options: CorpusOptions(documentDelimiter: "<|endoftext|>"),
                                           onWarning: { warnings.append($0) })
        #expect(corpus.documents.map(\.text) == ["one", "two\nlines", "three"])
        #expect(corpus.documents.map(\.id) == ["docs.txt#0", "docs.txt#2", "docs.txt#3"])
        #expect(corpus.documents.map(\.line) == [1, 2, 3])
        // The blank piece after the final delimiter is no document; the one in the middle is an empty skip.
        #expect(corpus.stats.read == 4 && corpus.stats.skipped(.empty) == 1)
        #expect(warnings.count == 1 && warnings[0].contains("\(path):1") && warnings[0].contains("document 1"))
    }

    @Test func invalidUTF8TextIsSkippedPerDocument() throws {
        let dir = temporaryDirectory("rpt-corpus")
        try DataFixtures.write(Array("good\n\n\n".utf8) + [0x66, 0xFF, 0xFE] + Array("\n\n\nalso good".utf8), "mixed.txt", in: dir)
        let corpus = try CorpusReader.read(path: dir + "/mixed.txt", options: CorpusOptions(documentDelimiter: "\n\n\n"),
                                           onWarning: DataFixtures.quiet)
        #expect(corpus.documents.map(\.text) == ["good", "also good"])
        #expect(corpus.stats.skipped(.invalidUTF8) == 1)

        let files = temporaryDirectory("rpt-corpus")
        try DataFixtures.write([0xC3, 0x28], "bad.txt", in: files)
        try DataFixtures.write("fine", "good.txt", in: files)
        let whole = try CorpusReader.read(path: files, onWarning: DataFixtures.quiet)
        #expect(whole.documents.map(\.id) == ["good.txt"] && whole.stats.skipped(.invalidUTF8) == 1)
    }

    @Test func jsonlTextFieldDefaultAndCustom() throws {
        let dir = temporaryDirectory("rpt-corpus")
        let path = try DataFixtures.write("{\"text\": \"alpha\", \"body\": \"A\"}\n{\"text\": \"beta\\n\\u00e9\", \"body\": \"B\"}\n",
                                          "c.jsonl", in: dir)
        let byText = try CorpusReader.read(path: path, onWarning: DataFixtures.quiet)
        #expect(byText.documents.map(\.text) == ["alpha", "beta\né"])
        #expect(byText.documents.map(\.id) == ["c.jsonl:1", "c.jsonl:2"])
        let byBody = try CorpusReader.read(path: path, options: CorpusOptions(textField: "body"), onWarning: DataFixtures.quiet)
        #expect(byBody.documents.map(\.text) == ["A", "B"])
    }

    @Test func omniMathTemplateJoinsProblemAndSolution() throws {
        let template = try TextTemplate("{problem}\n\n{solution}")
        #expect(template.fields == ["problem", "solution"])
        let corpus = try CorpusReader.read(path: DataFixtures.omniMath, options: CorpusOptions(template: template),
                                           onWarning: DataFixtures.quiet)
        let records = try DataFixtures.omniMathRecords()
        #expect(corpus.documents.count == records.count && records.count == 6)
        for (doc, record) in zip(corpus.documents, records) {
            #expect(doc.text == "\(record["problem"] as! String)\n\n\(record["solution"] as! String)")
        }
        #expect(corpus.documents.map(\.id) == (1...6).map { "omni_math_sample.jsonl:\($0)" })
        #expect(corpus.stats.read == 6 && corpus.stats.skippedTotal == 0)
    }

    @Test func templateEscapesAndNonStringFields() throws {
        let template = try TextTemplate("{{answer}} = {answer}; difficulty {difficulty}; {{{source}}}")
        let corpus = try CorpusReader.read(path: DataFixtures.omniMath, options: CorpusOptions(template: template),
                                           onWarning: DataFixtures.quiet)
        #expect(corpus.documents[0].text == "{answer} = 6; difficulty 3.5; {HMMT_2}")
        #expect(corpus.documents[1].text.hasSuffix("difficulty 4; {HMMT_11}"))
    }

    @Test(arguments: ["{unclosed", "a } b", "{}", "{a{b}"])
    func malformedTemplatesAreErrors(_ pattern: String) {
        #expect(throws: RPTError.self) { try TextTemplate(pattern, label: "--template") }
    }

    @Test func missingTemplateFieldIsACountedSkip() throws {
        let dir = temporaryDirectory("rpt-corpus")
        let path = try DataFixtures.write("{\"problem\": \"p1\", \"hint\": \"h1\"}\n{\"problem\": \"p2\"}\n{\"problem\": \"p3\", \"hint\": null}\n",
                                          "t.jsonl", in: dir)
        var warnings: [String] = []
        let corpus = try CorpusReader.read(path: path, options: CorpusOptions(template: try TextTemplate("{problem}|{hint}")),
                                           onWarning: { warnings.append($0) })
        #expect(corpus.documents.map(\.text) == ["p1|h1"])
        #expect(corpus.stats.skipped(.missingField) == 2)
        #expect(warnings.count == 2 && warnings[0].contains("\(path):2") && warnings[0].contains("hint"))
        // Every record lacking the field: no usable document, an error naming the file.
        _ = expectRPTError(naming: DataFixtures.omniMath) {
            _ = try CorpusReader.read(path: DataFixtures.omniMath, options: CorpusOptions(template: try TextTemplate("{hint}")),
                                      onWarning: DataFixtures.quiet)
        }
    }

    @Test func badJSONLLinesAreCountedNotFatal() throws {
        let dir = temporaryDirectory("rpt-corpus")
        var bytes: [UInt8] = []
        bytes += Array("{\"text\": \"good one\"}\n".utf8)                 // 1
        bytes += Array("{\"text\": \"bad ".utf8) + [0xFF] + Array("\"}\n".utf8)  // 2 invalid UTF-8
        bytes += Array("{\"text\": \"unterminated\"\n".utf8)              // 3 malformed
        bytes += Array("[1, 2]\r\n".utf8)                                 // 4 not an object
        bytes += Array("   \n".utf8)                                      // 5 blank: not a record
        bytes += Array("{\"text\": \"  \"}\n".utf8)                       // 6 empty
        bytes += Array("{\"title\": \"no text\"}\n".utf8)                 // 7 missing field
        bytes += Array("{\"text\": \"good two\"}".utf8)                   // 8, no final newline
        let path = try DataFixtures.write(bytes, "bad.jsonl", in: dir)
        var warnings: [String] = []
        let corpus = try CorpusReader.read(path: path, onWarning: { warnings.append($0) })
        #expect(corpus.documents.map(\.text) == ["good one", "good two"])
        #expect(corpus.documents.map(\.line) == [1, 8])
        let s = corpus.stats
        #expect(s.read == 7 && s.kept == 2)
        #expect(s.skipped(.invalidUTF8) == 1 && s.skipped(.malformedJSON) == 2 && s.skipped(.empty) == 1
                && s.skipped(.missingField) == 1)
        #expect(warnings == s.warnings && warnings.count == 5)
        for (warning, line) in zip(warnings, [2, 3, 4, 6, 7]) { #expect(warning.hasPrefix("\(path):\(line):")) }
        #expect(s.summary.contains("skipped 5"))

        // Only the first few skips are reported; all are counted.
        var few: [String] = []
        let limited = try CorpusReader.read(path: path, options: CorpusOptions(maxWarnings: 2), onWarning: { few.append($0) })
        #expect(few.count == 2 && limited.stats.warnings.count == 2 && limited.stats.skippedTotal == 5)
    }

    @Test func corpusWithoutUsableDocumentsIsAnErrorNamingTheFile() throws {
        let dir = temporaryDirectory("rpt-corpus")
        let empty = try DataFixtures.write("", "empty.txt", in: dir)
        let e = expectRPTError(naming: empty) { _ = try CorpusReader.read(path: empty, onWarning: DataFixtures.quiet) }
        #expect(e?.message.contains("no usable documents") == true)
        let blank = try DataFixtures.write("\n\n\n   \n", "blank.txt", in: dir)
        _ = expectRPTError(naming: blank) {
            _ = try CorpusReader.read(path: blank, options: CorpusOptions(documentDelimiter: "\n\n\n"), onWarning: DataFixtures.quiet)
        }
        let malformed = try DataFixtures.write("not json\n{\n", "m.jsonl", in: dir)
        let m = expectRPTError(naming: malformed) { _ = try CorpusReader.read(path: malformed, onWarning: DataFixtures.quiet) }
        #expect(m?.message.contains("2 malformed JSON") == true)
        let noTxt = temporaryDirectory("rpt-corpus-none")
        try DataFixtures.write("x", "a.md", in: noTxt)
        _ = expectRPTError(naming: noTxt) { _ = try CorpusReader.read(path: noTxt) }
        _ = expectRPTError(naming: dir + "/missing.txt") { _ = try CorpusReader.read(path: dir + "/missing.txt") }
    }
}

@Suite struct DataSplitTests {
    private let items = (0..<50).map { "doc\($0)" }

    @Test func splitIsDeterministicDisjointAndKeepsOrder() throws {
        let a = try TrainValidationSplit(items, validation: .fraction(0.2), seed: 7, source: "c")
        let b = try TrainValidationSplit(items, validation: .fraction(0.2), seed: 7, source: "c")
        #expect(a.train == b.train && a.validation == b.validation)
        #expect(a.validation.count == 10 && a.train.count == 40)
        #expect(Set(a.train).isDisjoint(with: a.validation) && Set(a.train + a.validation) == Set(items))
        let index = Dictionary(uniqueKeysWithValues: items.enumerated().map { ($1, $0) })
        #expect(a.train.map { index[$0]! } == a.train.map { index[$0]! }.sorted())
        #expect(a.validation.map { index[$0]! } == a.validation.map { index[$0]! }.sorted())
        let other = try TrainValidationSplit(items, validation: .fraction(0.2), seed: 8, source: "c")
        #expect(other.validation != a.validation)
        // Not simply the first or last documents.
        #expect(a.validation != Array(items.prefix(10)) && a.validation != Array(items.suffix(10)))
    }

    @Test func countsAndBounds() throws {
        #expect(try TrainValidationSplit(items, validation: .count(3), seed: 1, source: "c").validation.count == 3)
        #expect(try TrainValidationSplit(items, validation: .none, seed: 1, source: "c").train == items)
        #expect(try TrainValidationSplit(items, validation: .fraction(0.001), seed: 1, source: "c").validation.count == 1)
        for bad: ValidationSize in [.fraction(1), .fraction(-0.1), .count(50), .count(-1)] {
            _ = expectRPTError(naming: "corpus.txt") {
                _ = try TrainValidationSplit(items, validation: bad, seed: 1, source: "corpus.txt")
            }
        }
    }

    @Test func corpusDocumentsAreNeverCut() throws {
        let corpus = try CorpusReader.read(path: DataFixtures.omniMath, options: CorpusOptions(textField: "problem"),
                                           onWarning: DataFixtures.quiet)
        let split = try TrainValidationSplit(corpus.documents, validation: .count(2), seed: 3, source: corpus.source)
        #expect(split.validation.count == 2 && split.train.count == 4)
        #expect(Set((split.train + split.validation).map(\.id)) == Set(corpus.documents.map(\.id)))
        #expect(Set((split.train + split.validation).map(\.text)) == Set(corpus.documents.map(\.text)))
    }
}

@Suite struct DataTokenStreamTests {
    private func storyStream(_ tokenizer: any Tokenizer, seqLen: Int = 16, batchSize: Int = 3,
                             seed: UInt64 = 42) throws -> (TokenStream, [CorpusDocument]) {
        let corpus = try CorpusReader.read(path: DataFixtures.stories, options: CorpusOptions(documentDelimiter: "\n\n\n"),
                                           onWarning: DataFixtures.quiet)
        let stream = try TokenStream(documents: corpus.documents, tokenizer: tokenizer, seqLen: seqLen,
                                     batchSize: batchSize, seed: seed, source: DataFixtures.stories)
        return (stream, corpus.documents)
    }

    @Test func streamIsBOSDocumentEOSConcatenated() throws {
        let llama = try DataFixtures.llama()
        #expect(llama.bosTokenId == 1 && llama.eosTokenIds.first == 2)
        let (stream, docs) = try storyStream(llama)
        #expect(stream.tokens.map { Int($0) } == docs.flatMap { [1] + llama.encode($0.text) + [2] })

        let qwen = try DataFixtures.qwen()
        let eos = try #require(qwen.tokenId("<|endoftext|>"))
        #expect(qwen.bosTokenId == nil && qwen.eosTokenIds.first == eos)
        let (qwenStream, _) = try storyStream(qwen)
        #expect(qwenStream.tokens.map { Int($0) } == docs.flatMap { qwen.encode($0.text) + [eos] })
    }

    @Test func batchesHaveBSequencesOfSeqLenPlusOneWithShiftedTargets() throws {
        var (stream, _) = try storyStream(DataFixtures.qwen(), seqLen: 16, batchSize: 3)
        #expect(stream.windowCount == (stream.tokens.count - 1) / 16)
        for _ in 0..<5 {
            let batch = stream.next()
            #expect(batch.sequences.count == 3 && batch.lossMasks.count == 3)
            for (seq, mask) in zip(batch.sequences, batch.lossMasks) {
                #expect(seq.count == 17 && mask == [Float](repeating: 1, count: 16))
                // The sequence is a window of the stream starting at a multiple of seqLen: inputs are
                // seq[0..<16], and the target of input j is the stream's next token, seq[j + 1].
                let start = try #require((0..<stream.windowCount).first { stream.window($0) == seq }) * 16
                for j in 0..<16 { #expect(seq[j + 1] == Int(stream.tokens[start + j + 1])) }
            }
        }
    }

    @Test func eachEpochVisitsEveryWindowOnceAndReshuffles() throws {
        var (stream, _) = try storyStream(DataFixtures.qwen(), seqLen: 8, batchSize: 1)
        let n = stream.windowCount
        #expect(n > 10)
        let windows = (0..<n).map(stream.window)
        func epochOrder() -> [Int] { (0..<n).map { _ in windows.firstIndex(of: stream.next().sequences[0])! } }
        let first = epochOrder()
        #expect(stream.cursor == DataCursor(epoch: 1, index: 0))
        let second = epochOrder()
        #expect(first.sorted() == Array(0..<n) && second.sorted() == Array(0..<n))
        #expect(first != second && first != Array(0..<n))
        // The order is the seed's: the same seed gives the same epochs, another seed another order.
        var same = try storyStream(DataFixtures.qwen(), seqLen: 8, batchSize: 1).0
        #expect((0..<n).map { _ in windows.firstIndex(of: same.next().sequences[0])! } == first)
        var other = try storyStream(DataFixtures.qwen(), seqLen: 8, batchSize: 1, seed: 43).0
        #expect((0..<n).map { _ in windows.firstIndex(of: other.next().sequences[0])! } != first)
    }

    @Test(arguments: [(5, 7), (0, 4), (11, 9)])
    func resumingFromASavedCursorGivesTheSameBatches(n: Int, m: Int) throws {
        var uninterrupted = try storyStream(DataFixtures.llama(), seqLen: 12, batchSize: 4).0
        #expect(uninterrupted.windowCount < 4 * 12)  // the run crosses epoch boundaries
        let all = (0..<(n + m)).map { _ in uninterrupted.next() }

        var first = try storyStream(DataFixtures.llama(), seqLen: 12, batchSize: 4).0
        for _ in 0..<n { _ = first.next() }
        let saved = try JSONEncoder().encode(first.cursor)
        var resumed = try storyStream(DataFixtures.llama(), seqLen: 12, batchSize: 4).0
        try resumed.restore(try JSONDecoder().decode(DataCursor.self, from: saved))
        #expect((0..<m).map { _ in resumed.next() } == Array(all[n...]))
        #expect(resumed.cursor == uninterrupted.cursor)
    }

    @Test func cursorThatDoesNotFitIsAnError() throws {
        var (stream, _) = try storyStream(DataFixtures.qwen())
        _ = expectRPTError(naming: DataFixtures.stories) { try stream.restore(DataCursor(epoch: 0, index: stream.windowCount)) }
        _ = expectRPTError(naming: DataFixtures.stories) { try stream.restore(DataCursor(epoch: -1, index: 0)) }
    }

    @Test func validationBatchesAreTheFirstWindowsInOrder() throws {
        var (stream, _) = try storyStream(DataFixtures.qwen(), seqLen: 16, batchSize: 3)
        let batches = stream.orderedBatches(maxWindows: 5)
        #expect(batches.map(\.count) == [3, 2])
        #expect(batches.flatMap(\.sequences) == (0..<5).map(stream.window))
        #expect(stream.orderedBatches(maxWindows: 5) == batches && stream.cursor == DataCursor())
        #expect(stream.orderedBatches(maxWindows: 10_000).flatMap(\.sequences).count == stream.windowCount)
        _ = stream.next()
        #expect(stream.orderedBatches(maxWindows: 5) == batches)
    }

    @Test func fewerTokensThanOneWindowIsAnErrorNamingTheCorpus() throws {
        let docs = [CorpusDocument(id: "a", file: "tiny.txt", line: 1, text: "Hi.")]
        let e = expectRPTError(naming: "tiny.txt") {
            _ = try TokenStream(documents: docs, tokenizer: try DataFixtures.qwen(), seqLen: 64, batchSize: 1, seed: 0, source: "tiny.txt")
        }
        #expect(e?.message.contains("fewer than one window") == true)
    }

    @Test func pretrainingDataSplitsByDocumentAndStreamsBoth() throws {
        let data = try PretrainingData.load(path: DataFixtures.stories, options: CorpusOptions(documentDelimiter: "\n\n\n"),
                                            tokenizer: DataFixtures.llama(), seqLen: 8, batchSize: 2,
                                            validation: .count(1), seed: 5, onWarning: DataFixtures.quiet)
        #expect(data.trainDocuments == 3 && data.validationDocuments == 1 && data.corpusStats.kept == 4)
        let validation = try #require(data.validation)
        let llama = try DataFixtures.llama()
        let stories = try CorpusReader.read(path: DataFixtures.stories, options: CorpusOptions(documentDelimiter: "\n\n\n"))
        let heldOut = try #require(stories.documents.first { [1] + llama.encode($0.text) + [2] == validation.tokens.map { Int($0) } })
        #expect(!data.train.tokens.map { Int($0) }.containsSubsequence(llama.encode(heldOut.text)))
        // Too little held out for one window (longer than any one document): an error naming the corpus.
        let longest = stories.documents.map { llama.encode($0.text).count + 2 }.max()!
        let e = expectRPTError(naming: DataFixtures.stories) {
            _ = try PretrainingData.load(path: DataFixtures.stories, options: CorpusOptions(documentDelimiter: "\n\n\n"),
                                         tokenizer: DataFixtures.llama(), seqLen: longest, batchSize: 2,
                                         validation: .count(1), seed: 5, onWarning: DataFixtures.quiet)
        }
        #expect(e?.message.contains("validation split") == true)
    }
}

@Suite struct DataSFTTests {
    private let omniOptions = SFTOptions(promptField: "problem", completionField: "solution")

    private func omniExamples() throws -> [SFTExample] {
        try SFTReader.read(path: DataFixtures.omniMath, options: omniOptions, onWarning: DataFixtures.quiet).examples
    }

    @Test func readsPromptAndCompletionFieldsOrTemplates() throws {
        let records = try DataFixtures.omniMathRecords()
        let examples = try omniExamples()
        #expect(examples.map(\.prompt) == records.map { $0["problem"] as! String })
        #expect(examples.map(\.completion) == records.map { $0["solution"] as! String })
        #expect(examples.map(\.id) == (1...6).map { "omni_math_sample.jsonl:\($0)" })
        let templated = try SFTReader.read(path: DataFixtures.omniMath,
                                           options: SFTOptions(prompt: TextTemplate("Problem: {problem}\nAnswer: "),
                                                               completion: TextTemplate("{answer}")),
                                           onWarning: DataFixtures.quiet).examples
        #expect(templated[0].prompt.hasPrefix("Problem: If ") && templated[0].completion == "6")
    }

    @Test func defaultFieldsAndCountedSkips() throws {
        let dir = temporaryDirectory("rpt-sft")
        let path = try DataFixtures.write("""
            {"prompt": "2+2=", "completion": "4"}
            {"prompt": "no completion"}
            {"prompt": "empty", "completion": ""}
            {"prompt": "broken",
            {"prompt": "", "completion": "fine"}
            """, "sft.jsonl", in: dir)
        let (examples, stats) = try SFTReader.read(path: path, onWarning: DataFixtures.quiet)
        #expect(examples.map(\.completion) == ["4", "fine"] && examples.map(\.id) == ["sft.jsonl:1", "sft.jsonl:5"])
        #expect(stats.skipped(.missingField) == 1 && stats.skipped(.empty) == 1 && stats.skipped(.malformedJSON) == 1)
        let none = try DataFixtures.write("{\"question\": \"q\"}\n", "none.jsonl", in: dir)
        _ = expectRPTError(naming: none) { _ = try SFTReader.read(path: none, onWarning: DataFixtures.quiet) }
    }

    @Test(arguments: ["llama", "qwen"])
    func masksCoverExactlyTheCompletionAndEOS(_ name: String) throws {
        let tokenizer = try name == "llama" ? DataFixtures.llama() : DataFixtures.qwen()
        let examples = try omniExamples()
        let data = try SFTDataset(examples: examples, tokenizer: tokenizer, seqLen: 4096, batchSize: 2, seed: 0,
                                  source: DataFixtures.omniMath)
        #expect(data.truncation == SFTTruncationStats())
        let bos = tokenizer.bosTokenId.map { [$0] } ?? []
        let eos = try #require(tokenizer.eosTokenIds.first)
        let batch = data.orderedBatches(maxExamples: 6).flatMap { zip($0.sequences, $0.lossMasks).map { ($0, $1) } }
        #expect(batch.count == 6)
        for ((tokens, mask), example) in zip(batch, examples) {
            let prompt = bos + tokenizer.encode(example.prompt)
            let completion = tokenizer.encode(example.completion) + [eos]
            #expect(tokens == prompt + completion)
            #expect(mask.count == tokens.count - 1)
            // Entry j predicts token j + 1: 1 exactly for the completion tokens and EOS.
            #expect(mask == [Float](repeating: 0, count: prompt.count - 1) + [Float](repeating: 1, count: completion.count))
        }
        // Examples are variable-length sequences, not padded to one length.
        #expect(Set(batch.map(\.0.count)).count > 1)
    }

    @Test func longPromptsLoseTokensFromTheLeft() throws {
        let tokenizer = try DataFixtures.llama()
        let example = try omniExamples()[5]
        let prompt = tokenizer.encode(example.prompt), completion = tokenizer.encode(example.completion) + [2]
        let seqLen = completion.count + 9  // seqLen + 1 tokens: room for BOS + 9 prompt tokens
        let data = try SFTDataset(examples: [example], tokenizer: tokenizer, seqLen: seqLen, batchSize: 1, seed: 0, source: "sft")
        let seq = data.sequences[0]
        #expect(seq.tokens.count == seqLen + 1)
        #expect(seq.tokens == [1] + prompt.suffix(9) + completion)
        #expect(seq.promptCount == 10 && seq.lossMask.filter { $0 == 1 }.count == completion.count)
        #expect(data.truncation == SFTTruncationStats(promptsTruncated: 1, completionsTruncated: 0, droppedWithoutTargets: 0))
    }

    @Test func longCompletionsAreCutOnTheRightWithoutPromptOrEOS() throws {
        let tokenizer = try DataFixtures.qwen()
        let example = try omniExamples()[5]
        let completion = tokenizer.encode(example.completion)
        let data = try SFTDataset(examples: [example], tokenizer: tokenizer, seqLen: 40, batchSize: 1, seed: 0, source: "sft")
        let seq = data.sequences[0]
        #expect(completion.count > 41)
        #expect(seq.tokens == Array(completion.prefix(41)) && seq.promptCount == 0)
        #expect(seq.lossMask == [Float](repeating: 1, count: 40))
        #expect(data.truncation == SFTTruncationStats(promptsTruncated: 1, completionsTruncated: 1, droppedWithoutTargets: 0))

        // With a BOS the BOS stays, and the completion fills the rest.
        let llama = try DataFixtures.llama()
        let withBOS = try SFTDataset(examples: [example], tokenizer: llama, seqLen: 40, batchSize: 1, seed: 0, source: "sft")
        #expect(withBOS.sequences[0].tokens == [1] + llama.encode(example.completion).prefix(40))
        #expect(withBOS.sequences[0].promptCount == 1)
        // A completion that fits only without its EOS counts as cut.
        let exact = llama.encode(example.completion).count
        let noEOS = try SFTDataset(examples: [example], tokenizer: llama, seqLen: exact, batchSize: 1, seed: 0, source: "sft")
        #expect(noEOS.sequences[0].tokens == [1] + llama.encode(example.completion) && noEOS.truncation.completionsTruncated == 1)
    }

    @Test func resumeAndReshuffleLikeTheTokenStream() throws {
        let examples = try omniExamples()
        func dataset() throws -> SFTDataset {
            try SFTDataset(examples: examples, tokenizer: DataFixtures.qwen(), seqLen: 256, batchSize: 4, seed: 9, source: "sft")
        }
        var uninterrupted = try dataset()
        let all = (0..<9).map { _ in uninterrupted.next() }
        var first = try dataset()
        for _ in 0..<4 { _ = first.next() }
        var resumed = try dataset()
        try resumed.restore(first.cursor)
        #expect((0..<5).map { _ in resumed.next() } == Array(all[4...]))
        #expect(all.allSatisfy { $0.count == 4 })

        // Epoch e is a permutation of the examples from stream e: every example once per epoch, reordered.
        var one = try SFTDataset(examples: examples, tokenizer: DataFixtures.qwen(), seqLen: 256, batchSize: 1, seed: 9, source: "sft")
        let sequences = one.sequences.map(\.tokens)
        func epoch() -> [Int] { (0..<6).map { _ in sequences.firstIndex(of: one.next().sequences[0])! } }
        let e0 = epoch(), e1 = epoch()
        #expect(e0.sorted() == Array(0..<6) && e1.sorted() == Array(0..<6) && e0 != e1)
    }

    @Test func sftDataLoadsAndSplitsByExample() throws {
        let data = try SFTData.load(path: DataFixtures.omniMath, options: omniOptions, tokenizer: DataFixtures.qwen(),
                                    seqLen: 2048, batchSize: 2, validation: .count(2), seed: 1, onWarning: DataFixtures.quiet)
        let validation = try #require(data.validation)
        #expect(data.train.count == 4 && validation.count == 2 && Set(data.train.ids).isDisjoint(with: validation.ids))
        #expect(data.readStats.kept == 6)
    }
}

extension Array where Element: Equatable {
    /// Whether `needle` occurs as a contiguous run.
    fileprivate func containsSubsequence(_ needle: [Element]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return needle.isEmpty }
        return (0...(count - needle.count)).contains { Array(self[$0..<($0 + needle.count)]) == needle }
    }
}
