// Issue 13's reproducers outside the model loaders: output that cannot be written is an error (never a trap
// or exit 0 with nothing written), --resume writes to the directory it resumes and takes only safe overrides,
// damaged or foreign trainer state and unwritable paths give errors naming the file, and outputs never
// overwrite a command's own inputs or mix into a training run.

import Foundation
import Testing
@testable import RPT

/// Runs `rpt` with stdout going to `/dev/full` (every write fails with ENOSPC).
private func runRPTIntoFullDevice(_ args: [String]) throws -> CLIResult {
    let p = Process()
    p.executableURL = try rptBinary()
    p.arguments = args
    p.currentDirectoryURL = URL(fileURLWithPath: Repo.root)
    p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: "/dev/full"))
    let err = Pipe()
    p.standardError = err
    p.standardInput = FileHandle.nullDevice
    try p.run()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return CLIResult(status: p.terminationStatus, stdout: "", stderr: String(decoding: e, as: UTF8.self))
}

private func fileBytes(_ path: String) -> Data { FileManager.default.contents(atPath: path) ?? Data() }

/// Runs `rpt` under a file-size limit of `kib` KiB (bash `ulimit -f`, SIGXFSZ ignored): a write that would grow a
/// file past it fails with EFBIG, as a write to a full disk fails with ENOSPC — without mounting anything.
private func runRPTWithFileSizeLimit(kib: Int, _ args: [String]) throws -> CLIResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/bash")
    p.arguments = ["-c", "trap '' XFSZ; ulimit -f \(kib); exec \"$0\" \"$@\"", try rptBinary().path] + args
    p.currentDirectoryURL = URL(fileURLWithPath: Repo.root)
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = FileHandle.nullDevice
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return CLIResult(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
}

@Suite(.serialized) struct ReliabilityTests {
    @Test func resultsThatCannotBeWrittenAreErrors() throws {
        for args in [["generate", "--model", Repo.stories260KHF, "--prompt", "Tom", "--max-tokens", "20"],
                     ["score", "--model", Repo.stories260KHF, "--text", "Tom went to the park."],
                     ["tokenize", "--tokenizer", Repo.path("Assets/qwen2-tokenizer/tokenizer.json"), "--text", "Hello world"],
                     ["tokenize", "--tokenizer", Repo.path("Assets/qwen2-tokenizer/tokenizer.json"), "--decode", "--text", "9707 1879"]] {
            let r = try runRPTIntoFullDevice(args)
            #expect(r.status == 1, "\(args[0]) into a full device: status \(r.status), \(r.stderr)")
            #expect(r.stderr.contains("standard output") && r.stderr.contains("No space left"), "\(r.stderr)")
        }
    }

    @Test func metricsThatCannotBeAppendedAreErrors() throws {
        let log = try MetricsLog(path: "/dev/full")
        _ = expectRPTError(naming: "/dev/full") { try log.append(["step": .number(1)]) }
        // Opened in place: the device is still a device (an atomic replace would have made it a file).
        let type = try FileManager.default.attributesOfItem(atPath: "/dev/full")[.type] as? FileAttributeType
        #expect(type == .typeCharacterSpecial)
    }

