// The `rpt` command's contracts, run as a subprocess: generate prints the generated text only,
// tokenize prints space-separated ids and reads stdin byte for byte, score prints JSON lines, and bad
// input exits non-zero with an error naming the file.

import Foundation
import Testing
@testable import RPT

struct CLIResult { var status: Int32; var stdout: String; var stderr: String }

/// A product (`rpt`, `rpt-fuzz`) built with the test bundle, in the same build directory (never another
/// configuration's, which may be stale): `swift build --build-tests` builds it; without it the test fails saying so.
func rptBinary(_ product: String = "rpt") throws -> URL {
    let b = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(product)
    guard FileManager.default.fileExists(atPath: b.path) else {
        throw RPTError("missing: build it with the tests (swift build -c release --build-tests -Xswiftc -enable-testing)", file: b.path)
    }
    return b
}

/// Runs the `rpt` binary built next to the test bundle.
func runRPT(_ args: [String], stdin: Data? = nil, workingDirectory: String = Repo.root, environment: [String: String] = [:]) throws -> CLIResult {
    let p = Process()
    p.executableURL = try rptBinary()
    p.arguments = args
    p.currentDirectoryURL = URL(fileURLWithPath: workingDirectory)
    if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    let out = Pipe(), err = Pipe(), inp = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = inp
    try p.run()
    if let d = stdin { inp.fileHandleForWriting.write(d) }
    try inp.fileHandleForWriting.close()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return CLIResult(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
}

@Suite(.serialized) struct CLITests {
    static let documentedSample = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She wanted to play with it, but it was too high."

    /// `generate` and `score` take a training run's directory and use its latest complete checkpoint (as
    /// `eval --run` does), saying so on stderr; an incomplete newer checkpoint is passed over.
    @Test func generateAndScoreTakeARunDirectory() throws {
        let run = temporaryDirectory("run-dir-model")
        let fm = FileManager.default
        for (step, complete) in [(2, true), (4, true), (6, false)] {
            let dir = run + String(format: "/step-%06d", step)
            try fm.copyItem(atPath: Repo.fixtureModel(step == 4 ? "qwen2_f32" : "qwen2_bf16_tied"), toPath: dir)
            if complete {
                fm.createFile(atPath: dir + "/" + Checkpoint.stateFile, contents: Data("{}".utf8))
                fm.createFile(atPath: dir + "/" + Checkpoint.optimizerFile, contents: Data())
            }
        }
        for command in [["generate", "--prompt", "Hello", "--max-tokens", "5", "--temperature", "0"], ["score", "--text", "Hello world"]] {
            let viaRun = try runRPT(command + ["--model", run])
            let direct = try runRPT(command + ["--model", run + "/step-000004"])
            #expect(viaRun.status == 0 && direct.status == 0, "\(viaRun.stderr)")
            #expect(viaRun.stdout == direct.stdout && !viaRun.stdout.isEmpty)
            #expect(viaRun.stderr.contains("using its latest checkpoint \(run)/step-000004"))
        }
    }

    @Test func generateFromBOSReproducesLlama2cSample() throws {
        let r = try runRPT(["generate", "--model", "Assets/stories260K/stories260K.bin", "--tokenizer", "Assets/stories260K/tok512.bin",
                            "--prompt", "", "--max-tokens", "80"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix(Self.documentedSample), "got: \(r.stdout)")
        // The Hugging Face copy with its tokenizer.json says the same.
        let hf = try runRPT(["generate", "--model", "Assets/stories260K/hf", "--prompt", "", "--max-tokens", "80", "--temperature", "0"])
        #expect(hf.stdout == r.stdout)
    }

    @Test func generateSamplingIsSeeded() throws {
        let args = ["generate", "--model", "Assets/stories260K/hf", "--prompt", "Tom", "--max-tokens", "30", "--temperature", "1", "--top-p", "0.9", "--top-k", "40"]
        let a = try runRPT(args + ["--seed", "1"]), b = try runRPT(args + ["--seed", "1"]), c = try runRPT(args + ["--seed", "2"])
        #expect(a.status == 0 && a.stdout == b.stdout)
        #expect(a.stdout != c.stdout)
    }

    @Test func tokenizeReadsStdinVerbatimAndDecodes() throws {
        let tok = "Assets/qwen2-tokenizer/tokenizer.json"
        let text = "Hello  world\n\t<|im_end|> 12345 ç\n"
        let viaStdin = try runRPT(["tokenize", "--tokenizer", tok], stdin: Data(text.utf8))
        let viaFlag = try runRPT(["tokenize", "--tokenizer", tok, "--text", text])
        #expect(viaStdin.status == 0 && viaStdin.stdout == viaFlag.stdout)
        let ids = try loadTokenizer(path: Repo.path(tok)).encode(text)
        #expect(viaStdin.stdout == ids.map(String.init).joined(separator: " ") + "\n")
        #expect(ids.contains(151645)) // <|im_end|> matched as a special token
        let decoded = try runRPT(["tokenize", "--tokenizer", tok, "--decode"], stdin: Data(viaStdin.stdout.utf8))
        #expect(decoded.stdout == text)
    }

    @Test func scorePrintsOneJSONLinePerPosition() throws {
        let r = try runRPT(["score", "--model", "Tests/Fixtures/models/qwen2_f32", "--text", "To be, or not to be"])
        #expect(r.status == 0)
        let lines = r.stdout.split(separator: "\n")
        let tok = try loadTokenizer(path: Repo.fixtureModel("qwen2_f32"))
        #expect(lines.count == tok.encode("To be, or not to be").count - 1)
        for line in lines {
            let j = try JSON.parse(Data(line.utf8), file: "score")
            #expect(j["id"]?.int != nil && j["token"]?.string != nil)
            let e = try #require(j["entropy"]?.double), lp = try #require(j["logprob"]?.double)
            #expect(e >= 0 && e <= log(16.0) + 1e-6 && lp <= 0)
        }
    }

    @Test func badInputExitsNonZeroNamingTheFile() throws {
        let dir = temporaryDirectory("cli-bad")
        let broken = dir + "/model.safetensors"
        _ = FileManager.default.createFile(atPath: broken, contents: Data([9, 9, 9]))
        try FileManager.default.copyItem(atPath: Repo.fixtureModel("llama_f32") + "/config.json", toPath: dir + "/config.json")
        let r = try runRPT(["generate", "--model", dir, "--tokenizer", "Assets/qwen2-tokenizer/tokenizer.json", "--prompt", "x"])
        #expect(r.status != 0 && r.stderr.contains(broken) && r.stderr.contains("truncated"))
        let badStdin = try runRPT(["tokenize", "--tokenizer", "Assets/qwen2-tokenizer/tokenizer.json"], stdin: Data([0x61, 0xC3, 0x28]))
        #expect(badStdin.status != 0 && badStdin.stderr.contains("not valid UTF-8") && badStdin.stderr.contains("offset 1"))
        let noTok = try runRPT(["generate", "--model", "Assets/stories260K/stories260K.bin", "--prompt", "x"])
        #expect(noTok.status != 0 && noTok.stderr.contains("--tokenizer"))
        let badJSON = dir + "/tokenizer.json"
        _ = FileManager.default.createFile(atPath: badJSON, contents: Data("{\"model\": [".utf8))
        let r2 = try runRPT(["tokenize", "--tokenizer", badJSON, "--text", "hi"])
        #expect(r2.status != 0 && r2.stderr.contains(badJSON))
    }
}
