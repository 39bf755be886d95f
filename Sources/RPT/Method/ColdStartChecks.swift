// The cold start's stopping check (docs/reproduction.md, "A cold start that trains until it calculates"): rather
// than a fixed number of supervised steps, the cold start trains until its reasoning traces write the corpus's
// calculations. Every `every` steps its greedy reasoning-mode responses at calculation positions of documents it
// never trains on (the pool's RL documents; the reference is the corpus's own calculator annotation, and no
// evaluation document is read) are scored as TraceUse's "calculation exactly right", and it stops at the first
// check that reaches the threshold, or at the horizon of its schedule. The learning-rate schedule spans the
// horizon, so every step before the stop is the step the full-length run would take. The checks are one JSONL file
// (`rpt-cold-start-checks/1`, one line per check) that the reproduction writes and its results read.

import Foundation

public struct ColdStartChecks: Sendable, Equatable {
    public static let format = "rpt-cold-start-checks/1"

    public struct Check: Sendable, Equatable {
        public var step: Int
        /// Share of the responses whose trace before </think> is exactly the annotated calculation.
        public var calculationRight: Double
        public var responses: Int
        public init(step: Int, calculationRight: Double, responses: Int) {
            self.step = step; self.calculationRight = calculationRight; self.responses = responses
        }
    }

    public var checks: [Check]
    public init(_ checks: [Check] = []) { self.checks = checks }

    /// The step to train to next, or nil when training is over: the last check reached `threshold`, or the
    /// horizon was reached. Checks fall every `every` steps and at the horizon.
    public func nextStep(every: Int, horizon: Int, threshold: Double) -> Int? {
        if let last = checks.last, last.calculationRight >= threshold || last.step >= horizon { return nil }
        return min((checks.last?.step ?? 0) + every, horizon)
    }

    /// Whether the run stopped before its horizon because a check reached `threshold`.
    public func stoppedEarly(horizon: Int, threshold: Double) -> Bool {
        guard let last = checks.last else { return false }
        return last.calculationRight >= threshold && last.step < horizon
    }

    /// The check positions: a seeded sample of at most `count` positions inside an annotated calculation, from
    /// the documents of `pool` that are not in `trainingDocuments`, in their file order.
    public static func positions(pool: [PositionRecord], excluding trainingDocuments: Set<String>, count: Int, seed: UInt64) -> [PositionRecord] {
        let candidates = pool.filter { $0.calculation != nil && !trainingDocuments.contains($0.docId) }
        guard candidates.count > count else { return candidates }
        return DataShuffle.subset(count: candidates.count, keep: count, seed: seed).map { candidates[$0] }
    }

    /// The check of one checkpoint's responses: its `rpt eval --dump` file joined with the check positions.
    public static func check(step: Int, dump: String, positions: [PositionRecord]) throws -> Check {
        let uses = try TraceUse.analyze(dump: dump, positions: positions)
        guard uses.count == 1, let use = uses.values.first, use.responses > 0 else {
            throw RPTError("expected the greedy responses of one model at the check positions, found \(uses.count) model(s)", file: dump)
        }
        return Check(step: step, calculationRight: Double(use.calculationRight) / Double(use.responses), responses: use.responses)
    }

    /// Reads a checks file; a missing file is no checks yet.
    public static func read(path: String) throws -> ColdStartChecks {
        guard FileManager.default.fileExists(atPath: path) else { return ColdStartChecks() }
        var checks: [Check] = []
        for (line, r) in try JSONLines.read(path) {
            guard r["format"]?.stringValue == format, let step = r["step"]?.intValue, step >= 1,
                  let right = r["calculation_right"]?.doubleValue, (0...1).contains(right),
                  let n = r["responses"]?.intValue, n >= 1 else {
                throw RPTError("line \(line): not an \(format) record with step ≥ 1, calculation_right in [0, 1] and responses ≥ 1", file: path)
            }
            guard step > (checks.last?.step ?? 0) else { throw RPTError("line \(line): steps must increase", file: path) }
            checks.append(Check(step: step, calculationRight: right, responses: n))
        }
        return ColdStartChecks(checks)
    }

    public func write(to path: String) throws {
        let lines = checks.map { c in
            JSON.object(["format": .string(Self.format), "step": .number(Double(c.step)), "calculation_right": .number(c.calculationRight),
                         "responses": .number(Double(c.responses))]).serialized() + "\n"
        }
        try AtomicFile.write(Data(lines.joined().utf8), to: path)
    }

    public var json: JSON {
        .array(checks.map { .object(["step": .number(Double($0.step)), "calculation_right": .number($0.calculationRight),
                                     "responses": .number(Double($0.responses))]) })
    }
}
