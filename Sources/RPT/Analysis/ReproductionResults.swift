// The results of `rpt reproduce` (docs/reproduction.md): per seed, results.json gathers the accuracies of every
// model and mode per split, the paired comparisons, the scaling fit, how the models use their calculation
// traces, the RL data's composition, compute and time, and the gates (ReproductionGates.swift); across seeds,
// summary.json and RESULTS.md give each number's mean and range and how many seeds pass each gate.

import Foundation

/// One seed's results, read from the files of its run directory.
public struct ReproductionSeedResults: Sendable {
    public static let groups = ["all", "easy", "medium", "hard", EvalItem.calculationGroup]
    /// Rows of the accuracy table: (key, model, mode, file, label in the file).
    static func rows(finalLabel: String) -> [(key: String, model: String, mode: String, file: String, label: String)] {
        [("base-ntp", "(a) base", "standard", "eval-ntp.json", "base"),
         ("ntp-matched-ntp", "(b) compute-matched NTP", "standard", "eval-ntp.json", "ntp-matched"),
         ("cold-start-ntp", "(c) cold start", "standard", "eval-ntp.json", "cold-start"),
         ("rpt-ntp", "(d) RPT", "standard", "eval-ntp.json", "rpt"),
         ("cold-start-reasoning", "(c) cold start", "reasoning", "eval-reasoning.json", "initial"),
         ("rpt-reasoning", "(d) RPT", "reasoning", "eval-reasoning.json", finalLabel),
         ("sft-control-reasoning", "(e) supervised control", "reasoning", "eval-control.json", "sft-control")]
    }
    public static let comparisons = [("rpt-vs-ntp-matched", "(d) reasoning − (b) standard"), ("rpt-vs-cold-start", "(d) − (c), reasoning"),
                                     ("rpt-vs-sft-control", "(d) − (e), reasoning"), ("cold-start-vs-base-ntp", "(c) − (a), standard"),
                                     ("rpt-vs-cold-start-ntp", "(d) reasoning − (c) standard")]

    public var json: JSON
    public var text: String

