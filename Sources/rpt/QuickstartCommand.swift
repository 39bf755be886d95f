// `rpt quickstart`: the whole RPT workflow on bundled assets in a few minutes on 2 cores, each stage run as
// the `rpt` command a user would type (printed before it runs): prepare entropy-filtered positions from
// TinyStories with stories260K as proxy; teach the reasoning format with a brief SFT (the paper starts from a
// model that already reasons; notes §8.2 stage C); RPT with GRPO; evaluate every checkpoint before/after per
// difficulty split in standard and reasoning mode; fit accuracy against compute; compare reasoning patterns;
// write the HTML report; print the final table and where everything is.

import ArgumentParser
import Foundation
import RPT
import RPTKernels

struct QuickstartCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "quickstart",
        abstract: "Run the whole RPT workflow on the bundled model and corpus (a few minutes on 2 cores).")

    @Option(help: "Output directory.") var out: String = "runs/quickstart"
    @Option(help: "RPT (GRPO) steps.") var steps: Int = 20
    @Option(name: .customLong("sft-steps"), help: "Format SFT steps.") var sftSteps: Int = 150
    @Option(name: .customLong("save-every"), help: "RPT checkpoint interval (each is evaluated).") var saveEvery: Int = 5
    @Option(name: .customLong("eval-positions"), help: "Validation positions evaluated in reasoning mode.") var evalPositions: Int = 100
    @Option(help: "Threads (default: all cores).") var threads: Int?

    static let assets = "Assets"
    var policy: String { Self.assets + "/stories260K/hf" }

    func run() throws {
        if let t = threads { Parallel.setThreads(t) }
        guard steps >= 1, sftSteps >= 1, saveEvery >= 1, evalPositions >= 1 else { throw ValidationError("counts must be ≥ 1") }
        let start = Date()
        let fm = FileManager.default
        if fm.fileExists(atPath: out) { try fm.removeItem(atPath: out) }
        try fm.createDirectory(atPath: out, withIntermediateDirectories: true)
        let data = out + "/data", sft = out + "/sft", run = out + "/rpt"
        let template = Self.assets + "/quickstart/next-token-prompt.txt"
        let responseTokens = "48", promptTokens = "400"
        let threadArgs = threads.map { ["--threads", "\($0)"] } ?? []

        stage(1, "prepare: entropy-filtered next-token positions from TinyStories, stories260K as proxy (paper §3.3)")
        try invoke(PrepareCommand.self, ["prepare", "--policy", policy, "--proxy", Self.assets + "/stories260K/stories260K.bin",
                                         "--proxy-tokenizer", Self.assets + "/stories260K/tok512.bin",
                                         "--corpus", Self.assets + "/tinystories-sample/TinyStories-valid-sample.txt", "--delimiter", "\\n",
                                         "--val-docs", "3", "--entropy-threshold", "1.0", "--max-context-tokens", "384", "--out", data] + threadArgs)

        stage(2, "format SFT: teach the base model to reason briefly and box the next token (a stand-in for R1-Distill)")
        try invoke(DemosCommand.self, ["demos", "--data", data + "/train.jsonl", "--model", policy, "--template", template, "--chat", "raw",
                                       "--answer", "target", "--max-prompt-tokens", promptTokens, "--docs", "0.5",
                                       "--out", out + "/sft-demos.jsonl", "--rest", data + "/rl.jsonl"] + threadArgs)
        try invoke(PretrainCommand.self, ["pretrain", "--sft", "--model", policy, "--data", out + "/sft-demos.jsonl", "--out", sft,
                                          "--steps", "\(sftSteps)", "--seq-len", "511", "--batch-size", "8", "--lr", "1e-3",
                                          "--lr-schedule", "cosine:\(min(10, sftSteps / 10)):0.1", "--save-every", "\(sftSteps)", "--eval-every", "\(sftSteps)",
                                          "--log-every", "25"] + threadArgs)
        guard let initial = Checkpoint.latest(in: sft) else { throw RPTError("format SFT wrote no checkpoint", file: sft) }

        stage(3, "RPT: G = 8 rollouts per context at T = 0.8, prefix-matching reward, GRPO (paper §3.2–3.3)")
        try invoke(TrainCommand.self, ["train", "--model", initial, "--data", data + "/train.jsonl", "--out", run,
                                       "--steps", "\(steps)", "--batch-size", "8", "--group-size", "8", "--lr", "1e-4",
                                       "--template", template, "--chat", "raw", "--max-prompt-tokens", promptTokens,
                                       "--max-response-tokens", responseTokens, "--dynamic-sampling-from", "\(steps / 2)",
                                       "--save-every", "\(saveEvery)", "--keep-last", "0", "--seed", "0"] + threadArgs)

        stage(4, "evaluate before and after, per difficulty split (paper §4.1, Table 1)")
        let final = Checkpoint.latest(in: run)!
        try invoke(EvalCommand.self, ["eval", "--model", initial, "--model", final, "--data", data + "/val.jsonl", "--mode", "ntp",
                                      "--out", run + "/eval-ntp.json"] + threadArgs)
        try invoke(EvalCommand.self, ["eval", "--run", run, "--include-initial", "--data", data + "/val.jsonl", "--mode", "reasoning",
                                      "--samples", "4", "--max-positions", "\(evalPositions)", "--template", template, "--chat", "raw",
                                      "--max-prompt-tokens", promptTokens, "--max-response-tokens", responseTokens,
                                      "--out", run + "/eval-reasoning.json", "--dump", out + "/eval-responses.jsonl"] + threadArgs)

        stage(5, "fit accuracy against training compute, P(C) = A / C^α + P* (paper §4.2, Eq. 5)")
        do {
            try invoke(FitCommand.self, ["fit", "--points", run + "/eval-reasoning.json", "--out", run + "/fit.json"])
        } catch {
            print("fit skipped: \(error)")   // e.g. accuracy constant over the checkpoints of a very short run
        }

        stage(6, "reasoning patterns before vs after RPT (paper §4.5, Fig. 6)")
        let finalLabel = (final as NSString).lastPathComponent
        try splitResponses(out + "/eval-responses.jsonl", labels: ["initial": out + "/responses-before.jsonl", finalLabel: out + "/responses-after.jsonl"])
        try invoke(PatternsCommand.self, ["patterns", "--traces", out + "/responses-before.jsonl", "--compare", out + "/responses-after.jsonl",
                                          "--out", run + "/patterns.json"])

        stage(7, "report")
        try invoke(ReportCommand.self, ["report", "--run", run, "--out", out + "/report.html", "--title", "RPT quickstart"])

        try printSummary(ntp: run + "/eval-ntp.json", reasoning: run + "/eval-reasoning.json", finalLabel: finalLabel)
        print(String(format: "\nquickstart finished in %.0f s. Everything is under %@:", Date().timeIntervalSince(start), out))
        for (path, what) in [(data, "positions (train.jsonl, val.jsonl, meta.json)"), (sft, "format-SFT checkpoint (the RPT starting point)"),
                             (run, "RPT run: metrics.jsonl, completions.jsonl, step-* checkpoints, eval-*.json, fit.json, patterns.json"),
                             (out + "/report.html", "the report (open in a browser)")] {
            print("  \(path)  —  \(what)")
        }
    }

    func stage(_ i: Int, _ what: String) {
        print("\n=== [\(i)/7] \(what)")
    }

    /// Runs an `rpt` subcommand in-process, printing the command line first.
    func invoke<C: ParsableCommand>(_ type: C.Type, _ args: [String]) throws {
        print("$ rpt " + args.map { $0.contains(" ") || $0.isEmpty ? "'\($0)'" : $0 }.joined(separator: " "))
        var command = try type.parse(Array(args.dropFirst()))
        try command.run()
    }

    /// Splits the eval dump into one file per model label (the traces of the initial and the final model).
    func splitResponses(_ dump: String, labels: [String: String]) throws {
        var files: [String: Data] = [:]
        let text = try String(contentsOfFile: dump, encoding: .utf8)
        for line in text.split(separator: "\n") {
            let j = try JSON.parse(Data(line.utf8), file: dump)
            if let label = j["label"]?.string, let path = labels[label] { files[path, default: Data()].append(Data((line + "\n").utf8)) }
        }
        for (_, path) in labels {
            guard let d = files[path] else { throw RPTError("no responses of this model in the evaluation dump", file: path) }
            try AtomicFile.write(d, to: path)
        }
    }

    /// The final table: accuracy (%) per split before and after RPT, standard and reasoning mode.
    func printSummary(ntp: String, reasoning: String, finalLabel: String) throws {
        let n = try JSON.load(path: ntp), r = try JSON.load(path: reasoning)
        func result(_ j: JSON, _ index: Int) -> JSON? {
            guard let a = j["results"]?.array, !a.isEmpty else { return nil }
            return index < 0 ? a.last : a[index]
        }
        func cell(_ res: JSON?, _ split: String, _ key: String? = nil) -> String {
            guard let s = res?["splits"]?[split] else { return "–" }
            let v = key.flatMap { s["sampled"]?[$0]?.double } ?? (key == nil ? s["accuracy"]?.double : nil)
            return v.map { String(format: "%5.1f", 100 * $0) } ?? "–"
        }
        print("\n=== accuracy (%) on held-out positions, before → after RPT")
        let header = ["split", "n", "NTP before", "NTP after", "reasoning before", "reasoning after", "mean@4 before", "mean@4 after"]
        print(header.map { $0.padding(toLength: max(6, $0.count + 2), withPad: " ", startingAt: 0) }.joined())
        for split in ["all", "easy", "medium", "hard"] {
            let count = result(r, 0)?["splits"]?[split]?["n"]?.int.map(String.init) ?? "–"
            let cells = [split, count, cell(result(n, 0), split), cell(result(n, -1), split), cell(result(r, 0), split), cell(result(r, -1), split),
                         cell(result(r, 0), split, "mean_accuracy"), cell(result(r, -1), split, "mean_accuracy")]
            print(zip(cells, header).map { $0.0.padding(toLength: max(6, $0.1.count + 2), withPad: " ", startingAt: 0) }.joined())
        }
        print("(NTP: argmax on all val positions; reasoning: greedy and mean of 4 samples at T = 0.8 on a subset; the final model is \(finalLabel))")
    }
}
