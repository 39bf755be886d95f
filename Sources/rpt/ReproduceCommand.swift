// `rpt reproduce CONFIG`: the paper's central comparison in miniature, from bundled assets, per seed
// (docs/reproduction.md): (a) pretrain a base model from config.json with NTP; prepare entropy-scored positions
// of a pool and of held-out evaluation documents; (c) a supervised cold start on demonstrations from part of
// the pool, for a fixed number of steps or until its traces calculate right (ColdStartChecks.swift); (d) RPT —
// GRPO with the prefix-matching reward on the rest of the pool's high-entropy positions, checkpoints spaced for a
// scaling curve; (b) NTP from (a) for the FLOPs (c) + (d) spent; (e) more
// supervised demonstrations from (c) for the FLOPs (d) spent; evaluate everything on the same held-out
// positions (standard mode for a, b, c; reasoning mode for c, d's checkpoints, e), paired differences with
// document-bootstrap CIs, the Eq. 5 fit, reasoning patterns, the report, and the gates G1–G5. Every stage is
// printed as the `rpt` command it runs; a finished stage is marked and skipped when the command is run again,
// so an interrupted reproduction continues where it stopped. With several seeds, a summary (mean and spread)
// and RESULTS.md tables are written at the end.

import ArgumentParser
import Foundation
import RPT
import RPTKernels

struct ReproduceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "reproduce",
        abstract: "Reproduce RPT's comparison in miniature (Table 1, Fig. 5, Fig. 6) from a config, per seed.",
        discussion: """
        Examples:
          rpt reproduce Assets/reproduce/ledger.json --seeds 0,1,2
          rpt reproduce Assets/reproduce/ledger-v15.json --seeds 29,30,31
          rpt reproduce Assets/reproduce/gsm8k.json --seeds 0 --out runs/gsm8k
        """)

    @Argument(help: "Reproduction config JSON (Assets/reproduce/*.json).") var config: String
    @Option(help: "Seeds, comma-separated: one full run each.") var seeds: String = "0"
    @Option(help: "Output directory (default: runs/reproduce/<config name>).") var out: String?
    @Flag(help: "Start over: remove the seeds' directories first.") var restart = false
    @Flag(name: .customLong("summary-only"), help: "Only (re)write the summary of the seeds already finished.") var summaryOnly = false
    @Option(help: "Threads (default: all cores).") var threads: Int?

    func run() throws {
        if let t = threads { Parallel.setThreads(t) }
        let cfg = try ReproductionConfig.load(path: config)
        try cfg.validate(file: config)
        let seedList = try seeds.split(separator: ",").map { s -> UInt64 in
            guard let v = UInt64(s.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("--seeds takes comma-separated integers, got '\(seeds)'") }
            return v
        }
        guard !seedList.isEmpty else { throw ValidationError("--seeds is empty") }
        guard Set(seedList).count == seedList.count else { throw ValidationError("--seeds names a seed twice: '\(seeds)'") }
        let root = out ?? "runs/reproduce/\(cfg.name)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        if !summaryOnly {
            for seed in seedList {
                let dir = root + "/seed-\(seed)"
                if restart, FileManager.default.fileExists(atPath: dir) { try FileManager.default.removeItem(atPath: dir) }
                try ReproductionRun(config: cfg, configPath: config, seed: seed, dir: dir, threads: threads).run()
            }
        }
        let summary = try ReproductionSummary(root: root, seeds: seedList, name: cfg.name)
        try AtomicFile.write(Data((summary.json.serialized() + "\n").utf8), to: root + "/summary.json")
        try AtomicFile.write(Data(summary.markdown(command: "rpt reproduce \(config) --seeds \(seeds)").utf8), to: root + "/RESULTS.md")
        print("\n" + summary.markdown(command: "rpt reproduce \(config) --seeds \(seeds)"))
        print("wrote \(root)/summary.json and \(root)/RESULTS.md")
    }
}

/// One seed of a reproduction: the stages, each run once and marked done.
struct ReproductionRun {
    let config: ReproductionConfig
    let configPath: String
    let seed: UInt64
    let dir: String
    let threads: Int?

