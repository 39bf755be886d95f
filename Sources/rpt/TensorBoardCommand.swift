// `rpt tensorboard --run DIR [--out DIR/tensorboard] [--follow]`: a run's metrics.jsonl (`rpt pretrain` or
// `rpt train`) as TensorBoard event files (TensorBoardEvents.swift), so any run, past or live, can be viewed
// with `tensorboard --logdir`. Every finite number of a record but "step" becomes a scalar (`val_x` → "val/x",
// else "train/x"), every string (a learning-signal "warning") a text. With --follow the file is read again
// every second until Ctrl-C; when it is cut back (a resumed run) or restarted, a SessionLog START event tells
// TensorBoard to drop the steps from there on before the new ones arrive.

import ArgumentParser
import Foundation
import RPT

struct TensorBoardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tensorboard",
        abstract: "Write a run's metrics.jsonl as TensorBoard event files.",
        discussion: """
        Event files are named events.out.tfevents.<seconds>.<host>.metrics; an earlier conversion in --out is \
        replaced, and a directory holding event files written another way is refused.
        Example:
          rpt tensorboard --run runs/rpt --follow &
          tensorboard --logdir runs/rpt/tensorboard
        """)

    @Option(name: .customLong("run"), help: "An `rpt pretrain` / `rpt train` output directory (its metrics.jsonl), or a metrics.jsonl file.")
    var runPath: String
    @Option(help: "Directory for the event files (default: RUN/tensorboard).") var out: String?
    @Flag(help: "Keep reading metrics.jsonl every second (a live run) until interrupted (Ctrl-C).") var follow = false

    /// The suffix of the event files this command writes (so a later conversion replaces only its own).
    static let fileSuffix = ".metrics"

    func run() throws {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        let exists = fm.fileExists(atPath: runPath, isDirectory: &isDirectory)
        guard exists || follow else { throw RPTError("not found", file: runPath) }
        let runDirectory = exists && !isDirectory.boolValue ? (runPath as NSString).deletingLastPathComponent : runPath
        let metricsPath = exists && !isDirectory.boolValue ? runPath : runPath + "/metrics.jsonl"
        let outDirectory = out ?? ((runDirectory.isEmpty ? "." : runDirectory) + "/tensorboard")
        if !follow, !fm.fileExists(atPath: metricsPath) {
            throw RPTError("no metrics.jsonl (an `rpt pretrain` or `rpt train` output directory?)", file: runPath)
        }
        try Self.clearEarlierConversions(in: outDirectory)

        let writer = try TensorBoardWriter(directory: outDirectory, fileSuffix: Self.fileSuffix)
        let tail = MetricsTail(path: metricsPath, writer: writer)
        if !follow {
            do { try tail.poll(final: true) } catch {
                try? writer.close()
                try? FileManager.default.removeItem(atPath: writer.path)   // no half conversion left behind
                throw error
            }
            if tail.pendingBytes > 0 { StandardError.write("note: \(metricsPath): an incomplete last line (a run still writing) was left out\n") }
            try writer.close()
            try StandardOutput.write("tensorboard: \(tail.stepsWritten) steps, \(tail.tags.count) tags from \(metricsPath) → \(writer.path)\n"
                                     + "view: tensorboard --logdir \(outDirectory)\n")
            return
        }

        Interruption.install()   // Ctrl-C ends following (a second one exits at once)
        StandardOutput.log("tensorboard: following \(metricsPath) → \(writer.path) (Ctrl-C stops); view: tensorboard --logdir \(outDirectory)")
        var waitingNoted = false
        while Interruption.pending == nil {
            let before = tail.stepsWritten
            try tail.poll(final: false)
            if !tail.fileSeen, !waitingNoted { StandardOutput.log("tensorboard: waiting for \(metricsPath)"); waitingNoted = true }
            if tail.stepsWritten > before, let last = tail.lastStep {
                StandardOutput.log("tensorboard: step \(last) (\(tail.stepsWritten - before) new)")
            }
            for _ in 0..<10 where Interruption.pending == nil { usleep(100_000) }
        }
        try writer.flush()
        try writer.close()
        StandardOutput.log("tensorboard: stopped following; \(tail.stepsWritten) steps written to \(writer.path)")
    }

    /// Removes the event files of an earlier `rpt tensorboard` in `directory`; refuses one that holds other event files.
    static func clearEarlierConversions(in directory: String) throws {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        let events = names.filter { $0.contains("tfevents") }
        let foreign = events.filter { !$0.hasSuffix(fileSuffix) }
        guard foreign.isEmpty else {
            throw RPTError("holds event files not written by `rpt tensorboard` (\(foreign.sorted()[0])…): view them with "
                           + "`tensorboard --logdir \(directory)`, or give another --out", file: directory)
        }
        for name in events {
            do { try FileManager.default.removeItem(atPath: directory + "/" + name) } catch {
                throw RPTError("cannot remove an earlier conversion: \(StandardOutput.reason(error))", file: directory + "/" + name)
            }
        }
    }
}

