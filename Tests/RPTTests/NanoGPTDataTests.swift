// nanoGPT-style data for `rpt pretrain` (issue 14): a single text file (Tiny Shakespeare) is split by tokens, a
// folder of a few files honours the --validation fraction, the counts are printed and add up; GPT-2's
// vocab.json + merges.txt load as a tokenizer (ids identical to the tokenizer.json built from them, itself
// checked against Hugging Face `tokenizers`); `--model config.json` works from its directory; a new run never
// reuses a tokenizer copy left by a failed start, and tokenizer errors name the path the user gave.

import Foundation
import Testing
@testable import RPT

enum NanoGPTFixtures {
    /// The first 39,908 bytes of Tiny Shakespeare (Tests/Fixtures/data/SOURCE.md).
    static let shakespeare = Repo.path("Tests/Fixtures/data/tinyshakespeare/input.txt")
    static let gpt2Directory = Repo.path("Assets/gpt2-tokenizer")

    /// A directory holding only GPT-2's vocab.json + merges.txt (no tokenizer.json to fall back on).
    static func vocabMergesDirectory(_ label: String = "gpt2-vm") throws -> String {
        let dir = temporaryDirectory(label)
        for f in ["vocab.json", "merges.txt"] {
            try FileManager.default.copyItem(atPath: gpt2Directory + "/" + f, toPath: dir + "/" + f)
        }
        return dir
    }

    private static let vocabMergesResult = Result { () throws -> HFTokenizer in
        let dir = try vocabMergesDirectory()
        return try #require(try loadTokenizer(path: dir) as? HFTokenizer)
    }
    static func vocabMerges() throws -> HFTokenizer { try vocabMergesResult.get() }

    /// A tiny Qwen2-architecture config.json with GPT-2's vocabulary size.
    static func writeConfig(in dir: String) throws {
        var cfg = try JSON.load(path: Repo.fixtureModel("qwen2_f32") + "/config.json").object!
        cfg["vocab_size"] = .number(50_257); cfg["hidden_size"] = .number(32); cfg["intermediate_size"] = .number(64)
        cfg["num_attention_heads"] = .number(2); cfg["num_key_value_heads"] = .number(1); cfg["num_hidden_layers"] = .number(1)
        cfg["layer_types"] = .array([.string("full_attention")]); cfg["tie_word_embeddings"] = .bool(true)
        cfg["eos_token_id"] = .number(50_256); cfg["max_position_embeddings"] = .number(64)
        try Data(JSON.object(cfg).serialized().utf8).write(to: URL(fileURLWithPath: dir + "/config.json"))
    }

    static func options(model: String, tokenizer: String? = nil, data: String, out: String) -> PretrainOptions {
        var o = PretrainOptions(model: model, tokenizer: tokenizer, data: data, out: out)
        o.steps = 2; o.seqLen = 32; o.batchSize = 2; o.lr = 1e-3; o.saveEvery = 2; o.evalEvery = 2; o.evalBatches = 1
        return o
    }

    /// The numbers of a `data:` summary line: total documents and tokens, then documents and tokens per part.
    struct Counts: Equatable {
        var documents = 0, tokens = 0, trainDocuments = 0, trainTokens = 0, validationDocuments = 0, validationTokens = 0
    }

    static func counts(in output: String) throws -> Counts {
        let line = try #require(output.split(separator: "\n").first { $0.hasPrefix("data: ") }.map(String.init), "no data line in:\n\(output)")
        let pattern = #"^data: ([\d,]+) documents?, ([\d,]+) tokens; train ([\d,]+) documents? / ([\d,]+) tokens \([\d.]+%\), "#
            + #"validation ([\d,]+) documents? / ([\d,]+) tokens"#
        let regex = try NSRegularExpression(pattern: pattern)
        let match = try #require(regex.firstMatch(in: line, range: NSRange(line.startIndex..., in: line)), "unexpected data line: \(line)")
        let n = (1...6).map { Int(String(line[Range(match.range(at: $0), in: line)!]).replacingOccurrences(of: ",", with: ""))! }
        return Counts(documents: n[0], tokens: n[1], trainDocuments: n[2], trainTokens: n[3], validationDocuments: n[4], validationTokens: n[5])
    }

