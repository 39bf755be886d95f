// TensorBoard event files in pure Swift, so any run can be viewed with `tensorboard --logdir` (docs/report.md).
//
// Format: a sequence of TFRecords, each
//     uint64 length (little-endian) | uint32 masked CRC32C of those 8 bytes | data | uint32 masked CRC32C of data
// (CRC32C = Castagnoli, reflected polynomial 0x82F63B78; mask(c) = ((c >> 15) | (c << 17)) &+ 0xa282ead8),
// where data is a protobuf `tensorflow.Event`, encoded here by hand:
//     Event      { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5;
//                  SessionLog session_log = 7 }                   (6 is the deprecated log_message)
//     Summary    { repeated Value value = 1 }
//     Value      { string tag = 1; float simple_value = 2; TensorProto tensor = 8; SummaryMetadata metadata = 9 }
//     SessionLog { Status status = 1 }                          (START = 1)
//     TensorProto { DataType dtype = 1; TensorShapeProto tensor_shape = 2; repeated bytes string_val = 8 }
//     SummaryMetadata { PluginData plugin_data = 1 }   PluginData { string plugin_name = 1; bytes content = 2 }
// The first record says file_version "brain.Event:2"; scalars are `simple_value`s (the classic form every
// TensorBoard reads), texts are scalar DT_STRING tensors tagged for the "text" plugin.
//
// API (what a trainer needs for `--report-to tensorboard`):
//
//     let tensorboard = try TensorBoardWriter(directory: out + "/tensorboard")   // events.out.tfevents.<secs>.<host>
//     if step > 0 { try tensorboard.restart(atStep: step + 1) }   // on --resume: TensorBoard drops the cut-off steps
//     try tensorboard.add(step: step, metrics: record)            // after metrics.append(record): scalars + texts
//
// Lower level: `add(step:scalars:wallTime:)` (tag → value), `add(step:texts:wallTime:)`, `flush()` (fsync),
// `close()`. `TensorBoardWriter.scalars(fromMetrics:)` maps a metrics.jsonl record to tags: every finite
// number but "step", `val_x` → "val/x", anything else → "train/x"; `texts(fromMetrics:)` does the same for
// strings (e.g. `rpt train`'s "warning"). Every event goes out in one write(2) as it is added, so TensorBoard
// (or `tensorboard --logdir` on a live run) sees each step at once; a failed write (a full disk) is an
// RPTError naming the file, never a trap.

import Foundation

/// CRC-32C (Castagnoli), as TFRecord frames use it.
public enum CRC32C {
    static let table: [UInt32] = (0..<256).map { i in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
        return c
    }

    /// The CRC32C of `bytes` (CRC32C("123456789") = 0xE3069283).
    public static func checksum<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes { crc = table[Int((crc ^ UInt32(b)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }

    /// TFRecord's masked CRC: rotated right by 15 bits plus a constant.
    public static func masked<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        let crc = checksum(bytes)
        return ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }
}

/// TFRecord framing of one record.
public enum TFRecord {
    public static func frame(_ data: [UInt8]) -> [UInt8] {
        let length = littleEndian(UInt64(data.count))
        return length + littleEndian(CRC32C.masked(length)) + data + littleEndian(CRC32C.masked(data))
    }

    static func littleEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        (0..<(T.bitWidth / 8)).map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) }
    }
}

/// The few protobuf messages of an event file, encoded by hand (proto3 wire format).
public enum TensorBoardEvent {
    /// The event that opens every file.
    public static func fileVersion(wallTime: Double) -> [UInt8] {
        var e = ProtoWriter()
        e.double(1, wallTime)
        e.string(3, "brain.Event:2")
        return e.bytes
    }

    /// One Summary of scalars (sorted by tag) at `step`.
    public static func scalars(step: Int, wallTime: Double, _ scalars: [(tag: String, value: Float)]) -> [UInt8] {
        var summary = ProtoWriter()
        for (tag, value) in scalars {
            var v = ProtoWriter()
            v.string(1, tag)
            v.float(2, value)
            summary.message(1, v)
        }
        return event(step: step, wallTime: wallTime, field: 5, summary)
    }