    public static func collect(dir: String, finalLabel: String, seed: UInt64, flops: [String: Double]) throws -> ReproductionSeedResults {
        var root: [String: JSON] = ["seed": .number(Double(seed)), "final_checkpoint": .string(finalLabel)]
        // Accuracy per row and group.
        var evals: [String: EvalFile] = [:]
        func eval(_ file: String) throws -> EvalFile {
            if let e = evals[file] { return e }
            let e = try EvalFile.load(path: dir + "/" + file)
            evals[file] = e
            return e
        }
        func result(_ file: String, _ label: String) throws -> EvalFile.Result {
            guard let r = try eval(file).result(labelled: label) else { throw RPTError("no result labelled '\(label)'", file: dir + "/" + file) }
            return r
        }
        func accuracies(_ r: EvalFile.Result) -> JSON {
            var g: [String: JSON] = [:]
            for name in groups { if let a = r.splits?[name]?.accuracy { g[name] = .number(a) } }
            return .object(g)
        }
        var accuracy: [String: JSON] = [:]
        for row in rows(finalLabel: finalLabel) { accuracy[row.key] = accuracies(try result(row.file, row.label)) }
        root["accuracy"] = .object(accuracy)
        var n: [String: JSON] = [:]
        let reasoningSplits = try result("eval-reasoning.json", "initial").splits
        for name in groups { if let c = reasoningSplits?[name]?.n { n[name] = .number(Double(c)) } }
        root["n_reasoning"] = .object(n)
        // The scaling curve: every checkpoint of (d) with its RL FLOPs.
        root["curve"] = .array(try eval("eval-reasoning.json").results.compactMap { r -> JSON? in
            guard let f = r.flops, r.splits != nil else { return nil }
            return .object(["step": r.step.map { .number(Double($0)) } ?? .null, "flops": .number(f), "accuracy": accuracies(r)])
        })
        // Paired comparisons.
        var diffs: [String: [String: ReproductionGates.Difference]] = [:]
        var compared: [String: JSON] = [:]
        for (name, _) in comparisons {
            let d = try ReproductionGates.differences(compareFile: dir + "/compare-\(name).json")
            diffs[name] = d
            compared[name] = .object(d.mapValues { $0.json })
        }
        root["comparisons"] = .object(compared)
        // Scaling fit.
        let fitPath = dir + "/fit.json"
        let fit = FileManager.default.fileExists(atPath: fitPath) ? try FitFile.load(path: fitPath) : nil
        let r2 = fit?.r2
        if let fit { root["fit"] = try fit.json(file: fitPath)["fits"] ?? .null }
        let gates = ReproductionGates(g1: diffs["rpt-vs-ntp-matched"] ?? [:], rl: diffs["rpt-vs-cold-start"] ?? [:],
                                      control: diffs["rpt-vs-sft-control"] ?? [:], coldStartNTP: diffs["cold-start-vs-base-ntp"] ?? [:], r2: r2)
        root["gates"] = gates.json
        // How the models use their traces on calculation positions.
        let positions = try PositionDataset.read(path: dir + "/prep-eval/val.jsonl")
        var use: [String: JSON] = [:]
        for file in ["responses.jsonl", "responses-control.jsonl"] where FileManager.default.fileExists(atPath: dir + "/" + file) {
            for (label, u) in try TraceUse.analyze(dump: dir + "/" + file, positions: positions) where [ "initial", finalLabel, "sft-control"].contains(label) {
                use[label == finalLabel ? "rpt" : label == "initial" ? "cold-start" : label] = u.json
            }
        }
        root["trace_use"] = .object(use)
        // RL data: the share of positions reasoning can compute, and how the entropy filter changes it.
        let pool = try PositionDataset.read(path: dir + "/prep-pool/train.jsonl")
        let rl = try PositionDataset.read(path: dir + "/rl.jsonl")
        var byThreshold: [String: JSON] = [:]
        for t: Float in [0.5, 1.0, 1.5, 2.0] {
            let kept = pool.filter { $0.proxyEntropy > t }
            byThreshold[String(format: "%.1f", t)] = .object(["positions": .number(Double(kept.count)),
                                                              "calculation_share": .number(share(kept))])
        }
        root["rl_data"] = .object(["positions": .number(Double(rl.count)), "documents": .number(Double(Set(rl.map(\.docId)).count)),
                                   "calculation_share": .number(share(rl)), "pool_by_threshold": .object(byThreshold)])
        var evalComposition: [String: JSON] = [:]
        for s in DifficultySplit.allCases {
            let members = positions.filter { $0.splits?.contains(s) ?? false }
            evalComposition[s.rawValue] = .object(["positions": .number(Double(members.count)), "calculation_share": .number(share(members))])
        }
        root["eval_data"] = .object(evalComposition)
        root["flops"] = .object(flops.mapValues { .number($0) })
        // The cold start's stopping checks, when it had them: its length and how right its calculations were.
        let checksFile = dir + "/cold-start-checks/checks.jsonl"
        if FileManager.default.fileExists(atPath: checksFile) {
            let checks = try ColdStartChecks.read(path: checksFile)
            root["cold_start_checks"] = checks.json
            if let last = checks.checks.last {
                root["cold_start_stop"] = .object(["step": .number(Double(last.step)), "calculation_right": .number(last.calculationRight)])
            }
        }
        if let s = try? JSON.load(path: dir + "/stage-seconds.json") { root["seconds"] = s }
        let json = JSON.object(root)
        return ReproductionSeedResults(json: json, text: Self.describe(json, gates: gates))
    }

    static func share(_ records: [PositionRecord]) -> Double {
        records.isEmpty ? 0 : Double(records.filter { $0.calculation != nil }.count) / Double(records.count)
    }

    static func describe(_ j: JSON, gates: ReproductionGates) -> String {
        var lines = ["accuracy (%) on the held-out positions:"]
        lines.append(pad("model", 26) + pad("mode", 11) + groups.map { pad($0, 12) }.joined())
        for row in rows(finalLabel: j["final_checkpoint"]?.string ?? "") {
            let a = j["accuracy"]?[row.key]
            lines.append(pad(row.model, 26) + pad(row.mode, 11) + groups.map { g in
                pad(a?[g]?.double.map { String(format: "%.1f", 100 * $0) } ?? "–", 12)
            }.joined())
        }
        if let stop = j["cold_start_stop"], let step = stop["step"]?.double, let right = stop["calculation_right"]?.double {
            lines.append(String(format: "cold start: %d steps; calculations exactly right in %.1f%% of its check positions at its last check",
                                Int(step), 100 * right))
        }
        lines.append("gates:")
        for g in gates.gates { lines.append("  \(g.name) \(g.passed ? "met    " : "NOT met") \(g.claim): \(g.evidence)") }
        return lines.joined(separator: "\n")
    }

