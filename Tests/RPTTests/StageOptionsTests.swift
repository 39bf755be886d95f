// One options struct per stage (StageOptions): every flag a stage's --help lists sets its option (checked through
// --print-options with a non-default value for each), config files and flags are layers in that order, and the
// stored form round-trips.

import Foundation
import Testing
@testable import RPT

@Suite struct StageOptionsTests {
    /// Each stage: its flags that set an option (flag, value, option key, the option's JSON value) and the flags
    /// that belong to the command only. Every flag `--help` lists must be in one of the two.
    static let stages: [(stage: String, options: [(String, String, String, JSON)], commandOnly: Set<String>)] = [
        ("train", [
            ("--model", "m", "model", .string("m")), ("--tokenizer", "t", "tokenizer", .string("t")), ("--data", "d", "data", .string("d")),
            ("--out", "o", "out", .string("o")), ("--steps", "7", "steps", .number(7)), ("--group-size", "3", "groupSize", .number(3)),
            ("--batch-size", "5", "batchSize", .number(5)), ("--seed", "9", "seed", .number(9)), ("--temperature", "0.5", "temperature", .number(0.5)),
            ("--max-response-tokens", "33", "maxResponseTokens", .number(33)), ("--max-prompt-tokens", "99", "maxPromptTokens", .number(99)),
            ("--lr", "0.25", "lr", .number(0.25)), ("--lr-schedule", "warmup:3", "lrSchedule", .string("warmup:3")),
            ("--template", "v2", "template", .string("v2")), ("--chat", "raw", "chat", .string("raw")), ("--reward", "dense", "reward", .string("dense")),
            ("--reward-command", "cat", "rewardCommand", .string("cat")), ("--reward-timeout", "5", "rewardTimeout", .number(5)),
            ("--kl", "0.5", "klCoefficient", .number(0.5)), ("--epochs", "2", "epochs", .number(2)), ("--mini-batches", "2", "miniBatches", .number(2)),
            ("--dynamic-sampling-from", "30%", "dynamicSamplingFromStep", .string("30%")), ("--save-every", "4", "saveEvery", .number(4)),
            ("--save-steps", "1,2,8", "saveSteps", .array([.number(1), .number(2), .number(8)])), ("--report-to", "tensorboard", "reportTo", .string("tensorboard")),
            ("--inference-dtype", "bf16", "inferenceDType", .string("bf16")), ("--kv-cache-dtype", "bf16", "kvCacheDType", .string("bf16")),
            ("--keep-last", "0", "keepLast", .number(0)),
            ("--share-prompts", "", "sharePrompts", .bool(true)), ("--train-dtype", "bf16", "trainDType", .string("bf16")),
        ], ["--config", "--stop-after", "--resume", "--print-options", "--threads", "--help", "--version"]),
        ("pretrain", [
            ("--model", "m", "model", .string("m")), ("--tokenizer", "t", "tokenizer", .string("t")), ("--data", "d", "data", .string("d")),
            ("--out", "o", "out", .string("o")), ("--steps", "7", "steps", .number(7)), ("--seq-len", "64", "seqLen", .number(64)),
            ("--batch-size", "5", "batchSize", .number(5)), ("--grad-accumulation", "2", "gradAccumulation", .number(2)), ("--lr", "0.25", "lr", .number(0.25)),
            ("--lr-schedule", "constant", "schedule", .string("constant")), ("--weight-decay", "0.5", "weightDecay", .number(0.5)),
            ("--grad-clip", "2", "gradClip", .number(2)), ("--seed", "9", "seed", .number(9)), ("--validation", "3", "validation", .number(3)),
            ("--eval-every", "3", "evalEvery", .number(3)), ("--eval-batches", "2", "evalBatches", .number(2)), ("--save-every", "4", "saveEvery", .number(4)),
            ("--keep-last", "0", "keepLast", .number(0)), ("--save-bf16", "", "saveBF16", .bool(true)), ("--train-dtype", "bf16", "trainDType", .string("bf16")), ("--log-every", "2", "logEvery", .number(2)),
            ("--report-to", "tensorboard", "reportTo", .string("tensorboard")), ("--text-field", "body", "textField", .string("body")),
            ("--text-template", "{a}\\n{b}", "template", .string("{a}\n{b}")), ("--delimiter", "\\t", "delimiter", .string("\t")),
            ("--sft", "", "sft", .bool(true)), ("--prompt-field", "p", "promptField", .string("p")), ("--completion-field", "c", "completionField", .string("c")),
            ("--calculations", "", "calculations", .bool(true)), ("--flops", "1e9", "flopsBudget", .number(1e9)),
        ], ["--config", "--stop-after", "--resume", "--print-options", "--threads", "--help", "--version", "--template"]),
        ("prepare", [
            ("--policy", "p", "policy", .string("p")), ("--policy-tokenizer", "pt", "policyTokenizer", .string("pt")), ("--proxy", "x", "proxy", .string("x")),
            ("--proxy-tokenizer", "xt", "proxyTokenizer", .string("xt")), ("--split-model", "proxy", "splitModel", .string("proxy")),
            ("--split-model-tokenizer", "st", "splitModelTokenizer", .string("st")), ("--corpus", "c", "corpus", .string("c")),
            ("--out", "o", "outputDirectory", .string("o")), ("--text-field", "body", "textField", .string("body")),
            ("--text-template", "{a}\\n{b}", "textTemplate", .string("{a}\n{b}")), ("--delimiter", "\\n\\n", "delimiter", .string("\n\n")),
            ("--calculations", "", "calculations", .bool(true)), ("--entropy-threshold", "0.5", "entropyThreshold", .number(0.5)),
            ("--val-docs", "3", "validationDocuments", .number(3)), ("--seed", "9", "seed", .number(9)), ("--top-k", "8", "topK", .number(8)),
            ("--horizon", "4", "horizon", .number(4)), ("--window", "64", "window", .number(64)), ("--min-context", "2", "minContext", .number(2)),
            ("--max-context-tokens", "50", "maxContextTokens", .number(50)), ("--max-positions-per-doc", "3", "maxPositionsPerDocument", .number(3)),
            ("--batch-tokens", "512", "batchTokens", .number(512)),
        ], ["--stats", "--proxy-server", "--proxy-served-model", "--server-concurrency", "--server-timeout", "--server-retries", "--config",
            "--print-options", "--threads", "--help", "--version", "--template"]),
        ("eval", [
            ("--data", "d", "data", .string("d")), ("--samples", "2", "samples", .number(2)), ("--no-greedy", "", "greedy", .bool(false)),
            ("--temperature", "0.5", "temperature", .number(0.5)), ("--top-p", "0.5", "topP", .number(0.5)),
            ("--max-response-tokens", "33", "maxResponseTokens", .number(33)), ("--max-prompt-tokens", "99", "maxPromptTokens", .number(99)),
            ("--template", "v2", "template", .string("v2")), ("--chat", "raw", "chat", .string("raw")), ("--max-positions", "10", "maxItems", .number(10)),
            ("--per-category", "2", "perCategory", .number(2)), ("--batch", "3", "itemsPerBatch", .number(3)), ("--batch-tokens", "64", "batchTokens", .number(64)),
            ("--seed", "9", "seed", .number(9)), ("--dump", "r.jsonl", "dump", .string("r.jsonl")), ("--reward-command", "cat", "rewardCommand", .string("cat")),
            ("--reward-timeout", "5", "rewardTimeout", .number(5)), ("--mcq-norm", "token", "optionNormalization", .string("token")),
            ("--mcq", "", "mode", .string("mcq")), ("--mode", "ntp", "mcqMethod", .string("loglikelihood")),
            ("--inference-dtype", "bf16", "inferenceDType", .string("bf16")), ("--kv-cache-dtype", "bf16", "kvCacheDType", .string("bf16")),
        ], ["--model", "--label", "--tokenizer", "--run", "--flops-per-step", "--include-initial", "--out", "--threads", "--baseline",
            "--paired-score", "--resamples", "--server", "--served-model", "--server-tokenizer", "--server-label", "--server-concurrency",
            "--server-timeout", "--server-retries", "--config", "--print-options", "--help", "--version", "--greedy"]),
    ]

