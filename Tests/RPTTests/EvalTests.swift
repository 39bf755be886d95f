// `rpt eval`: confidence intervals against textbook values, pass@k against enumeration, standard next-token
// accuracy against PyTorch's argmax (fixture logits), shared forward passes equal one pass per position,
// reasoning-mode numbers agree with their own dump re-scored by the prefix-matching reward, multiple-choice
// letters and categories, run checkpoints with their FLOPs, and the CLI table and JSON.

import Foundation
import Testing
@testable import RPT
import RPTKernels

@Suite struct EvalTests {
    // MARK: statistics

    @Test func wilsonIntervalsMatchTextbookValues() {
        // statsmodels proportion_confint(8, 10, method="wilson") = (0.4902, 0.9433); (0, 10) = (0, 0.2775).
        let a = AccuracyEstimate.wilson(successes: 8, n: 10)
        #expect(abs(a.low - 0.4902) < 1e-4 && abs(a.high - 0.9433) < 1e-4 && a.accuracy == 0.8)
        let b = AccuracyEstimate.wilson(successes: 0, n: 10)
        #expect(b.low == 0 && abs(b.high - 0.2775) < 1e-4)
        let c = AccuracyEstimate.mean([0, 0.5, 1, 1])
        // mean 0.625, sample sd 0.4787, half-width 1.96·0.4787/2 = 0.4691
        #expect(abs(c.accuracy - 0.625) < 1e-12 && abs(c.low - 0.1559) < 1e-3 && c.high == 1)
    }

    @Test func passAtKMatchesEnumeration() {
        for n in 1...7 {
            for c in 0...n {
                for k in 1...n {
                    // Fraction of k-subsets of n items (the first c correct) holding a correct one.
                    var hit = 0, total = 0
                    for mask in 0..<(1 << n) where mask.nonzeroBitCount == k {
                        total += 1
                        if mask & ((1 << c) - 1) != 0 { hit += 1 }
                    }
                    #expect(abs(PassAtK.estimate(n: n, correct: c, k: k) - Double(hit) / Double(total)) < 1e-12, "n \(n) c \(c) k \(k)")
                }
            }
        }
    }

    @Test func groupAccuracyCombinesGreedyAndSamples() {
        let items = [ItemScore(greedy: true, samples: [true, false, false, false]),
                     ItemScore(greedy: false, samples: [false, false, false, false]),
                     ItemScore(greedy: true, samples: [true, true, true, true])]
        let g = GroupAccuracy(items)
        #expect(g.n == 3 && g.k == 4)
        #expect(abs(g.greedy!.accuracy - 2.0 / 3) < 1e-12)
        #expect(abs(g.sampledMean!.accuracy - (0.25 + 0 + 1) / 3) < 1e-12)
        #expect(abs(g.passAtK!.accuracy - 2.0 / 3) < 1e-12)
        #expect(g.primary == g.greedy!)
    }

    // MARK: standard next-token accuracy

    /// Positions of the fixture's reference sequences whose targets are PyTorch's argmax at even t and
    /// another token at odd t, so the expected outcome of every position is known from PyTorch alone.
    func referencePositions(_ r: ModelReference, truncate: Int? = nil) throws -> (records: [PositionRecord], expected: [Bool]) {
        let logits = try r.ref.floats("logits")
        let width = try r.ref.ints("input_ids").count / 2
        var records: [PositionRecord] = [], expected: [Bool] = []
        for b in 0..<2 {
            let seq = try r.sequence(b)
            for t in 1..<seq.count {
                let row = Array(logits[((b * width + t - 1) * r.vocab)..<((b * width + t) * r.vocab)])
                let best = row.indices.max { row[$0] < row[$1] }!
                let target = t % 2 == 0 ? best : (best + 1) % r.vocab
                let ctx = Array(seq[0..<t].suffix(truncate ?? t))
                records.append(PositionRecord(docId: "doc\(b)", index: t, context: "", contextIds: ctx, targetId: target, target: "",
                                              continuation: [1], boundaries: [1], proxyEntropy: 1, proxyLogProb: -1,
                                              entropy: Float(t) / 4, splits: DifficultySplit.splits(forEntropy: Float(t) / 4)))
                expected.append(t % 2 == 0)
            }
        }
        return (records, expected)
    }

