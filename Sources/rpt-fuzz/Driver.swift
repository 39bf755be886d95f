// The parent process: runs each target's cases in child processes (this executable, `child` mode), counts the
// outcomes the child reports, and when a child dies, classifies the death (crash, hang, out of memory), copies
// the case that killed it into the regression corpus, and restarts a child at the next case.

import Foundation
import RPT
#if canImport(Glibc)
import Glibc
#endif

struct RunOptions {
    var cases = 10_000
    var seed: UInt64 = 1
    var targets: [String] = Targets.all.map(\.name)
    var jobs = 1
    var repo = "."
    var corpus = "Tests/Fixtures/fuzz"
    var timeout = 10
    var memoryGiB = 4
}

/// What one target's run found.
struct Tally {
    var target: String
    var cases = 0, ok = 0, errors = 0, crashes = 0, hangs = 0, outOfMemory = 0
    var seconds = 0.0
    var slowestMs = 0.0, slowestCase = -1
    var peakRSSMiB = 0.0
    /// The harness could not run this target (not a finding in the library, but still a failure).
    var harnessError: String?
    var findings: [String] = []
    var failed: Bool { crashes + hangs + outOfMemory > 0 || harnessError != nil }
}

/// Results and console output shared by the worker threads.
final class Shared: @unchecked Sendable {
    let lock = NSLock()
    var next = 0
    var tallies: [Tally?]
    init(count: Int) { tallies = Array(repeating: nil, count: count) }
    func say(_ s: String) { lock.lock(); FileHandle.standardError.write(Data((s + "\n").utf8)); lock.unlock() }
}

enum Driver {
    static let maxFindingsPerTarget = 20
    /// What the Swift runtime (and the kernel's OOM killer, as SIGKILL) leave when an allocation fails.
    static let outOfMemoryMessages = ["failed to allocate", "Could not allocate memory", "out of memory"]

    static func run(_ o: RunOptions) -> Int32 {
        guard let root = makeTemporaryDirectory() else { return Harness.fail("cannot create a temporary directory") }
        defer { try? FileManager.default.removeItem(atPath: root) }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let shared = Shared(count: o.targets.count)
        let start = Date()
        DispatchQueue.concurrentPerform(iterations: max(1, min(o.jobs, o.targets.count))) { _ in
            while true {
                shared.lock.lock()
                let i = shared.next
                shared.next += 1
                shared.lock.unlock()
                guard i < o.targets.count else { return }
                let t0 = Date()
                var tally = fuzz(o.targets[i], o, exe: exe, root: root, shared: shared)
                tally.seconds = Date().timeIntervalSince(t0)
                shared.lock.lock()
                shared.tallies[i] = tally
                shared.lock.unlock()
                shared.say("rpt-fuzz: \(tally.target) done: \(tally.cases) cases, \(tally.crashes) crashes, \(tally.hangs) hangs, "
                           + "\(tally.outOfMemory) out of memory" + String(format: " (%.1f s; slowest: case \(tally.slowestCase), %.0f ms)", tally.seconds, tally.slowestMs))
            }
        }
        let tallies = shared.tallies.compactMap { $0 }
        print(table(tallies, o, seconds: Date().timeIntervalSince(start)))
        for t in tallies {
            if let e = t.harnessError { print("\(t.target): harness failure: \(e)") }
            for f in t.findings { print("\(t.target): \(f)") }
        }
        return tallies.contains(where: \.failed) ? 1 : 0
    }

