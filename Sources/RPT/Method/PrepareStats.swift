// Counts of an `rpt prepare` run (RPT §3.3): what was read, skipped and kept, the proxy-entropy histogram of
// every scored position, and how many positions survive each entropy threshold. Stored per document in the
// work file (so a resumed run reproduces them) and summed into DIR/meta.json; `rpt prepare --stats` prints it.

import Foundation

public struct PrepareCounts: Sendable, Equatable {
    /// Thresholds of the survival table (nats).
    public static let thresholds: [Float] = [0.5, 1.0, 1.5, 2.0]
    /// Histogram bins: 0.1 nats wide; the last bin holds everything ≥ 2.7 (the maximum is ln 16 ≈ 2.77).
    public static let binWidth: Float = 0.1
    public static let binCount = 28

    public var documents = 0
    /// Documents whose token bytes do not spell their text (skipped).
    public var unreproducibleDocuments = 0
    public var policyTokens = 0
    public var proxyTokens = 0
    /// Positions t ≥ 1 of the policy tokenization.
    public var candidatePositions = 0
    /// Positions with fewer than --min-context tokens of left context.
    public var shortContext = 0
    /// Positions no proxy token starts at (same byte).
    public var unalignedProxy = 0
    /// Positions with a proxy entropy.
    public var scored = 0
    /// Scored positions above each of `thresholds`.
    public var aboveThreshold = [Int](repeating: 0, count: PrepareCounts.thresholds.count)
    public var histogram = [Int](repeating: 0, count: PrepareCounts.binCount)
    /// Positions written.
    public var written = 0
    /// Training positions dropped by the per-document cap.
    public var capped = 0
    /// Validation positions no split-model token aligns with.
    public var unalignedSplitModel = 0
    /// Validation positions per split (easy, medium, hard).
    public var splitCounts = [Int](repeating: 0, count: DifficultySplit.allCases.count)

    public init() {}

    public mutating func addScored(_ entropy: Float) {
        scored += 1
        for (i, h) in PrepareCounts.thresholds.enumerated() where entropy > h { aboveThreshold[i] += 1 }
        let bin = min(PrepareCounts.binCount - 1, max(0, Int(entropy / PrepareCounts.binWidth)))
        histogram[bin] += 1
    }

    public mutating func add(_ o: PrepareCounts) {
        documents += o.documents; unreproducibleDocuments += o.unreproducibleDocuments
        policyTokens += o.policyTokens; proxyTokens += o.proxyTokens
        candidatePositions += o.candidatePositions; shortContext += o.shortContext
        unalignedProxy += o.unalignedProxy; scored += o.scored
        for i in aboveThreshold.indices { aboveThreshold[i] += o.aboveThreshold[i] }
        for i in histogram.indices { histogram[i] += o.histogram[i] }
        written += o.written; capped += o.capped; unalignedSplitModel += o.unalignedSplitModel
        for i in splitCounts.indices { splitCounts[i] += o.splitCounts[i] }
    }

    nonisolated(unsafe) private static let intFields: [(String, WritableKeyPath<PrepareCounts, Int>)] = [
        ("documents", \.documents), ("unreproducible_documents", \.unreproducibleDocuments),
        ("policy_tokens", \.policyTokens), ("proxy_tokens", \.proxyTokens),
        ("candidate_positions", \.candidatePositions), ("short_context", \.shortContext),
        ("unaligned_proxy", \.unalignedProxy), ("scored", \.scored), ("written", \.written),
        ("capped", \.capped), ("unaligned_split_model", \.unalignedSplitModel),
    ]

    public var json: JSON {
        var o: [String: JSON] = [:]
        for (k, p) in PrepareCounts.intFields { o[k] = .number(Double(self[keyPath: p])) }
        o["above_threshold"] = .array(aboveThreshold.map { .number(Double($0)) })
        o["histogram"] = .array(histogram.map { .number(Double($0)) })
        o["splits"] = .array(splitCounts.map { .number(Double($0)) })
        return .object(o)
    }

