// `rpt reproduce` (docs/reproduction.md): the config (defaults, strict keys, paths relative to the file), the
// gates judged from comparison files, the FLOPs budget that compute-matches the baselines, and a CI-sized
// reproduction end to end — every stage, matched compute, results, summary, and a second run that resumes
// from the finished stages instead of redoing them.

import Foundation
import Testing
@testable import RPT

@Suite(.serialized) struct ReproductionTests {
    @Test func configKeepsDefaultsResolvesPathsAndRejectsUnknownKeys() throws {
        let dir = temporaryDirectory("repro-config")
        try #"{"name": "x", "rl": {"steps": 30, "checkpoints": [5, 10, 15, 20, 25, 30]}, "model": "m/config.json"}"#
            .write(toFile: dir + "/a.json", atomically: true, encoding: .utf8)
        let c = try ReproductionConfig.load(path: dir + "/a.json")
        #expect(c.name == "x" && c.rl.steps == 30 && c.rl.groupSize == 8 && c.sft.steps == ReproductionConfig().sft.steps)
        #expect(c.model == dir + "/m/config.json" && c.template == dir + "/prompt.txt")
        try #"{"rl": {"group_sise": 4}}"#.write(toFile: dir + "/b.json", atomically: true, encoding: .utf8)
        let e = expectRPTError(naming: dir + "/b.json") { _ = try ReproductionConfig.load(path: dir + "/b.json") }
        #expect(e?.message.contains("rl.group_sise") == true && e?.message.contains("group_size") == true)
        // Every bundled config (every JSON file in Assets/reproduce but the model's and tokenizer's files) loads and
        // validates from any working directory.
        let modelFiles: Set = ["config.json", "tokenizer.json", "tokenizer_config.json"]
        let bundled = try FileManager.default.contentsOfDirectory(atPath: Repo.path("Assets/reproduce"))
            .filter { $0.hasSuffix(".json") && !modelFiles.contains($0) }.sorted()
        #expect(bundled.contains("ledger.json") && bundled.contains("gsm8k.json") && bundled.contains("ledger-v15.json"))
        for name in bundled {
            let path = Repo.path("Assets/reproduce/\(name)")
            let cfg = try ReproductionConfig.load(path: path)
            try cfg.validate(file: path)
            #expect(cfg.rl.checkpoints.count >= 6)
        }
        var bad = c
        bad.rl.checkpoints = [1, 2, 3]
        expectRPTError(naming: "cfg") { try bad.validate(file: "cfg") }
        // corpus.changes_per_total: absent from a config that does not give it (so runs started before it existed
        // continue under the same stored config), read when given, checked against the generator's range.
        let stored = try c.json
        #expect(c.corpus.changesPerTotal == nil && stored["corpus"]?["changes_per_total"] == nil)
        #expect(try ReproductionConfig.load(path: Repo.path("Assets/reproduce/ledger-v9.json")).corpus.changesPerTotal == 3)
        var far = c
        far.corpus.changesPerTotal = 0
        let e0 = expectRPTError(naming: "cfg") { try far.validate(file: "cfg") }
        #expect(e0?.message.contains("corpus.changes_per_total") == true)
        // The cold start's stopping check: absent unless given (stored configs stay the same), checked when given.
        #expect(c.sft.stopAtCalculationsRight == nil && stored["sft"]?["check_every"] == nil)
        let v13 = try ReproductionConfig.load(path: Repo.path("Assets/reproduce/ledger-v13.json"))
        #expect(v13.sft.stopAtCalculationsRight == 0.9 && v13.sft.checkEvery == 500 && v13.sft.checkPositions == 1000 && v13.sft.steps == 12000)
        for (key, value, message) in [("stopAtCalculationsRight", 1.5, "stop_at_calculations_right"), ("checkEvery", 0, "check_every"),
                                      ("checkPositions", 0, "check_positions")] {
            var wrong = v13
            switch key {
            case "stopAtCalculationsRight": wrong.sft.stopAtCalculationsRight = value
            case "checkEvery": wrong.sft.checkEvery = Int(value)
            default: wrong.sft.checkPositions = Int(value)
            }
            let e1 = expectRPTError(naming: "cfg") { try wrong.validate(file: "cfg") }
            #expect(e1?.message.contains("sft.\(message)") == true, "\(String(describing: e1))")
        }
        var orphan = v13
        orphan.sft.stopAtCalculationsRight = nil
        let e2 = expectRPTError(naming: "cfg") { try orphan.validate(file: "cfg") }
        #expect(e2?.message.contains("stop_at_calculations_right") == true)
    }