    static func fuzz(_ target: String, _ o: RunOptions, exe: String, root: String, shared: Shared) -> Tally {
        var tally = Tally(target: target)
        var start = 0, segment = 0
        while start < o.cases {
            let scratch = "\(root)/\(target)-\(segment)"
            let stderrPath = scratch + ".stderr"
            segment += 1
            _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: exe)
            p.arguments = ["child", "--target", target, "--cases", "\(o.cases)", "--seed", "\(o.seed)", "--start", "\(start)",
                           "--repo", o.repo, "--scratch", scratch, "--timeout", "\(o.timeout)", "--memory-gib", "\(o.memoryGiB)"]
            let out = Pipe()
            p.standardOutput = out
            p.standardError = FileHandle(forWritingAtPath: stderrPath)
            do { try p.run() } catch {
                tally.harnessError = "cannot start \(exe): \(error)"
                return tally
            }
            let report = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()

            // One byte per finished case, then "D <slowest ms> <slowest case> <max RSS KiB>" when all are done.
            var done = 0
            for b in report {
                if b == UInt8(ascii: "o") { tally.ok += 1; done += 1 } else if b == UInt8(ascii: "e") { tally.errors += 1; done += 1 } else { break }
            }
            tally.cases += done
            let stderr = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
            let summary = String(decoding: report.dropFirst(done), as: UTF8.self).split(separator: " ")
            if p.terminationReason == .exit, p.terminationStatus == 0, summary.count == 4, summary[0] == "D" {
                if let ms = Double(summary[1]), ms > tally.slowestMs { (tally.slowestMs, tally.slowestCase) = (ms, Int(summary[2]) ?? -1) }
                tally.peakRSSMiB = max(tally.peakRSSMiB, (Double(summary[3].trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) / 1024)
                return tally
            }
            if p.terminationReason == .exit, p.terminationStatus == Harness.harnessFailure {
                tally.harnessError = tail(stderr)
                return tally
            }

            // The child died in a case: classify, keep the reproducer, go on after it.
            let signal = p.terminationReason == .uncaughtSignal ? p.terminationStatus : 0
            let kind: String
            if signal == SIGALRM { kind = "hang"; tally.hangs += 1 }
            else if signal == SIGKILL || outOfMemoryMessages.contains(where: stderr.contains) { kind = "oom"; tally.outOfMemory += 1 }
            else { kind = "crash"; tally.crashes += 1 }
            let current = ((try? String(contentsOfFile: scratch + "/current", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
            let index = current.count == 3 ? Int(current[0]) ?? -1 : -1
            guard index == start + done || index == -1 else {
                // Died between cases (making one, not loading it): a bug in the harness, not a finding.
                tally.harnessError = "the harness died outside a case after case \(start + done - 1):\n" + tail(stderr)
                return tally
            }
            let how = p.terminationReason == .uncaughtSignal ? "signal \(signal)" : "exit status \(p.terminationStatus)"
            var finding = "\(kind) (\(how)) in case \(index)"
            if current.count == 3, let bytes = FileManager.default.contents(atPath: current[2]) {
                let saved = saveReproducer([UInt8](bytes), kind: kind, target: target, seed: current[1], casePath: current[2], corpus: o.corpus)
                finding += " of seed '\(current[1])': reproducer \(saved)"
                tally.findings.append(finding)
            } else {
                tally.findings.append(finding + ": case file not found")
            }
            tally.cases += 1
            shared.say("rpt-fuzz: \(target): \(finding)\n" + tail(stderr))
            guard index >= 0, index >= start, tally.findings.count < maxFindingsPerTarget else {
                tally.harnessError = index < 0 ? "a seed itself " + kind + "es: nothing further to fuzz" : "stopped after \(maxFindingsPerTarget) findings"
                return tally
            }
            start = index + 1
        }
        return tally
    }

    /// Copies a case into `<corpus>/<target>/<kind>-<seed>-<hash>.<ext>` (the seed tells a replay how to load it).
    static func saveReproducer(_ bytes: [UInt8], kind: String, target: String, seed: String, casePath: String, corpus: String) -> String {
        let dir = corpus + "/" + target
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let ext = URL(fileURLWithPath: casePath).pathExtension
        let path = dir + "/\(kind)-\(seed)-" + String(format: "%016llx", stableHash(bytes)) + (ext.isEmpty ? "" : "." + ext)
        do { try writeFile(bytes, path) } catch { return "(not saved: \(error))" }
        return path
    }

    static func tail(_ text: String, lines: Int = 12) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    static func makeTemporaryDirectory() -> String? {
        var template = Array((NSTemporaryDirectory() as NSString).appendingPathComponent("rpt-fuzz.XXXXXX").utf8CString)
        guard let p = mkdtemp(&template) else { return nil }
        return String(cString: p)
    }

    /// The summary as a Markdown table.
    static func table(_ tallies: [Tally], _ o: RunOptions, seconds: Double) -> String {
        var rows = ["| target | cases | ok | errors | crashes | hangs | out of memory | slowest case (ms) | peak RSS (MiB) | seconds |",
                    "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
        for t in tallies {
            rows.append("| \(t.target) | \(t.cases) | \(t.ok) | \(t.errors) | \(t.crashes) | \(t.hangs) | \(t.outOfMemory) | "
                        + String(format: "%.0f | %.0f | %.1f |", t.slowestMs, t.peakRSSMiB, t.seconds))
        }
        let sum = { (f: (Tally) -> Int) in tallies.reduce(0) { $0 + f($1) } }
        rows.append("| **all** | \(sum(\.cases)) | \(sum(\.ok)) | \(sum(\.errors)) | \(sum(\.crashes)) | \(sum(\.hangs)) | "
                    + "\(sum(\.outOfMemory)) | | | " + String(format: "%.1f |", seconds))
        return "rpt-fuzz: seed \(o.seed), \(o.cases) cases per target, \(o.jobs) job(s), \(o.timeout) s per case, "
            + "\(o.memoryGiB) GiB address space\n\n" + rows.joined(separator: "\n")
    }
}
