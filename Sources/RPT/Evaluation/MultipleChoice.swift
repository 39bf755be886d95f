// Zero-shot multiple choice in reasoning mode (paper §4.4, Tables 3 and 7; docs/method.md §6.4): MMLU-Pro-format
// questions (question, options, answer letter, category) are asked with an instruction to reason and put
// the answer letter in \boxed{}; the letter is read from the last \boxed{} (after </think> for R1 models).

import Foundation

public struct MultipleChoiceQuestion: Sendable, Equatable {
    public var id: String
    public var question: String
    public var options: [String]
    /// The correct letter, "A"….
    public var answer: String
    public var category: String

    static let letters = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ").map(String.init)

    /// The questions of a file, and the items skipped as unusable ("line N: reason").
    public struct File: Sendable {
        public var questions: [MultipleChoiceQuestion]
        public var skipped: [String]
    }

    /// The usable questions of `path` (see `load`); skipped items are dropped silently: use `load` to report them.
    public static func read(path: String) throws -> [MultipleChoiceQuestion] { try load(path: path).questions }

    /// Reads MMLU-Pro JSONL: `question`, `options` (list), `answer` (letter) or `answer_index`, optional `category`
    /// and `question_id`; MMLU's `choices` (list) with an integer `answer` is read the same way. A line that is not
    /// a JSON object is an error naming the file and line (the file is damaged); an object that cannot be asked (fewer
    /// than 2 options, a non-string option, no valid answer) is skipped and listed, as evaluation harnesses do
    /// (full MMLU-Pro has such items). No usable question at all is an error.
    public static func load(path: String) throws -> File {
        guard let data = FileManager.default.contents(atPath: path) else { throw RPTError("cannot read questions file", file: path) }
        guard let text = String(validating: [UInt8](data), as: UTF8.self) else { throw RPTError("questions file is not valid UTF-8", file: path) }
        var out: [MultipleChoiceQuestion] = []
        var skipped: [String] = []
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
        where !line.allSatisfy({ $0.isWhitespace }) {
            func bad(_ why: String) -> RPTError { RPTError("line \(i + 1): \(why)", file: path) }
            let v: JSON
            do { v = try JSON.parse(Data(line.utf8), file: path) } catch let e as RPTError { throw bad("malformed JSON (\(e.message))") }
            guard v.object != nil else { throw bad("not a JSON object") }
            func skip(_ why: String) { skipped.append("line \(i + 1): \(why)") }
            guard let q = v["question"]?.string else { skip("missing or non-string \"question\""); continue }
            guard let opts = (v["options"] ?? v["choices"])?.array, opts.count >= 2, opts.count <= letters.count else {
                skip("\"options\" must be a list of 2 to \(letters.count) strings"); continue
            }
            let strings = opts.compactMap(\.string)
            guard strings.count == opts.count else { skip("\"options\" holds a non-string"); continue }
            let options = strings
            let answer: String
            if let a = v["answer"]?.string {
                answer = a.trimmingCharacters(in: .whitespaces).uppercased()
            } else if let k = (v["answer_index"] ?? v["answer"])?.int, k >= 0, k < options.count {
                answer = letters[k]
            } else { skip("missing \"answer\" letter or \"answer_index\" within the options"); continue }
            guard let k = letters.firstIndex(of: answer), k < options.count else {
                skip("answer \"\(answer)\" is not one of the \(options.count) option letters"); continue
            }
            let id = v["question_id"].map { $0.string ?? $0.serialized() } ?? "\(i + 1)"
            out.append(MultipleChoiceQuestion(id: id, question: q, options: options, answer: answer, category: v["category"]?.string ?? "all"))
        }
        guard !out.isEmpty else {
            throw RPTError("no questions" + (skipped.isEmpty ? "" : " (\(skipped.count) skipped; first: \(skipped[0]))"), file: path)
        }
        return File(questions: out, skipped: skipped)
    }

    public static let instruction = "Answer the following multiple choice question. Think step by step, then give the letter of the correct option in \\boxed{}, e.g. \\boxed{A}."

    /// The user message: instruction, question and lettered options.
    public var prompt: String {
        var s = MultipleChoiceQuestion.instruction + "\n\nQuestion: " + question + "\n\nOptions:\n"
        for (i, o) in options.enumerated() { s += "\(MultipleChoiceQuestion.letters[i]). \(o)\n" }
        return s
    }

    /// The option letter a boxed answer names: "C", "(C)", "C.", "C) text", "\text{C}", "Option C"; nil when the
    /// content does not start with a single option letter.
    public static func letter(in boxed: String, optionCount: Int) -> String? {
        var s = boxed.trimmingCharacters(in: .whitespacesAndNewlines)
        for wrapper in ["\\text{", "\\textbf{", "\\mathrm{"] where s.hasPrefix(wrapper) && s.hasSuffix("}") {
            s = String(s.dropFirst(wrapper.count).dropLast()).trimmingCharacters(in: .whitespaces)
        }
        for prefix in ["option ", "answer "] where s.lowercased().hasPrefix(prefix) { s = String(s.dropFirst(prefix.count)) }
        if s.hasPrefix("(") { s.removeFirst() }
        guard let first = s.first, let k = letters.firstIndex(of: String(first).uppercased()), k < optionCount else { return nil }
        let rest = s.dropFirst()
        guard rest.first.map({ !$0.isLetter && !$0.isNumber }) ?? true else { return nil }
        return letters[k]
    }
}