    /// One Summary of text values (scalar string tensors for the text plugin) at `step`.
    public static func texts(step: Int, wallTime: Double, _ texts: [(tag: String, text: String)]) -> [UInt8] {
        var summary = ProtoWriter()
        for (tag, text) in texts {
            var plugin = ProtoWriter()
            plugin.string(1, "text")
            var metadata = ProtoWriter()
            metadata.message(1, plugin)
            var tensor = ProtoWriter()
            tensor.varint(1, 7)                     // DT_STRING
            tensor.message(2, ProtoWriter())        // a scalar: no dimensions
            tensor.bytes(8, Array(text.utf8))
            var v = ProtoWriter()
            v.string(1, tag)
            v.message(8, tensor)
            v.message(9, metadata)
            summary.message(1, v)
        }
        return event(step: step, wallTime: wallTime, field: 5, summary)
    }

    /// SessionLog START at `step`: TensorBoard's loader then drops what it holds at this step and later
    /// (a resumed run that was cut back to its checkpoint).
    public static func restart(step: Int, wallTime: Double) -> [UInt8] {
        var log = ProtoWriter()
        log.varint(1, 1)                            // SessionLog.START
        return event(step: step, wallTime: wallTime, field: 7, log)
    }

    static func event(step: Int, wallTime: Double, field: Int, _ body: ProtoWriter) -> [UInt8] {
        var e = ProtoWriter()
        e.double(1, wallTime)
        if step != 0 { e.varint(2, UInt64(bitPattern: Int64(step))) }   // proto3 leaves out the default 0
        e.message(field, body)
        return e.bytes
    }
}

/// Protobuf wire-format writer: varint (type 0), fixed64 (1), length-delimited (2), fixed32 (5).
struct ProtoWriter {
    var bytes: [UInt8] = []

    mutating func rawVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 { bytes.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        bytes.append(UInt8(v))
    }
    mutating func key(_ field: Int, _ wireType: UInt64) { rawVarint(UInt64(field) << 3 | wireType) }
    mutating func varint(_ field: Int, _ value: UInt64) { key(field, 0); rawVarint(value) }
    mutating func double(_ field: Int, _ value: Double) { key(field, 1); bytes += TFRecord.littleEndian(value.bitPattern) }
    mutating func float(_ field: Int, _ value: Float) { key(field, 5); bytes += TFRecord.littleEndian(value.bitPattern) }
    mutating func bytes(_ field: Int, _ value: [UInt8]) { key(field, 2); rawVarint(UInt64(value.count)); bytes += value }
    mutating func string(_ field: Int, _ value: String) { bytes(field, Array(value.utf8)) }
    mutating func message(_ field: Int, _ value: ProtoWriter) { bytes(field, value.bytes) }
}

/// Writes one event file in `directory`.
public final class TensorBoardWriter {
    /// The event file.
    public let path: String
    private let handle: FileHandle
    private var closed = false

