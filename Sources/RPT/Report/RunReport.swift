// `rpt report`: one self-contained HTML page for a training run (paper §4 / docs/method.md §6): training curves
// from RUN/metrics.jsonl, accuracy by difficulty split from evaluation files, the compute-scaling fit,
// the reasoning-pattern comparison, and sample traces from RUN/completions.jsonl. Inputs not given on
// the command line are looked for in the run directory (eval*.json, fit.json, patterns.json); a section
// without input is kept with a short note. A run whose reward never rose gets a warning box at the top
// (LearningCheck). With further runs (`--run A --run B …`) a "Runs compared" section overlays every run's
// training curves (ComparisonSection); the other sections stay the first run's. The page is written atomically.

import Foundation

public struct RunReportOptions: Sendable {
    public var run: String
    public var out: String
    /// Further runs whose training curves are overlaid on the first's.
    public var compare: [String] = []
    /// Labels of `run` then `compare`, in order (default: directory names).
    public var labels: [String] = []
    /// Evaluation files ("rpt-eval/1"); empty: RUN/eval*.json.
    public var evals: [String] = []
    /// Scaling fit ("rpt-fit/1"); nil: RUN/fit.json if present.
    public var fit: String?
    /// Pattern comparison ("rpt-patterns/1"); nil: RUN/patterns.json if present.
    public var patterns: String?
    public var title: String?
    public var traces = 8
    public var now = Date()

    public init(run: String, out: String) {
        self.run = run
        self.out = out
    }
}

public enum RunReport {
    /// What went into a written report.
    public struct Written: Sendable {
        public var path: String
        public var bytes: Int
        /// Section ids with content, and notes for the sections without input.
        public var sections: [String]
        public var notes: [String]
        /// The never-learned warning shown at the top of the page, if any (one line).
        public var warning: String?
    }

    @discardableResult
    public static func write(_ o: RunReportOptions) throws -> Written {
        let (html, sections, notes, warning) = try render(o)
        let data = Data(html.utf8)
        try AtomicFile.write(data, to: o.out)
        return Written(path: o.out, bytes: data.count, sections: sections, notes: notes, warning: warning)
    }

    /// The page, the ids of the sections that had input, the notes for those that had none, and the warning.
    static func render(_ o: RunReportOptions) throws -> (html: String, sections: [String], notes: [String], warning: String?) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: o.run, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw RPTError("run directory not found", file: o.run)
        }
        let fm = FileManager.default
        let run = o.run.hasSuffix("/") && o.run.count > 1 ? String(o.run.dropLast()) : o.run
        var sections: [HTMLSection] = []
        var present: [String] = [], notes: [String] = []
        func add(_ id: String, _ title: String, _ body: String?, missing: String) {
            if let body { sections.append(HTMLSection(id: id, title: title, body: body)); present.append(id) }
            else { sections.append(HTMLSection(id: id, title: title, body: HTML.note(missing))); notes.append(missing) }
        }

        // Training curves.
        let metricsPath = run + "/metrics.jsonl"
        let metrics = fm.fileExists(atPath: metricsPath) ? try RunMetrics.load(path: metricsPath) : nil
        if !o.compare.isEmpty {
            let paths = [o.run] + o.compare
            let labels = try ComparisonSection.labels(for: paths, given: o.labels)
            let runs = try zip(paths, labels).map { path, label in
                let m = path + "/metrics.jsonl"
                guard fm.fileExists(atPath: m) else { throw RPTError("no metrics.jsonl in this run directory", file: path) }
                return ComparisonSection.Run(label: label, path: path, metrics: try RunMetrics.load(path: m))
            }
            add("comparison", "Runs compared", ComparisonSection.build(runs), missing: "")
        }
        add("training", "Training curves", metrics.map(TrainingSection.build),
            missing: "No training metrics: \(metricsPath) not found.")

        // Evaluation by difficulty split.
        var evalFiles: [EvalInput] = []
        var skipped: [String] = []
        if o.evals.isEmpty {
            let names = ((try? fm.contentsOfDirectory(atPath: run)) ?? []).filter { $0.hasPrefix("eval") && $0.hasSuffix(".json") }.sorted()
            for name in names {
                let path = run + "/" + name
                // Discovered files of another kind are passed over; malformed JSON is still an error.
                guard EvalInput.declaresFormat(try JSON.load(path: path)) else { skipped.append(name); continue }
                evalFiles.append(try EvalInput.load(path: path))
            }
        } else {
            evalFiles = try o.evals.map { try EvalInput.load(path: $0) }
        }
        var evalBody = evalFiles.isEmpty ? nil : EvalSection.build(evalFiles)
        if !skipped.isEmpty {
            let note = HTML.note("Not \(EvalInput.format) files, left out: \(skipped.joined(separator: ", ")).")
            evalBody = evalBody.map { $0 + note }
        }
        add("evaluation", "Next-token accuracy by difficulty", evalBody,
            missing: "No evaluation results (pass --eval FILE, or put eval*.json in the run directory)"
                + (skipped.isEmpty ? "." : "; \(skipped.joined(separator: ", ")) \(skipped.count == 1 ? "is" : "are") not \(EvalInput.format)."))

        // Scaling fit.
        let fitPath = o.fit ?? (fm.fileExists(atPath: run + "/fit.json") ? run + "/fit.json" : nil)
        add("scaling", "Scaling with training compute", try fitPath.map { ScalingSection.build(try FitInput.load(path: $0)) },
            missing: "No scaling fit (pass --fit FILE, or put fit.json in the run directory).")

        // Reasoning patterns.
        let patternsPath = o.patterns ?? (fm.fileExists(atPath: run + "/patterns.json") ? run + "/patterns.json" : nil)
        add("patterns", "Reasoning patterns", try patternsPath.map { PatternsSection.build(try PatternsInput.load(path: $0)) },
            missing: "No reasoning-pattern comparison (pass --patterns FILE, or put patterns.json in the run directory).")

        // Sample traces.
        let completionsPath = run + "/completions.jsonl"
        var tracesBody: String?
        if fm.fileExists(atPath: completionsPath) {
            let loaded = try TraceSamples.load(path: completionsPath)
            tracesBody = TracesSection.build(TraceSamples.select(loaded.traces, count: o.traces), total: loaded.traces.count,
                                             path: completionsPath, droppedIncompleteLastLine: loaded.droppedIncompleteLastLine)
        }
        add("traces", "Sample traces", tracesBody, missing: "No sample traces: \(completionsPath) not found.")

        let name = URL(fileURLWithPath: run).lastPathComponent
        let options = RunSummary.trainingOptions(run: run)
        let check = metrics.flatMap { LearningCheck.assess($0, options: options) }
        let doc = HTMLDocument(title: o.title ?? "RPT training report · \(name)",
                               header: (check?.html ?? "") + RunSummary.build(run: run, metrics: metrics, options: options, now: o.now),
                               sections: sections,
                               footer: "Generated by <code>rpt report</code> · Reinforcement Pre-Training (arXiv 2506.08007) · "
                                   + RunSummary.date(o.now, format: "yyyy-MM-dd HH:mm 'UTC'"))
        return (doc.render(), present, notes, check?.headline)
    }
}