/// Reads the complete lines metrics.jsonl gained since the last poll and writes them as events. A file that
/// was replaced or shrank (a resumed run cuts it back to its checkpoint; a new run truncates it) is read again
/// from the start: records already written unchanged are skipped, and the first step at or before one already
/// written is preceded by a restart event so that TensorBoard drops the old values from that step on.
final class MetricsTail {
    let path: String
    let writer: TensorBoardWriter
    private var offset: UInt64 = 0
    private var fileID: (device: UInt64, inode: UInt64)?
    private var lineNumber = 0
    /// step → hash of the record written for it.
    private var written: [Int: Int] = [:]
    private(set) var lastStep: Int?
    private(set) var stepsWritten = 0
    private(set) var tags = Set<String>()
    /// Bytes of an incomplete last line, left for the next poll.
    private(set) var pendingBytes = 0
    private(set) var fileSeen = false

    init(path: String, writer: TensorBoardWriter) {
        self.path = path
        self.writer = writer
    }

    /// Reads what is new. `final` (a one-off conversion): a malformed line is an error naming its line, and a last
    /// line without a newline is read when it parses; otherwise a malformed line is a warning and skipped, and an
    /// incomplete last line waits for the next poll.
    func poll(final: Bool) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            if errno == ENOENT, !final { return }
            throw RPTError("cannot read: \(String(cString: strerror(errno)))", file: path)
        }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw RPTError("cannot stat: \(String(cString: strerror(errno)))", file: path) }
        fileSeen = true
        let id = (device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
        var rewound = false
        if let known = fileID, known.device != id.device || known.inode != id.inode || UInt64(st.st_size) < offset {
            offset = 0; lineNumber = 0; rewound = true
            StandardError.write("note: \(path) was rewritten (a resumed or restarted run); reading it again\n")
        }
        fileID = id
        let data: Data
        do {
            try handle.seek(toOffset: offset)
            data = try handle.readToEnd() ?? Data()
        } catch {
            throw RPTError("cannot read: \(StandardOutput.reason(error))", file: path)
        }
        // Complete lines only; in a one-off conversion (`final`) also a last line without a newline that parses.
        let complete = data.lastIndex(of: 0x0A).map { data[data.startIndex...$0] } ?? data.prefix(0)
        offset += UInt64(complete.count)
        pendingBytes = data.count - complete.count
        var lines = complete.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast().map { Array($0) }
        var tail: [UInt8]?
        if final, pendingBytes > 0 { tail = Array(data.suffix(pendingBytes)) }
        var maxStepRead: Int?
        while !lines.isEmpty || tail != nil {
            let isTail = lines.isEmpty
            var bytes = isTail ? tail! : lines.removeFirst()
            if isTail { tail = nil }
            lineNumber += 1
            if bytes.last == 0x0D { bytes.removeLast() }
            if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            let record: [String: JSON], step: Int
            do {
                guard String(validating: bytes, as: UTF8.self) != nil else { throw RPTError("not valid UTF-8") }
                guard let object = try JSON.parse(Data(bytes), file: path).object else { throw RPTError("not a JSON object") }
                guard let s = object["step"]?.int else { throw RPTError("no integer \"step\"") }
                record = object; step = s
            } catch let e as RPTError {
                if isTail { continue }   // cut short: a run still writing (pendingBytes says so)
                let error = RPTError("line \(lineNumber): \(e.message)", file: path)
                if final { throw error }
                StandardError.write("warning: \(error) (skipped)\n")
                continue
            }
            if isTail { pendingBytes = 0 }
            maxStepRead = max(maxStepRead ?? step, step)
            try write(step: step, record: record)
        }
        if rewound { try cutBack(after: maxStepRead) }
    }

    /// After reading a rewritten file in full: when it now ends before steps already written, TensorBoard is told to drop them.
    private func cutBack(after maxStep: Int?) throws {
        guard let last = lastStep, last > (maxStep ?? 0) else { return }
        let from = (maxStep ?? 0) + 1
        try writer.restart(atStep: from)
        written = written.filter { $0.key < from }
        lastStep = maxStep
    }

    private func write(step: Int, record: [String: JSON]) throws {
        let signature = JSON.object(record).serialized().hashValue
        if written[step] == signature { return }   // already written, unchanged (a file read again)
        if let last = lastStep, step <= last {
            try writer.restart(atStep: step)
            written = written.filter { $0.key < step }
        }
        try writer.add(step: step, metrics: record, wallTime: Date().timeIntervalSince1970)
        written[step] = signature
        lastStep = step
        stepsWritten += 1
        tags.formUnion(TensorBoardWriter.scalars(fromMetrics: record).keys)
        tags.formUnion(TensorBoardWriter.texts(fromMetrics: record).keys)
    }
}
