// Reasoning-pattern analysis of paper §4.5 (App. E, Table 9): six keyword groups; a trace shows a group when
// it contains any of the group's keywords as a case-insensitive substring, and counts once per group
// however many keywords match. Substring matching is the paper's convention, so "wait" also matches
// "await" and "either" "neither"; multi-word keywords must appear with the same single spaces.
// Groups are data: a JSON file {"Group":["keyword",..],..} replaces the paper's lists (file order kept).

import Foundation

public struct ReasoningPatterns: Sendable {
    public struct Group: Sendable, Equatable {
        public var name: String
        public var keywords: [String]
        public init(name: String, keywords: [String]) { self.name = name; self.keywords = keywords }
    }

    public var groups: [Group]
    private let needles: [[[UInt8]]]

    public init(groups: [Group]) {
        self.groups = groups
        needles = groups.map { $0.keywords.map { Array($0.lowercased().utf8) } }
    }

    /// Table 9 of the paper.
    public static let paper = ReasoningPatterns(groups: [
        Group(name: "Transition", keywords: ["alternatively", "think differently"]),
        Group(name: "Reflection", keywords: ["wait", "initial answer", "original answer", "looking back", "thought process"]),
        Group(name: "Breakdown", keywords: ["break down", "break this down"]),
        Group(name: "Hypothesis", keywords: ["probably", "something like"]),
        Group(name: "Divergent Thinking", keywords: ["etc.", "or something", "either", "sometimes it refers", "otherwise", "exploring", "options"]),
        Group(name: "Deduction", keywords: ["summarize", "conclusion", "conclude", "finally", "logically", "consequently"]),
    ])

    /// Groups from a JSON object {"Group":["keyword",..]}; errors name the file.
    public static func load(path: String) throws -> ReasoningPatterns {
        guard let data = FileManager.default.contents(atPath: path) else { throw RPTError("cannot read file", file: path) }
        let value: JSONValue
        do { value = try JSONReader.parse([UInt8](data), file: path) } catch let e as RPTError {
            throw RPTError(e.message, file: path)
        }
        guard let object = value.objectValue, object.count > 0 else {
            throw RPTError("expected a non-empty object {\"Group\": [\"keyword\", ...]}", file: path)
        }
        var groups: [Group] = []
        for (name, list) in zip(object.keys, object.values) {
            guard let items = list.arrayValue, !items.isEmpty else {
                throw RPTError("group \"\(name)\": expected a non-empty array of keywords", file: path)
            }
            let keywords = try items.map { item -> String in
                guard let k = item.stringValue, !k.isEmpty else {
                    throw RPTError("group \"\(name)\": keywords must be non-empty strings", file: path)
                }
                return k
            }
            guard !groups.contains(where: { $0.name == name }) else { throw RPTError("group \"\(name)\" appears twice", file: path) }
            groups.append(Group(name: name, keywords: keywords))
        }
        return ReasoningPatterns(groups: groups)
    }

    /// Which groups `text` shows (each at most once), in group order.
    public func groups(in text: String) -> [String] {
        let hay = Array(text.lowercased().utf8)
        return zip(groups, needles).compactMap { group, keys in
            keys.contains { Self.contains(hay, $0) } ? group.name : nil
        }
    }

    /// Counts over a set of traces: how many traces show each group.
    public func count(_ traces: [String]) -> PatternCounts {
        var counts = [Int](repeating: 0, count: groups.count)
        for t in traces {
            let shown = Set(groups(in: t))
            for (i, g) in groups.enumerated() where shown.contains(g.name) { counts[i] += 1 }
        }
        return PatternCounts(n: traces.count, groups: groups.map(\.name), counts: counts)
    }

    static func contains(_ hay: [UInt8], _ needle: [UInt8]) -> Bool {
        guard let first = needle.first else { return true }
        guard hay.count >= needle.count else { return false }
        var i = 0
        let last = hay.count - needle.count
        while i <= last {
            if hay[i] == first {
                var k = 1
                while k < needle.count, hay[i + k] == needle[k] { k += 1 }
                if k == needle.count { return true }
            }
            i += 1
        }
        return false
    }
}
