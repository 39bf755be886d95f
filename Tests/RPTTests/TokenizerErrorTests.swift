// Bad input never traps: missing files, malformed JSON, unknown model types, unsupported pre-tokenizers, invalid
// merges and truncated llama2.c files are RPTErrors naming the file and the problem.

import Foundation
import Testing
@testable import RPT

@Suite struct TokenizerErrorTests {
    /// Loads `path` and returns the RPTError it throws (recording an issue when it loads or throws something else).
    private func loadError(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) -> RPTError? {
        expectRPTError(naming: path, sourceLocation: sourceLocation) { _ = try loadTokenizer(path: path) }
    }

    private func jsonFile(_ text: String, name: String = "tokenizer.json") throws -> String {
        try writeTemporary(Array(text.utf8), name: name)
    }

    @Test func missingFile() {
        let e = loadError("/nonexistent/dir/tokenizer.json")
        #expect(e?.message.contains("not found") == true)
        _ = loadError("/nonexistent/dir/tok512.bin")
    }

    @Test func directoryWithoutTokenizer() throws {
        let dir = temporaryDirectory("rpt-empty")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        #expect(loadError(dir)?.message.contains("no tokenizer.json") == true)
    }

    @Test(arguments: [
        (#"{"model": "#, "malformed JSON"),
        (#"{"model": {"type": "BPE", "vocab": {"a": 0,}, "merges": []}}"#, "malformed JSON"),
        (#"[1, 2, 3]"#, "not a JSON object"),
        (#"{"version": "1.0"}"#, "no \"model\""),
        (#"{"model": {"type": "Unigram", "vocab": [["a", 0.0]]}}"#, "unknown tokenizer model type \"Unigram\""),
        (#"{"model": {"type": "WordPiece", "vocab": {"a": 0}}}"#, "unknown tokenizer model type \"WordPiece\""),
        (#"{"model": {"type": "BPE", "merges": []}}"#, "no \"vocab\""),
        (#"{"model": {"type": "BPE", "vocab": {"a": 0}}}"#, "no \"merges\""),
        (#"{"model": {"type": "BPE", "vocab": {"a": -3}, "merges": []}}"#, "invalid id"),
        (#"{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b"]}}"#, "\"ab\" is not in the vocabulary"),
        (#"{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": [["a", "c"]]}}"#, "\"c\" is not in the vocabulary"),
        (#"{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b c"]}}"#, "invalid merge #1"),
        (#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [42]}}"#, "invalid merge #1"),
        (#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [], "unk_token": "<unk>"}}"#, "unk_token"),
        (#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "\\w+"}, "behavior": "Isolated", "invert": false}}"#,
         "unsupported pre-tokenizer regex"),
        (#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "pre_tokenizer": {"type": "BertPreTokenizer"}}"#,
         "unsupported pre_tokenizer type"),
        (#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "normalizer": {"type": "Lowercase"}}"#,
         "unsupported normalizer type"),
        (#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "decoder": {"type": "WordPiece"}}"#,
         "unsupported decoder type"),
        (#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "added_tokens": [{"content": "x"}]}"#,
         "added_tokens[0]"),
        ("{\"model\": \"\u{01}\"}", "control character"),
        (#"{"model": {"type": "BPE", "vocab": {"\ud800": 0}, "merges": []}}"#, "surrogate"),
    ])
    func malformedTokenizerJSON(_ text: String, _ expected: String) throws {
        let path = try jsonFile(text)
        let e = loadError(path)
        #expect(e?.message.contains(expected) == true, "\(e?.message ?? "no error") should mention \(expected)")
    }

    @Test func malformedTokenizerConfig() throws {
        let dir = temporaryDirectory("rpt-badconfig")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data(try Data(contentsOf: URL(fileURLWithPath: TokenizerFixtures.storiesNormalizerPath)))
            .write(to: URL(fileURLWithPath: dir + "/tokenizer.json"))
        try Data("{bos_token: 1".utf8).write(to: URL(fileURLWithPath: dir + "/tokenizer_config.json"))
        do {
            _ = try loadTokenizer(path: dir)
            Issue.record("a malformed tokenizer_config.json should fail")
        } catch let e as RPTError {
            #expect(e.file == dir + "/tokenizer_config.json")
        }
    }

    @Test func truncatedLlama2cTokenizer() throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: TokenizerFixtures.storiesBinPath)))
        for cut in [0, 2, 4, 7, 10, 100, 3000, bytes.count - 1] {
            let path = try writeTemporary(Array(bytes[..<cut]), name: "tok512.bin")
            let e = loadError(path)
            #expect(e != nil, "cut at \(cut)")
        }
        let e = loadError(try writeTemporary(Array(bytes[..<(bytes.count - 1)]), name: "tok512.bin"))
        #expect(e?.message.contains("truncated") == true)
        // Not a tokenizer at all: plain text sniffed as llama2.c.
        _ = loadError(try writeTemporary(Array("hello, this is not a tokenizer".utf8), name: "tokenizer"))
    }

    /// Random corruptions of a valid tokenizer.json / tokenizer.bin either load or throw RPTError — never trap.
    @Test func corruptedFilesNeverTrap() throws {
        var rng = RandomGenerator(seed: 20261205)
        for (source, name) in [(TokenizerFixtures.storiesNormalizerPath, "tokenizer.json"),
                               (TokenizerFixtures.fixture("added-tokens/tokenizer.json"), "tokenizer.json"),
                               (TokenizerFixtures.storiesBinPath, "tok512.bin")] {
            let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: source)))
            for _ in 0..<60 {
                var bytes = original
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    let i = Int.random(in: 0..<bytes.count, using: &rng)
                    switch Int.random(in: 0..<3, using: &rng) {
                    case 0: bytes[i] = UInt8.random(in: 0...255, using: &rng)
                    case 1: bytes.removeSubrange(i..<min(bytes.count, i + Int.random(in: 1...40, using: &rng)))
                    default: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: i)
                    }
                    if bytes.isEmpty { bytes = [0x7B] }
                }
                let path = try writeTemporary(bytes, name: name)
                do {
                    let tok = try loadTokenizer(path: path)
                    let ids = tok.encode("Once upon a time, 中文 😀 <s>")
                    _ = tok.decode(ids + [-1, 1 << 40])
                    _ = ids.map { tok.tokenBytes($0) }
                } catch is RPTError {
                } catch {
                    Issue.record("not an RPTError: \(error)")
                }
            }
        }
    }
}