    static func pad(_ s: String, _ w: Int) -> String { s.count >= w ? s + " " : s + String(repeating: " ", count: w - s.count) }
}

/// The seeds of one reproduction together: each number's mean and range, and gate counts.
public struct ReproductionSummary: Sendable {
    public var name: String
    public var seeds: [UInt64]
    public var results: [JSON]
    public var missing: [UInt64]

    public init(root: String, seeds: [UInt64], name: String) throws {
        self.name = name
        var found: [UInt64] = [], results: [JSON] = [], missing: [UInt64] = []
        for s in seeds {
            let path = "\(root)/seed-\(s)/results.json"
            if FileManager.default.fileExists(atPath: path) { results.append(try JSON.load(path: path)); found.append(s) } else { missing.append(s) }
        }
        self.seeds = found
        self.results = results
        self.missing = missing
    }

    /// Values of `path` (keys) in each seed's results.
    func values(_ path: [String]) -> [Double] {
        results.compactMap { r in path.reduce(Optional(r)) { $0?[$1] }?.double }
    }

    static func stat(_ v: [Double], scale: Double = 100, signed: Bool = false, decimals: Int = 1) -> String {
        guard !v.isEmpty else { return "–" }
        let f = (signed ? "%+." : "%.") + "\(decimals)f"
        let mean = String(format: f, scale * v.reduce(0, +) / Double(v.count))
        if v.count == 1 { return mean }
        return mean + " [" + String(format: f, scale * v.min()!) + ", " + String(format: f, scale * v.max()!) + "]"
    }

    public var json: JSON {
        var gates: [String: JSON] = [:]
        for r in results {
            for g in r["gates"]?.array ?? [] {
                guard let name = g["gate"]?.string else { continue }
                let passed = g["passed"]?.bool == true ? 1.0 : 0.0
                gates[name] = .number((gates[name]?.double ?? 0) + passed)
            }
        }
        return .object(["format": .string("rpt-reproduction-summary/1"), "name": .string(name),
                        "seeds": .array(seeds.map { .number(Double($0)) }), "missing_seeds": .array(missing.map { .number(Double($0)) }),
                        "gates_passed": .object(gates), "results": .array(results)])
    }

