// Calculator annotations (GSM8K `<<expr=result>>`), the generated ledger corpus, positions that record their
// calculation (`rpt prepare --calculations`), and the cold-start demonstrations of `rpt demos`: the format,
// label-free answers checked against the model's own logits computed independently, disjoint documents,
// and determinism.

import Foundation
import Testing
@testable import RPT

@Suite(.serialized) struct CalculationDataTests {
    /// Checks the ledger's annotations independently of the generator: comma-separated steps "a+b=c" or
    /// "a-b=c", each starting from the previous step's result.
    static func arithmeticHolds(_ expression: String) -> Bool {
        var previous: Int?
        for step in expression.split(separator: ",") {
            let parts = step.split(separator: "=")
            guard parts.count == 2, let c = Int(parts[1]) else { return false }
            let lhs = String(parts[0])
            guard let i = lhs.firstIndex(where: { $0 == "+" || $0 == "-" }), let a = Int(lhs[..<i]), let b = Int(lhs[lhs.index(after: i)...]),
                  (lhs[i] == "+" ? a + b : a - b) == c, previous == nil || previous == a else { return false }
            previous = c
        }
        return previous != nil
    }

    @Test func gsm8kAnnotationsAreStrippedAndKeptWithTheirResultSpans() {
        let text = "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nShe earned $<<12/60=0.2>>0.2 per minute.\n#### 72"
        let (clean, calcs) = CalculatorAnnotations.strip(text)
        #expect(clean == "Natalia sold 48/2 = 24 clips in May.\nShe earned $0.2 per minute.\n#### 72")
        #expect(calcs.map(\.expression) == ["48/2=24", "12/60=0.2"])
        #expect(calcs.map(\.result) == ["24", "0.2"])
        let bytes = Array(clean.utf8)
        for c in calcs {
            #expect(c.length == c.result.utf8.count)
            #expect(Array(bytes[c.offset..<(c.offset + c.length)]) == Array(c.result.utf8))
        }
        #expect(CalculatorAnnotations.calculation(covering: calcs[0].offset + 1, in: calcs)?.expression == "48/2=24")
        #expect(CalculatorAnnotations.calculation(covering: calcs[0].offset + 2, in: calcs) == nil)
        #expect(CalculatorAnnotations.calculation(covering: calcs[0].offset - 1, in: calcs) == nil)
    }

    @Test func annotationsThatDoNotParseStayInTheText() {
        // No "=", an unclosed annotation, and one spanning a newline are left alone.
        for text in ["a <<48/2>> b", "a <<48/2=24 b", "a <<48/2=\n24>> b", "x < y << z"] {
            let (clean, calcs) = CalculatorAnnotations.strip(text)
            #expect(clean == text)
            #expect(calcs.isEmpty)
        }
        // A result the text does not repeat marks no position.
        let (clean, calcs) = CalculatorAnnotations.strip("so <<3*4=12>>twelve")
        #expect(clean == "so twelve")
        #expect(calcs.count == 1 && calcs[0].length == 0)
    }

    @Test func ledgerStoriesAreSeededCorrectAndMostlyNotDeducible() throws {
        var o = LedgerCorpusOptions()
        o.documents = 300
        o.seed = 5
        let stories = LedgerCorpus.generate(o)
        #expect(stories == LedgerCorpus.generate(o))
        var smaller = o
        smaller.documents = 40
        #expect(LedgerCorpus.generate(smaller) == Array(stories.prefix(40)))   // a prefix of a larger corpus
        var other = o
        other.seed = 6
        #expect(LedgerCorpus.generate(other) != stories)
        let tokenizer = try loadTokenizer(path: Repo.stories260KHF)
        var deducibleTokens = 0, tokens = 0
        for s in stories {
            let (clean, calcs) = CalculatorAnnotations.strip(s)
            #expect(!clean.contains("<<") && !clean.contains(">>"))
            #expect((1...3).contains(calcs.count))
            for c in calcs {
                #expect(Self.arithmeticHolds(c.expression), "\(c.expression) in \(s)")
                #expect(c.expression.split(separator: ",").count == 2)   // two changes per stated total
                #expect(c.length == 2)   // every total has two digits
                let value = Int(c.result)!
                #expect((10...99).contains(value))
            }
            // Deducible tokens: those whose first byte lies in a result.
            let ids = tokenizer.encode(clean)
            var offset = 0
            for id in ids {
                let n = tokenizer.bytes(of: [id]).count
                if CalculatorAnnotations.calculation(covering: offset, in: calcs) != nil { deducibleTokens += 1 }
                offset += n
                tokens += 1
            }
        }
        let share = Double(deducibleTokens) / Double(tokens)
        #expect(share > 0.03 && share < 0.2, "deducible share \(share)")
    }

