// `rpt generate`: sample a continuation of a prompt and print the generated text only.

import ArgumentParser
import Foundation
import RPT

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "generate", abstract: "Generate text from a prompt.")

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Prompt text; an empty prompt starts from BOS.")
    var prompt: String

    @Option(name: .customLong("max-tokens"), help: "Maximum number of new tokens.")
    var maxTokens: Int = 256

    @Option(help: "Sampling temperature (0 = greedy).")
    var temperature: Float = 0

    @Option(name: .customLong("top-p"), help: "Nucleus sampling mass (1 = off).")
    var topP: Float = 1

    @Option(name: .customLong("top-k"), help: "Keep only the k most likely tokens (0 = off).")
    var topK: Int = 0

    @Option(help: "Random seed.")
    var seed: UInt64 = 0

    @Option(name: .customLong("stop"), help: "Stop string (repeatable).")
    var stop: [String] = []

    @Flag(name: .customLong("chat"), help: "Wrap the prompt in the tokenizer's chat template as a user turn.")
    var chat = false

    func run() throws {
        let lm = try modelOptions.load()
        var text = prompt
        if chat {
            var dir = modelOptions.tokenizer ?? modelOptions.model
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), !isDir.boolValue {
                dir = (dir as NSString).deletingLastPathComponent
            }
            let template = try ChatTemplate.detect(tokenizerConfig: (dir as NSString).appendingPathComponent("tokenizer_config.json"))
            text = template.render(messages: [.user(prompt)], addGenerationPrompt: true)
        }
        let ids = try lm.promptTokens(text)
        let options = GenerationOptions(maxTokens: maxTokens,
                                        sampling: SamplingParameters(temperature: temperature, topK: topK, topP: topP),
                                        seed: seed, stopTokens: lm.stopTokens, stopStrings: stop)
        let generator = try Generator(model: lm.model, tokenizer: lm.tokenizer)
        var generated: [Int] = []
        var printed = 0 // characters of the continuation already written
        var writeError: Error? = nil   // a failed write (full disk, closed pipe) is reported after the step it happened in
        _ = try generator.generate(prompts: [ids], options: options) { _, token in
            guard writeError == nil else { return }
            if lm.stopTokens.contains(token) { return }
            generated.append(token)
            // Stream whole characters only: a trailing U+FFFD may be a split multi-byte character.
            let text = lm.continuationText(prompt: ids, generated: generated)
            var chars = Array(text)
            while chars.last == "\u{FFFD}" { chars.removeLast() }
            if chars.count > printed {
                do { try StandardOutput.write(String(chars[printed...])) } catch { writeError = error }
                printed = chars.count
            }
        }
        if let writeError { throw writeError }
        let final = Array(lm.continuationText(prompt: ids, generated: generated))
        try StandardOutput.write((final.count > printed ? String(final[printed...]) : "") + "\n")
    }
}