    static func compareFile(_ path: String, _ groups: [String: (a: Double, b: Double, lo: Double, hi: Double)]) throws {
        var splits: [String: JSON] = [:]
        for (k, g) in groups {
            splits[k] = .object(["n": .number(100), "mean_a": .number(g.a), "mean_b": .number(g.b), "difference": .number(g.a - g.b),
                                 "ci95": .array([.number(g.lo), .number(g.hi)]), "documents": .number(10)])
        }
        try Data(JSON.object(["format": .string("rpt-compare/1"), "splits": .object(splits)]).serialized().utf8).write(to: URL(fileURLWithPath: path))
    }

    @Test func gatesFollowTheirDefinitions() throws {
        let dir = temporaryDirectory("gates")
        typealias G = (a: Double, b: Double, lo: Double, hi: Double)
        func three(_ g: G) -> [String: G] { ["easy": g, "medium": g, "hard": g] }
        try Self.compareFile(dir + "/g1.json", three((0.4, 0.3, 0.05, 0.15)))
        try Self.compareFile(dir + "/rl.json", ["easy": (0.5, 0.45, 0.01, 0.09), "medium": (0.4, 0.38, -0.01, 0.05), "hard": (0.3, 0.2, 0.06, 0.14)])
        try Self.compareFile(dir + "/ctl.json", three((0.3, 0.31, -0.05, 0.03)))
        try Self.compareFile(dir + "/ntp.json", ["easy": (0.40, 0.41, -0.02, 0.0), "medium": (0.30, 0.33, -0.05, -0.01), "hard": (0.2, 0.2, -0.01, 0.01)])
        func d(_ name: String) throws -> [String: ReproductionGates.Difference] {
            try ReproductionGates.differences(compareFile: dir + "/\(name).json")
        }
        let gates = ReproductionGates(g1: try d("g1"), rl: try d("rl"), control: try d("ctl"), coldStartNTP: try d("ntp"),
                                      r2: ["easy": 0.99, "medium": 0.96, "hard": 0.94])
        let verdict = Dictionary(uniqueKeysWithValues: gates.gates.map { ($0.name, $0.passed) })
        #expect(verdict == ["G1": true, "G2": true, "G3": false, "G4": false, "G5": false])
        #expect(gates.gates[0].evidence == "hard +10.0 [+5.0, +15.0]")
        // No fit at all fails G3; a hard CI touching 0 fails G1.
        try Self.compareFile(dir + "/g1b.json", three((0.4, 0.3, -0.001, 0.2)))
        let g2 = ReproductionGates(g1: try d("g1b"), rl: try d("rl"), control: try d("g1"), coldStartNTP: try d("g1"), r2: nil)
        #expect(g2.gates.map(\.passed) == [false, true, false, true, true])
    }

    @Test func pretrainStopsAtItsFlopsBudget() throws {
        let dir = temporaryDirectory("flops")
        var c = LedgerCorpusOptions()
        c.documents = 60
        _ = try LedgerCorpus.write(c, to: dir + "/c.jsonl")
        // 6N × tokens per step: stop after the step that reaches 2.5 steps' worth.
        let n = Double(try Model.load(path: Repo.stories260KHF).parameterCount)
        let perStep = 6 * n * Double(2 * 64)
        let r = try runRPT(["pretrain", "--model", Repo.stories260KHF, "--data", dir + "/c.jsonl", "--calculations", "--out", dir + "/run",
                            "--steps", "10", "--seq-len", "63", "--batch-size", "2", "--flops", "\(2.5 * perStep)", "--validation", "0",
                            "--lr-schedule", "constant", "--save-every", "10"])
        #expect(r.status == 0, "\(r.stderr)")
        let ck = try #require(Checkpoint.latest(in: dir + "/run"))
        let state = try TrainerState.load(path: ck + "/" + Checkpoint.stateFile)
        #expect(state.step == 3)
        #expect(abs((state.payload["flops"]?.double ?? 0) - 3 * perStep) < 1)
        #expect(r.stdout.contains("compute budget"))
    }

