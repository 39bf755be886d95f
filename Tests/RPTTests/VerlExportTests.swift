// `rpt export --to verl` and the way back (docs/verl.md): the Python reward module scores golden cases exactly
// as `rpt` does (run as verl's reward manager calls it), exported rows carry what the reward needs, the
// SHA-256 behind the tokenizer check matches FIPS 180-4's examples, and `rpt eval --run` reads a verl run's
// merged global_step_N checkpoints with FLOPs per step.

import Foundation
import Testing
@testable import RPT

/// Runs python3 with `arguments` (and extra environment variables).
func runPython(_ arguments: [String], environment: [String: String] = [:]) throws -> CLIResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3"] + arguments
    p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return CLIResult(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
}

/// `python3 scripts/verl/reward_parity.py CASES Assets/verl/rpt_reward.py`.
func runRewardParity(_ casesPath: String) throws -> CLIResult {
    try runPython([Repo.path("scripts/verl/reward_parity.py"), casesPath, Repo.path("Assets/verl/rpt_reward.py")])
}

/// One golden case: what verl passes to compute_score, and the reward `rpt` gives.
func rewardCase(response: String, continuation: [UInt8], boundaries: [Int], requireThinkClose: Bool) -> (line: String, expected: Float) {
    let answer = AnswerExtractor(requireThinkClose: requireThinkClose).extract(response)
    let expected = PrefixMatchReward().reward(RewardInput(answer: answer, continuationBytes: continuation, boundaries: boundaries, nextTokenId: 0))
    let truth = VerlGroundTruth(continuation: continuation, boundaries: boundaries, targetId: 0, requireThinkClose: requireThinkClose,
                                tokenizerSHA256: "", tokenizer: "test")
    let line = JSON.object(["data_source": .string("rpt"), "solution_str": .string(response), "ground_truth": .string(truth.text),
                            "extra_info": .object(["index": .number(0)]), "expected": .number(Double(expected))]).serialized()
    return (line, expected)
}