    public init(json: JSON, file: String) throws {
        func ints(_ k: String, count: Int) throws -> [Int] {
            guard let a = json[k]?.array, a.count == count else { throw RPTError("counts: \"\(k)\" must be an array of \(count) integers", file: file) }
            return try a.map { guard let i = $0.int else { throw RPTError("counts: \"\(k)\" holds a non-integer", file: file) }; return i }
        }
        for (k, p) in PrepareCounts.intFields {
            guard let v = json[k]?.int else { throw RPTError("counts: missing or non-integer \"\(k)\"", file: file) }
            self[keyPath: p] = v
        }
        aboveThreshold = try ints("above_threshold", count: PrepareCounts.thresholds.count)
        histogram = try ints("histogram", count: PrepareCounts.binCount)
        splitCounts = try ints("splits", count: DifficultySplit.allCases.count)
    }
}

public enum PrepareSummary {
    /// The text `rpt prepare --stats DIR` prints, from DIR/meta.json.
    public static func render(directory: String) throws -> String {
        let path = directory + "/meta.json"
        guard FileManager.default.fileExists(atPath: path) else {
            throw RPTError("no meta.json: not a finished `rpt prepare` output directory", file: directory)
        }
        let meta = try JSON.load(path: path)
        guard meta["format"]?.string == PositionRecord.format else {
            throw RPTError("\"format\" is not \"\(PositionRecord.format)\"", file: path)
        }
        guard let trainJSON = meta["train"], let valJSON = meta["val"] else {
            throw RPTError("missing \"train\" or \"val\" counts", file: path)
        }
        let train = try PrepareCounts(json: trainJSON, file: path)
        let val = try PrepareCounts(json: valJSON, file: path)
        var all = train
        all.add(val)
        var out = ""
        let threshold = meta["options"]?["entropy_threshold"]?.double ?? .nan
        out += "rpt-positions/1 dataset \(directory)\n"
        if let c = meta["corpus"]?["summary"]?.string { out += "corpus: \(c)\n" }
        out += String(format: "entropy threshold (train): %.2f nats\n\n", threshold)
        out += "split   docs  tokens     candidates  scored     positions\n"
        for (name, c) in [("train", train), ("val", val)] {
            out += name.padding(toLength: 8, withPad: " ", startingAt: 0)
                + pad(c.documents, 6) + pad(c.policyTokens, 11) + pad(c.candidatePositions, 12)
                + pad(c.scored, 11) + pad(c.written, 0) + "\n"
        }
        out += "\nskipped positions: \(all.shortContext) short context, \(all.unalignedProxy) no proxy token at the same byte, "
            + "\(all.unalignedSplitModel) no split-model token (val); \(train.capped) dropped by the per-document cap; "
            + "\(all.unreproducibleDocuments) documents not byte-reproducible\n"
        out += "validation splits: " + zip(DifficultySplit.allCases, val.splitCounts).map { "\($0.rawValue) \($1)" }.joined(separator: ", ") + "\n"
        out += "\nproxy entropy > threshold   train      val        all\n"
        for (i, h) in PrepareCounts.thresholds.enumerated() {
            out += String(format: "  > %.1f                   ", h) + pad(train.aboveThreshold[i], 11)
                + pad(val.aboveThreshold[i], 11) + pad(all.aboveThreshold[i], 0)
                + String(format: "  (%.1f%%)", all.scored > 0 ? 100 * Double(all.aboveThreshold[i]) / Double(all.scored) : 0) + "\n"
        }
        out += "\nproxy entropy histogram (all scored positions, nats)\n"
        let peak = max(1, all.histogram.max() ?? 1)
        for (i, n) in all.histogram.enumerated() {
            let lo = Float(i) * PrepareCounts.binWidth
            let label = i == PrepareCounts.binCount - 1 ? String(format: "%.1f+     ", lo) : String(format: "%.1f–%.1f ", lo, lo + PrepareCounts.binWidth)
            let bar = String(repeating: "█", count: Int((Double(n) / Double(peak) * 50).rounded(.up)))
            out += "  " + label + pad(n, 8) + " " + bar + "\n"
        }
        return out
    }

    private static func pad(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return width > s.count ? s + String(repeating: " ", count: width - s.count) : s + (width > 0 ? " " : "")
    }
}