    @Test(arguments: [1, 3, 6]) func ledgerStoriesComposeTheConfiguredNumberOfChanges(_ changes: Int) throws {
        var o = LedgerCorpusOptions()
        o.documents = 200
        o.seed = 9
        o.changesPerTotal = changes
        for s in LedgerCorpus.generate(o) {
            let (clean, calcs) = CalculatorAnnotations.strip(s)
            #expect((1...3).contains(calcs.count))
            var last: Int?
            for c in calcs {
                let steps = c.expression.split(separator: ",")
                #expect(steps.count == changes, "\(c.expression) in \(s)")
                #expect(Self.arithmeticHolds(c.expression), "\(c.expression) in \(s)")
                // Each total continues from the one before, and the story's sentences state each change.
                if let last { #expect(steps[0].hasPrefix("\(last)")) }
                last = Int(c.result)
                #expect((10...99).contains(last ?? 0))
            }
            let changeSentences = clean.components(separatedBy: ". ").filter {
                $0.contains(" more") || $0.contains(" lost ") || $0.contains(" gave ")
            }
            #expect(changeSentences.count >= calcs.count * changes, "\(clean)")
        }
        // The command checks the range before writing anything.
        let dir = temporaryDirectory("ledger-changes")
        let r = try runRPT(["corpus", "--docs", "3", "--changes-per-total", "0", "--out", dir + "/c.jsonl"])
        #expect(r.status != 0 && r.stderr.contains("--changes-per-total") && !FileManager.default.fileExists(atPath: dir + "/c.jsonl"))
    }

    @Test func corpusReaderStripsAnnotationsOnlyWhenAsked() throws {
        let dir = temporaryDirectory("ledger")
        var o = LedgerCorpusOptions()
        o.documents = 5
        _ = try LedgerCorpus.write(o, to: dir + "/c.jsonl")
        let plain = try CorpusReader.read(path: dir + "/c.jsonl", onWarning: { _ in })
        #expect(plain.documents.allSatisfy { $0.text.contains("<<") && $0.calculations.isEmpty })
        let stripped = try CorpusReader.read(path: dir + "/c.jsonl", options: CorpusOptions(calculations: true), onWarning: { _ in })
        #expect(stripped.documents.allSatisfy { !$0.text.contains("<<") && !$0.calculations.isEmpty })
    }

    /// A prepared pool and evaluation set from ledger stories, stories260K as policy and proxy.
    static func preparedLedger(_ dir: String, documents: Int = 24, validation: Int = 0) throws -> [PositionRecord] {
        var c = LedgerCorpusOptions()
        c.documents = documents
        c.seed = 11
        _ = try LedgerCorpus.write(c, to: dir + "/ledger.jsonl")
        var o = PrepareOptions(policy: Repo.stories260KHF, proxy: Repo.stories260KHF, corpus: dir + "/ledger.jsonl",
                               outputDirectory: dir + "/prep", corpusOptions: CorpusOptions(calculations: true))
        o.entropyThreshold = 0
        o.minContext = 4
        o.validationDocuments = validation
        o.horizon = 8
        let p = Preparer(options: o)
        p.log = { _ in }
        _ = try p.run()
        return try PositionDataset.read(path: dir + (validation > 0 ? "/prep/val.jsonl" : "/prep/train.jsonl"))
    }

    @Test func preparedPositionsRecordTheCalculationTheyLieIn() throws {
        let dir = temporaryDirectory("prep-calc")
        let records = try Self.preparedLedger(dir)
        let withCalc = records.filter { $0.calculation != nil }
        #expect(!withCalc.isEmpty && withCalc.count < records.count)
        for r in records {
            let context = String(r.context)
            if let calc = r.calculation {
                // The target is a digit of the annotated result, and the digits before it in the context are the
                // result's leading digits.
                let result = String(calc.split(separator: "=").last!)
                let written = String(context.reversed().prefix { $0.isNumber }.reversed())
                #expect(result.hasPrefix(written + r.target), "\(calc): context ends '\(context.suffix(12))', target '\(r.target)'")
                #expect(Self.arithmeticHolds(calc))
            } else {
                // Outside a result: not a total after the first sentence (whose starting amount is random).
                #expect(!(context.contains(".") && context.hasSuffix("had ") && r.target.first?.isNumber == true),
                        "unmarked total at '\(context.suffix(20))'")
            }
        }
        // The field survives the file round trip (written and parsed by the same type as every reader).
        let line = try PositionRecord(line: withCalc[0].line, file: "x", line: 1)
        #expect(line == withCalc[0])
    }

