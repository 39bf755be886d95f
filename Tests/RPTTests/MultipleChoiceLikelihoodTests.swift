// `rpt eval --mcq --mode ntp`: multiple choice by log-likelihood against PyTorch + transformers
// (Tests/Fixtures/mcq, scripts/make_mcq_fixtures.py): the same context and continuation ids as lm-eval's
// `_encode_pair`, each option's summed log-probability within float32 noise, and the same option chosen under
// each normalization (sum, per token, per byte); the CLI's JSON and dump carry them, and flags that only
// generation reads are refused with this method.

import Foundation
import Testing
@testable import RPT

@Suite struct MultipleChoiceLikelihoodTests {
    static let questionsPath = Repo.path("Assets/mmlu-pro-sample/test.jsonl")

    struct Fixture {
        var model: String
        var questions: [JSON]
        init(_ name: String) throws {
            let j = try JSON.load(path: Repo.path("Tests/Fixtures/mcq/\(name).json"))
            model = Repo.path(j["model"]!.string!)
            questions = j["questions"]!.array!
        }
    }

    @Test(arguments: ["stories260K", "llama_f32"])
    func matchesPyTorch(_ name: String) throws {
        let f = try Fixture(name)
        let lm = try LanguageModel.load(model: f.model, tokenizer: nil)
        let all = try MultipleChoiceQuestion.read(path: Self.questionsPath)
        let questions = Array(all.prefix(f.questions.count))
        let scores = try MultipleChoiceLikelihood.score(backend: lm.model.backend(), tokenizer: lm.tokenizer, questions: questions, batchTokens: 300)
        var decided = 0
        for (i, q) in questions.enumerated() {
            let ref = f.questions[i]
            #expect(ref["question_id"]?.string == q.id)
            let (ctx, conts) = MultipleChoiceLikelihood.encode(q, tokenizer: lm.tokenizer)
            #expect(ctx == ref["context_ids"]!.array!.map { $0.int! }, "question \(q.id): context ids")
            let options = ref["options"]!.array!
            for (k, o) in options.enumerated() {
                #expect(conts[k] == o["continuation_ids"]!.array!.map { $0.int! }, "question \(q.id) option \(k): continuation ids")
                let want = o["loglikelihood"]!.double!
                #expect(abs(scores[i][k].logLikelihood - want) <= 1e-3 + 1e-5 * abs(want),
                        "question \(q.id) option \(k): \(scores[i][k].logLikelihood) vs PyTorch \(want)")
                #expect(scores[i][k].tokens == o["tokens"]!.int! && scores[i][k].bytes == o["bytes"]!.int!)
            }
            for n in OptionNormalization.allCases {
                // A choice is compared where PyTorch's best option leads the runner-up by more than float noise.
                let values = options.map { o -> Double in
                    let ll = o["loglikelihood"]!.double!
                    return n == .none ? ll : ll / Double(n == .token ? o["tokens"]!.int! : o["bytes"]!.int!)
                }.sorted(by: >)
                guard values[0] - values[1] > 1e-3 else { continue }
                decided += 1
                #expect(MultipleChoiceQuestion.letters[MultipleChoiceLikelihood.choice(scores[i], n)] == ref["choices"]![n.rawValue]!.string!,
                        "question \(q.id), normalization \(n.rawValue)")
            }
        }
        #expect(decided >= 12, "only \(decided) clear choices to compare")
    }

    @Test func cliWritesEveryNormalizationAndRefusesGenerationFlags() throws {
        let dir = temporaryDirectory("mcq-loglikelihood")
        let f = try Fixture("stories260K")
        let r = try runRPT(["eval", "--model", f.model, "--mcq", "--mode", "ntp", "--mcq-norm", "token", "--data", Self.questionsPath,
                            "--out", dir + "/eval.json", "--dump", dir + "/dump.jsonl"], environment: ["RPT_PROGRESS_EVERY": "0.000001"])
        #expect(r.status == 0, "\(r.stderr)")
        // Not a terminal: plain progress lines at the interval asked for.
        #expect(r.stderr.contains("eval hf: ") && r.stderr.contains(" questions, "), "\(r.stderr)")
        #expect(r.stdout.contains("mcq by loglikelihood") && r.stdout.contains("accuracy (token)"), "\(r.stdout)")
        let j = try JSON.load(path: dir + "/eval.json")
        #expect(j["method"]?.string == "loglikelihood" && j["normalization"]?.string == "token" && j["temperature"] == nil)
        let result = try #require(j["results"]?.array?.first)
        let accuracy = try #require(result["loglikelihood"]?["accuracy"])
        for n in OptionNormalization.allCases { #expect(accuracy[n.rawValue]?["all"]?.double != nil, "\(n)") }
        #expect(accuracy["token"]?["all"]?.double == result["splits"]?["all"]?["accuracy"]?.double)
        // The dump: one line per question, its choices those of PyTorch where the fixture has the question.
        let lines = try String(contentsOfFile: dir + "/dump.jsonl", encoding: .utf8).split(separator: "\n").map { try JSON.parse(Data($0.utf8), file: "dump") }
        #expect(lines.count == (try MultipleChoiceQuestion.read(path: Self.questionsPath)).count)
        let greedy = try #require(result["outcomes"]?["greedy"]?.array)
        var checked = 0
        for (i, line) in lines.enumerated() {
            #expect(line["kind"]?.string == "loglikelihood" && line["loglikelihoods"]?.array?.count == line["bytes"]?.array?.count)
            #expect(line["reward"]?.int == greedy[i].int)
            guard let ref = f.questions.first(where: { $0["question_id"]?.string == line["question_id"]?.string }) else { continue }
            let lls = line["loglikelihoods"]!.array!.map { $0.double! }
            let want = ref["options"]!.array!.map { $0["loglikelihood"]!.double! }
            #expect(zip(lls, want).allSatisfy { abs($0 - $1) <= 1e-3 + 1e-5 * abs($1) })
            checked += 1
        }
        #expect(checked == f.questions.count)
        for (args, message) in [(["--mcq", "--mcq-norm", "byte"], "--mcq-norm goes with --mcq --mode ntp"),
                                (["--mcq", "--mode", "ntp", "--mcq-norm", "chars"], "is invalid for '--mcq-norm"),
                                (["--mcq", "--mode", "ntp", "--samples", "2"], "--samples draws responses"),
                                (["--mode", "ntp", "--samples", "2"], "--samples draws responses"),
                                (["--mcq", "--mode", "ntp", "--server", "http://127.0.0.1:9", "--served-model", "m"], "--server answers multiple choice by generating"),
                                (["--mode", "ntp", "--no-greedy"], "--no-greedy skips"),
                                (["--mode", "ntp", "--dump", "/tmp/x.jsonl"], "standard mode (--mode ntp) has none"),
                                (["--per-category", "2"], "--per-category goes with --mcq"),
                                (["--mcq", "--include-initial"], "--include-initial goes with --run"),
                                (["--mcq", "--flops-per-step", "1e9"], "--flops-per-step goes with --run")] {
            let bad = try runRPT(["eval", "--model", f.model, "--data", Self.questionsPath] + args)
            #expect(bad.status != 0 && bad.stderr.contains(message), "\(args): \(bad.stderr)")
        }
    }
}