    static let quiet: @Sendable (String) -> Void = { _ in }
}

@Suite struct NanoGPTTokenizerTests {
    /// Text where byte-level BPE goes wrong when any piece is off: unicode, whitespace runs, numbers, contractions.
    static let varied: [String] = [
        "", " ", "  ", "\n", "\n\n\n", "\t\t x", "   leading spaces", "trailing spaces   ", "a  b   c    d",
        "It's, I'm, you're, we've, they'll, he'd, don't, Y'ALL'RE", "1 12 123 1234 12345 3.14159 1e-9 -42 0x1F",
        "Hello, world! Hello,world!Hello", "naïve café — “quotes” ‘single’ … résumé", "日本語のテキスト、中文文本。한국어",
        "emoji 😀🎉👩‍👩‍👧 flags 🇫🇷", "Ελληνικά Русский עברית العربية हिन्दी", "tabs\tand\r\nCRLF\r\nlines",
        "<|endoftext|>", "one<|endoftext|>two <|endoftext|> three", "x" + String(repeating: " ", count: 40) + "y",
        String(repeating: "ab", count: 300), "\u{0}\u{1}\u{7f}\u{80}\u{ff}", "ℌ𝔢𝔩𝔩𝔬 combining e\u{301} and a\u{308}",
    ]

    @Test func vocabMergesGivesTheIdsOfTokenizerJSON() throws {
        let pair = try NanoGPTFixtures.vocabMerges()
        let json = try TokenizerFixtures.gpt2()
        // Against Hugging Face `tokenizers` directly (the fixture ids), and against the tokenizer.json version.
        let fx = try TokenizerFixtures.load(IdsFixture.self, "gpt2.json")
        #expect(checkIds(pair, fx.cases.map { ($0.text, $0.ids) }, label: "gpt2 vocab.json + merges.txt") == fx.cases.count)
        let shakespeare = try String(contentsOfFile: NanoGPTFixtures.shakespeare, encoding: .utf8)
        var texts = Self.varied + [shakespeare, try englishSample(minBytes: 50_000)]
        texts += shakespeare.split(separator: "\n\n").prefix(200).map(String.init)
        var tokens = 0
        for text in texts {
            let a = pair.encode(text), b = json.encode(text)
            tokens += a.count
            #expect(a == b, "\(RPTError.echo(text.debugDescription))")
            #expect(pair.decode(a) == json.decode(b))
        }
        #expect(tokens > 20_000)
        // Same vocabulary, specials and token bytes.
        #expect(pair.vocabSize == json.vocabSize && pair.vocabSize == 50_257)
        #expect(pair.eosTokenIds == json.eosTokenIds && pair.eosTokenIds == [50_256])
        #expect(pair.bosTokenId == json.bosTokenId)
        #expect(pair.isSpecial(50_256) && pair.tokenId("<|endoftext|>") == 50_256)
        for id in 0..<pair.vocabSize { if pair.tokenBytes(id) != json.tokenBytes(id) { Issue.record("token bytes of \(id) differ"); break } }
    }

    @Test func vocabMergesLoadsFromEitherFileWithHeaderAndCRLF() throws {
        let dir = try NanoGPTFixtures.vocabMergesDirectory()
        let reference = try NanoGPTFixtures.vocabMerges()
        let sample = "Before we proceed any further, hear me speak.\n  It's 2024!"
        for path in [dir, dir + "/vocab.json", dir + "/merges.txt"] {
            #expect(try loadTokenizer(path: path).encode(sample) == reference.encode(sample), "\(path)")
        }
        // A "#version" header and CRLF line ends, as some copies of merges.txt have.
        let merges = try String(contentsOfFile: dir + "/merges.txt", encoding: .utf8)
        let crlf = "#version: 0.2\r\n" + merges.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\r\n")
        try Data(crlf.utf8).write(to: URL(fileURLWithPath: dir + "/merges.txt"))
        #expect(try loadTokenizer(path: dir).encode(sample) == reference.encode(sample))
    }

