// The generated "ledger stories" corpus of the RPT miniature (docs/reproduction.md): short stories in plain
// sentences in which a character's count of something changes a few times, and the story states the new
// running total after every `changesPerTotal` changes: "Lily had 47 apples. She found 8 more. Then she gave 3
// to her mom. Now she had 52 apples." The new total's digits are deducible from the context (the last total,
// the changes and whether each was gained or lost); everything else — names, things, amounts, changes,
// filler sentences — is either random or predictable from the words before it. Each total carries a
// GSM8K-style calculator annotation with one step per change (`had <<47+8=55,55-3=52>>52 apples`,
// CalculatorAnnotations.swift), stripped before any model reads the text. With two changes per total (the
// default; `changesPerTotal`, `rpt corpus --changes-per-total`), a model predicting the total in one forward
// pass must compose two operations, while a written calculation does one at a time. Deducible tokens are a
// minority of all tokens (about one in fourteen). Seeded: the same seed gives the same corpus.

import Foundation

public struct LedgerCorpusOptions: Sendable, Equatable {
    public var documents = 1000
    public var seed: UInt64 = 0
    /// Stated totals per story, and changes before each total.
    public var minTotals = 1
    public var maxTotals = 3
    public var changesPerTotal = 2
    /// What `changesPerTotal` may be: at least one change, and few enough that a calculation fits a response.
    public static let changesPerTotalRange = 1...6
    /// Probability of a filler sentence before a change, and between a change and its total.
    public var fillerProbability = 0.35
    public init() {}
}

public enum LedgerCorpus {
    static let girls = ["Lily", "Sue", "Mia", "Anna", "Amy", "Kim", "Zoe", "Ella", "Lucy", "Jane"]
    static let boys = ["Tim", "Timmy", "Ben", "Max", "Sam", "Tom", "Jack", "Leo", "Bob", "Dan"]
    static let things = ["apples", "toys", "balls", "cookies", "shells", "rocks", "flowers", "coins", "books",
                         "cars", "stickers", "blocks", "leaves", "cards", "candies", "stars"]
    static let givers = ["mom", "dad", "friend", "sister", "brother", "grandma"]
    static let fillers = ["The sun was warm.", "It was a sunny day.", "{P} smiled.", "{P} went to the park.",
                          "The birds sang in the trees.", "{N} was very happy.", "It started to rain.",
                          "{P} ran home.", "The dog barked.", "They played all day.", "{P} sat on the grass.",
                          "The sky was blue."]

    /// One story with its annotations, from the generator's random stream.
    public static func story(_ r: inout RandomGenerator, options o: LedgerCorpusOptions) -> String {
        func pick<T>(_ a: [T]) -> T { a[Int(r.next() % UInt64(a.count))] }
        func uniform(_ lo: Int, _ hi: Int) -> Int { lo + Int(r.next() % UInt64(hi - lo + 1)) }
        func chance(_ p: Double) -> Bool { r.nextUnit() < p }
        let girl = chance(0.5)
        let name = girl ? pick(girls) : pick(boys)
        let pro = girl ? "she" : "he", Pro = girl ? "She" : "He", pos = girl ? "her" : "his"
        let thing = pick(things)
        func filler() -> String {
            pick(fillers).replacingOccurrences(of: "{P}", with: Pro).replacingOccurrences(of: "{N}", with: name)
        }
        var total = uniform(10, 99)
        var sentences = ["\(name) had \(total) \(thing)."]
        for _ in 0..<uniform(o.minTotals, o.maxTotals) {
            var steps: [String] = []
            for k in 0..<o.changesPerTotal {
                if chance(o.fillerProbability) { sentences.append(filler()) }
                let change = uniform(2, 9)
                // Gain or loss, kept within two-digit totals.
                let gain = total + change > 99 ? false : total - change < 10 ? true : chance(0.5)
                let giver = pick(givers)
                let then = k == 0 ? "" : pick(["Then ", "Later ", "After that "])
                let subject = then.isEmpty ? Pro : pro
                if gain {
                    sentences.append(then + pick(["\(subject) found \(change) more.", "\(subject) got \(change) more from \(pos) \(giver)."]))
                } else {
                    sentences.append(then + pick(["\(subject) lost \(change).", "\(subject) gave \(change) to \(pos) \(giver)."]))
                }
                let next = gain ? total + change : total - change
                steps.append("\(total)\(gain ? "+" : "-")\(change)=\(next)")
                total = next
            }
            if chance(o.fillerProbability) { sentences.append(filler()) }
            let annotated = "<<\(steps.joined(separator: ","))>>\(total)"
            sentences.append(pick(["Now \(pro) had \(annotated) \(thing).", "So \(pro) had \(annotated) \(thing).",
                                   "\(name) had \(annotated) \(thing) now."]))
        }
        if chance(0.5) { sentences.append(filler()) }
        return sentences.joined(separator: " ")
    }

    /// `options.documents` stories, story i drawn from its own stream of the seed (so a prefix of a larger
    /// corpus with the same seed is the smaller corpus).
    public static func generate(_ o: LedgerCorpusOptions) -> [String] {
        (0..<o.documents).map { i in
            var r = RandomGenerator(seed: o.seed, stream: UInt64(i))
            return story(&r, options: o)
        }
    }

    /// Writes the stories as JSONL {"text": …} (annotations kept; read them with calculations on).
    public static func write(_ o: LedgerCorpusOptions, to path: String) throws -> Int {
        var out = Data()
        let stories = generate(o)
        for s in stories { out.append(Data((JSON.object(["text": .string(s)]).serialized() + "\n").utf8)) }
        try AtomicFile.write(out, to: path)
        return stories.count
    }
}