    var threadArgs: [String] { threads.map { ["--threads", "\($0)"] } ?? [] }
    var corpusDir: String { dir + "/corpus" }
    var calculationArgs: [String] { ["--calculations"] + (config.corpus.template.map { ["--text-template", $0] } ?? []) }
    var pretrainCorpus: String { config.corpus.kind == "ledger" ? corpusDir + "/pretrain.jsonl" : config.corpus.pretrain! }
    var poolCorpus: String { corpusDir + "/pool.jsonl" }
    var evalCorpus: String { corpusDir + "/eval.jsonl" }
    var formatArgs: [String] { ["--template", config.template, "--chat", "raw", "--max-prompt-tokens", "\(config.eval.maxPromptTokens)"] }
    var evalData: String { dir + "/prep-eval/val.jsonl" }

    func run() throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir + "/.stages", withIntermediateDirectories: true)
        // A seed continues only under the configuration it started with: stages already done would not be redone.
        let configFile = dir + "/config.json", configText = try config.json.serialized() + "\n"
        if fm.fileExists(atPath: configFile), let earlier = try? String(contentsOfFile: configFile, encoding: .utf8), earlier != configText,
           !((try? fm.contentsOfDirectory(atPath: dir + "/.stages")) ?? []).isEmpty {
            throw RPTError("this seed was started with another configuration (its stages would mix budgets); run with --restart to start it over",
                           file: configFile)
        }
        try AtomicFile.write(Data(configText.utf8), to: configFile)
        print("\n##### reproduction '\(config.name)', seed \(seed) → \(dir)")
        let c = config
        var seconds: [String: Double] = (try? JSON.load(path: dir + "/stage-seconds.json"))?.object?.compactMapValues(\.double) ?? [:]

        func stage(_ name: String, _ what: String, outputs: [String] = [], _ body: () throws -> Void) throws {
            let marker = dir + "/.stages/" + name
            if fm.fileExists(atPath: marker) { print("=== \(name): done earlier (\(what))"); return }
            print("\n=== \(name): \(what)")
            fflush(nil)
            for o in outputs where fm.fileExists(atPath: o) { try fm.removeItem(atPath: o) }   // a partial earlier attempt
            let t0 = Date()
            try body()
            seconds[name] = Date().timeIntervalSince(t0)
            try AtomicFile.write(Data((JSON.object(seconds.mapValues { .number(($0 * 10).rounded() / 10) }).serialized() + "\n").utf8),
                                 to: dir + "/stage-seconds.json")
            try AtomicFile.write(Data(), to: marker)
        }

        try stage("corpus", "the corpus (\(c.corpus.kind))", outputs: [corpusDir]) {
            try fm.createDirectory(atPath: corpusDir, withIntermediateDirectories: true)
            guard c.corpus.kind == "ledger" else {
                // A seeded subset of the pool file for this seed; the first documents of the evaluation file.
                let pool = try JSONLSubset.write(from: c.corpus.pool!, keep: c.corpus.poolDocs, seed: seed, to: poolCorpus)
                let eval = try JSONLSubset.write(from: c.corpus.eval!, keep: c.corpus.evalDocs, seed: nil, to: evalCorpus)
                print("pretraining on \(pretrainCorpus); \(pool) pool documents → \(poolCorpus); \(eval) evaluation documents → \(evalCorpus)")
                return
            }
            let changes = c.corpus.changesPerTotal.map { ["--changes-per-total", "\($0)"] } ?? []
            try InProcess.run(CorpusCommand.self, ["corpus", "--docs", "\(c.corpus.pretrainDocs)", "--seed", "\(seed &* 1000 &+ 1)"] + changes + ["--out", pretrainCorpus])
            try InProcess.run(CorpusCommand.self, ["corpus", "--docs", "\(c.corpus.poolDocs)", "--seed", "\(seed &* 1000 &+ 2)"] + changes + ["--out", poolCorpus])
            try InProcess.run(CorpusCommand.self, ["corpus", "--docs", "\(c.corpus.evalDocs)", "--seed", "\(c.corpus.evalSeed)"] + changes + ["--out", evalCorpus])
        }
        try stage("base", c.baseModel.map { "(a) the given base model \($0)" } ?? "(a) NTP pretraining from \(c.model)", outputs: [dir + "/a"]) {
            guard c.baseModel == nil else { return }
            try InProcess.run(PretrainCommand.self, ["pretrain", "--model", c.model, "--data", pretrainCorpus] + calculationArgs + [
                "--out", dir + "/a", "--steps", "\(c.pretrain.steps)", "--batch-size", "\(c.pretrain.batchSize)", "--seq-len", "\(c.pretrain.seqLen)",
                "--lr", "\(c.pretrain.lr)", "--lr-schedule", c.pretrain.schedule, "--seed", "\(seed)", "--validation", "0.01",
                "--eval-every", "\(max(1, c.pretrain.steps / 4))", "--save-every", "\(c.pretrain.steps)", "--keep-last", "1",
                "--log-every", "\(max(1, c.pretrain.steps / 10))"] + threadArgs)
        }
        let base = try c.baseModel ?? latest(dir + "/a")
        try stage("positions", "entropy-scored positions of the pool and of the held-out evaluation documents (base model as proxy)",
                  outputs: [dir + "/prep-pool", dir + "/prep-eval"]) {
            let common = ["--policy", base, "--proxy", base] + calculationArgs + ["--min-context", "\(c.prepare.minContext)",
                          "--max-context-tokens", "\(c.prepare.maxContextTokens)", "--seed", "\(seed)"] + threadArgs
            try InProcess.run(PrepareCommand.self, ["prepare", "--corpus", poolCorpus, "--val-docs", "0",
                                                    "--entropy-threshold", "\(c.prepare.demoThreshold)", "--out", dir + "/prep-pool"]
                              + (c.prepare.maxPositionsPerDoc.map { ["--max-positions-per-doc", "\($0)"] } ?? []) + common)
            let evalDocs = try CorpusReader.read(path: evalCorpus, options: corpusOptions, onWarning: { _ in }).documents.count
            try InProcess.run(PrepareCommand.self, ["prepare", "--corpus", evalCorpus, "--val-docs", "\(evalDocs)",
                                                    "--entropy-threshold", "\(c.prepare.demoThreshold)", "--out", dir + "/prep-eval"] + common)
        }
        let demoArgs = ["--data", dir + "/prep-pool/train.jsonl", "--model", base, "--answer", c.demos.answer,
                        "--untraced-every", "\(c.demos.untracedEvery)", "--calculation-answers", "\(c.demos.calculationAnswers)", "--plain-text-every", "\(c.demos.plainTextEvery)", "--seed", "\(seed)"] + formatArgs
        try stage("demos", "cold-start demonstrations from \(Int(c.demos.docs * 100))% of the pool's documents; RL keeps the rest above entropy \(c.prepare.rlThreshold)") {
            try InProcess.run(DemosCommand.self, ["demos"] + demoArgs + ["--docs", "\(c.demos.docs)", "--rest-entropy-threshold", "\(c.prepare.rlThreshold)",
                                                  "--out", dir + "/demos.jsonl", "--rest", dir + "/rl.jsonl"] + threadArgs)
        }
        if let threshold = c.sft.stopAtCalculationsRight {
            // Resumable: training continues from c's latest checkpoint, and the checks already made are kept.
            try stage("cold-start", String(format: "(c) supervised cold start on the demonstrations until %.0f%% of its traces at held-out "
                                           + "calculation positions are right (at most %d steps)", 100 * threshold, c.sft.steps)) {
                try checkedColdStart(base: base, threshold: threshold)
            }
        } else {
            try stage("cold-start", "(c) supervised cold start on the demonstrations", outputs: [dir + "/c"]) {
                try InProcess.run(PretrainCommand.self, ["pretrain", "--sft", "--model", base, "--data", dir + "/demos.jsonl", "--out", dir + "/c"]
                                  + sftArgs(steps: c.sft.steps, seed: seed) + threadArgs)
            }
        }
        let coldStart = try latest(dir + "/c")
        try stage("rpt", "(d) RPT: GRPO with the prefix-matching reward, checkpoints at steps \(c.rl.checkpoints.map(String.init).joined(separator: ", "))",
                  outputs: [dir + "/d"]) {
            try InProcess.run(TrainCommand.self, ["train", "--model", coldStart, "--data", dir + "/rl.jsonl", "--out", dir + "/d",
                "--steps", "\(c.rl.steps)", "--batch-size", "\(c.rl.batchSize)", "--group-size", "\(c.rl.groupSize)", "--lr", "\(c.rl.lr)",
                "--lr-schedule", c.rl.schedule, "--temperature", "\(c.rl.temperature)", "--max-response-tokens", "\(c.rl.maxResponseTokens)",
                "--kl", "\(c.rl.kl)",
                "--dynamic-sampling-from", c.rl.dynamicSamplingFrom == "off" ? "100%" : c.rl.dynamicSamplingFrom,
                "--save-every", "\(c.rl.steps)", "--save-steps", c.rl.checkpoints.map(String.init).joined(separator: ","), "--keep-last", "0",
                "--seed", "\(seed)"] + formatArgs + threadArgs)
        }
        let rpt = try latest(dir + "/d")
        let coldFlops = try flops(coldStart), rlFlops = try flops(rpt)
        let n = Double(try Model.load(path: base).parameterCount)
        try stage("ntp-baseline", String(format: "(b) compute-matched NTP: (a) trained on for (c) + (d) = %.4g FLOPs", coldFlops + rlFlops),
                  outputs: [dir + "/b"]) {
            let perStep = 6 * n * Double(c.pretrain.batchSize * (c.pretrain.seqLen + 1))
            let steps = Int(((coldFlops + rlFlops) / perStep).rounded(.up))
            try InProcess.run(PretrainCommand.self, ["pretrain", "--model", base, "--data", pretrainCorpus] + calculationArgs + [
                "--out", dir + "/b", "--steps", "\(steps)", "--flops", "\(coldFlops + rlFlops)", "--batch-size", "\(c.pretrain.batchSize)",
                "--seq-len", "\(c.pretrain.seqLen)", "--lr", "\(c.baseline.lr)", "--lr-schedule", c.baseline.schedule, "--seed", "\(seed &+ 1)",
                "--validation", "0.01", "--eval-every", "\(max(1, steps / 4))", "--save-every", "\(steps)", "--keep-last", "1",
                "--log-every", "\(max(1, steps / 10))"] + threadArgs)
            try requireCompute(latest(dir + "/b"), atLeast: coldFlops + rlFlops, what: "(b) compute-matched NTP")
        }
        try stage("sft-control", String(format: "(e) supervised control: (c) trained on demonstrations of RL's documents for (d)'s %.4g FLOPs", rlFlops),
                  outputs: [dir + "/e"]) {
            try InProcess.run(DemosCommand.self, ["demos"] + demoArgs + ["--docs-of", dir + "/rl.jsonl", "--out", dir + "/demos-control.jsonl"] + threadArgs)
            let tokensPerStep = try meanTokensPerStep(dir + "/c/metrics.jsonl")
            let steps = Int((rlFlops / (6 * n * tokensPerStep) * 1.1).rounded(.up))
            try InProcess.run(PretrainCommand.self, ["pretrain", "--sft", "--model", coldStart, "--data", dir + "/demos-control.jsonl", "--out", dir + "/e",
                                                     "--flops", "\(rlFlops)"] + sftArgs(steps: max(1, steps), seed: seed &+ 2) + threadArgs)
            try requireCompute(latest(dir + "/e"), atLeast: rlFlops, what: "(e) supervised control")
        }
        let control = try latest(dir + "/e"), ntpBaseline = try latest(dir + "/b")
        let finalLabel = (rpt as NSString).lastPathComponent
        // Both modes evaluate the same seeded subset of the held-out positions (it depends only on their count and the seed).
        let evalCommon = ["--data", evalData, "--resamples", "\(c.eval.resamples)", "--seed", "0"]
            + (c.eval.maxPositions.map { ["--max-positions", "\($0)"] } ?? []) + threadArgs
        let reasoningArgs = ["--mode", "reasoning", "--max-response-tokens", "\(c.rl.maxResponseTokens)", "--batch", "64"] + formatArgs
        try stage("evaluate", "the same held-out positions: standard mode for (a), (b), (c), (d); reasoning mode for (c), every (d) checkpoint, (e)") {
            try InProcess.run(EvalCommand.self, ["eval", "--model", base, "--label", "base", "--model", ntpBaseline, "--label", "ntp-matched",
                                                 "--model", coldStart, "--label", "cold-start", "--model", rpt, "--label", "rpt",
                                                 "--mode", "ntp", "--baseline", "ntp-matched", "--out", dir + "/eval-ntp.json"] + evalCommon)
            try InProcess.run(EvalCommand.self, ["eval", "--run", dir + "/d", "--include-initial", "--baseline", "initial",
                                                 "--out", dir + "/eval-reasoning.json", "--dump", dir + "/responses.jsonl"] + reasoningArgs + evalCommon)
            try InProcess.run(EvalCommand.self, ["eval", "--model", control, "--label", "sft-control",
                                                 "--out", dir + "/eval-control.json", "--dump", dir + "/responses-control.jsonl"] + reasoningArgs + evalCommon)
        }
        try stage("compare", "paired differences with document-bootstrap 95% CIs (G1, G2, G4, G5)") {
            let r = dir + "/eval-reasoning.json", s = dir + "/eval-ntp.json"
            for (name, a, b) in [("rpt-vs-ntp-matched", "\(r):\(finalLabel)", "\(s):ntp-matched"),
                                 ("rpt-vs-cold-start", "\(r):\(finalLabel)", "\(r):initial"),
                                 ("rpt-vs-sft-control", "\(r):\(finalLabel)", "\(dir)/eval-control.json:sft-control"),
                                 ("cold-start-vs-base-ntp", "\(s):cold-start", "\(s):base"),
                                 ("rpt-vs-cold-start-ntp", "\(r):\(finalLabel)", "\(s):cold-start")] {
                try InProcess.run(CompareCommand.self, ["compare", "--a", a, "--b", b, "--resamples", "\(c.eval.resamples)",
                                                        "--out", "\(dir)/compare-\(name).json"])
            }
        }
        try stage("fit", "accuracy of (d) against RL compute, P(C) = A / C^α + P* per split (Eq. 5)") {
            do {
                try InProcess.run(FitCommand.self, ["fit", "--points", dir + "/eval-reasoning.json", "--out", dir + "/fit.json"])
            } catch let error as RPTError where error.message.contains(FitCommand.nothingFittable) {
                print("fit: \(error.message)")   // recorded as G3 not met
            }
        }
        try stage("patterns", "reasoning patterns of (c) and (d) (Table 9 groups)") {
            try InProcess.run(PatternsCommand.self, ["patterns", "--traces", dir + "/responses.jsonl", "--label", "initial",
                                                     "--compare-label", finalLabel, "--out", dir + "/patterns.json"])
        }
        try stage("report", "the HTML report") {
            try InProcess.run(ReportCommand.self, ["report", "--run", dir + "/d", "--out", dir + "/report.html",
                                                   "--eval", dir + "/eval-reasoning.json", "--eval", dir + "/eval-ntp.json", "--eval", dir + "/eval-control.json",
                                                   "--patterns", dir + "/patterns.json", "--title", "RPT reproduction · \(c.name) · seed \(seed)"]
                              + (fm.fileExists(atPath: dir + "/fit.json") ? ["--fit", dir + "/fit.json"] : []))
        }
        try stage("results", "gates and tables of this seed") {
            let results = try ReproductionSeedResults.collect(dir: dir, finalLabel: finalLabel, seed: seed,
                                                                flops: ["base": c.baseModel == nil ? try flops(base) : 0, "cold_start": coldFlops, "rpt": rlFlops,
                                                                        "ntp_baseline": try flops(ntpBaseline), "sft_control": try flops(control)])
            try AtomicFile.write(Data((results.json.serialized() + "\n").utf8), to: dir + "/results.json")
            print(results.text)
        }
    }

    var corpusOptions: CorpusOptions {
        get throws {
            CorpusOptions(textField: "text", template: try config.corpus.template.map { try TextTemplate($0, label: "corpus.template") }, calculations: true)
        }
    }

    func sftArgs(steps: Int, seed: UInt64, saveEvery: Int? = nil) -> [String] {
        let s = config.sft
        return ["--steps", "\(steps)", "--batch-size", "\(s.batchSize)", "--seq-len", "255", "--lr", "\(s.lr)", "--lr-schedule", s.schedule,
                "--seed", "\(seed)", "--validation", "0.01", "--eval-every", "\(max(1, steps / 3))", "--save-every", "\(saveEvery ?? steps)",
                "--keep-last", "1", "--log-every", "\(max(1, steps / 10))"]
    }

    /// (c) with the stopping check (ColdStartChecks.swift): train to the next check step (resuming from c's
    /// latest checkpoint), answer at the check positions, record the check, until one reaches `threshold` or
    /// the horizon `sft.steps` is reached. c's latest checkpoint is then the cold start.
    func checkedColdStart(base: String, threshold: Double) throws {
        let s = config.sft, every = s.checkEvery ?? ReproductionConfig.SFT.defaultCheckEvery
        let checkDir = dir + "/cold-start-checks", checkFile = checkDir + "/checks.jsonl", positionsFile = checkDir + "/positions.jsonl"
        try FileManager.default.createDirectory(atPath: checkDir, withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: positionsFile) {
            let pool = try PositionDataset.read(path: dir + "/prep-pool/train.jsonl")
            var options = DemonstrationOptions()
            options.documents = config.demos.docs
            options.seed = seed
            let demoDocs = Set(try Demonstrations.demoDocuments(pool, options: options))
            let positions = ColdStartChecks.positions(pool: pool, excluding: demoDocs, count: s.checkPositions ?? ReproductionConfig.SFT.defaultCheckPositions,
                                                      seed: seed)
            guard !positions.isEmpty else {
                throw RPTError("no calculation position outside the demonstration documents to check the cold start on", file: dir + "/prep-pool/train.jsonl")
            }
            try PositionDataset.write(positions, to: positionsFile)
            print("cold start: checking every \(every) steps on \(positions.count) calculation positions of \(Set(positions.map(\.docId)).count) "
                  + "documents it never trains on → \(positionsFile)")
        }
        let positions = try PositionDataset.read(path: positionsFile)
        var checks = try ColdStartChecks.read(path: checkFile)
        while let next = checks.nextStep(every: every, horizon: s.steps, threshold: threshold) {
            let trained = try Checkpoint.latest(in: dir + "/c").map { try TrainerState.load(path: $0 + "/" + Checkpoint.stateFile).step } ?? 0
            if trained < next {
                try InProcess.run(PretrainCommand.self, ["pretrain", "--sft", "--model", base, "--data", dir + "/demos.jsonl", "--out", dir + "/c",
                                                         "--resume", "--stop-after", "\(next)"] + sftArgs(steps: s.steps, seed: seed, saveEvery: every) + threadArgs)
            }
            let checkpoint = try latest(dir + "/c")
            let step = try TrainerState.load(path: checkpoint + "/" + Checkpoint.stateFile).step
            guard step == next else { throw RPTError("the cold start's latest checkpoint is at step \(step), not at its check step \(next)", file: checkpoint) }
            let dump = checkDir + String(format: "/responses-step-%06d.jsonl", step)
            try InProcess.run(EvalCommand.self, ["eval", "--model", checkpoint, "--label", "cold-start", "--data", positionsFile, "--dump", dump,
                                                 "--mode", "reasoning", "--max-response-tokens", "\(config.rl.maxResponseTokens)", "--batch", "64",
                                                 "--resamples", "100", "--seed", "0"] + formatArgs + threadArgs)
            let check = try ColdStartChecks.check(step: step, dump: dump, positions: positions)
            checks.checks.append(check)
            try checks.write(to: checkFile)
            print(String(format: "cold start: step %d, calculations exactly right in %.1f%% of %d check positions (stop at %.0f%%)",
                         step, 100 * check.calculationRight, check.responses, 100 * threshold))
        }
        let last = checks.checks.last!
        print(checks.stoppedEarly(horizon: s.steps, threshold: threshold) ? "cold start: stopped at step \(last.step) of at most \(s.steps)"
              : last.calculationRight >= threshold ? "cold start: the threshold was reached at the horizon, step \(s.steps)"
              : "cold start: the horizon, \(s.steps) steps, came before any check reached the threshold")
    }

    func latest(_ run: String) throws -> String {
        guard let p = Checkpoint.latest(in: run) else { throw RPTError("no checkpoint: the stage that writes it did not finish", file: run) }
        return p
    }

    /// Training FLOPs recorded in a checkpoint's trainer_state.json.
    func flops(_ checkpoint: String) throws -> Double {
        let state = try TrainerState.load(path: checkpoint + "/" + Checkpoint.stateFile)
        guard let f = state.payload["flops"]?.double, f > 0 else { throw RPTError("trainer_state.json records no training FLOPs", file: checkpoint) }
        return f
    }

    /// A compute-matched run must have spent at least the compute it is matched to (it stops on --flops, or on
    /// its step count if that came first).
    func requireCompute(_ checkpoint: String, atLeast budget: Double, what: String) throws {
        let spent = try flops(checkpoint)
        guard spent >= budget else {
            throw RPTError(String(format: "%@ spent %.4g FLOPs, less than the %.4g it is matched to (its step count ran out first)", what, spent, budget),
                           file: checkpoint)
        }
    }

    /// Mean tokens per optimizer step of a run's metrics.jsonl.
    func meanTokensPerStep(_ metrics: String) throws -> Double {
        let text = try String(contentsOfFile: metrics, encoding: .utf8)
        let tokens = try text.split(separator: "\n").compactMap { try JSON.parse(Data($0.utf8), file: metrics)["tokens"]?.double }
        guard !tokens.isEmpty else { throw RPTError("no \"tokens\" in the metrics", file: metrics) }
        return tokens.reduce(0, +) / Double(tokens.count)
    }
}
