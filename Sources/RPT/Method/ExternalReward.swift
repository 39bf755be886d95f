// A reward computed by another program (`rpt train --reward-command CMD`; docs/custom-rewards.md). The command
// is started once through /bin/sh and stays up for the whole run. For each group of G rollouts it receives one
// JSON object on a line of its stdin:
//
//   {"doc_id", "index", "context", "target", "target_id", "continuation" (text, lossy where a character is
//    cut), "continuation_b64" (the exact bytes), "boundaries", "responses": [G texts],
//    "predictions": [G boxed answers or null], "failures": [G reasons or null]}
//
// and answers with one line on its stdout: {"rewards": [G numbers]} (or the bare array). Each answer must come
// within `timeout` seconds; a missing, malformed, non-finite or wrong-length answer, or an exit, stops the run
// with an error naming the command. Its stderr goes to ours.

import Foundation

public final class ExternalReward: @unchecked Sendable {
    public let command: String
    public let timeout: Double
    private var process: Process?
    private var input: FileHandle?
    private var reader: LineReader?
    private let lock = NSLock()

    public init(command: String, timeout: Double = 60) throws {
        guard !command.trimmingCharacters(in: .whitespaces).isEmpty else { throw RPTError("empty command", file: "--reward-command") }
        guard timeout > 0, timeout.isFinite else { throw RPTError("--reward-timeout must be a positive number of seconds", file: "--reward-command") }
        self.command = command
        self.timeout = timeout
    }

    deinit {
        try? input?.close()
        if let p = process, p.isRunning { p.terminate() }
    }

    /// The rewards of one group: `inputs` are its G rollouts (with their response texts), `record` its position.
    public func rewards(_ inputs: [RewardInput], record: PositionRecord) throws -> [Float] {
        lock.lock(); defer { lock.unlock() }
        let request: JSON = .object([
            "doc_id": .string(record.docId), "index": .number(Double(record.index)), "context": .string(record.context),
            "target": .string(record.target), "target_id": .number(Double(record.targetId)),
            "continuation": .string(String(decoding: record.continuation, as: UTF8.self)),
            "continuation_b64": .string(Data(record.continuation).base64EncodedString()),
            "boundaries": .array(record.boundaries.map { .number(Double($0)) }),
            "responses": .array(inputs.map { .string($0.response ?? "") }),
            "predictions": .array(inputs.map { $0.answer.prediction.map(JSON.string) ?? .null }),
            "failures": .array(inputs.map { $0.answer.failure.map { .string($0.rawValue) } ?? .null }),
        ])
        let (handle, reader) = try started()
        do { try handle.write(contentsOf: Data((request.serialized() + "\n").utf8)) } catch {
            throw failure("cannot send it a group (\(StandardOutput.reason(error)))")
        }
        let answered: String?
        do { answered = try reader.readLine(timeout: timeout) } catch { throw failure("closed its output before answering") }
        guard let line = answered else {
            process?.terminate()
            throw failure("no answer within \(timeout) s (--reward-timeout)")
        }
        guard let answer = try? JSON.parse(Data(line.utf8), file: command) else {
            throw failure("answered with a line that is not JSON: \(RPTError.echo(line))")
        }
        let values = (answer["rewards"] ?? answer).array ?? []
        let rewards = values.compactMap(\.double)
        guard rewards.count == values.count, rewards.count == inputs.count, rewards.allSatisfy(\.isFinite) else {
            throw failure("answered \(RPTError.echo(line)); expected {\"rewards\": [\(inputs.count) finite numbers]}")
        }
        return rewards.map { Float($0) }
    }

    private func started() throws -> (FileHandle, LineReader) {
        if let input, let reader, process?.isRunning == true { return (input, reader) }
        if process != nil { throw failure("exited (status \(process?.terminationStatus ?? -1))") }
        signal(SIGPIPE, SIG_IGN)   // a reward program that exits must be an error here, not kill us
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", command]
        let stdin = Pipe(), stdout = Pipe()
        p.standardInput = stdin
        p.standardOutput = stdout
        do { try p.run() } catch { throw failure("cannot start it: \(StandardOutput.reason(error))") }
        process = p
        input = stdin.fileHandleForWriting
        reader = LineReader(fd: stdout.fileHandleForReading.fileDescriptor, keepAlive: stdout)
        return (input!, reader!)
    }

    private func failure(_ why: String) -> RPTError {
        // A program that just exited may not be reaped yet: give it a moment so its status can be reported.
        for _ in 0..<20 where process?.isRunning == true && why.hasPrefix("cannot send") { usleep(50_000) }
        var message = "the reward command " + why
        if let p = process, !p.isRunning { message += " (it exited with status \(p.terminationStatus))" }
        return RPTError(message, file: RPTError.echo(command))
    }
}

/// Lines from a file descriptor with a deadline (poll + read), at most 16 MiB per line.
final class LineReader {
    let fd: Int32
    let keepAlive: AnyObject
    private var buffer: [UInt8] = []
    static let maxLine = 16 << 20

    init(fd: Int32, keepAlive: AnyObject) {
        self.fd = fd
        self.keepAlive = keepAlive
    }

    /// The next line without its newline; nil when `timeout` seconds pass first; an error at end of file.
    func readLine(timeout: Double) throws -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeFirst(newline + 1)
                return line
            }
            guard buffer.count <= LineReader.maxLine else { throw RPTError("an answer line longer than 16 MiB") }
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { return nil }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, Int32(min(remaining * 1000, 60_000).rounded(.up)))
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let n = read(fd, &chunk, chunk.count)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw RPTError("end of file") }
            buffer += chunk[..<n]
        }
    }
}
