// Input of `rpt fit`: (training compute, accuracy) points grouped by split, read from either
//   JSONL, one point a line: {"split":"hard","compute":1.2e15,"accuracy":0.23} ("flops" is a synonym of
//     "compute"; "split" defaults to "all"), or
//   an evaluation file {"format":"rpt-eval/1","results":[{"model":..,"flops":..,"splits":{"easy":{"accuracy":..},..}}]},
//     one point per result and split; results without compute (null or 0 flops: the initial model) are skipped
//     and noted.

import Foundation

public struct FitPoints {
    public struct Point: Equatable, Sendable {
        public var compute: Double
        public var accuracy: Double
    }

    /// Split names in first-seen order.
    public var splits: [String] = []
    public var points: [String: [Point]] = [:]
    /// Why inputs were left out (e.g. a result with no compute).
    public var skipped: [String] = []

    mutating func add(_ p: Point, split: String) {
        if points[split] == nil { splits.append(split) }
        points[split, default: []].append(p)
    }

    /// Reads `path`, choosing the format from its content (a JSON document with "format" is an evaluation file).
    public static func load(path: String) throws -> FitPoints {
        guard let data = FileManager.default.contents(atPath: path) else { throw RPTError("cannot read file", file: path) }
        if let whole = try? JSONReader.parse([UInt8](data), file: path), let object = whole.objectValue,
           let format = object["format"] {
            guard format.stringValue == EvalFile.format else {
                throw RPTError("unsupported format \(JSON(format).serialized()); expected \"\(EvalFile.format)\" or JSON lines of points", file: path)
            }
            return try fromEval(EvalFile.load(path: path), path: path)
        }
        return try fromJSONLines(path)
    }

    static func fromJSONLines(_ path: String) throws -> FitPoints {
        var out = FitPoints()
        for (line, record) in try JSONLines.read(path) {
            func bad(_ why: String) -> RPTError { RPTError("line \(line): \(why)", file: path) }
            guard let c = record["compute"] ?? record["flops"] else { throw bad("missing \"compute\" (or \"flops\")") }
            guard let compute = c.doubleValue else { throw bad("\"compute\" must be a number") }
            guard let accuracy = record["accuracy"]?.doubleValue else { throw bad("missing or non-numeric \"accuracy\"") }
            var split = "all"
            if let s = record["split"], !s.isNull {
                guard let name = s.stringValue else { throw bad("\"split\" must be a string") }
                split = name
            }
            guard compute.isFinite, accuracy.isFinite else { throw bad("non-finite compute or accuracy") }
            guard (0...1).contains(accuracy) else { throw bad("\"accuracy\" must be a fraction in [0, 1] (got \(accuracy))") }
            guard compute > 0 else { throw bad("compute must be positive (got \(compute))") }
            out.add(Point(compute: compute, accuracy: accuracy), split: split)
        }
        return out
    }

    static func fromEval(_ file: EvalFile, path: String) throws -> FitPoints {
        var out = FitPoints()
        for (i, r) in file.results.enumerated() {
            func bad(_ why: String) -> RPTError { RPTError("results[\(i)]: \(why)", file: path) }
            let name = r.model ?? r.step.map { "step \($0)" } ?? "result \(i)"
            guard let flops = r.flops else {
                out.skipped.append("results[\(i)] (\(name)): no flops (initial model?); skipped")
                continue
            }
            guard flops.isFinite, flops >= 0 else { throw bad("\"flops\" must be a finite number ≥ 0") }
            if flops == 0 {
                out.skipped.append("results[\(i)] (\(name)): 0 flops (initial model); skipped")
                continue
            }
            guard let splits = r.splits else { throw bad("missing \"splits\" object") }
            for split in splits.keys.sorted() {
                guard let accuracy = splits[split]!.accuracy else {
                    out.skipped.append("results[\(i)] (\(name)) split \(split): no accuracy; skipped")
                    continue
                }
                guard accuracy.isFinite, (0...1).contains(accuracy) else {
                    throw bad("split \"\(split)\": \"accuracy\" must be a fraction in [0, 1]")
                }
                out.add(Point(compute: flops, accuracy: accuracy), split: split)
            }
        }
        guard !out.splits.isEmpty else { throw RPTError("no result with flops and accuracy to fit", file: path) }
        return out
    }
}