    @Test(arguments: 0..<4) func everyFlagSetsItsOption(_ i: Int) throws {
        let (stage, options, commandOnly) = Self.stages[i]
        let help = try runRPT([stage, "--help"]).stdout
        // The option lines of the help: "  --name <value>", "  -h, --help", "  --a, --b <value>", "  --x/--no-x".
        let listed = Set(help.split(separator: "\n").filter { $0.hasPrefix("  -") }.flatMap { line -> [String] in
            let names = line.dropFirst(2).components(separatedBy: "  ")[0].components(separatedBy: " <")[0]
            return names.split(whereSeparator: { ", /".contains($0) }).map(String.init).filter { $0.hasPrefix("--") }
        })
        let covered = Set(options.map(\.0)).union(commandOnly)
        #expect(listed.subtracting(covered).isEmpty, "\(stage) flags without a case here: \(listed.subtracting(covered).sorted())")
        let args = options.flatMap { $0.1.isEmpty ? [$0.0] : [$0.0, $0.1] }
        let r = try runRPT([stage, "--print-options"] + args)
        #expect(r.status == 0, "\(r.stderr)")
        let printed = try JSON.parse(Data(r.stdout.utf8), file: "stdout")
        for (flag, _, key, want) in options {
            let got = printed[key]
            let same = if case .number(let a) = want, let b = got?.double { Float(a) == Float(b) } else { got == want }
            #expect(same, "\(stage) \(flag): \(key) is \(got.map { $0.serialized() } ?? "absent"), want \(want.serialized())")
        }
        // Every printed option differs from its default, so no flag was silently dropped.
        let defaults = try runRPT([stage, "--print-options"] + (stage == "eval" ? ["--mode", "ntp"] : [])).stdout
        let base = try JSON.parse(Data(defaults.utf8), file: "stdout")
        for (flag, _, key, _) in options {
            #expect(base[key] != printed[key], "\(stage) \(flag) leaves \(key) at its default")
        }
    }