    /// RESULTS.md tables (numbers in percent: mean [min, max] over the seeds).
    public func markdown(command: String) -> String {
        let groups = ReproductionSeedResults.groups
        var md = ["## \(name): \(seeds.count) seed(s) (\(seeds.map(String.init).joined(separator: ", ")))" + (missing.isEmpty ? "" : "; not finished: \(missing.map(String.init).joined(separator: ", "))"),
                  "", "Command: `\(command)`. Accuracy in %, mean [min, max] over seeds, on the same held-out positions.", ""]
        md.append("| model | mode | " + groups.joined(separator: " | ") + " |")
        md.append("|---|---|" + String(repeating: "---:|", count: groups.count))
        for row in ReproductionSeedResults.rows(finalLabel: "") {
            md.append("| \(row.model) | \(row.mode) | " + groups.map { Self.stat(values(["accuracy", row.key, $0])) }.joined(separator: " | ") + " |")
        }
        md.append("| positions evaluated | | " + groups.map { Self.stat(values(["n_reasoning", $0]), scale: 1, decimals: 0) }.joined(separator: " | ") + " |")
        md += ["", "Paired differences (points; mean [min, max] over seeds; each seed's 95% document-bootstrap CI in results.json):", ""]
        md.append("| comparison | " + groups.joined(separator: " | ") + " |")
        md.append("|---|" + String(repeating: "---:|", count: groups.count))
        for (key, label) in ReproductionSeedResults.comparisons {
            md.append("| \(label) | " + groups.map { Self.stat(values(["comparisons", key, $0, "difference"]), signed: true) }.joined(separator: " | ") + " |")
        }
        md += ["", "| gate | claim | seeds met | evidence per seed |", "|---|---|---:|---|"]
        let gateNames = results.first?["gates"]?.array?.compactMap { $0["gate"]?.string } ?? []
        for name in gateNames {
            let per = results.map { r in r["gates"]?.array?.first { $0["gate"]?.string == name } }
            let met = per.filter { $0?["passed"]?.bool == true }.count
            let claim = per.first??["claim"]?.string ?? ""
            let evidence = zip(seeds, per).map { s, g in "seed \(s): \(g?["evidence"]?.string ?? "–")" }.joined(separator: "<br>")
            md.append("| \(name) | \(claim) | \(met)/\(results.count) | \(evidence) |")
        }
        md += ["", "Scaling fit of (d)'s reasoning accuracy against RL FLOPs, P(C) = A / C^α + P* (R² per seed):", ""]
        md.append("| split | R² per seed |")
        md.append("|---|---|")
        for g in groups { md.append("| \(g) | " + results.map { r in r["fit"]?[g]?["r2"]?.double.map { String(format: "%.3f", $0) } ?? "–" }.joined(separator: ", ") + " |") }
        md += ["", "How the models use their reasoning on calculation positions (greedy responses; % of responses):", ""]
        md.append("| model | accuracy | writes a calculation | calculation exactly right | box follows its calculation |")
        md.append("|---|---:|---:|---:|---:|")
        for (key, label) in [("cold-start", "(c) cold start"), ("rpt", "(d) RPT"), ("sft-control", "(e) supervised control")] {
            md.append("| \(label) | " + ["accuracy", "wrote_calculation", "calculation_right", "box_follows_calculation"].map {
                Self.stat(values(["trace_use", key, $0]))
            }.joined(separator: " | ") + " |")
        }
        if results.contains(where: { $0["cold_start_stop"] != nil }) {
            md += ["", "The cold start's stopping check (calculations exactly right at held-out calculation positions of the pool's RL documents):", ""]
            md.append("| seed | steps | calculations exactly right at each check (step: %) |")
            md.append("|---|---:|---|")
            for (s, r) in zip(seeds, results) {
                let checks = (r["cold_start_checks"]?.array ?? []).compactMap { c -> String? in
                    guard let step = c["step"]?.double, let right = c["calculation_right"]?.double else { return nil }
                    return String(format: "%d: %.1f", Int(step), 100 * right)
                }
                md.append("| \(s) | " + (r["cold_start_stop"]?["step"]?.double.map { String(Int($0)) } ?? "–") + " | " + checks.joined(separator: ", ") + " |")
            }
        }
        md += ["", "RL data: share of positions inside an annotated calculation (the positions reasoning can compute):", ""]
        md.append("| positions | count | calculation share |")
        md.append("|---|---:|---:|")
        for t in ["0.5", "1.0", "1.5", "2.0"] {
            md.append("| pool, base-model entropy > \(t) | " + Self.stat(values(["rl_data", "pool_by_threshold", t, "positions"]), scale: 1, decimals: 0) + " | "
                      + Self.stat(values(["rl_data", "pool_by_threshold", t, "calculation_share"])) + "% |")
        }
        md.append("| RL training positions (demonstration documents removed) | " + Self.stat(values(["rl_data", "positions"]), scale: 1, decimals: 0) + " | "
                  + Self.stat(values(["rl_data", "calculation_share"])) + "% |")
        for s in DifficultySplit.allCases {
            md.append("| evaluation, \(s.rawValue) split | " + Self.stat(values(["eval_data", s.rawValue, "positions"]), scale: 1, decimals: 0) + " | "
                      + Self.stat(values(["eval_data", s.rawValue, "calculation_share"])) + "% |")
        }
        md += ["", "Training compute (FLOPs, mean over seeds) and wall time (minutes, mean):", ""]
        md.append("| stage | FLOPs | minutes |")
        md.append("|---|---:|---:|")
        for (key, stage, label) in [("base", "base", "(a) base pretraining"), ("cold_start", "cold-start", "(c) cold start"), ("rpt", "rpt", "(d) RPT"),
                                    ("ntp_baseline", "ntp-baseline", "(b) compute-matched NTP"), ("sft_control", "sft-control", "(e) supervised control"),
                                    ("", "evaluate", "evaluation (all models)")] {
            let f = key.isEmpty ? "–" : String(format: "%.3g", values(["flops", key]).reduce(0, +) / Double(max(1, values(["flops", key]).count)))
            let m = values(["seconds", stage])
            md.append("| \(label) | \(f) | " + (m.isEmpty ? "–" : String(format: "%.1f", m.reduce(0, +) / Double(m.count) / 60)) + " |")
        }
        let total = results.map { r in (r["seconds"]?.object?.values.compactMap(\.double) ?? []).reduce(0, +) }
        md.append("| **total per seed** | | " + (total.isEmpty ? "–" : String(format: "%.1f", total.reduce(0, +) / Double(total.count) / 60)) + " |")
        return md.joined(separator: "\n") + "\n"
    }
}