    @Test func demonstrationsHaveTheFormatDisjointDocumentsAndLabelFreeAnswers() throws {
        let dir = temporaryDirectory("demos")
        let records = try Self.preparedLedger(dir)
        let lm = try LanguageModel.load(model: Repo.stories260KHF, tokenizer: nil)
        let template = dir + "/prompt.txt"
        try "{context}<think>".write(toFile: template, atomically: true, encoding: .utf8)
        let format = try ReasoningFormat(template: template, chat: "raw", tokenizerPath: Repo.stories260KHF)
        // argmax answers, checked against a separate forward pass over each context alone.
        let plan = NextTokenAccuracyPlan(records: records, maxContext: lm.model.rope.positions)
        let drafts = try plan.predictions(backend: lm.model.backend())
        var o = DemonstrationOptions()
        o.answer = .argmax
        o.documents = 0.5
        o.plainTextEvery = 5
        o.seed = 3
        let set = try Demonstrations.build(records: records, format: format, tokenizer: lm.tokenizer, drafts: drafts, options: o)
        let demoDocs = Set(set.demoDocuments)
        #expect(demoDocs.count == 12)
        #expect(set.rest.allSatisfy { !demoDocs.contains($0.docId) })
        // Every demonstration position's answer is printable text unless it is a partial UTF-8 character.
        let printable: (PositionRecord) -> Bool = { r in
            let i = records.firstIndex(of: r)!
            let text = String(decoding: lm.tokenizer.bytes(of: [drafts[i]]), as: UTF8.self)
            return !text.isEmpty && !text.contains("\u{FFFD}")
        }
        let demoRecords = records.filter { demoDocs.contains($0.docId) }.filter(printable)
        let lines = try set.lines.map { try JSON.parse(Data($0.utf8), file: "demos") }
        let demos = lines.filter { $0["prompt"]?.string != "" }
        #expect(demos.count == demoRecords.count && demos.count == set.demonstrations)
        #expect(lines.count - demos.count == set.plainText && set.plainText == demos.count / 5)
        var checked = 0
        for (r, d) in zip(demoRecords, demos) {
            let p = try format.prompt.promptTokens(contextIds: r.contextIds, tokenizer: lm.tokenizer, maxPromptTokens: 4096)
            #expect(d["prompt"]?.string == p.text && p.text.hasSuffix("<think>"))
            let completion = d["completion"]!.string!
            #expect(completion.hasPrefix((r.calculation ?? "") + "</think>\\boxed{") && completion.hasSuffix("}"))
            if checked < 25 {   // the boxed answer is the model's argmax after the context, from its own forward pass
                let logits = try allLogits(lm.model, r.contextIds)
                let v = lm.model.config.vocabSize
                let last = Array(logits[((r.contextIds.count - 1) * v)...])
                let best = last.indices.max { last[$0] < last[$1] || (last[$0] == last[$1] && $0 > $1) }!
                #expect(completion.hasSuffix("\\boxed{" + String(decoding: lm.tokenizer.bytes(of: [best]), as: UTF8.self) + "}"))
                checked += 1
            }
        }
        // The same seed gives the same demonstrations; another seed other documents.
        #expect(try Demonstrations.build(records: records, format: format, tokenizer: lm.tokenizer, drafts: drafts, options: o).lines == set.lines)
        var o2 = o
        o2.seed = 4
        #expect(Set(try Demonstrations.demoDocuments(records, options: o2)) != demoDocs)
        // `target` boxes the true next token; the rest can be filtered by entropy; --docs-of picks documents.
        var t = o
        t.answer = .target
        t.restEntropyThreshold = 1.5
        t.documentIds = Set(set.rest.map(\.docId))
        let targetSet = try Demonstrations.build(records: records, format: format, tokenizer: lm.tokenizer, drafts: nil, options: t)
        #expect(Set(targetSet.demoDocuments) == Set(set.rest.map(\.docId)))
        #expect(targetSet.rest.allSatisfy { $0.proxyEntropy > 1.5 && demoDocs.contains($0.docId) })
        let first = try JSON.parse(Data(targetSet.lines[0].utf8), file: "t")
        let firstRecord = records.first { targetSet.demoDocuments.contains($0.docId) }!
        #expect(first["completion"]?.string?.hasSuffix("\\boxed{\(firstRecord.target)}") == true)
    }