    @Test func configThenFlagsOverDefaults() throws {
        let dir = temporaryDirectory("stage-options")
        let config = dir + "/c.json"
        try Data(#"{"max_iters": 12, "learning_rate": 0.125, "block_size": 32, "seed": 4503599627370497}"#.utf8).write(to: URL(fileURLWithPath: config))
        let r = try runRPT(["pretrain", "--print-options", "--config", config, "--lr", "0.5", "--seed", "18446744073709551614"])
        #expect(r.status == 0, "\(r.stderr)")
        let o = try JSON.parse(Data(r.stdout.utf8), file: "stdout")
        #expect(o["steps"]?.int == 12 && o["seqLen"]?.int == 32, "nanoGPT names in the config set the options")
        #expect(o["lr"]?.double == 0.5, "a flag overrides the config")
        #expect(r.stdout.contains("\"seed\" : 18446744073709551614"), "a 64-bit seed from a flag stays exact")
        #expect(o["batchSize"]?.int == PretrainOptions().batchSize, "absent keys keep the options' defaults")
        #expect(try PretrainOptions.load(config: config).seed == 4503599627370497, "a config's integers are exact up to 2^53")
        let options = try PretrainOptions.layered(config: config, flags: ["gradAccumulation": "3"])
        #expect(options.steps == 12 && options.gradAccumulation == 3 && options.lr == 0.125)
    }

    @Test func badValuesNameTheirSource() throws {
        let dir = temporaryDirectory("stage-options")
        let config = dir + "/c.json"
        try Data(#"{"steps": "many"}"#.utf8).write(to: URL(fileURLWithPath: config))
        expectRPTError(naming: config) { _ = try RPTTrainOptions.layered(config: config) }
        expectRPTError(naming: "command line") { _ = try RPTTrainOptions.layered(config: nil, flags: ["steps": "\"many\""]) }
        expectRPTError(naming: "command line") { _ = try PrepareOptions.layered(config: nil, flags: ["stepz": "1"]) }
        let bad = try runRPT(["prepare", "--print-options", "--config", config])
        #expect(bad.status != 0 && bad.stderr.contains("unknown option 'steps'") && bad.stderr.contains(config), "\(bad.stderr)")
        // eval --run layers the run's trained format: a run that is not there is an error, not the defaults.
        for run in [dir + "/no-such-run", dir] {
            let r = try runRPT(["eval", "--run", run, "--print-options"])
            #expect(r.status != 0 && r.stderr.contains(run) && r.stdout.isEmpty, "\(r.stderr)")
        }
    }

    @Test func namesAreTheStoredProperties() throws {
        // Optional options absent from the encoded defaults are still names a config or a checkpoint may use.
        let names = Set(RPTTrainOptions.configKeys.names)
        #expect(names.isSuperset(of: ["tokenizer", "reference", "saveSteps", "rewardCommand", "steps", "inferenceDType"]))
        #expect(Set(PrepareOptions.configKeys.names).isSuperset(of: ["proxyServer", "textTemplate", "window", "outputDirectory"]))
        var o = PretrainOptions(model: "m", data: "d", out: "o")
        o.flopsBudget = 1e12
        o.template = "{x}"
        #expect(try PretrainOptions.stored(o.json) == o)
        #expect(throws: RPTError.self) { _ = try PretrainOptions.stored(.object(["groupSize": .number(8)])) }
    }
}