    @Test func ciSizedReproductionRunsEveryStageMatchesComputeAndResumes() throws {
        let dir = temporaryDirectory("reproduce")
        let config = """
        {"name": "ci", "model": "\(Repo.path("Assets/reproduce/config.json"))", "template": "\(Repo.path("Assets/reproduce/prompt.txt"))",
         "corpus": {"kind": "ledger", "pretrain_docs": 200, "pool_docs": 40, "eval_docs": 12, "changes_per_total": 3},
         "pretrain": {"steps": 12, "batch_size": 8, "seq_len": 127, "schedule": "cosine:2:0.1"},
         "demos": {"docs": 0.5, "untraced_every": 2},
         "sft": {"steps": 10, "batch_size": 8, "schedule": "cosine:2:0.1", "stop_at_calculations_right": 1.0, "check_every": 4, "check_positions": 30},
         "rl": {"steps": 6, "batch_size": 4, "checkpoints": [1, 2, 3, 4, 5, 6], "max_response_tokens": 24},
         "baseline": {"schedule": "cosine:2:0.1"},
         "eval": {"max_positions": 80, "resamples": 100}}
        """
        try config.write(toFile: dir + "/ci.json", atomically: true, encoding: .utf8)
        let r = try runRPT(["reproduce", dir + "/ci.json", "--seeds", "3", "--out", dir + "/out"])
        #expect(r.status == 0, "\(r.stderr.suffix(2000))")
        let seed = dir + "/out/seed-3"
        for stage in ["corpus", "base", "positions", "demos", "cold-start", "rpt", "ntp-baseline", "sft-control", "evaluate", "compare",
                      "fit", "patterns", "report", "results"] {
            #expect(r.stdout.contains("=== \(stage): "), "stage \(stage) not run")
            #expect(FileManager.default.fileExists(atPath: seed + "/.stages/" + stage), "stage \(stage) not marked done")
        }
        // Every stage is printed as a replayable command.
        for command in ["$ rpt corpus", "$ rpt pretrain", "$ rpt prepare", "$ rpt demos", "$ rpt train", "$ rpt eval", "$ rpt compare"] {
            #expect(r.stdout.contains(command))
        }
        // The corpus has the configured number of changes before each total, in every file.
        #expect(r.stdout.contains("--changes-per-total 3"))
        for file in ["pretrain", "pool", "eval"] {
            let docs = try CorpusReader.read(path: seed + "/corpus/\(file).jsonl", options: CorpusOptions(calculations: true), onWarning: { _ in }).documents
            #expect(!docs.isEmpty && docs.allSatisfy { $0.calculations.allSatisfy { $0.expression.split(separator: ",").count == 3 } })
        }
        // Compute matching: (b) gets at least (c) + (d), by less than one of its steps; (e) at least (d).
        let results = try JSON.load(path: seed + "/results.json")
        let flopsObject = try #require(results["flops"]?.object)
        let f = flopsObject.compactMapValues { $0.double }
        let n = Double(try Model.load(path: seed + "/a/step-000012").parameterCount)
        #expect(f["ntp_baseline"]! >= f["cold_start"]! + f["rpt"]!)
        #expect(f["ntp_baseline"]! < f["cold_start"]! + f["rpt"]! + 6 * n * 8 * 128)
        #expect(f["sft_control"]! >= f["rpt"]!)
        // Results: accuracy rows, comparisons, five gates, trace use, RL data shares.
        #expect(results["gates"]?.array?.count == 5)
        #expect(results["accuracy"]?["rpt-reasoning"]?["hard"]?.double != nil)
        #expect(results["comparisons"]?["rpt-vs-ntp-matched"]?["hard"]?["ci95"]?.array?.count == 2)
        #expect(results["curve"]?.array?.count == 6)
        #expect((results["rl_data"]?["calculation_share"]?.double ?? 0) > 0)
        // Demonstrations and RL never share a document.
        let rlDocs = Set(try PositionDataset.read(path: seed + "/rl.jsonl").map(\.docId))
        let pool = try PositionDataset.read(path: seed + "/prep-pool/train.jsonl")
        var demoOptions = DemonstrationOptions()
        demoOptions.documents = 0.5
        demoOptions.seed = 3
        let demoDocs = Set(try Demonstrations.demoDocuments(pool, options: demoOptions))
        #expect(!rlDocs.isEmpty && !demoDocs.isEmpty && demoDocs.isDisjoint(with: rlDocs))
        #expect(demoDocs.union(rlDocs).isSubset(of: Set(pool.map(\.docId))))
        // The cold start's stopping check: checks every 4 steps and at the horizon (a share of 1.0 is not reached by
        // this tiny model), on calculation positions of RL documents only; the cold start is the horizon's checkpoint.
        let checks = try ColdStartChecks.read(path: seed + "/cold-start-checks/checks.jsonl")
        #expect(checks.checks.map(\.step) == [4, 8, 10])
        #expect(checks.checks.allSatisfy { $0.responses >= 1 && $0.responses <= 30 })
        #expect(try Checkpoint.latest(in: seed + "/c").map { try TrainerState.load(path: $0 + "/" + Checkpoint.stateFile).step } == 10)
        let checked = try PositionDataset.read(path: seed + "/cold-start-checks/positions.jsonl")
        #expect(!checked.isEmpty && checked.allSatisfy { $0.calculation != nil && !demoDocs.contains($0.docId) })
        #expect(results["cold_start_checks"]?.array?.count == 3 && results["cold_start_stop"]?["step"]?.double == 10)
        let summary = try String(contentsOfFile: dir + "/out/RESULTS.md", encoding: .utf8)
        #expect(summary.contains("| G1 |") && summary.contains("(d) RPT | reasoning"))
        #expect(summary.contains("stopping check") && summary.contains("| 3 | 10 |"))
        // A cold-start stage interrupted after its last checkpoint and before its last check continues without
        // retraining: it checks the checkpoint it has and records the same check.
        let checksText = try String(contentsOfFile: seed + "/cold-start-checks/checks.jsonl", encoding: .utf8)
        try ColdStartChecks(Array(checks.checks.prefix(2))).write(to: seed + "/cold-start-checks/checks.jsonl")
        try FileManager.default.removeItem(atPath: seed + "/.stages/cold-start")
        let resumed = try runRPT(["reproduce", dir + "/ci.json", "--seeds", "3", "--out", dir + "/out"])
        #expect(resumed.status == 0, "\(resumed.stderr.suffix(2000))")
        #expect(resumed.stdout.contains("=== cold-start: (c)") && !resumed.stdout.contains("$ rpt pretrain") && resumed.stdout.contains("$ rpt eval"))
        #expect(try String(contentsOfFile: seed + "/cold-start-checks/checks.jsonl", encoding: .utf8) == checksText)
        // Run again: every stage is found done; nothing is retrained.
        let again = try runRPT(["reproduce", dir + "/ci.json", "--seeds", "3", "--out", dir + "/out"])
        #expect(again.status == 0, "\(again.stderr.suffix(2000))")
        #expect(again.stdout.contains("=== rpt: done earlier"))
        #expect(!again.stdout.contains("$ rpt train"))
        // A changed configuration does not continue the seed's stages (they would mix budgets).
        try config.replacingOccurrences(of: "\"max_response_tokens\": 24", with: "\"max_response_tokens\": 20")
            .write(toFile: dir + "/ci.json", atomically: true, encoding: .utf8)
        let changed = try runRPT(["reproduce", dir + "/ci.json", "--seeds", "3", "--out", dir + "/out"])
        #expect(changed.status != 0 && changed.stderr.contains("--restart") && changed.stderr.contains("config.json"), "\(changed.stderr)")
    }
}
