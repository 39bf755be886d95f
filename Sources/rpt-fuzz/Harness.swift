// The child process: prepares one target's seeds, checks that each loads unmutated, then runs cases
// `start..<cases`. Before each case it writes the case to the seed's case path and notes (case, seed, path) in
// `<scratch>/current`; after it, one byte on the report channel ('o' loaded, 'e' threw). A trap kills the process,
// a case running past the timeout is killed by SIGALRM, and an allocation beyond the address-space limit fails
// (Swift traps on it): the driver sees each as a death and finds the case in `current`.

import Foundation
import RPT
#if canImport(Glibc)
import Glibc
#endif

struct ChildOptions {
    var target = ""
    var cases = 10_000
    var seed: UInt64 = 1
    var start = 0
    var repo = "."
    var scratch = ""
    var timeout = 10
    var memoryGiB = 4
    /// Print each case's seed, size, outcome and time to stderr.
    var trace = false
}

enum Harness {
    /// Exit status when the harness itself cannot run (a seed does not load, bad arguments): not a finding.
    static let harnessFailure: Int32 = 3

    static func runChild(_ o: ChildOptions) -> Int32 {
        // The report channel is the original stdout; anything the library prints goes to stderr.
        let report = dup(1)
        dup2(2, 1)
        prepareProcess(memoryGiB: o.memoryGiB)
        guard let target = Targets.named(o.target) else { return fail("unknown target '\(o.target)'") }
        guard o.start <= o.cases else { return fail("--start \(o.start) is past --cases \(o.cases)") }
        guard mkdir(o.scratch, 0o700) == 0 else { return fail("cannot create a fresh scratch directory \(o.scratch)") }
        let seeds: [Seed]
        do { seeds = try target.prepare(o.repo, o.scratch) } catch { return fail("cannot prepare the seeds: \(error)") }

        // Every seed loads as it is: otherwise the cases would test nothing.
        for seed in seeds {
            do {
                try note(case: -1, seed: seed, scratch: o.scratch)
                try writeFile(seed.bytes, seed.casePath)
                alarm(UInt32(o.timeout))
                try seed.load(seed.casePath)
                alarm(0)
            } catch {
                return fail("seed '\(seed.name)' of \(o.target) does not load: \(error)")
            }
        }

        let others = seeds.map(\.bytes)
        var slowest = (ms: 0.0, index: -1)
        for i in o.start..<o.cases {
            var rng = Rand(seed: o.seed ^ stableHash(Array(o.target.utf8)), stream: UInt64(i))
            let seed = rng.pick(seeds)
            let bytes = Mutator.mutate(seed.bytes, format: seed.format, others: others, rng: &rng)
            do {
                try note(case: i, seed: seed, scratch: o.scratch)
                try writeFile(bytes, seed.casePath)
            } catch {
                return fail("cannot write case \(i): \(error)")
            }
            let t0 = DispatchTime.now().uptimeNanoseconds
            alarm(UInt32(o.timeout))
            var outcome = UInt8(ascii: "o"), message = ""
            do { try seed.load(seed.casePath) } catch {
                outcome = UInt8(ascii: "e")
                if o.trace { message = (error as? RPTError)?.message ?? "\(type(of: error)): \(error)" }
            }
            alarm(0)
            let ms = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
            if ms > slowest.ms { slowest = (ms, i) }
            if o.trace {
                let line = "case \(i) \(seed.name) \(bytes.count) bytes \(Character(Unicode.Scalar(outcome))) " + String(format: "%.1f ms ", ms)
                FileHandle.standardError.write(Data((line + message.prefix(150) + "\n").utf8))
            }
            writeAll(report, [outcome])
        }
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        writeAll(report, Array("D \(slowest.ms) \(slowest.index) \(usage.ru_maxrss)\n".utf8))
        return 0
    }

    /// Makes this process die the way the driver recognises. RLIMIT_AS: an allocation beyond it fails (and Swift
    /// traps) instead of swapping the machine. SIGALRM at its default action (terminate) and unblocked: a process
    /// spawned from a Dispatch worker thread (the driver's jobs, a test runner) inherits that thread's signal
    /// mask, which blocks SIGALRM, and a hang would then never end.
    static func prepareProcess(memoryGiB: Int) {
        var limit = rlimit(rlim_cur: rlim_t(memoryGiB) << 30, rlim_max: rlim_t(memoryGiB) << 30)
        if setrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &limit) != 0 {
            FileHandle.standardError.write(Data("rpt-fuzz: warning: cannot limit the address space\n".utf8))
        }
        signal(SIGALRM, SIG_DFL)
        var none = sigset_t()
        sigemptyset(&none)
        pthread_sigmask(SIG_SETMASK, &none, nil)
    }

    static func note(case index: Int, seed: Seed, scratch: String) throws {
        try writeFile(Array("\(index)\n\(seed.name)\n\(seed.casePath)\n".utf8), scratch + "/current")
    }

    static func fail(_ message: String) -> Int32 {
        FileHandle.standardError.write(Data("rpt-fuzz: \(message)\n".utf8))
        return harnessFailure
    }
}

/// Writes `bytes` to `path`, replacing its contents (plain open/write: the case must be on disk before the load).
func writeFile(_ bytes: [UInt8], _ path: String) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw RPTError("cannot open for writing: \(String(cString: strerror(errno)))", file: path) }
    defer { close(fd) }
    guard writeAll(fd, bytes) else { throw RPTError("cannot write: \(String(cString: strerror(errno)))", file: path) }
}

@discardableResult
func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { raw in
        var done = 0
        while done < raw.count {
            let n = write(fd, raw.baseAddress! + done, raw.count - done)
            if n < 0 { if errno == EINTR { continue }; return false }
            done += n
        }
        return true
    }
}

/// FNV-1a, 64 bits: the same on every run and machine (Swift's `Hasher` is seeded per process).
func stableHash(_ bytes: [UInt8]) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
    return h
}
