// The order in which the report shows splits and categories.

import Foundation

/// Display order of names: difficulty splits first (easy, medium, hard, all), the rest alphabetically.
enum ReportOrder {
    static let difficulty = ["easy", "medium", "hard", "all"]

    static func splits(_ names: [String]) -> [String] {
        let known = difficulty.filter(names.contains)
        return known + names.filter { !difficulty.contains($0) }.sorted()
    }
}