    /// A run copied to B and resumed there writes to B (A untouched), from any working directory, and takes a
    /// new learning rate; a change that cannot happen mid-run is refused with the option named.
    @Test func resumeWritesWhereItResumesAndTakesOnlySafeOverrides() throws {
        let dir = temporaryDirectory("resume-out")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fm = FileManager.default
        try fm.copyItem(atPath: Repo.path("Tests/Fixtures/data/short_stories.txt"), toPath: dir + "/stories.txt")
        let a = dir + "/A", b = dir + "/B"
        // Relative --data and --out, from `dir`.
        let args = ["pretrain", "--model", Repo.fixtureModel("qwen2_f32"), "--data", "stories.txt", "--delimiter", "\\n\\n\\n",
                    "--steps", "6", "--seq-len", "16", "--batch-size", "1", "--validation", "1", "--save-every", "2", "--keep-last", "0", "--lr", "1e-3"]
        let first = try runRPT(args + ["--out", "A", "--stop-after", "2"], workingDirectory: dir)
        #expect(first.status == 0, "\(first.stderr)")
        try fm.copyItem(atPath: a, toPath: b)
        let before = try fm.contentsOfDirectory(atPath: a).sorted()
        // Resumed from another directory, by absolute --out, with a lower lr.
        let resumed = try runRPT(args.map { $0 == "stories.txt" ? "elsewhere.txt" : $0 } + ["--out", b, "--resume", "--lr", "5e-4"], workingDirectory: Repo.root)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try fm.contentsOfDirectory(atPath: a).sorted() == before, "the original run was written to")
        #expect(Checkpoint.latest(in: b) == b + "/step-000006")
        let lrs = try String(decoding: fileBytes(b + "/metrics.jsonl"), as: UTF8.self).split(separator: "\n")
            .map { try JSON.parse(Data($0.utf8), file: "m")["lr"]?.double ?? -1 }
        #expect(lrs.count == 6 && lrs[2...].allSatisfy { $0 <= 5e-4 + 1e-9 } && lrs[0] > 5e-4, "\(lrs)")
        // A change of sequence length is refused, naming it.
        let refused = try runRPT(args + ["--out", b, "--resume", "--steps", "8", "--seq-len", "32"], workingDirectory: dir)
        #expect(refused.status != 0 && refused.stderr.contains("seqLen 32 (the run's: 16)"), "\(refused.stderr)")
        // A pretrain run is not a train run, and a damaged trainer state names its file.
        let wrongKind = try runRPT(["train", "--model", Repo.fixtureModel("qwen2_f32"), "--data", dir + "/none.jsonl", "--out", b, "--resume"])
        #expect(wrongKind.status != 0 && wrongKind.stderr.contains("trainer_state.json") && wrongKind.stderr.contains("not `rpt train` options"),
                "\(wrongKind.stderr)")
        #expect(!wrongKind.stderr.contains("DecodingError"))
        let state = b + "/step-000006/trainer_state.json"
        try Data(String(decoding: fileBytes(state), as: UTF8.self).replacingOccurrences(of: "\"adamw_step\"", with: "\"adamw_stop\"").utf8)
            .write(to: URL(fileURLWithPath: state))
        let damaged = try runRPT(args + ["--out", b, "--resume", "--steps", "8"], workingDirectory: dir)
        #expect(damaged.status != 0 && damaged.stderr.contains(state) && damaged.stderr.contains("adamw_step"), "\(damaged.stderr)")
    }

    /// A checkpoint records its thread count; resuming with another count (which continues closely, not bit for
    /// bit: docs/reliability.md) says so once and how to resume exactly; the same count says nothing.
    @Test func resumeWithAnotherThreadCountIsNoted() throws {
        let dir = temporaryDirectory("resume-threads")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let args = ["pretrain", "--model", Repo.fixtureModel("qwen2_f32"), "--data", Repo.path("Tests/Fixtures/data/short_stories.txt"),
                    "--steps", "4", "--seq-len", "16", "--batch-size", "1", "--validation", "0.1", "--save-every", "1", "--keep-last", "0", "--out", dir]
        let first = try runRPT(args + ["--threads", "1", "--stop-after", "2"])
        #expect(first.status == 0, "\(first.stderr)")
        let state = try JSON.load(path: dir + "/step-000002/trainer_state.json")
        #expect(state["threads"]?.int == 1)
        let same = try runRPT(args + ["--threads", "1", "--resume", "--stop-after", "3"])
        #expect(same.status == 0 && !same.stdout.contains("threads and resumes"), "\(same.stdout)")
        let other = try runRPT(args + ["--threads", "2", "--resume"])
        #expect(other.status == 0, "\(other.stderr)")
        #expect(other.stdout.contains("computed with 1 threads and resumes with 2") && other.stdout.contains("--threads 1"), "\(other.stdout)")
        #expect(try JSON.load(path: dir + "/step-000004/trainer_state.json")["threads"]?.int == 2)
    }

    /// A checkpoint whose write fails part-way (the optimizer file cannot grow past a file-size limit, as on a full
    /// disk): the run stops with an error naming the file, no partial checkpoint or temporary directory is left,
    /// `latest` still names the previous checkpoint, and resuming from it ends byte-identical to an uninterrupted run.
    @Test func aCheckpointThatCannotBeWrittenLosesNothing() throws {
        let dir = temporaryDirectory("full-disk-checkpoint")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fm = FileManager.default
        let run = dir + "/run", clean = dir + "/clean"
        func args(_ out: String) -> [String] {
            ["pretrain", "--model", Repo.fixtureModel("qwen2_f32"), "--data", Repo.path("Tests/Fixtures/data/short_stories.txt"),
             "--steps", "4", "--seq-len", "16", "--batch-size", "2", "--validation", "0.1", "--save-every", "2", "--keep-last", "0",
             "--threads", "2", "--out", out]
        }
        #expect(try runRPT(args(clean)).status == 0)
        let modelBytes = fileBytes(clean + "/step-000004/model.safetensors").count
        let optimizerBytes = fileBytes(clean + "/step-000004/optimizer.safetensors").count
        // The limit lets model.safetensors through and stops optimizer.safetensors (twice its size) part-way.
        let limit = (modelBytes + optimizerBytes) / 2 / 1024
        #expect(modelBytes / 1024 < limit && limit < optimizerBytes / 1024)

        #expect(try runRPT(args(run) + ["--stop-after", "2"]).status == 0)
        let failed = try runRPTWithFileSizeLimit(kib: limit, args(run) + ["--resume"])
        #expect(failed.status > 0 && failed.status < 128, "status \(failed.status): \(failed.stderr)")
        #expect(failed.stderr.contains("optimizer.safetensors") && !failed.stderr.contains("Fatal error"), "\(failed.stderr)")
        let entries = try fm.contentsOfDirectory(atPath: run).sorted()
        #expect(entries == ["latest", "metrics.jsonl", "step-000002", "tokenizer"], "\(entries)")
        #expect(Checkpoint.latest(in: run) == run + "/step-000002")
        _ = try Checkpoint.load(dir: run + "/step-000002")

        let resumed = try runRPT(args(run) + ["--resume"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        for f in ["model.safetensors", "optimizer.safetensors"] {
            #expect(fileBytes(run + "/step-000004/" + f) == fileBytes(clean + "/step-000004/" + f), "\(f)")
        }
    }

    @Test func outputsNeverOverwriteInputsOrMixIntoARun() throws {
        let dir = temporaryDirectory("overwrite")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let points = dir + "/points.jsonl"
        let text = (1...6).map { #"{"split":"all","compute":\#(Double($0) * 1e12),"accuracy":\#(0.2 + 0.1 * log(Double($0)) / 2)}"# }.joined(separator: "\n") + "\n"
        try Data(text.utf8).write(to: URL(fileURLWithPath: points))
        let fit = try runRPT(["fit", "--points", points, "--out", dir + "/./points.jsonl"])
        #expect(fit.status != 0 && fit.stderr.contains("overwrite"), "\(fit.stderr)")
        #expect(String(decoding: fileBytes(points), as: UTF8.self) == text)

        try FileManager.default.createDirectory(atPath: dir + "/run", withIntermediateDirectories: true)
        try Data("{\"step\":1,\"loss\":1}\n".utf8).write(to: URL(fileURLWithPath: dir + "/run/metrics.jsonl"))
        try Data("{}".utf8).write(to: URL(fileURLWithPath: dir + "/run/eval-x.json"))
        let report = try runRPT(["report", "--run", dir + "/run", "--out", dir + "/run/eval-x.json"])
        #expect(report.status != 0 && report.stderr.contains("overwrite"), "\(report.stderr)")
        #expect(String(decoding: fileBytes(dir + "/run/eval-x.json"), as: UTF8.self) == "{}")

        let prepare = try runRPT(["prepare", "--policy", Repo.stories260KHF, "--proxy", Repo.stories260KHF,
                                  "--corpus", Repo.path("Tests/Fixtures/data/short_stories.txt"), "--out", dir + "/run"])
        #expect(prepare.status != 0 && prepare.stderr.contains("training run"), "\(prepare.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/run").sorted() == ["eval-x.json", "metrics.jsonl"])
    }

    @Test func unwritablePathsAreNamedNotDumped() throws {
        let dir = temporaryDirectory("unwritable")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data("x".utf8).write(to: URL(fileURLWithPath: dir + "/file"))
        let r = try runRPT(["pretrain", "--model", Repo.fixtureModel("qwen2_f32"), "--data", Repo.path("Tests/Fixtures/data/short_stories.txt"),
                            "--out", dir + "/file/run", "--steps", "1"])
        #expect(r.status != 0 && r.stderr.contains(dir + "/file"), "\(r.stderr)")
        #expect(!r.stderr.contains("NSCocoaErrorDomain") && !r.stderr.contains("Error Domain"), "\(r.stderr)")
    }

    /// SIGTERM (a scheduler) or SIGINT (Ctrl-C) mid-run: the step finishes, a checkpoint is written, exit 143 or 130; --resume then ends
    /// bit-identical to an uninterrupted run.
    @Test(arguments: [SIGTERM, SIGINT])
    func sigtermLeavesACheckpointAndResumesExactly(_ signal: Int32) throws {
        let dir = temporaryDirectory("signal-\(signal)")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let args = ["pretrain", "--model", Repo.fixtureModel("qwen2_f32"), "--data", Repo.path("Tests/Fixtures/data/short_stories.txt"),
                    "--delimiter", "\\n\\n\\n", "--steps", "40", "--seq-len", "16", "--batch-size", "1", "--validation", "1",
                    "--save-every", "1000", "--lr", "1e-3"]
        let p = Process()
        p.executableURL = try rptBinary()
        p.arguments = args + ["--out", dir + "/run"]
        // 40 steps take well under a second here: 50 ms a step keeps the run alive until the signal arrives.
        p.environment = ProcessInfo.processInfo.environment.merging(["RPT_PRETRAIN_STEP_DELAY": "0.05"]) { $1 }
        let err = Pipe()
        p.standardOutput = FileHandle.nullDevice
        p.standardError = err
        try p.run()
        // Wait for a few steps (metrics lines), then terminate.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, String(decoding: fileBytes(dir + "/run/metrics.jsonl"), as: UTF8.self).split(separator: "\n").count < 3 { usleep(20_000) }
        kill(p.processIdentifier, signal)
        let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 128 + signal, "\(p.terminationStatus): \(e)")
        #expect(e.contains(signal == SIGINT ? "interrupted (SIGINT) after step" : "terminated (SIGTERM) after step") && e.contains("--resume"), "\(e)")
        let stopped = try #require(Checkpoint.latest(in: dir + "/run"))
        #expect(stopped != dir + "/run/step-000040")
        let resumed = try runRPT(args + ["--out", dir + "/run", "--resume"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let clean = try runRPT(args + ["--out", dir + "/clean"])
        #expect(clean.status == 0)
        let a = fileBytes(dir + "/run/step-000040/model.safetensors"), b = fileBytes(dir + "/clean/step-000040/model.safetensors")
        #expect(!a.isEmpty && a == b, "interrupted-and-resumed run differs from the uninterrupted one")
    }
}
