// `rpt report`: one self-contained HTML page (inline SVG and CSS, no scripts, no external references)
// for a training run: training curves, accuracy by difficulty split, the compute-scaling fit, reasoning
// patterns and sample traces. Inputs not given as flags are looked for in the run directory. Several --run
// overlay their training curves in a "Runs compared" section.

import ArgumentParser
import Foundation
import RPT

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "report",
        abstract: "Write an HTML report of a training run (curves, evaluation, scaling fit, patterns, traces).")

    @Option(name: .customLong("run"), help: "Run directory of `rpt train` (metrics.jsonl, completions.jsonl, checkpoints); repeat to overlay several runs' curves (the other sections are the first run's).")
    var runDirectories: [String] = []
    @Option(help: "A label for each --run, in order (default: the directory's name).") var label: [String] = []
    @Option(help: "Output HTML file.") var out: String
    @Option(name: .customLong("eval"), help: "Evaluation file (rpt-eval/1); repeatable (default: RUN/eval*.json).")
    var evals: [String] = []
    @Option(help: "Scaling fit (rpt-fit/1; default: RUN/fit.json if present).") var fit: String?
    @Option(help: "Reasoning-pattern comparison (rpt-patterns/1; default: RUN/patterns.json if present).") var patterns: String?
    @Option(help: "Page title (default: \"RPT training report · <run name>\").") var title: String?
    @Option(help: "Sample traces to show.") var traces: Int = 8

    func validate() throws {
        guard traces >= 0 else { throw ValidationError("--traces must be ≥ 0") }
        guard !runDirectories.isEmpty else { throw ValidationError("give --run DIR (repeat it to compare runs)") }
        guard label.count <= runDirectories.count else { throw ValidationError("--label was given \(label.count) times for \(runDirectories.count) --run") }
    }

    func run() throws {
        let runDirectory = runDirectories[0]
        try OutputGuard.refuseOverwriting(out, inputs: evals + [fit, patterns].compactMap { $0 }
                                          + (((try? FileManager.default.contentsOfDirectory(atPath: runDirectory)) ?? []).filter { $0.hasPrefix("eval") && $0.hasSuffix(".json") }
                                             + ["metrics.jsonl", "completions.jsonl", "fit.json", "patterns.json"]).map { runDirectory + "/" + $0 }
                                          + runDirectories.dropFirst().map { $0 + "/metrics.jsonl" })
        var o = RunReportOptions(run: runDirectory, out: out)
        o.compare = Array(runDirectories.dropFirst())
        o.labels = label
        o.evals = evals
        o.fit = fit
        o.patterns = patterns
        o.title = title
        o.traces = traces
        let written = try RunReport.write(o)
        var line = "wrote \(written.path) (\(max(1, written.bytes / 1024)) KiB; sections: \(written.sections.joined(separator: ", ")))"
        if let w = written.warning { line += "\nwarning: " + w + " (see the box at the top of the report)" }
        if !written.notes.isEmpty { line += "\n" + written.notes.map { "note: " + $0 }.joined(separator: "\n") }
        print(line)
    }
}