    @Test func brokenOrIncompletePairsAreNamed() throws {
        let dir = temporaryDirectory("gpt2-bad")
        try FileManager.default.copyItem(atPath: NanoGPTFixtures.gpt2Directory + "/vocab.json", toPath: dir + "/vocab.json")
        // vocab.json alone: the directory is named, and what is missing.
        var e = expectRPTError(naming: dir) { _ = try loadTokenizer(path: dir) }
        #expect(e?.message.contains("merges.txt") == true, "\(String(describing: e))")
        e = expectRPTError(naming: dir + "/vocab.json") { _ = try loadTokenizer(path: dir + "/vocab.json") }
        #expect(e?.message.contains("merges.txt") == true, "\(String(describing: e))")
        // A merge of tokens outside the vocabulary: merges.txt is named, with the line.
        try Data("Ġ t\nh e\nzzzq zzzr\n".utf8).write(to: URL(fileURLWithPath: dir + "/merges.txt"))
        e = expectRPTError(naming: dir + "/merges.txt") { _ = try loadTokenizer(path: dir) }
        #expect(e?.message.contains("#3") == true, "\(String(describing: e))")
        // A vocab.json that is not an object of ids: vocab.json is named.
        try Data(#"{"a": 0, "b": "one"}"#.utf8).write(to: URL(fileURLWithPath: dir + "/vocab.json"))
        e = expectRPTError(naming: dir + "/vocab.json") { _ = try loadTokenizer(path: dir) }
        #expect(e?.message.contains("invalid id") == true, "\(String(describing: e))")
        // An empty directory names all the forms it looked for.
        let empty = temporaryDirectory("tok-empty")
        e = expectRPTError(naming: empty) { _ = try loadTokenizer(path: empty) }
        #expect(e?.message.contains("vocab.json + merges.txt") == true)
    }
}

@Suite struct NanoGPTSplitTests {
    private func load(_ path: String, validation: ValidationSize, seqLen: Int = 32,
                      tokenizer: (any Tokenizer)? = nil) throws -> PretrainingData {
        try PretrainingData.load(path: path, tokenizer: tokenizer ?? NanoGPTFixtures.vocabMerges(), seqLen: seqLen, batchSize: 2,
                                 validation: validation, seed: 3, onWarning: NanoGPTFixtures.quiet)
    }

    @Test func singleTextFileIsSplitByTokens() throws {
        let tok = try NanoGPTFixtures.vocabMerges()
        let all = try TokenStream.tokenize(try CorpusReader.read(path: NanoGPTFixtures.shakespeare).documents, tokenizer: tok, source: "s")
        for f in [0.1, 0.05, 0.2] {
            let data = try load(NanoGPTFixtures.shakespeare, validation: .fraction(f))
            let validation = try #require(data.validation)
            #expect(data.splitUnit == .tokens)
            #expect(data.totalTokens == all.count && data.trainTokens + data.validationTokens == all.count)
            #expect(data.validationTokens == Int((f * Double(all.count)).rounded()), "fraction \(f)")
            // nanoGPT's split: the first tokens train, the last ones validate.
            #expect(data.train.tokens == Array(all[..<data.trainTokens]))
            #expect(validation.tokens == Array(all[data.trainTokens...]))
            #expect(data.documents == 1 && data.trainDocuments == 1 && data.validationDocuments == 1)
            #expect(data.summary.contains("split by tokens"), "\(data.summary)")
        }
        // Deterministic (a resumed run rebuilds the same stream).
        let a = try load(NanoGPTFixtures.shakespeare, validation: .fraction(0.1))
        let b = try load(NanoGPTFixtures.shakespeare, validation: .fraction(0.1))
        #expect(a.train.tokens == b.train.tokens && a.validation?.tokens == b.validation?.tokens)
        // A held-out share under one window is enlarged to one window, and said so.
        let tiny = try load(NanoGPTFixtures.shakespeare, validation: .fraction(0.0001))
        #expect(tiny.validationTokens == 33 && tiny.summary.contains("enlarged"), "\(tiny.summary)")
        // A count of documents cannot split one document: the error names the file and says what to do.
        let e = expectRPTError(naming: NanoGPTFixtures.shakespeare) { _ = try load(NanoGPTFixtures.shakespeare, validation: .count(1)) }
        #expect(e?.message.contains("fraction") == true, "\(String(describing: e))")
        // Too few tokens for a window on each side: an error naming the file.
        let short = try DataFixtures.write("First Citizen:\nBefore we proceed any further, hear me speak.\n", "short.txt",
                                           in: temporaryDirectory("short"))
        _ = expectRPTError(naming: short) { _ = try load(short, validation: .fraction(0.1)) }
    }

