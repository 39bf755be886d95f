// `rpt quickstart`: a short version of `rpt reproduce` (docs/reproduction.md) that shows RPT's gain in a few
// minutes on 2 cores. It starts from three small models the reproduction made (Assets/quickstart/models,
// see SOURCE.md there): the NTP-pretrained base (a), its compute-matched NTP continuation (b), and the
// supervised cold start (c). It writes fresh ledger stories for RL and takes held-out evaluation stories,
// scores positions with the base model, runs RPT (GRPO, prefix-matching reward) from the cold start with
// checkpoints for a scaling curve, evaluates every model on the same held-out positions (standard mode for
// a, b, c; reasoning mode for c and every RPT checkpoint), compares them pairwise with document-bootstrap
// CIs, fits accuracy against compute, compares reasoning patterns, writes the report, and prints the final
// table. Every stage is printed as the `rpt` command it runs; it works from any working directory.

import ArgumentParser
import Foundation
import RPT
import RPTKernels

struct QuickstartCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "quickstart",
        abstract: "RPT in a few minutes: RL from a bundled cold start beats compute-matched NTP on held-out positions.")

    @Option(help: "Output directory.") var out: String = "runs/quickstart"
    @Option(help: "RPT (GRPO) steps.") var steps: Int = 60
    @Option(name: .customLong("pool-docs"), help: "Fresh stories for RL positions.") var poolDocs: Int = 1200
    @Option(name: .customLong("eval-docs"), help: "Held-out stories evaluated.") var evalDocs: Int = 150
    @Option(name: .customLong("eval-positions"), help: "Positions evaluated in reasoning mode (seeded subset).") var evalPositions: Int = 1500
    @Option(help: "Threads (default: all cores).") var threads: Int?

    /// The reproduction's budget (ledger.json rl.max_response_tokens): a two-step worked calculation and the
    /// boxed answer fit in 40 tokens.
    static let maxResponseTokens = 40
    /// The file that marks an output directory as the quickstart's own (so a rerun may replace it).
    static let marker = ".rpt-quickstart"

    func run() throws {
        if let t = threads { Parallel.setThreads(t) }
        guard steps >= 6, poolDocs >= 2, evalDocs >= 1, evalPositions >= 1 else {
            throw ValidationError("--steps must be ≥ 6 (six checkpoints for the fit) and the counts ≥ 1")
        }
        let start = Date()
        let assets = try AssetLocator.directory()
        let models = assets + "/quickstart/models", format = assets + "/reproduce/prompt.txt"
        let base = models + "/base", ntpMatched = models + "/ntp-matched", coldStart = models + "/cold-start"
        let fm = FileManager.default
        // A fresh start: an earlier quickstart's directory (it carries the marker) is replaced; anything else is left alone.
        let marker = out + "/" + Self.marker
        if fm.fileExists(atPath: out) {
            guard fm.fileExists(atPath: marker) || ((try? fm.contentsOfDirectory(atPath: out)) ?? ["?"]).isEmpty else {
                throw RPTError("exists and was not written by rpt quickstart; choose another --out or remove it", file: out)
            }
            try fm.removeItem(atPath: out)
        }
        try fm.createDirectory(atPath: out, withIntermediateDirectories: true)
        try AtomicFile.write(Data("written by rpt quickstart\n".utf8), to: marker)
        let threadArgs = threads.map { ["--threads", "\($0)"] } ?? []
        let formatArgs = ["--template", format, "--chat", "raw", "--max-prompt-tokens", "200"]
        let run = out + "/rpt"

        stage(1, "stories: fresh ones for RL, held-out ones for evaluation (rpt corpus; docs/reproduction.md)")
        try InProcess.run(CorpusCommand.self, ["corpus", "--docs", "\(poolDocs)", "--seed", "7", "--out", out + "/pool.jsonl"])
        try InProcess.run(CorpusCommand.self, ["corpus", "--docs", "\(evalDocs)", "--seed", "20261205", "--out", out + "/eval.jsonl"])

        stage(2, "positions scored by the base model's top-16 entropy (paper §3.3): RL keeps the hard ones (> 1.5)")
        let prepare = ["--policy", base, "--proxy", base, "--calculations", "--min-context", "8", "--max-context-tokens", "192"] + threadArgs
        try InProcess.run(PrepareCommand.self, ["prepare", "--corpus", out + "/pool.jsonl", "--val-docs", "0", "--entropy-threshold", "1.5",
                                                "--out", out + "/prep-pool"] + prepare)
        try InProcess.run(PrepareCommand.self, ["prepare", "--corpus", out + "/eval.jsonl", "--val-docs", "\(evalDocs)", "--entropy-threshold", "0.5",
                                                "--out", out + "/prep-eval"] + prepare)

        stage(3, "RPT from the cold start: G = 8 rollouts at T = 0.8, prefix-matching reward, GRPO (paper §3.2–3.3)")
        let checkpoints = [0.08, 0.17, 0.33, 0.5, 0.67, 0.83].map { max(1, Int((Double(steps) * $0).rounded())) } + [steps]
        try InProcess.run(TrainCommand.self, ["train", "--model", coldStart, "--data", out + "/prep-pool/train.jsonl", "--out", run,
                                              "--steps", "\(steps)", "--batch-size", "16", "--group-size", "8", "--lr", "1e-4", "--kl", "0.05",
                                              "--max-response-tokens", "\(Self.maxResponseTokens)", "--dynamic-sampling-from", "100%", "--save-every", "\(steps)",
                                              "--save-steps", Array(Set(checkpoints)).sorted().map(String.init).joined(separator: ","),
                                              "--keep-last", "0", "--seed", "0"] + formatArgs + threadArgs)
        let final = try Checkpoint.latest(in: run).orThrow(RPTError("RPT wrote no checkpoint", file: run))
        let finalLabel = (final as NSString).lastPathComponent

        stage(4, "evaluate on the same held-out positions (paper §4.1, Table 1): standard mode and reasoning mode")
        // Both modes evaluate the same seeded subset of the held-out positions.
        let evalData = ["--data", out + "/prep-eval/val.jsonl", "--resamples", "1000", "--max-positions", "\(evalPositions)"] + threadArgs
        try InProcess.run(EvalCommand.self, ["eval", "--model", base, "--label", "base", "--model", ntpMatched, "--label", "ntp-matched",
                                             "--model", coldStart, "--label", "cold-start", "--mode", "ntp", "--baseline", "ntp-matched",
                                             "--out", run + "/eval-ntp.json"] + evalData)
        try InProcess.run(EvalCommand.self, ["eval", "--run", run, "--include-initial", "--mode", "reasoning", "--max-response-tokens", "\(Self.maxResponseTokens)",
                                             "--batch", "64", "--baseline", "initial",
                                             "--out", run + "/eval-reasoning.json", "--dump", out + "/responses.jsonl"] + formatArgs + evalData)
        for (name, b) in [("ntp-matched", run + "/eval-ntp.json:ntp-matched"), ("cold-start", run + "/eval-reasoning.json:initial")] {
            try InProcess.run(CompareCommand.self, ["compare", "--a", run + "/eval-reasoning.json:" + finalLabel, "--b", b,
                                                    "--resamples", "1000", "--out", out + "/compare-\(name).json"])
        }

        stage(5, "fit accuracy against RL compute, P(C) = A / C^α + P* (paper §4.2, Eq. 5)")
        do {
            try InProcess.run(FitCommand.self, ["fit", "--points", run + "/eval-reasoning.json", "--out", run + "/fit.json"])
        } catch let error as RPTError where error.message.contains(FitCommand.nothingFittable) {
            print("fit: \(error.message)")
        }

        stage(6, "reasoning patterns before vs after RPT (paper §4.5, Table 9)")
        try InProcess.run(PatternsCommand.self, ["patterns", "--traces", out + "/responses.jsonl", "--label", "initial",
                                                 "--compare-label", finalLabel, "--out", run + "/patterns.json"])
        // Table 9's English keywords do not occur in arithmetic traces; what changes here is how the answer uses the trace.
        let uses = try TraceUse.analyze(dump: out + "/responses.jsonl", positions: try PositionDataset.read(path: out + "/prep-eval/val.jsonl"))
        print("\nhow the traces are used on calculation positions (greedy responses, docs/reproduction.md):")
        for (label, name) in [("initial", "before RPT"), (finalLabel, "after RPT")] {
            guard let u = uses[label]?.json else { continue }
            func pct(_ k: String) -> Double { 100 * (u[k]?.double ?? 0) }
            print(String(format: "  %@: writes a calculation %.1f%%, exactly the corpus's %.1f%%, boxes what it says %.1f%%, correct %.1f%% (n = %d)",
                         name, pct("wrote_calculation"), pct("calculation_right"), pct("box_follows_calculation"), pct("accuracy"),
                         Int(u["responses"]?.double ?? 0)))
        }

        stage(7, "report")
        try InProcess.run(ReportCommand.self, ["report", "--run", run, "--out", out + "/report.html", "--title", "RPT quickstart"])

        try printSummary(run: run, finalLabel: finalLabel)
        print(String(format: "\nquickstart finished in %.0f s. Everything is under %@:", Date().timeIntervalSince(start), out))
        for (path, what) in [(out + "/prep-eval/val.jsonl", "held-out positions with their splits"), (run, "the RPT run: metrics.jsonl, checkpoints, eval-*.json, fit.json, patterns.json"),
                             (out + "/report.html", "the report (open in a browser)")] {
            print("  \(path)  —  \(what)")
        }
        print("The full comparison (pretraining, cold start, compute-matched baselines, 3 seeds; the latest configuration, RESULTS.md): "
              + "rpt reproduce \(assets)/reproduce/ledger-v15.json --seeds 29,30,31")
    }

    func stage(_ i: Int, _ what: String) {
        print("\n=== [\(i)/7] \(what)")
        fflush(nil)
    }

    /// The final table: accuracy (%) per split with 95% CIs, the paired gain over compute-matched NTP, how
    /// reward and format failures moved over training, and the fit.
    func printSummary(run: String, finalLabel: String) throws {
        let ntp = try EvalFile.load(path: run + "/eval-ntp.json"), reasoning = try EvalFile.load(path: run + "/eval-reasoning.json")
        func split(_ f: EvalFile, _ label: String, _ s: String) -> EvalFile.Score? { f.result(labelled: label)?.splits?[s] }
        func cell(_ g: EvalFile.Score?) -> String {
            guard let a = g?.accuracy, let ci = g?.ci95 else { return "–" }
            return String(format: "%.1f [%.1f, %.1f]", 100 * a, 100 * ci.low, 100 * ci.high)
        }
        let gain = try CompareFile.load(path: (run as NSString).deletingLastPathComponent + "/compare-ntp-matched.json")
        let columns = ["split", "NTP base", "NTP compute-matched", "reasoning before RPT", "reasoning after RPT", "RPT − compute-matched NTP"]
        let widths = [13, 20, 22, 22, 22, 26]
        func row(_ cells: [String]) -> String { zip(cells, widths).map { $0.padding(toLength: max($1, $0.count + 1), withPad: " ", startingAt: 0) }.joined() }
        print("\n=== accuracy (%) on held-out positions, with 95% CIs")
        print(row(columns))
        for s in ["all", "easy", "medium", "hard", EvalItem.calculationGroup] {
            let diff = gain.splits[s].map { String(format: "%+.1f [%+.1f, %+.1f]", 100 * $0.difference, 100 * $0.ci95.low, 100 * $0.ci95.high) } ?? "–"
            print(row([s, cell(split(ntp, "base", s)), cell(split(ntp, "ntp-matched", s)), cell(split(reasoning, "initial", s)),
                       cell(split(reasoning, finalLabel, s)), diff]))
        }
        print("(standard mode: argmax; reasoning mode: greedy, \\boxed{} answer, prefix-matching reward; RPT − NTP: paired, documents resampled)")
        let metrics = try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
            .compactMap { try? JSON.parse(Data($0.utf8), file: run) }.filter { $0["reward_mean"] != nil }
        let k = max(1, metrics.count / 5)
        func mean(_ xs: ArraySlice<JSON>, _ key: String) -> Double { xs.compactMap { $0[key]?.double }.reduce(0, +) / Double(max(1, xs.count)) }
        print(String(format: "training: reward_mean %.3f (first %d steps) → %.3f (last %d); format failures per step %.1f → %.1f",
                     mean(metrics.prefix(k), "reward_mean"), k, mean(metrics.suffix(k), "reward_mean"), k,
                     mean(metrics.prefix(k), "format_failures"), mean(metrics.suffix(k), "format_failures")))
        // The held-out curve: reasoning accuracy of every checkpoint (what the scaling fit uses).
        for s in ["hard", EvalItem.calculationGroup] {
            let points = reasoning.results.compactMap { r -> String? in
                guard let a = r.splits?[s]?.accuracy else { return nil }
                return "\(r.step ?? 0): " + String(format: "%.1f", 100 * a)
            }
            print("held-out reasoning accuracy (%) on \(s) by RPT step: " + points.joined(separator: ", "))
        }
        // Compute: what the bundled NTP continuation (b) was matched to is the full reproduction's cold start + RPT.
        func flops(_ checkpoint: String) -> Double {
            (try? TrainerState.load(path: checkpoint + "/" + Checkpoint.stateFile))?.payload["flops"]?.double ?? .nan
        }
        let models = (try AssetLocator.directory()) + "/quickstart/models"
        let ntpFlops = flops(models + "/ntp-matched"), coldFlops = flops(models + "/cold-start")
        let rlFlops = Checkpoint.latest(in: run).map(flops) ?? .nan
        print(String(format: "compute (training FLOPs): NTP continuation (b) %.3g; cold start (c) %.3g + this RPT run %.3g = %.3g%@", ntpFlops, coldFlops,
                     rlFlops, coldFlops + rlFlops, coldFlops + rlFlops > ntpFlops ? " — more than (b): not compute-matched" : " (≤ (b))"))
        if let r2 = (try? FitFile.load(path: run + "/fit.json"))?.r2 {
            print("fit R² per split: " + ["easy", "medium", "hard"].map { s in "\(s) " + (r2[s].map { String(format: "%.3f", $0) } ?? "–") }
                .joined(separator: ", "))
        }
    }
}

extension Optional {
    func orThrow(_ error: @autoclosure () -> Error) throws -> Wrapped {
        guard let v = self else { throw error() }
        return v
    }
}
