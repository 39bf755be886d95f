// `rpt tokenize`: text → ids (space-separated, no special tokens added), or ids → text with --decode.
// Standard input is read verbatim, byte for byte.

import ArgumentParser
import Foundation
import RPT

struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tokenize", abstract: "Encode text to token ids, or decode ids.")

    @Option(help: "tokenizer.json, a model directory, or a llama2.c tokenizer.bin.")
    var tokenizer: String

    @Option(help: "Text to encode (default: standard input).")
    var text: String?

    @Flag(help: "Read token ids (whitespace-separated) and print the decoded text.")
    var decode = false

    func run() throws {
        let tok = try loadTokenizer(path: tokenizer)
        let input: String
        if let t = text {
            input = t
        } else {
            let data = FileHandle.standardInput.readDataToEndOfFile()
            guard let s = String(validating: data, as: UTF8.self) else {
                throw RPTError("input is not valid UTF-8 (first bad byte at offset \(firstInvalidUTF8Offset(data)))", file: "<stdin>")
            }
            input = s
        }
        if decode {
            var ids: [Int] = []
            for word in input.split(whereSeparator: { $0.isWhitespace }) {
                guard let id = Int(word), id >= 0, id < tok.vocabSize else {
                    throw RPTError("'\(word)' is not a token id of this tokenizer (0..<\(tok.vocabSize))", file: text == nil ? "<stdin>" : "--text")
                }
                ids.append(id)
            }
            try StandardOutput.write(tok.decode(ids))
        } else {
            print(tok.encode(input).map(String.init).joined(separator: " "))
        }
    }
}

/// Byte offset of the first byte that breaks UTF-8 decoding.
func firstInvalidUTF8Offset(_ data: Data) -> Int {
    let bytes = [UInt8](data)
    var i = 0
    while i < bytes.count {
        let b = bytes[i]
        let n = b < 0x80 ? 1 : b >> 5 == 0b110 ? 2 : b >> 4 == 0b1110 ? 3 : b >> 3 == 0b11110 ? 4 : 0
        if n == 0 || i + n > bytes.count { return i }
        if String(validating: bytes[i..<(i + n)], as: UTF8.self) == nil { return i }
        i += n
    }
    return i
}