    @Test func twoFileFolderHonoursTheFraction() throws {
        // WikiText-2's layout: a folder with two text files (here the two halves of the Shakespeare sample).
        let text = try String(contentsOfFile: NanoGPTFixtures.shakespeare, encoding: .utf8)
        let cut = text.index(text.startIndex, offsetBy: text.count / 2)
        let dir = temporaryDirectory("two-files")
        _ = try DataFixtures.write(String(text[..<cut]), "test.txt", in: dir)
        _ = try DataFixtures.write(String(text[cut...]), "valid.txt", in: dir)
        let data = try load(dir, validation: .fraction(0.05))
        #expect(data.splitUnit == .tokens && data.documents == 2)
        let share = Double(data.validationTokens) / Double(data.totalTokens)
        #expect(abs(share - 0.05) < 0.001, "held out \(share) of the tokens, not 0.05")
        #expect(data.trainDocuments == 2 && data.validationDocuments == 1)   // the tail of valid.txt
        // At 0.5 one file of two is exactly the fraction: split by documents.
        let half = try load(dir, validation: .fraction(0.5))
        #expect(half.splitUnit == .documents && half.trainDocuments == 1 && half.validationDocuments == 1)
    }

    @Test func manyDocumentsKeepTheDocumentSplit() throws {
        // 40 documents at 0.05: two whole documents, drawn with the seed, as before.
        let dir = temporaryDirectory("forty")
        let text = try String(contentsOfFile: NanoGPTFixtures.shakespeare, encoding: .utf8)
        let pieces: [String] = text.components(separatedBy: "\n\n")
        var jsonl: [String] = []
        for i in 0..<40 {
            let start = (i * 3) % (pieces.count - 3)
            let doc: String = pieces[start..<(start + 3)].joined(separator: "\n\n")
            let record: Data = try JSONSerialization.data(withJSONObject: ["text": doc])
            jsonl.append(String(decoding: record, as: UTF8.self))
        }
        let path = try DataFixtures.write(jsonl.joined(separator: "\n") + "\n", "docs.jsonl", in: dir)
        let data = try load(path, validation: .fraction(0.05))
        #expect(data.splitUnit == .documents && data.trainDocuments == 38 && data.validationDocuments == 2)
        #expect(data.trainTokens + data.validationTokens == data.totalTokens)
        let split = try TrainValidationSplit(try CorpusReader.read(path: path).documents, validation: .fraction(0.05), seed: 3, source: path)
        let tok = try NanoGPTFixtures.vocabMerges()
        #expect(data.validation?.tokens == (try TokenStream.tokenize(split.validation, tokenizer: tok, source: path)))
        // 19 documents at 0.05 fall short of one document: split by tokens instead of holding out 1 in 19.
        let fewer = try DataFixtures.write(jsonl.prefix(19).joined(separator: "\n"), "fewer.jsonl", in: dir)
        #expect(try load(fewer, validation: .fraction(0.05)).splitUnit == .tokens)
        #expect(ValidationSize.documentsForADocumentSplit(0.05) == 20 && ValidationSize.documentsForADocumentSplit(0.1) == 10)
        #expect(ValidationSize.documentsForADocumentSplit(0.01) == 100 && ValidationSize.documentsForADocumentSplit(0.3) == 4)
    }
}

@Suite(.serialized) struct NanoGPTJourneyTests {
    /// nanoGPT's first example as a user types it: config.json, vocab.json, merges.txt and input.txt in one
    /// directory, `rpt pretrain --model config.json --data input.txt` run from there. It works the first time,
    /// prints the split, and the printed numbers add up.
    @Test func tinyShakespeareFromItsDirectory() throws {
        let dir = try NanoGPTFixtures.vocabMergesDirectory("shakespeare-run")
        try NanoGPTFixtures.writeConfig(in: dir)
        try FileManager.default.copyItem(atPath: NanoGPTFixtures.shakespeare, toPath: dir + "/input.txt")
        let r = try runRPT(["pretrain", "--model", "config.json", "--data", "input.txt", "--out", "out", "--validation", "0.1",
                            "--steps", "2", "--seq-len", "32", "--batch-size", "2", "--eval-every", "2", "--eval-batches", "1",
                            "--save-every", "2"], workingDirectory: dir)
        #expect(r.status == 0, "\(r.stderr)")
        let c = try NanoGPTFixtures.counts(in: r.stdout)
        #expect(c.documents == 1 && c.trainDocuments == 1 && c.validationDocuments == 1)
        #expect(c.trainTokens > 0 && c.validationTokens > 0 && c.trainTokens + c.validationTokens == c.tokens)
        #expect(c.validationTokens == Int((0.1 * Double(c.tokens)).rounded()), "\(c)")
        #expect(r.stdout.contains("val_loss"), "\(r.stdout)")
        // The tokenizer is the GPT-2 pair, copied into the run and into its checkpoint.
        let ck = try #require(Checkpoint.latest(in: dir + "/out"))
        for f in ["vocab.json", "merges.txt"] {
            #expect(FileManager.default.fileExists(atPath: dir + "/out/tokenizer/" + f) && FileManager.default.fileExists(atPath: ck + "/" + f))
        }
        #expect(try loadTokenizer(path: ck).vocabSize == 50_257)
        // A two-file folder at the default 0.05 holds out about 5% of the tokens, not one file of two.
        let wiki = dir + "/wikitext"
        let text = try String(contentsOfFile: NanoGPTFixtures.shakespeare, encoding: .utf8)
        let cut = text.index(text.startIndex, offsetBy: text.count / 2)
        _ = try DataFixtures.write(String(text[..<cut]), "test.txt", in: wiki)
        _ = try DataFixtures.write(String(text[cut...]), "valid.txt", in: wiki)
        let w = try runRPT(["pretrain", "--model", "config.json", "--data", "wikitext", "--out", "out-wiki", "--steps", "1",
                            "--seq-len", "32", "--batch-size", "2"], workingDirectory: dir)
        #expect(w.status == 0, "\(w.stderr)")
        let wc = try NanoGPTFixtures.counts(in: w.stdout)
        #expect(wc.documents == 2 && wc.trainTokens + wc.validationTokens == wc.tokens)
        #expect(abs(Double(wc.validationTokens) / Double(wc.tokens) - 0.05) < 0.001, "\(wc)")
    }

