// The file `rpt eval --out` writes, "rpt-eval/1": one Codable type that the writer (EvalResults) fills and every
// reader decodes — `rpt compare` (EvalOutcomes), `rpt fit` (FitPoints), `rpt report` (EvalInput), `rpt reproduce`
// (ReproductionSeedResults) and the quickstart summary.
//
//   {"format":"rpt-eval/1","data":…,"mode":"ntp"|"reasoning"|"mcq","method":"reasoning"|"loglikelihood" (mcq),
//    "normalization":"none"|"token"|"byte" (mcq by log-likelihood),"samples":k,"temperature":T,"greedy":bool,
//    "template":…,"max_response_tokens":…,"items":n,
//    "positions":[{"doc_id","index","splits":[…]}] | [{"question_id","category"}] (mcq) — the items, in order,
//    "results":[{"model":…,"label":…,"step":…,"flops":…,"seconds":…,"answers":{…},
//                "splits":{"all"|"easy"|"medium"|"hard"|"calculation":{"n","accuracy","ci95":[lo,hi],
//                          "greedy":{"accuracy","ci95"},"sampled":{"mean_accuracy","ci95","pass_at_k","pass_ci95","k"}}},
//                "categories":{…same per category…} (mcq), "macro_accuracy" (mcq: mean over categories),
//                "outcomes":{"greedy":[0|1 per item] (when greedy ran; ntp: argmax correct),
//                            "sample_correct":[correct samples per item], "samples":k (when samples were drawn)},
//                "server":{"url","served_model","tokenizer","capabilities","report"} (a served model; docs/servers.md),
//                "loglikelihood":{"normalization","accuracy":{"none"|"token"|"byte":{group: accuracy}}} (mcq by log-likelihood)}],
//    "paired":[{"a":label,"b":label (the reference),"score":"greedy"|"mean","matched","unmatched_a","unmatched_b",
//               "resamples","seed","splits":{name:{"n","mean_a","mean_b","difference","ci95":[lo,hi],"documents","se"}},
//               "categories":{…} (mcq)}] (with two or more models; see PairedComparison)}
//
// "positions" and every "outcomes" list have one entry per item, in the same order. A position's "splits" also
// lists "calculation" when it lies inside an annotated calculation's result (PositionRecord.calculation); the
// group is reported beside the difficulty splits. Absent optional fields and null mean the same; unknown keys
// are ignored; a field of the wrong type is an error naming the file and the field.

import Foundation

public struct EvalFile: StageFile, Sendable, Equatable {
    public static let format = "rpt-eval/1"