    /// Creates `directory` if needed and a new file `events.out.tfevents.<unix seconds>.<hostname><fileSuffix>` in
    /// it (never an existing one: a name taken in the same second gets ".<pid>", then ".<pid>.<n>"), opened in
    /// place, and writes the file-version event.
    public init(directory: String, fileSuffix: String = "", wallTime: Double = Date().timeIntervalSince1970) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw RPTError("cannot create directory: \(StandardOutput.reason(error))", file: directory)
        }
        let base = directory + "/events.out.tfevents.\(Int64(wallTime.rounded(.down))).\(Self.hostname())"
        var candidate = base + fileSuffix, attempt = 0, fd: Int32 = -1
        while true {
            fd = open(candidate, O_WRONLY | O_CREAT | O_EXCL | O_APPEND, 0o644)
            if fd >= 0 || errno != EEXIST || attempt >= 1000 { break }
            attempt += 1
            candidate = base + ".\(getpid())" + (attempt > 1 ? ".\(attempt)" : "") + fileSuffix
        }
        guard fd >= 0 else { throw RPTError("cannot create event file: \(String(cString: strerror(errno)))", file: candidate) }
        path = candidate
        handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        try write(TensorBoardEvent.fileVersion(wallTime: wallTime))
    }

    deinit { if !closed { try? handle.close() } }

    /// The host's name for file names (no "/"), "localhost" when it cannot be read.
    static func hostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            .replacingOccurrences(of: "/", with: "_")
        return name.isEmpty ? "localhost" : name
    }

    /// Scalars at `step`, one event (tags sorted); non-finite values are written as they are (TensorBoard shows them as gaps).
    public func add(step: Int, scalars: [String: Double], wallTime: Double = Date().timeIntervalSince1970) throws {
        guard !scalars.isEmpty else { return }
        let values = scalars.sorted { $0.key < $1.key }.map { (tag: $0.key, value: Float($0.value)) }
        try write(TensorBoardEvent.scalars(step: step, wallTime: wallTime, values))
    }

    /// Text values at `step` (TensorBoard's Text tab), one event.
    public func add(step: Int, texts: [String: String], wallTime: Double = Date().timeIntervalSince1970) throws {
        guard !texts.isEmpty else { return }
        try write(TensorBoardEvent.texts(step: step, wallTime: wallTime, texts.sorted { $0.key < $1.key }.map { (tag: $0.key, text: $0.value) }))
    }

    /// A metrics.jsonl record: its scalars and texts (see `scalars(fromMetrics:)`, `texts(fromMetrics:)`).
    public func add(step: Int, metrics record: [String: JSON], wallTime: Double = Date().timeIntervalSince1970) throws {
        try add(step: step, scalars: Self.scalars(fromMetrics: record), wallTime: wallTime)
        try add(step: step, texts: Self.texts(fromMetrics: record), wallTime: wallTime)
    }

    /// Marks a restart at `step` (SessionLog START): TensorBoard forgets the values it read for `step` and later.
    public func restart(atStep step: Int, wallTime: Double = Date().timeIntervalSince1970) throws {
        try write(TensorBoardEvent.restart(step: step, wallTime: wallTime))
    }

    /// Events are written as they are added; this also syncs them to the disk.
    public func flush() throws {
        do { try handle.synchronize() } catch {
            throw RPTError("cannot sync: \(StandardOutput.reason(error))", file: path)
        }
    }

    public func close() throws {
        guard !closed else { return }
        closed = true
        do { try handle.close() } catch { throw RPTError("cannot close: \(StandardOutput.reason(error))", file: path) }
    }

    private func write(_ event: [UInt8]) throws {
        guard !closed else { throw RPTError("event file already closed", file: path) }
        do { try handle.write(contentsOf: Data(TFRecord.frame(event))) } catch {
            throw RPTError("cannot write: \(StandardOutput.reason(error))", file: path)
        }
    }

    /// The TensorBoard tag of a metrics.jsonl key: `val_loss` → "val/loss", `loss` → "train/loss".
    public static func tag(forMetric key: String) -> String {
        if key.hasPrefix("val_"), key.count > 4 { return "val/" + key.dropFirst(4) }
        return "train/" + key
    }

    /// Every finite number of a metrics.jsonl record except "step", tagged by `tag(forMetric:)`.
    public static func scalars(fromMetrics record: [String: JSON]) -> [String: Double] {
        var out: [String: Double] = [:]
        for (k, v) in record where k != "step" {
            if let d = v.double, d.isFinite { out[tag(forMetric: k)] = d }
        }
        return out
    }

    /// Every string of a metrics.jsonl record (e.g. "warning"), tagged by `tag(forMetric:)`; not the strings
    /// that stand for a non-finite number ("NaN", "Infinity").
    public static func texts(fromMetrics record: [String: JSON]) -> [String: String] {
        var out: [String: String] = [:]
        for (k, v) in record where k != "step" {
            if let s = v.string, v.metricValue == nil { out[tag(forMetric: k)] = s }
        }
        return out
    }
}