    /// `--tokenizer` as a vocab.json + merges.txt directory, and resuming that run.
    @Test func vocabMergesDirectoryAsTokenizerOptionAndResume() throws {
        let modelDir = temporaryDirectory("cfg-only")
        try NanoGPTFixtures.writeConfig(in: modelDir)
        let pair = try NanoGPTFixtures.vocabMergesDirectory()
        let out = temporaryDirectory("vm-run") + "/run"
        var o = NanoGPTFixtures.options(model: modelDir + "/config.json", tokenizer: pair, data: NanoGPTFixtures.shakespeare, out: out)
        o.steps = 3; o.saveEvery = 1
        let first = try Pretrainer(options: o, resume: false)
        var lines: [String] = []
        first.log = { lines.append($0) }
        try first.run(stopAfter: 1)
        #expect(lines.first?.hasPrefix("data: 1 document") == true, "\(lines)")
        #expect(first.tokenizer.vocabSize == 50_257)
        let resumed = try Pretrainer(options: o, resume: true)
        resumed.log = { _ in }
        try resumed.run()
        let straightOut = temporaryDirectory("vm-straight") + "/run"
        var s = o; s.out = straightOut
        let straight = try Pretrainer(options: s, resume: false)
        straight.log = { _ in }
        try straight.run()
        let a = FileManager.default.contents(atPath: out + "/step-000003/model.safetensors")
        let b = FileManager.default.contents(atPath: straightOut + "/step-000003/model.safetensors")
        #expect(a != nil && a == b, "resumed run differs from the uninterrupted one")
    }