    @Test func calculationAnswersBoxWhatTheCalculationSaysComesNext() throws {
        #expect(Demonstrations.nextOfResult("47+8=55", context: "Now she had ") == "55")
        #expect(Demonstrations.nextOfResult("47+8=55", context: "Now she had 5") == "5")
        #expect(Demonstrations.nextOfResult("47+8=55", context: "Now she had 55") == nil)
        #expect(Demonstrations.nextOfResult("48/2=24", context: "sold 48/2 = ") == "24")
        #expect(Demonstrations.nextOfResult("12/60=0.2", context: "earns $0.") == "2")
        let dir = temporaryDirectory("calc-answers")
        let records = try Self.preparedLedger(dir)
        let lm = try LanguageModel.load(model: Repo.stories260KHF, tokenizer: nil)
        let format = NextTokenPrompt(template: .custom("{context}<think>"), chat: .raw)
        let drafts = try NextTokenAccuracyPlan(records: records, maxContext: 512).predictions(backend: lm.model.backend())
        func followShare(_ q: Double) throws -> (Double, Int) {
            var o = DemonstrationOptions()
            o.answer = .argmax
            o.documents = 0.9
            o.calculationAnswers = q
            o.plainTextEvery = 0
            let set = try Demonstrations.build(records: records, format: ReasoningFormat(prompt: format), tokenizer: lm.tokenizer, drafts: drafts, options: o)
            var follow = 0, traced = 0
            for line in set.lines {
                let j = try JSON.parse(Data(line.utf8), file: "d")
                let completion = j["completion"]!.string!, prompt = j["prompt"]!.string!
                let trace = String(completion.prefix { $0 != "<" })
                guard !trace.isEmpty else { continue }
                traced += 1
                let next = Demonstrations.nextOfResult(trace, context: String(prompt.dropLast("<think>".count)))
                if let next, completion.hasSuffix("\\boxed{\(next)}") { follow += 1 }
            }
            return (Double(follow) / Double(max(1, traced)), traced)
        }
        let (none, traced) = try followShare(0)
        let (all, _) = try followShare(1)
        let (third, _) = try followShare(0.3)
        #expect(traced > 50)
        #expect(all == 1)
        #expect(none < 0.3)                       // only where the base model's guess happens to be right
        #expect(third > none + 0.15 && third < none + 0.45, "share \(third) vs \(none)")
    }

    @Test func sampledDraftsAreSeededPerPosition() throws {
        let dir = temporaryDirectory("drafts")
        let records = try Self.preparedLedger(dir, documents: 6)
        let lm = try LanguageModel.load(model: Repo.stories260KHF, tokenizer: nil)
        let plan = NextTokenAccuracyPlan(records: records, maxContext: lm.model.rope.positions)
        let a = try plan.predictions(backend: lm.model.backend(), sampling: SamplingParameters(temperature: 1), seed: 9)
        let b = try plan.predictions(backend: lm.model.backend(), sampling: SamplingParameters(temperature: 1), seed: 9, batchTokens: 64)
        let c = try plan.predictions(backend: lm.model.backend(), sampling: SamplingParameters(temperature: 1), seed: 10)
        let greedy = try plan.predictions(backend: lm.model.backend())
        #expect(a == b)          // independent of how positions are batched
        #expect(a != c)
        #expect(a != greedy)     // sampling, not argmax (stories260K is unsure on most of these positions)
    }

    @Test func traceUseCountsCalculationsAndAnswersThatFollowThem() {
        var u = TraceUse()
        // Right calculation, box follows (tens position: nothing written yet).
        u.add(completion: "47+8=55</think>\\boxed{5}</s>", prediction: "5", correct: true, calculation: "47+8=55", context: "Now she had ")
        // Units position: "5" already written, box follows the written result's next digit.
        u.add(completion: "47+8=56</think>\\boxed{6}</s>", prediction: "6", correct: false, calculation: "47+8=55", context: "Now she had 5")
        // Right calculation, box ignores it.
        u.add(completion: "47+8=55</think>\\boxed{3}</s>", prediction: "3", correct: false, calculation: "47+8=55", context: "Now she had 5")
        // No calculation.
        u.add(completion: "</think>\\boxed{5}</s>", prediction: "5", correct: true, calculation: "47+8=55", context: "Now she had ")
        // A two-step calculation: the result is after the last "=".
        u.add(completion: "47+8=55,55-3=52</think>\\boxed{52}</s>", prediction: "52", correct: true, calculation: "47+8=55,55-3=52", context: "had ")
        #expect(u.responses == 5 && u.correct == 3)
        #expect(u.wroteCalculation == 4 && u.calculationRight == 3 && u.boxFollowsCalculation == 3)
    }
}