    /// A 95% interval, written [low, high].
    public struct Interval: Codable, Sendable, Equatable {
        public var low: Double
        public var high: Double
        public init(low: Double, high: Double) { self.low = low; self.high = high }
        public init(_ e: AccuracyEstimate) { self.init(low: e.low, high: e.high) }
        public init(from decoder: Decoder) throws {
            var c = try decoder.unkeyedContainer()
            guard c.count == 2 else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "expected [low, high]"))
            }
            low = try c.decode(Double.self)
            high = try c.decode(Double.self)
        }
        public func encode(to encoder: Encoder) throws {
            var c = encoder.unkeyedContainer()
            try c.encode(low)
            try c.encode(high)
        }
    }

    /// Accuracy of one model on one split or category.
    public struct Score: Codable, Sendable, Equatable {
        public struct Greedy: Codable, Sendable, Equatable {
            public var accuracy: Double?
            public var ci95: Interval?
        }
        public struct Sampled: Codable, Sendable, Equatable {
            public var meanAccuracy: Double?
            public var ci95: Interval?
            public var passAtK: Double?
            public var passCI95: Interval?
            public var k: Int?
            enum CodingKeys: String, CodingKey {
                case meanAccuracy = "mean_accuracy", ci95, passAtK = "pass_at_k", passCI95 = "pass_ci95", k
            }
        }
        public var n: Int?
        /// The headline accuracy: greedy when it ran, else the sampled mean.
        public var accuracy: Double?
        public var ci95: Interval?
        public var greedy: Greedy?
        public var sampled: Sampled?

        public init(n: Int? = nil, accuracy: Double? = nil, ci95: Interval? = nil, greedy: Greedy? = nil, sampled: Sampled? = nil) {
            self.n = n
            self.accuracy = accuracy
            self.ci95 = ci95
            self.greedy = greedy
            self.sampled = sampled
        }

        public init(_ g: GroupAccuracy) {
            self.init(n: g.n, accuracy: g.primary.accuracy, ci95: Interval(g.primary),
                      greedy: g.greedy.map { Greedy(accuracy: $0.accuracy, ci95: Interval($0)) })
            if let m = g.sampledMean, let p = g.passAtK {
                sampled = Sampled(meanAccuracy: m.accuracy, ci95: Interval(m), passAtK: p.accuracy, passCI95: Interval(p), k: g.k)
            }
        }

        /// The headline accuracy: the entry's own, else greedy, else the sampled mean.
        public var headline: Double? { accuracy ?? greedy?.accuracy ?? sampled?.meanAccuracy }
        public var headlineCI: Interval? {
            if accuracy != nil { return ci95 }
            if greedy?.accuracy != nil { return greedy?.ci95 }
            return sampled?.ci95
        }
    }

    /// Per-item outcomes of one model, one entry per item of "positions".
    public struct Outcomes: Codable, Sendable, Equatable {
        public var greedy: [Int]?
        public var sampleCorrect: [Int]?
        public var samples: Int?
        enum CodingKeys: String, CodingKey { case greedy, sampleCorrect = "sample_correct", samples }
    }

    /// One evaluated model (a checkpoint, the initial model, or a served model).
    public struct Result: Codable, Sendable, Equatable {
        public var model: String?
        public var label: String?
        public var step: Int?
        public var flops: Double?
        public var seconds: Double?
        /// Answer extraction counts (reasoning mode): "answered", "failed", "failure_<reason>".
        public var answers: [String: Int]?
        public var splits: [String: Score]?
        public var categories: [String: Score]?
        public var macroAccuracy: Double?
        public var outcomes: Outcomes?
        public var server: JSON?
        public var loglikelihood: JSON?

        enum CodingKeys: String, CodingKey {
            case model, label, step, flops, seconds, answers, splits, categories, macroAccuracy = "macro_accuracy", outcomes, server, loglikelihood
        }

        public init(model: String? = nil, label: String? = nil) {
            self.model = model
            self.label = label
        }

        /// The label, else the model's last path component, else "result N" (`index` counted from 0).
        public func name(index: Int) -> String {
            label ?? model.map { URL(fileURLWithPath: $0).lastPathComponent } ?? "result \(index + 1)"
        }
    }

    public var format: String = EvalFile.format
    public var data: String?
    public var mode: String?
    public var method: String?
    public var normalization: String?
    public var samples: Int?
    public var temperature: Double?
    public var greedy: Bool?
    public var template: String?
    public var maxResponseTokens: Int?
    public var items: Int?
    public var positions: [EvalItem]?
    public var results: [Result] = []
    public var paired: [Paired]?

    /// One model against the reference: their labels, the per-item score compared, and the numbers.
    public struct Paired: Codable, Sendable, Equatable {
        public var a: String
        public var b: String
        public var score: String?
        public var record: PairedRecord

        enum CodingKeys: String, CodingKey { case a, b, score }

        public init(_ c: PairedComparison, score: PairedScore) {
            a = c.a
            b = c.b
            self.score = score.rawValue
            record = PairedRecord(c)
        }

        public init(from decoder: Decoder) throws {
            record = try PairedRecord(from: decoder)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            a = try c.decode(String.self, forKey: .a)
            b = try c.decode(String.self, forKey: .b)
            score = try c.decodeIfPresent(String.self, forKey: .score)
        }

        public func encode(to encoder: Encoder) throws {
            try record.encode(to: encoder)
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(a, forKey: .a)
            try c.encode(b, forKey: .b)
            try c.encodeIfPresent(score, forKey: .score)
        }
    }

    enum CodingKeys: String, CodingKey {
        case format, data, mode, method, normalization, samples, temperature, greedy, template
        case maxResponseTokens = "max_response_tokens", items, positions, results, paired
    }

    public init() {}

    /// Whether `json` declares this format (auto-discovery skips other JSON files that match eval*.json).
    public static func declaresFormat(_ json: JSON) -> Bool { json["format"]?.string == format }

    public static func decoded(_ json: JSON, path: String) throws -> EvalFile {
        guard json["results"]?.array != nil else { throw RPTError("\"results\" must be an array", file: path) }
        return try json.decode(EvalFile.self, file: path)
    }

    /// The result labelled `label` (the first, when several share it).
    public func result(labelled label: String) -> Result? { results.first { $0.label == label } }

}

extension EvalItem: Codable {
    public init(from decoder: Decoder) throws {
        guard let item = EvalItem(json: try JSON(from: decoder)) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "must be {\"doc_id\",\"index\",\"splits\"} or {\"question_id\",\"category\"}"))
        }
        self = item
    }

    public func encode(to encoder: Encoder) throws { try json.encode(to: encoder) }
}