    /// A start that fails (bad data) after copying one tokenizer, then a retry with another tokenizer: the retry
    /// uses the tokenizer it was given, not the stale copy; a broken stale copy does not break the retry either.
    @Test func failedStartDoesNotLeaveAStaleTokenizer() throws {
        let modelDir = temporaryDirectory("stale-cfg")
        try NanoGPTFixtures.writeConfig(in: modelDir)
        let pair = try NanoGPTFixtures.vocabMergesDirectory()
        let out = temporaryDirectory("stale") + "/run"
        // 1. The Qwen2 fixture's tokenizer (384 ids) and a data path that does not exist.
        var o = NanoGPTFixtures.options(model: modelDir + "/config.json", tokenizer: Repo.fixtureModel("qwen2_f32"),
                                        data: modelDir + "/missing.txt", out: out)
        _ = expectRPTError(naming: modelDir + "/missing.txt") { _ = try Pretrainer(options: o, resume: false) }
        #expect(FileManager.default.fileExists(atPath: out + "/tokenizer/tokenizer.json"))   // the copy it left
        // 2. The retry with the GPT-2 pair and good data uses the GPT-2 pair.
        o.tokenizer = pair; o.data = NanoGPTFixtures.shakespeare
        let t = try Pretrainer(options: o, resume: false)
        #expect(t.tokenizer.vocabSize == 50_257)
        let copied = try FileManager.default.contentsOfDirectory(atPath: out + "/tokenizer").sorted()
        #expect(copied == ["merges.txt", "vocab.json"], "\(copied)")
        #expect(try loadTokenizer(path: out + "/tokenizer").vocabSize == 50_257)
        // 3. A broken copy left behind (and --resume given before any checkpoint exists) is replaced too.
        try Data("{ not json".utf8).write(to: URL(fileURLWithPath: out + "/tokenizer/tokenizer.json"))
        let again = try Pretrainer(options: o, resume: true)
        #expect(again.tokenizer.vocabSize == 50_257)
        #expect(!FileManager.default.fileExists(atPath: out + "/tokenizer/tokenizer.json"))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasPrefix(".tokenizer") }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }

    /// Tokenizer errors name the path the user gave, never the copy inside --out.
    @Test func tokenizerErrorsNameTheUsersPath() throws {
        let dir = temporaryDirectory("tok-errors")
        try NanoGPTFixtures.writeConfig(in: dir)
        _ = try DataFixtures.write("{ broken", "tokenizer.json", in: dir + "/bad")
        try FileManager.default.createDirectory(atPath: dir + "/half", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: NanoGPTFixtures.gpt2Directory + "/vocab.json", toPath: dir + "/half/vocab.json")
        for (tokenizer, named) in [(dir + "/bad", dir + "/bad/tokenizer.json"), (dir + "/half", dir + "/half"),
                                   (dir + "/nowhere", dir + "/nowhere")] {
            let o = NanoGPTFixtures.options(model: dir + "/config.json", tokenizer: tokenizer, data: NanoGPTFixtures.shakespeare,
                                            out: dir + "/out")
            let e = expectRPTError(naming: named) { _ = try Pretrainer(options: o, resume: false) }
            #expect(e?.description.contains(dir + "/out") == false, "names the copy: \(String(describing: e))")
        }
        // Through the CLI, relative paths: `--model config.json` with no tokenizer beside it names the directory
        // and says how to give one, instead of "Error: : tokenizer source not found".
        let r = try runRPT(["pretrain", "--model", "config.json", "--data", NanoGPTFixtures.shakespeare, "--out", "out2", "--steps", "1"],
                           workingDirectory: dir)
        #expect(r.status != 0)
        #expect(r.stderr.contains(dir) && r.stderr.contains("--tokenizer") && !r.stderr.contains("Error: :"), "\(r.stderr)")
        #expect(!r.stderr.contains("out2/tokenizer"), "\(r.stderr)")
        // A vocab.json + merges.txt pair in the model's directory is its tokenizer.
        for f in ["vocab.json", "merges.txt"] {
            try FileManager.default.copyItem(atPath: NanoGPTFixtures.gpt2Directory + "/" + f, toPath: dir + "/" + f)
        }
        let ok = try runRPT(["pretrain", "--model", "config.json", "--data", NanoGPTFixtures.shakespeare, "--out", "out2", "--steps", "1",
                             "--seq-len", "32", "--batch-size", "1"], workingDirectory: dir)
        #expect(ok.status == 0, "\(ok.stderr)")
    }
}