@Suite struct VerlExportTests {
    @Test func sha256MatchesTheStandardsExamples() {
        #expect(SHA256Digest.hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256Digest.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256Digest.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256Digest.hex([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Hand-picked edge cases and seeded random responses: the Python module and `rpt` agree on every one.
    @Test func pythonRewardAgreesWithRPTOnGoldenCases() throws {
        let cont = Array(" the cat sat".utf8), b = [4, 8, 12]           // " the" | " cat" | " sat"
        let utf8 = Array("é🙂 x".utf8), ub = [2, 6, 8]                    // é | 🙂 | " x"
        let partial = Array(Array("🙂 x".utf8)[2...]), pb = [2, 4]       // a continuation starting inside a character
        var cases: [(String, [UInt8], [Int], Bool)] = [
            ("<think>cats</think>\\boxed{ the}", cont, b, true),              // one token
            ("<think>x</think>\\boxed{ the cat}", cont, b, true),             // two tokens, on a boundary
            ("<think>x</think>\\boxed{ th}", cont, b, true),                  // mid-token prefix: 0
            ("<think>x</think>\\boxed{ the c}", cont, b, true),               // past a boundary, mid-token: 0
            ("<think>x</think>\\boxed{the}", cont, b, true),                  // missing leading space: 0
            ("<think>x</think>\\boxed{ the }", cont, b, true),                // trailing space kept verbatim: 0
            ("<think>x</think>\\boxed{ the cat sat and more}", cont, b, true),// longer than the horizon: 0
            ("<think>x</think>\\boxed{}", cont, b, true),                     // empty: 0
            ("\\boxed{ the}", cont, b, true),                                  // no </think> where it is required: 0
            ("\\boxed{ the}", cont, b, false),                                 // searched whole when not required
            ("<think>\\boxed{ the}</think>", cont, b, true),                  // box only inside the thought: 0
            ("<think>a</think>\\boxed{ cat}</think>\\boxed{ the}", cont, b, true), // after the LAST </think>
            ("<think>a</think>\\boxed{ cat} then \\boxed{ the}", cont, b, true),  // the last box wins
            ("<think>a</think>\\boxed{ the} then \\boxed{ cat", cont, b, true),   // unclosed last box: 0
            ("<think>a</think>\\boxed{\\boxed{ the}}", cont, b, true),        // nested: the outer box's content
            ("<think>a</think>\\boxed{{ the}}", cont, b, true),
            ("<think>a</think>\n\n\\boxed{ the}\n", cont, b, true),           // whitespace around the box
            ("<think>a</think>\\boxed{é}", utf8, ub, true),
            ("<think>a</think>\\boxed{é🙂}", utf8, ub, true),
            ("<think>a</think>\\boxed{é\u{FFFD}}", utf8, ub, true),           // a replaced (invalid) byte: 0
            ("<think>a</think>\\boxed{é🙂 x}\u{FFFD}", utf8, ub, true),       // an invalid UTF-8 end after the box
            ("<think>a</think>\\boxed{\u{FFFD} x}", partial, pb, true),        // cannot spell a partial character: 0
            ("<think>a</think>\\boxed{\\frac{1}{2}}", Array("\\frac{1}{2} =".utf8), [6, 9, 11, 13], true),
        ]
        // Seeded random responses from pieces that exercise every rule.
        let pieces = ["</think>", "\\boxed{", "{", "}", " the", " cat", " sat", "é", "🙂", "\u{FFFD}", "x", " ", "\n", "\\", "boxed"]
        var rng = RandomGenerator(seed: 11)
        for i in 0..<400 {
            var r = ""
            for _ in 0..<Int(rng.next() % 9) { r += pieces[Int(rng.next() % UInt64(pieces.count))] }
            if i % 2 == 0 { r += "</think>\\boxed{" + [" the", " the cat", " th", " cat", "é", "é🙂"][Int(rng.next() % 6)] + "}" }
            let useUTF8 = i % 3 == 0
            cases.append((r, useUTF8 ? utf8 : cont, useUTF8 ? ub : b, i % 5 != 0))
        }
        let golden = cases.map { rewardCase(response: $0.0, continuation: $0.1, boundaries: $0.2, requireThinkClose: $0.3) }
        #expect(golden.prefix(2).allSatisfy { $0.expected == 1 } && golden[2].expected == 0)
        let ones = golden.filter { $0.expected == 1 }.count
        #expect(ones > 40 && ones < golden.count - 40, "both outcomes must be well represented (\(ones) of \(golden.count))")

        let dir = temporaryDirectory("verl-parity")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data(golden.map { $0.line + "\n" }.joined().utf8).write(to: URL(fileURLWithPath: dir + "/cases.jsonl"))
        let r = try runRewardParity(dir + "/cases.jsonl")
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("reward parity: \(golden.count) passed, 0 failed"), "\(r.stdout)")

        // The check can fail: flip one expected reward.
        var broken = golden.map(\.line)
        broken[0] = broken[0].replacingOccurrences(of: "\"expected\":1", with: "\"expected\":0")
        try Data(broken.map { $0 + "\n" }.joined().utf8).write(to: URL(fileURLWithPath: dir + "/broken.jsonl"))
        let b2 = try runRewardParity(dir + "/broken.jsonl")
        #expect(b2.status == 1 && b2.stdout.contains("1 failed"), "\(b2.stdout)")
    }