    @Test(arguments: ["llama_f32", "qwen2_f32", "qwen3_f32"])
    func standardAccuracyMatchesPyTorchArgmax(_ name: String) throws {
        let r = try ModelReference(name)
        let (records, expected) = try referencePositions(r)
        let plan = NextTokenAccuracyPlan(records: records, maxContext: 256)
        #expect(plan.chains.count == 2, "each document is one forward pass")
        #expect(plan.forwardTokens == records.filter { $0.docId == "doc0" }.map(\.contextIds.count).max()!
                + records.filter { $0.docId == "doc1" }.map(\.contextIds.count).max()!)
        let got = try plan.evaluate(backend: r.model.backend(), targets: records.map(\.targetId), batchTokens: 7)
        #expect(got == expected)
    }

    @Test func truncatedContextsMatchOneForwardPerPosition() throws {
        let r = try ModelReference("qwen2_f32")
        let (records, _) = try referencePositions(r, truncate: 6)
        for maxContext in [256, 4] {
            let plan = NextTokenAccuracyPlan(records: records, maxContext: maxContext)
            let got = try plan.evaluate(backend: r.model.backend(), targets: records.map(\.targetId))
            let oneByOne = try records.map { rec -> Bool in
                let ctx = Array(rec.contextIds.suffix(maxContext))
                let l = try allLogits(r.model, ctx)
                let last = Array(l.suffix(r.vocab))
                return last.indices.max { last[$0] < last[$1] }! == rec.targetId
            }
            #expect(got == oneByOne, "max context \(maxContext)")
            #expect(plan.forwardTokens < records.map { min($0.contextIds.count, maxContext) }.reduce(0, +))
        }
    }

    // MARK: reasoning mode

    func writeValidation(_ dir: String) throws -> String {
        let tok = try loadTokenizer(path: Repo.fixtureModel("qwen2_f32"))
        let text = "The answer is 42, and the next number is 43. Then 44 follows."
        let ids = tok.encode(text)
        var lines: [String] = []
        for t in stride(from: 3, to: ids.count - 2, by: 2) {
            let cont = Array(ids[t..<min(ids.count, t + 4)])
            var bounds: [Int] = [], total = 0
            for id in cont { total += tok.tokenBytes(id).count; bounds.append(total) }
            let e = Float(t) / 6
            lines.append(PositionRecord(docId: "d", index: t, context: tok.decode(Array(ids[0..<t])), contextIds: Array(ids[0..<t]),
                                        targetId: ids[t], target: tok.decode([ids[t]]), continuation: tok.bytes(of: cont), boundaries: bounds,
                                        proxyEntropy: e, proxyLogProb: -1, entropy: e, splits: DifficultySplit.splits(forEntropy: e)).line)
        }
        let path = dir + "/val.jsonl"
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func reasoningResultsAgreeWithTheirDumpAndAreSeeded() throws {
        let dir = temporaryDirectory("eval-reasoning")
        var o = EvalOptions()
        o.mode = .reasoning
        o.data = try writeValidation(dir)
        o.samples = 3
        o.maxResponseTokens = 12
        o.temperature = 1
        o.itemsPerBatch = 3
        o.maxPromptTokens = 240
        o.dump = dir + "/dump.jsonl"
        let model = EvalTarget(path: Repo.fixtureModel("qwen2_f32"))
        let results = try Evaluator(options: o).evaluate([model])
        let records = try PositionDataset.read(path: o.data)
        let lines = try String(contentsOfFile: o.dump!, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == records.count * 4)
        // Re-score every dumped response on its own: extraction + prefix matching on the record's bytes.
        var perItem: [String: [Double]] = [:], greedyItem: [String: Double] = [:]
        for l in lines {
            let j = try JSON.parse(Data(l.utf8), file: "dump")
            let rec = records.first { $0.index == j["index"]!.int! }!
            let answer = AnswerExtractor(requireThinkClose: false).extract(j["completion"]!.string!, truncated: j["failure"]?.string == "truncated")
            let reward = PrefixMatchReward().reward(RewardInput(answer: answer, continuationBytes: rec.continuation, boundaries: rec.boundaries, nextTokenId: rec.targetId))
            #expect(Double(reward) == j["reward"]!.double!)
            if j["kind"]!.string == "sample" { perItem["\(rec.index)", default: []].append(Double(reward)) }
            if j["kind"]!.string == "greedy" { greedyItem["\(rec.index)"] = Double(reward) }
        }
        // The per-item outcomes written to rpt-eval/1 are the dump's rewards, item by item.
        let outcomes = try EvalResults(options: o, itemCount: records.count, models: results, items: records.map(EvalItem.init)).json()["results"]!.array![0]["outcomes"]!
        #expect(outcomes["samples"]?.int == 3)
        #expect(outcomes["sample_correct"]!.array!.map { $0.double! } == records.map { perItem["\($0.index)"]!.reduce(0, +) })
        #expect(outcomes["greedy"]!.array!.map { $0.double! } == records.map { greedyItem["\($0.index)"]! })
        let all = results[0].groups.first { $0.name == "all" }!.accuracy
        let mean = perItem.values.map { $0.reduce(0, +) / 3 }.reduce(0, +) / Double(records.count)
        #expect(abs(all.sampledMean!.accuracy - mean) < 1e-12 && all.n == records.count && all.k == 3)
        #expect(results[0].answers!.total == records.count * 4)
        // Same seed, same numbers; the hard split is a subset of the easy one.
        let again = try Evaluator(options: o).evaluate([model])
        #expect(try EvalResults(options: o, itemCount: records.count, models: results).json().serialized().replacingOccurrences(of: #""seconds":[0-9.]+"#, with: "", options: .regularExpression)
                == EvalResults(options: o, itemCount: records.count, models: again).json().serialized().replacingOccurrences(of: #""seconds":[0-9.]+"#, with: "", options: .regularExpression))
        let n = Dictionary(uniqueKeysWithValues: results[0].groups.map { ($0.name, $0.accuracy.n) })
        #expect(n["easy"]! >= n["medium"]! && n["medium"]! >= n["hard"]! && n["hard"]! > 0)
    }

    @Test func reasoningRolloutsScoreEveryResponse() throws {
        let model = try Model.load(path: Repo.fixtureModel("qwen2_f32"))
        let tok = try loadTokenizer(path: Repo.fixtureModel("qwen2_f32"))
        // Correct when the response's first character is a letter: a checker with known, varied outcomes.
        let items = (0..<5).map { i in ReasoningItem(promptIds: [1, 2 + i, 7]) { text, _ in
            ScoredResponse(prediction: text, failure: nil, correct: text.first?.isLetter ?? false) } }
        var o = EvalOptions()
        o.samples = 4; o.maxResponseTokens = 3; o.itemsPerBatch = 2; o.temperature = 1
        let out = try ReasoningRollouts.run(backend: model.backend(), tokenizer: tok, items: items, options: o, stopTokens: [])
        #expect(out.count == 5 && out.allSatisfy { $0.greedy != nil && $0.samples.count == 4 })
        for x in out { for r in [x.greedy!] + x.samples { #expect(r.correct == (r.text.first?.isLetter ?? false) && r.tokens == 3) } }
        // The greedy response is the model's greedy continuation.
        let g = try Generator(model: model).generate(prompts: [[1, 4, 7]], options: GenerationOptions(maxTokens: 3))
        #expect(out[2].greedy!.text == tok.decode(g[0].tokens))
    }

    // MARK: multiple choice

    @Test func answerLettersAreReadFromBoxes() {
        let cases: [(String, String?)] = [("C", "C"), (" c ", "C"), ("(B)", "B"), ("B.", "B"), ("D) 42", "D"), ("\\text{E}", "E"),
                                          ("Option A", "A"), ("because", nil), ("K", nil), ("", nil), ("12", nil), ("AB", nil)]
        for (boxed, want) in cases { #expect(MultipleChoiceQuestion.letter(in: boxed, optionCount: 10) == want, "\(boxed)") }
        #expect(MultipleChoiceQuestion.letter(in: "E", optionCount: 4) == nil)
    }

    @Test func multipleChoiceFilesAreValidated() throws {
        let dir = temporaryDirectory("eval-mcq")
        let bad = [("{\"question\":\"q\",\"options\":[\"a\",\"b\"],\"answer\":\"C\"}", "no questions (1 skipped; first: line 1: answer \"C\""),
                   ("{\"question\":\"q\",\"options\":[\"a\"],\"answer\":\"A\"}", "options"),
                   ("{\"question\":\"q\",\"options\":[\"a\",\"b\"],\"answer\":\"A\"}\nnot json", "line 2"),
                   ("", "no questions")]
        for (i, (text, needle)) in bad.enumerated() {
            let p = dir + "/bad\(i).jsonl"
            try text.write(toFile: p, atomically: true, encoding: .utf8)
            let e = expectRPTError(naming: p) { _ = try MultipleChoiceQuestion.read(path: p) }
            #expect(e?.message.contains(needle) ?? false, "\(String(describing: e))")
        }
        // Unusable items among good ones are skipped and listed (full MMLU-Pro has a one-option item); MMLU's
        // `choices` with an integer `answer` reads like MMLU-Pro's `options` with `answer_index`.
        let mixed = dir + "/mixed.jsonl"
        try ["{\"question\":\"q1\",\"options\":[\"a\",\"b\"],\"answer\":\"B\"}",
             "{\"question\":\"q2\",\"options\":[\"only\"],\"answer\":\"A\"}",
             "{\"question\":\"q3\",\"choices\":[\"x\",\"y\",\"z\"],\"answer\":2,\"subject\":\"s\"}",
             "{\"question\":\"q4\",\"options\":[\"a\",7],\"answer\":\"A\"}"].joined(separator: "\n").write(toFile: mixed, atomically: true, encoding: .utf8)
        let file = try MultipleChoiceQuestion.load(path: mixed)
        #expect(file.questions.map(\.question) == ["q1", "q3"] && file.questions.map(\.answer) == ["B", "C"])
        #expect(file.skipped.count == 2 && file.skipped[0].hasPrefix("line 2: ") && file.skipped[1].hasPrefix("line 4: "))
        let q = try MultipleChoiceQuestion.read(path: Repo.path("Assets/mmlu-pro-sample/test.jsonl"))
        #expect(q.count == 70 && Set(q.map(\.category)).count == 14 && q.allSatisfy { $0.options.count >= 2 })
        #expect(q[0].prompt.contains("\nA. ") && q[0].prompt.contains("\\boxed{}"))
    }

    @Test func multipleChoiceAccuracyPerCategory() throws {
        let dir = temporaryDirectory("eval-mcq-run")
        let path = dir + "/q.jsonl"
        let lines = (0..<6).map { i in "{\"question\":\"What is \(i)+1?\",\"options\":[\"\(i)\",\"\(i + 1)\",\"\(i + 2)\"],\"answer_index\":1,\"category\":\"\(i % 2 == 0 ? "math" : "other")\"}" }
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        var o = EvalOptions()
        o.mode = .mcq; o.data = path; o.samples = 2; o.maxResponseTokens = 6; o.dump = dir + "/d.jsonl"
        let ev = try Evaluator(options: o)
        let m = try ev.evaluate([EvalTarget(path: Repo.fixtureModel("qwen2_f32"))])[0]
        #expect(m.groups.map(\.name) == ["all", "math", "other"])
        #expect(m.groups.map(\.accuracy.n) == [6, 3, 3])
        let json = try EvalResults(options: o, itemCount: 6, models: [m], items: ev.items).json()
        #expect(json["results"]?.array?[0]["categories"]?["math"]?["n"]?.int == 3)
        #expect(json["positions"]?.array?[1] == .object(["question_id": .string("2"), "category": .string("other")]))
        #expect(json["results"]?.array?[0]["outcomes"]?["sample_correct"]?.array?.count == 6)
        #expect(try String(contentsOfFile: o.dump!, encoding: .utf8).split(separator: "\n").count == 18)
    }

    // MARK: checkpoints of a run, CLI

    @Test func runCheckpointsCarryStepAndFlops() throws {
        let dir = temporaryDirectory("eval-run")
        let model = try Model.load(path: Repo.fixtureModel("qwen2_f32"))
        let opt = try AdamW(params: model.params, grads: ParameterBuffer(specs: model.layout.specs), lr: 1e-3)
        for (step, flops) in [(2, 1e9), (4, 2e9)] {
            let state = TrainerState(step: step, options: .object(["model": .string(Repo.fixtureModel("qwen2_f32"))]),
                                     payload: .object(["flops": .number(flops)]))
            _ = try Checkpoint.save(model: model, optimizer: opt.state, state: state, in: dir)
        }
        let t = try EvalTarget.run(dir, includeInitial: true)
        #expect(t.map(\.label) == ["initial", "step-000002", "step-000004"])
        #expect(t.map(\.step) == [0, 2, 4] && t.map(\.flops) == [nil, 1e9, 2e9])
        expectRPTError(naming: dir + "/none") { _ = try EvalTarget.run(dir + "/none", includeInitial: false) }
    }

    @Test func cliPrintsOneRowPerSplitAndWritesJSON() throws {
        let dir = temporaryDirectory("eval-cli")
        let data = try writeValidation(dir)
        let r = try runRPT(["eval", "--model", Repo.fixtureModel("qwen2_f32"), "--data", data, "--mode", "ntp", "--out", dir + "/e.json"])
        #expect(r.status == 0, "\(r.stderr)")
        for split in ["all", "easy", "medium", "hard"] {
            #expect(r.stdout.split(separator: "\n").contains { $0.hasPrefix(split + " ") }, "\(r.stdout)")
        }
        let j = try JSON.load(path: dir + "/e.json")
        #expect(j["format"]?.string == "rpt-eval/1" && j["mode"]?.string == "ntp")
        let records = try PositionDataset.read(path: data)
        #expect(j["results"]?.array?[0]["splits"]?["all"]?["n"]?.int == records.count)
        // Per-item outcomes: the positions in order, and an argmax 0/1 per position adding up to the accuracy.
        #expect(j["positions"]?.array?.map { EvalItem(json: $0)! } == records.map(EvalItem.init))
        let greedy = j["results"]!.array![0]["outcomes"]!["greedy"]!.array!.map { $0.double! }
        #expect(greedy.count == records.count && greedy.allSatisfy { $0 == 0 || $0 == 1 })
        #expect(abs(greedy.reduce(0, +) / Double(records.count) - j["results"]!.array![0]["splits"]!["all"]!["accuracy"]!.double!) < 1e-12)
        #expect(j["paired"] == nil && j["results"]!.array![0]["outcomes"]!["samples"] == nil)
        let bad = try runRPT(["eval", "--model", Repo.fixtureModel("qwen2_f32"), "--data", dir + "/missing.jsonl"])
        #expect(bad.status != 0 && bad.stderr.contains("missing.jsonl"))
    }

    /// `--kv-cache-dtype bf16` (and `--inference-dtype bf16` where the CPU has AVX-512 BF16) evaluates the same positions
    /// with outcomes that agree with fp32's almost everywhere (bf16 rounding can flip a near-tie's argmax).
    @Test func cliEvaluatesWithABF16CacheAndWeights() throws {
        let dir = temporaryDirectory("eval-cli-bf16")
        let data = try writeValidation(dir)
        func outcomes(_ extra: [String], _ name: String) throws -> [Double] {
            let r = try runRPT(["eval", "--model", Repo.fixtureModel("qwen2_f32"), "--data", data, "--mode", "ntp", "--out", dir + "/\(name).json"] + extra)
            #expect(r.status == 0, "\(r.stderr)")
            return try JSON.load(path: dir + "/\(name).json")["results"]!.array![0]["outcomes"]!["greedy"]!.array!.map { $0.double! }
        }
        let fp32 = try outcomes([], "fp32")
        var variants = [try outcomes(["--kv-cache-dtype", "bf16"], "cache")]
        if MatmulBF16.isSupported { variants.append(try outcomes(["--inference-dtype", "bf16"], "weights")) }
        for v in variants {
            #expect(v.count == fp32.count)
            #expect(Double(zip(v, fp32).filter { $0 == $1 }.count) >= 0.9 * Double(fp32.count))
        }
        let wrong = try runRPT(["eval", "--model", Repo.fixtureModel("qwen2_f32"), "--data", data, "--kv-cache-dtype", "fp16"])
        #expect(wrong.status != 0 && wrong.stderr.contains("kv-cache-dtype"))
    }
}
