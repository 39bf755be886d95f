// Shared fixture access for the tokenizer tests: paths from this file's location, the reference JSON written by
// scripts/make_tokenizer_fixtures.py (ids from Hugging Face `tokenizers`), and tokenizers loaded once per run.

import Foundation
import Testing
@testable import RPT

enum TokenizerFixtures {
    static func path(_ relative: String) -> String { Repo.path(relative) }
    static func fixture(_ name: String) -> String { path("Tests/Fixtures/tokenizers/" + name) }

    static let qwenPath = path("Assets/qwen2-tokenizer/tokenizer.json")
    static let gpt2Path = path("Assets/gpt2-tokenizer/tokenizer.json")
    static let storiesBinPath = path("Assets/stories260K/tok512.bin")
    static let storiesNormalizerPath = fixture("stories260K-normalizer/tokenizer.json")
    static let storiesMetaspacePath = fixture("stories260K-metaspace/tokenizer.json")

    /// Loading is slow-ish (the Qwen vocabulary), so each tokenizer is loaded once and shared by the tests.
    private static let qwenResult = Result { () throws -> (HFTokenizer, Double) in
        let start = Date()
        let tok = try loadHFTokenizer(path: qwenPath)
        return (tok, Date().timeIntervalSince(start))
    }
    private static let gpt2Result = Result { try loadHFTokenizer(path: gpt2Path) }

    static func qwen() throws -> HFTokenizer { try qwenResult.get().0 }
    static func qwenLoadSeconds() throws -> Double { try qwenResult.get().1 }
    static func gpt2() throws -> HFTokenizer { try gpt2Result.get() }

    static func load<T: Decodable>(_ type: T.Type, _ name: String) throws -> T {
        let data = try Data(contentsOf: URL(fileURLWithPath: fixture(name)))
        return try JSONDecoder().decode(T.self, from: data)
    }
}

/// Tests/Fixtures/tokenizers/{qwen2,gpt2}.json and the other id fixtures.
struct IdsFixture: Decodable {
    struct Case: Decodable {
        var text: String
        var ids: [Int]
        var decoded: String?
        var metaspace_ids: [Int]?
        var llama2c_ids: [Int]?
    }
    struct DecodeCase: Decodable {
        var ids: [Int]
        var text: String
        var metaspace_text: String?
    }
    struct TokenBytesCase: Decodable {
        var id: Int
        var bytes: [UInt8]
    }
    var cases: [Case]
    var decode: [DecodeCase]?
    var token_bytes: [TokenBytesCase]?
    var vocab_size: Int?
}

/// Counts the cases where `encode` reproduces the reference ids; records a failure naming each mismatch.
func checkIds(_ tokenizer: any Tokenizer, _ cases: [(text: String, ids: [Int])], label: String,
              sourceLocation: SourceLocation = #_sourceLocation) -> Int {
    var passed = 0
    for c in cases {
        let got = tokenizer.encode(c.text)
        if got == c.ids {
            passed += 1
        } else {
            Issue.record("\(label): \(c.text.debugDescription)\n  expected \(c.ids)\n  got      \(got)",
                         sourceLocation: sourceLocation)
        }
    }
    print("\(label): \(passed)/\(cases.count) fixture strings give the reference ids")
    return passed
}

/// NFC (the Qwen normalizer) through the standard library, for round-trip expectations. (Foundation's
/// precomposedStringWithCanonicalMapping leaves Hangul LV + T jamo uncomposed on Linux.)
func nfc(_ s: String) -> String { String(decoding: s._nfcCodeUnits, as: UTF8.self) }

/// A string compared by its exact UTF-8 bytes: Swift's String `==` treats canonically equivalent strings as
/// equal ("e\u{301}" == "é"), which would hide normalization bugs.
struct Exact: Equatable, CustomStringConvertible {
    let string: String?
    init(_ string: String?) { self.string = string }
    static func == (a: Exact, b: Exact) -> Bool { a.string.map { Array($0.utf8) } == b.string.map { Array($0.utf8) } }
    var description: String { string.map { "\($0.debugDescription) \(Array($0.unicodeScalars).map { String($0.value, radix: 16) })" } ?? "nil" }
}

/// Writes a temporary file and returns its path.
func writeTemporary(_ bytes: [UInt8], name: String) throws -> String {
    let dir = temporaryDirectory("rpt-tokenizer-test")
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let p = dir + "/" + name
    try Data(bytes).write(to: URL(fileURLWithPath: p))
    return p
}