    /// Positions of a real tokenizer exported through the CLI: rows hold the template as chat messages, the
    /// ground truth the reward reads, and the Python reward scores responses built from them as `rpt` does.
    @Test func exportWritesRowsThePythonRewardScoresLikeRPT() throws {
        let dir = temporaryDirectory("verl-export")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let tokenizerPath = Repo.path("Assets/qwen2-tokenizer/tokenizer.json")
        let tok = try loadTokenizer(path: tokenizerPath)
        let text = "The total is 47 + 8 = 55 apples, and naïve café owners count them twice. 🙂 Done."
        let ids = tok.encode(text)
        let spans = try #require(TokenByteSpans(tokenizer: tok, ids: ids, hasBOS: false, document: Array(text.utf8)))
        let records = stride(from: 2, to: ids.count - 1, by: 2).map { t in
            PositionRecord(docId: "doc.jsonl:1", index: t, context: String(decoding: Array(text.utf8)[..<spans.starts[t]], as: UTF8.self),
                           contextIds: Array(ids[..<t]), targetId: ids[t], target: String(decoding: tok.tokenBytes(ids[t]), as: UTF8.self),
                           continuation: Array(Array(text.utf8)[spans.continuationRange(from: t, horizon: 4)]),
                           boundaries: spans.boundaries(from: t, horizon: 4), proxyEntropy: 1.7, proxyLogProb: -2,
                           entropy: t % 4 == 0 ? 1.2 : 0.7, splits: DifficultySplit.splits(forEntropy: t % 4 == 0 ? 1.2 : 0.7),
                           calculation: t == 6 ? "47+8=55" : nil)
        }
        try PositionDataset.write(records, to: dir + "/val.jsonl")
        let r = try runRPT(["export", "--to", "verl", "--data", dir + "/val.jsonl", "--tokenizer", tokenizerPath, "--chat", "deepseek-r1",
                            "--out", dir + "/out"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = try String(contentsOfFile: dir + "/out/train.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(lines.count == records.count)
        let format = try ReasoningFormat(template: "v0", chat: "deepseek-r1", tokenizerPath: tokenizerPath)
        var golden: [String] = []
        let truthHash = SHA256Digest.hex([UInt8](try Data(contentsOf: URL(fileURLWithPath: tokenizerPath))))
        for (line, record) in zip(lines, records) {
            let row = try JSON.parse(Data(line.utf8), file: "row")
            #expect(row["data_source"]?.string == "rpt")
            let messages = try #require(row["prompt"]?.array)
            #expect(messages.count == 1 && messages[0]["role"]?.string == "user")
            #expect(messages[0]["content"]?.string == (try format.prompt.template.fill(context: record.context)))
            let extra = try #require(row["extra_info"])
            #expect(extra["index"]?.int == record.index && extra["target"]?.string == record.target && extra["doc_id"]?.string == "doc.jsonl:1")
            #expect(extra["split"]?.string == (record.entropy! > 1 ? "medium" : "easy"))
            #expect(extra["calculation"]?.string == (record.calculation ?? ""))
            let truthText = try #require(row["reward_model"]?["ground_truth"]?.string)
            let truth = try JSON.parse(Data(truthText.utf8), file: "ground_truth")
            #expect(truth["require_think_close"]?.bool == true)
            #expect(truth["tokenizer_sha256"]?.string == truthHash)
            // Responses: the true token, two tokens, a cut inside the second token, and no </think>.
            let two = String(decoding: record.continuation.prefix(record.boundaries[min(1, record.boundaries.count - 1)]), as: UTF8.self)
            for answer in [record.target, two, String(two.dropLast())] {
                for response in ["<think>hm</think>\\boxed{\(answer)}", "\\boxed{\(answer)}"] {
                    let a = format.extractor.extract(response)
                    let expected = PrefixMatchReward().reward(RewardInput(answer: a, continuationBytes: record.continuation,
                                                                           boundaries: record.boundaries, nextTokenId: record.targetId))
                    golden.append(JSON.object(["data_source": .string("rpt"), "solution_str": .string(response), "ground_truth": .string(truthText),
                                               "extra_info": extra, "expected": .number(Double(expected))]).serialized())
                }
            }
        }
        #expect(golden.filter { $0.contains("\"expected\":1,") }.count >= records.count, "each true target scores 1")
        try Data(golden.map { $0 + "\n" }.joined().utf8).write(to: URL(fileURLWithPath: dir + "/cases.jsonl"))
        let parity = try runRewardParity(dir + "/cases.jsonl")
        #expect(parity.status == 0 && parity.stdout.contains("\(golden.count) passed, 0 failed"), "\(parity.stdout)\(parity.stderr)")

        // What travels with the data, and the settings.
        for f in ["rpt_reward.py", "run_rpt_grpo.sh", "export.json"] { #expect(FileManager.default.fileExists(atPath: dir + "/out/" + f), "\(f)") }
        let settings = try JSON.load(path: dir + "/out/export.json")
        #expect(settings["chat"]?.string == "deepSeekR1" && settings["rows"]?["train"]?.int == records.count)
        // The reward refuses rows exported with another tokenizer than the policy's (when the launch script says which).
        let probe = """
            import importlib.util, json, sys
            spec = importlib.util.spec_from_file_location("r", sys.argv[1]); m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
            row = json.loads(open(sys.argv[2], encoding="utf-8").readline())
            try:
                print(m.compute_score(data_source="rpt", solution_str="x", ground_truth=row["reward_model"]["ground_truth"]))
            except ValueError as e:
                print("refused:", e)
            """
        let args = ["-c", probe, dir + "/out/rpt_reward.py", dir + "/out/train.jsonl"]
        let other = try runPython(args, environment: ["RPT_POLICY_TOKENIZER_SHA256": String(repeating: "0", count: 64)])
        #expect(other.stdout.hasPrefix("refused:") && other.stdout.contains("tokenizer"), "\(other.stdout)\(other.stderr)")
        let same = try runPython(args, environment: ["RPT_POLICY_TOKENIZER_SHA256": truthHash])
        #expect(same.stdout == "0.0\n", "\(same.stdout)\(same.stderr)")
    }

    @Test func exportRefusesAForeignOutputDirectoryAndMissingTokenizer() throws {
        let dir = temporaryDirectory("verl-export-bad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/prep", withIntermediateDirectories: true)
        try PositionDataset.write([], to: dir + "/prep/val.jsonl")
        let noTokenizer = try runRPT(["export", "--to", "verl", "--data", dir + "/prep", "--out", dir + "/out"])
        #expect(noTokenizer.status != 0 && noTokenizer.stderr.contains("--tokenizer"), "\(noTokenizer.stderr)")
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: dir + "/busy.txt"))
        let foreign = try runRPT(["export", "--to", "verl", "--data", dir + "/prep", "--out", dir, "--tokenizer", Repo.path("Assets/qwen2-tokenizer/tokenizer.json")])
        #expect(foreign.status != 0 && foreign.stderr.contains("holds other files"), "\(foreign.stderr)")
        #expect(try String(contentsOfFile: dir + "/busy.txt", encoding: .utf8) == "keep me")
        let gguf = try runRPT(["export", "--to", "gguf", "--data", dir + "/prep", "--out", dir + "/o2"])
        #expect(gguf.status != 0 && gguf.stderr.contains("verl"))
    }

    /// verl's checkpoints, merged to HF format, evaluated by step with FLOPs = step × per-step count.
    @Test func evalReadsAVerlRunsMergedCheckpoints() throws {
        let dir = temporaryDirectory("verl-run")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fm = FileManager.default
        let model = Repo.fixtureModel("llama_f32")
        for (step, sub) in [(10, "actor/huggingface"), (20, "merged")] {
            let target = dir + "/global_step_\(step)/" + sub
            try fm.createDirectory(atPath: target, withIntermediateDirectories: true)
            for f in ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"] { try fm.copyItem(atPath: model + "/" + f, toPath: target + "/" + f) }
        }
        let targets = try EvalTarget.run(dir, includeInitial: false, flopsPerStep: 1e9)
        #expect(targets.map(\.label) == ["global_step_10", "global_step_20"])
        #expect(targets.map(\.flops) == [1e10, 2e10] && targets.map(\.step) == [10, 20])
        #expect(targets[0].path.hasSuffix("global_step_10/actor/huggingface"))
        _ = expectRPTError(naming: dir) { _ = try EvalTarget.run(dir, includeInitial: false, flopsPerStep: nil) }
        _ = expectRPTError(naming: dir) { _ = try EvalTarget.run(dir, includeInitial: true, flopsPerStep: 1e9) }
        // An unmerged step (FSDP shards only) says how to merge it.
        try fm.createDirectory(atPath: dir + "/global_step_30/actor/huggingface", withIntermediateDirectories: true)
        try fm.copyItem(atPath: model + "/config.json", toPath: dir + "/global_step_30/actor/huggingface/config.json")
        do {
            _ = try EvalTarget.run(dir, includeInitial: false, flopsPerStep: 1e9)
            Issue.record("an unmerged checkpoint was accepted")
        } catch let e as RPTError {
            #expect(e.message.contains("verl.model_merger") && e.file == dir + "/global_step_30")
        }
        try fm.removeItem(atPath: dir + "/global_step_30")

        // Through the CLI, with the FLOPs from an export.json, then fitted.
        let tok = try loadTokenizer(path: model)
        let ids = tok.encode("one two three four five six seven eight nine ten")
        let records = (3..<ids.count).map { t in
            PositionRecord(docId: "d:\(t % 3)", index: t, context: "", contextIds: Array(ids[..<t]), targetId: ids[t], target: "",
                           continuation: tok.tokenBytes(ids[t]), boundaries: [tok.tokenBytes(ids[t]).count], proxyEntropy: 2, proxyLogProb: -1,
                           entropy: 2, splits: [.easy, .medium, .hard])
        }
        try PositionDataset.write(records, to: dir + "/val.jsonl")
        try Data(#"{"flops_per_step_estimate": 5e9}"#.utf8).write(to: URL(fileURLWithPath: dir + "/export.json"))
        let r = try runRPT(["eval", "--run", dir, "--flops-per-step", dir + "/export.json", "--data", dir + "/val.jsonl", "--out", dir + "/eval.json"])
        #expect(r.status == 0, "\(r.stderr)")
        let results = try #require(try JSON.load(path: dir + "/eval.json")["results"]?.array)
        #expect(results.map { $0["flops"]?.double } == [5e10, 1e11])
        let report = try runRPT(["report", "--run", dir, "--eval", dir + "/eval.json", "--out", dir + "/report.html"])
        #expect(report.status == 0, "\(report.stderr)")
        #expect(try String(contentsOfFile: dir + "/report.html", encoding: .utf8).contains("global_step_20"))
    }
}
