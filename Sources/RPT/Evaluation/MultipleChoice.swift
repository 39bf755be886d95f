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

    /// Reads MMLU-Pro JSONL: `question`, `options` (list), `answer` (letter) or `answer_index`, optional
    /// `category` and `question_id`. Any malformed line is an error naming the file and line.
    public static func read(path: String) throws -> [MultipleChoiceQuestion] {
        guard let data = FileManager.default.contents(atPath: path) else { throw RPTError("cannot read questions file", file: path) }
        guard let text = String(validating: [UInt8](data), as: UTF8.self) else { throw RPTError("questions file is not valid UTF-8", file: path) }
        var out: [MultipleChoiceQuestion] = []
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
        where !line.allSatisfy({ $0.isWhitespace }) {
            func bad(_ why: String) -> RPTError { RPTError("line \(i + 1): \(why)", file: path) }
            let v: JSON
            do { v = try JSON.parse(Data(line.utf8), file: path) } catch let e as RPTError { throw bad("malformed JSON (\(e.message))") }
            guard v.object != nil else { throw bad("not a JSON object") }
            guard let q = v["question"]?.string else { throw bad("missing or non-string \"question\"") }
            guard let opts = v["options"]?.array, opts.count >= 2, opts.count <= letters.count else {
                throw bad("\"options\" must be a list of 2 to \(letters.count) strings")
            }
            let options = try opts.map { o -> String in guard let s = o.string else { throw bad("\"options\" holds a non-string") }; return s }
            let answer: String
            if let a = v["answer"]?.string {
                answer = a.trimmingCharacters(in: .whitespaces).uppercased()
            } else if let k = v["answer_index"]?.int, k >= 0, k < options.count {
                answer = letters[k]
            } else { throw bad("missing \"answer\" letter or \"answer_index\"") }
            guard let k = letters.firstIndex(of: answer), k < options.count else {
                throw bad("answer \"\(answer)\" is not one of the \(options.count) option letters")
            }
            let id = v["question_id"].map { $0.string ?? $0.serialized() } ?? "\(i + 1)"
            out.append(MultipleChoiceQuestion(id: id, question: q, options: options, answer: answer, category: v["category"]?.string ?? "all"))
        }
        guard !out.isEmpty else { throw RPTError("no questions", file: path) }
        return out
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
