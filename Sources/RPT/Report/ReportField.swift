// Typed reads of the optional fields of the report's fit and patterns inputs (evaluation files are EvalFile):
// absent or null is nil, a value of the wrong type is an error naming the file and the field's path
// ("fits.hard.points[2].compute"). Also the order in which splits and categories are shown.

import Foundation

enum ReportField {
    static func number(_ v: JSON?, _ field: String, _ path: String) throws -> Double? {
        guard let v, !v.isNull else { return nil }
        guard let d = v.metricValue else { throw RPTError("\(field) must be a number", file: path) }
        return d.isFinite ? d : nil
    }

    static func int(_ v: JSON?, _ field: String, _ path: String) throws -> Int? {
        guard let v, !v.isNull else { return nil }
        guard let i = v.int else { throw RPTError("\(field) must be an integer", file: path) }
        return i
    }

    /// The object at `field`, or an error naming it.
    static func object(_ v: JSON?, _ field: String, _ path: String) throws -> [String: JSON] {
        guard let o = v?.object else { throw RPTError("\(field) must be an object", file: path) }
        return o
    }
}

/// Display order of names: difficulty splits first (easy, medium, hard, all), the rest alphabetically.
enum ReportOrder {
    static let difficulty = ["easy", "medium", "hard", "all"]

    static func splits(_ names: [String]) -> [String] {
        let known = difficulty.filter(names.contains)
        return known + names.filter { !difficulty.contains($0) }.sorted()
    }
}
