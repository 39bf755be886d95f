// Paths to committed assets and fixtures, and small comparison helpers shared by the tests.

import Foundation
import Testing
@testable import RPT

enum Repo {
    /// The repository root, found from this file's location.
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static func path(_ relative: String) -> String { root + "/" + relative }
    static var stories260KBin: String { path("Assets/stories260K/stories260K.bin") }
    static var stories260KHF: String { path("Assets/stories260K/hf") }
    static var stories260KTokenizer: String { path("Assets/stories260K/tok512.bin") }
    static func fixtureModel(_ name: String) -> String { path("Tests/Fixtures/models/\(name)") }
}

/// One scratch folder per test process, `$TMPDIR/rpt-tests-PID`, removed when the process exits, so that a test
/// run leaves nothing behind in the temporary directory however its tests end.
let testScratchRoot: String = {
    let root = (NSTemporaryDirectory() as NSString).appendingPathComponent("rpt-tests-\(getpid())")
    try? FileManager.default.removeItem(atPath: root)  // a previous process with the same PID
    try? FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    atexit { try? FileManager.default.removeItem(atPath: testScratchRoot) }
    return root
}()

/// A fresh directory inside the test process's scratch folder.
func temporaryDirectory(_ label: String = "rpt-test") -> String {
    let dir = testScratchRoot + "/\(label)-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "length mismatch \(a.count) vs \(b.count)")
    var m: Float = 0
    for i in 0..<a.count { m = max(m, abs(a[i] - b[i])) }
    return m
}

/// Logits of every position of one sequence (fresh cache).
func allLogits(_ model: Model, _ tokens: [Int], cache storage: KVCache.Storage = .fp32) throws -> [Float] {
    let cache = KVCache(config: model.config, slots: 1, capacity: tokens.count, storage: storage)
    return try model.forward(ForwardBatch(tokens: tokens, segments: [.init(slot: 0, count: tokens.count)]), cache: cache, logits: .all)
}

/// Runs `body`, requiring an RPTError that names `file` in its text (and, when `exactFile`, as its
/// `file` field). Returns the error for further checks.
@discardableResult
func expectRPTError(naming file: String, exactFile: Bool = true, sourceLocation: SourceLocation = #_sourceLocation,
                    _ body: () throws -> Void) -> RPTError? {
    do {
        try body()
        Issue.record("expected an RPTError naming \(file)", sourceLocation: sourceLocation)
    } catch let e as RPTError {
        if exactFile { #expect(e.file == file, "error should name \(file): \(e)", sourceLocation: sourceLocation) }
        #expect(e.description.contains(file), "error should name \(file): \(e)", sourceLocation: sourceLocation)
        return e
    } catch {
        Issue.record("not an RPTError: \(error)", sourceLocation: sourceLocation)
    }
    return nil
}
