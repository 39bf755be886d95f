// rpt-fuzz: a seeded mutation fuzzer for the loaders of swift-rpt (docs/reliability.md, "Fuzzing").
//
//   rpt-fuzz [--cases N] [--seed S] [--targets a,b] [--jobs J] [--repo DIR] [--corpus DIR] [--timeout SEC] [--memory-gib G]
//       runs N cases per target (default 10000, seed 1, every target) and prints a summary table; exits 1 when any
//       case crashed, hung or ran out of memory, after saving it in the corpus (default Tests/Fixtures/fuzz/<target>/)
//   rpt-fuzz replay --target T [--repo DIR] FILE_OR_DIR...
//       loads saved cases (a reproducer's name, <kind>-<seed>-<hash>.<ext>, says which seed it was made from) and
//       prints "ok" or "error" for each; a crash kills it, so a zero exit means none crashed
//   rpt-fuzz list
//       the targets and what each loads
//   rpt-fuzz child --target T --scratch DIR [--start K] [--trace] ...
//       (run by the driver) cases K..<N of one target in this process; --trace prints each case's outcome and time
// Paths are relative to the repository root (run it from there, as scripts/fuzz.sh does).

import Foundation
import RPT
#if canImport(Glibc)
import Glibc
#endif

func usage() -> Never {
    FileHandle.standardError.write(Data("""
    usage: rpt-fuzz [--cases N] [--seed S] [--targets a,b] [--jobs J] [--repo DIR] [--corpus DIR] [--timeout SEC] [--memory-gib G]
           rpt-fuzz replay --target T [--repo DIR] FILE_OR_DIR...
           rpt-fuzz list

    """.utf8))
    exit(2)
}

func replay(target name: String, repo: String, paths: [String], timeout: Int, memoryGiB: Int) -> Int32 {
    Harness.prepareProcess(memoryGiB: memoryGiB)
    guard let target = Targets.named(name) else { return Harness.fail("unknown target '\(name)'") }
    guard let root = Driver.makeTemporaryDirectory() else { return Harness.fail("cannot create a temporary directory") }
    defer { try? FileManager.default.removeItem(atPath: root) }
    let seeds: [Seed]
    do { seeds = try target.prepare(repo, root) } catch { return Harness.fail("cannot prepare the seeds: \(error)") }
    var files: [String] = []
    for path in paths {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return Harness.fail("no such file: \(path)") }
        if !isDirectory.boolValue { files.append(path); continue }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        files += names.filter { !$0.hasPrefix(".") && !$0.hasSuffix(".md") }.sorted().map { path + "/" + $0 }
    }
    for file in files {
        // <kind>-<seed>-<hash>.<ext>: the seed whose case path (and sibling files) the case needs.
        let parts = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent.split(separator: "-")
        let seedName = parts.count >= 3 ? parts[1..<(parts.count - 1)].joined(separator: "-") : ""
        let seed = seeds.first { $0.name == seedName } ?? seeds[0]
        guard let bytes = FileManager.default.contents(atPath: file) else { return Harness.fail("cannot read \(file)") }
        do { try writeFile([UInt8](bytes), seed.casePath) } catch { return Harness.fail("\(error)") }
        alarm(UInt32(timeout))
        do {
            try seed.load(seed.casePath)
            print("ok \(file)")
        } catch {
            print("error \(file): " + (error is RPTError ? "\(error)" : "\(type(of: error)): \(error)"))
        }
        alarm(0)
        fflush(nil)   // what was replayed before a crash is still shown
    }
    return 0
}

/// The mode and its options from the command line.
func parseArguments() -> (mode: String, run: RunOptions, child: ChildOptions, replayTarget: String, replayPaths: [String]) {
    var arguments = Array(CommandLine.arguments.dropFirst())
    let mode = arguments.first.flatMap { ["child", "replay", "list"].contains($0) ? $0 : nil } ?? "run"
    if mode != "run" { arguments.removeFirst() }
    var run = RunOptions(), child = ChildOptions()
    var replayTarget = "", replayPaths: [String] = []
    var i = 0
    func value() -> String {
        i += 1
        guard i < arguments.count else { usage() }
        return arguments[i]
    }
    func number<T: FixedWidthInteger>(_ s: String) -> T {
        guard let n = T(s), n >= 0 else { usage() }
        return n
    }
    while i < arguments.count {
        switch arguments[i] {
        case "--cases": run.cases = number(value()); child.cases = run.cases
        case "--seed": run.seed = number(value()); child.seed = run.seed
        case "--targets":
            run.targets = value().split(separator: ",").map(String.init)
            for t in run.targets where Targets.named(t) == nil {
                FileHandle.standardError.write(Data("rpt-fuzz: unknown target '\(t)'\n".utf8))
                usage()
            }
        case "--target": child.target = value(); replayTarget = child.target
        case "--jobs": run.jobs = max(1, number(value()))
        case "--repo": run.repo = value(); child.repo = run.repo
        case "--corpus": run.corpus = value()
        case "--timeout": run.timeout = max(1, number(value())); child.timeout = run.timeout
        case "--memory-gib": run.memoryGiB = max(1, number(value())); child.memoryGiB = run.memoryGiB
        case "--start": child.start = number(value())
        case "--scratch": child.scratch = value()
        case "--trace": child.trace = true
        case let a where mode == "replay" && !a.hasPrefix("--"): replayPaths.append(a)
        default: usage()
        }
        i += 1
    }
    return (mode, run, child, replayTarget, replayPaths)
}

let (mode, run, child, replayTarget, replayPaths) = parseArguments()
switch mode {
case "list":
    for t in Targets.all { print(t.name.padding(toLength: 20, withPad: " ", startingAt: 0) + t.loads) }
case "child":
    exit(Harness.runChild(child))
case "replay":
    guard !replayTarget.isEmpty, !replayPaths.isEmpty else { usage() }
    exit(replay(target: replayTarget, repo: run.repo, paths: replayPaths, timeout: run.timeout, memoryGiB: run.memoryGiB))
default:
    exit(Driver.run(run))
}
