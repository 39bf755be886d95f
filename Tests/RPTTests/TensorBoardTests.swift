// TensorBoard event files (TensorBoardEvents.swift): CRC32C against its standard check value, an event's exact
// bytes worked out by hand from the protobuf and TFRecord specifications, a written file framed record by
// record, and the metrics.jsonl → tag mapping. scripts/test_tensorboard.sh reads real runs back with
// tensorboard's own reader.

import Foundation
import Testing
@testable import RPT

@Suite struct TensorBoardTests {
    @Test func crc32cMatchesTheCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8]()) == 0)
        // RFC 3720 (iSCSI) B.4: 32 bytes of zeros, of 0xFF, and ascending 0…31.
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
    }

    /// Event { wall_time: 1.5, step: 300, summary { value { tag: "a", simple_value: 2.0 } } } in a TFRecord.
    @Test func scalarEventRecordHasTheExactBytes() {
        let data: [UInt8] = [
            0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xF8, 0x3F,   // field 1, fixed64: 1.5 = 0x3FF8000000000000 little-endian
            0x10, 0xAC, 0x02,                                       // field 2, varint: 300 = 0b10_0101100 → 0xAC 0x02
            0x2A, 0x0A,                                             // field 5 (summary), length 10
            0x0A, 0x08,                                             //   Summary.value (field 1), length 8
            0x0A, 0x01, 0x61,                                       //     Value.tag (field 1): "a"
            0x15, 0x00, 0x00, 0x00, 0x40,                           //     Value.simple_value (field 2, fixed32): 2.0f = 0x40000000
        ]
        #expect(TensorBoardEvent.scalars(step: 300, wallTime: 1.5, [(tag: "a", value: 2.0)]) == data)
        // uint64 length 24 | masked CRC32C of the length | data | masked CRC32C of data (both CRCs computed with a
        // bitwise CRC32C in Python; tensorboard's reader verifies the writer's in scripts/test_tensorboard.sh).
        let record: [UInt8] = [0x18, 0, 0, 0, 0, 0, 0, 0] + [0xA3, 0x7F, 0x4B, 0x22] + data + [0x72, 0x2E, 0x38, 0xEF]
        #expect(TFRecord.frame(data) == record)
        #expect(CRC32C.masked([0x18, 0, 0, 0, 0, 0, 0, 0]) == 0x224B_7FA3)
    }

    @Test func fileVersionAndRestartEventsHaveTheExactBytes() {
        let version: [UInt8] = [0x09, 0, 0, 0, 0, 0, 0, 0xF8, 0x3F,            // wall_time 1.5; step 0 left out
                                0x1A, 0x0D] + Array("brain.Event:2".utf8)        // field 3, length 13
        #expect(TensorBoardEvent.fileVersion(wallTime: 1.5) == version)
        let restart: [UInt8] = [0x09, 0, 0, 0, 0, 0, 0, 0xF8, 0x3F, 0x10, 0x07,  // step 7
                                0x3A, 0x02, 0x08, 0x01]                          // field 7 (session_log) { status: START }
        #expect(TensorBoardEvent.restart(step: 7, wallTime: 1.5) == restart)
    }

    /// Value { tag: "w", tensor { dtype: DT_STRING, tensor_shape {}, string_val: "hi" }, metadata { plugin_data { plugin_name: "text" } } }
    @Test func textEventHasTheExactBytes() {
        let value: [UInt8] = [0x0A, 0x01, 0x77,                                  // tag "w"
                              0x42, 0x08, 0x08, 0x07, 0x12, 0x00, 0x42, 0x02, 0x68, 0x69,   // tensor (field 8): dtype 7, shape {}, "hi"
                              0x4A, 0x08, 0x0A, 0x06, 0x0A, 0x04] + Array("text".utf8)      // metadata (field 9) { plugin_data { plugin_name } }
        let data: [UInt8] = [0x09, 0, 0, 0, 0, 0, 0, 0xF8, 0x3F, 0x10, 0x01, 0x2A, UInt8(value.count + 2), 0x0A, UInt8(value.count)] + value
        #expect(TensorBoardEvent.texts(step: 1, wallTime: 1.5, [(tag: "w", text: "hi")]) == data)
    }

    @Test func metricsRecordsMapToTags() {
        let record: [String: JSON] = ["step": .number(3), "loss": .number(2.5), "val_loss": .number(2.75), "lr": .number(1e-4),
                                      "grad_norm": .null, "warning": .string("flat reward"), "kl": .string("NaN"), "done": .bool(true)]
        #expect(TensorBoardWriter.scalars(fromMetrics: record) == ["train/loss": 2.5, "val/loss": 2.75, "train/lr": 1e-4])
        #expect(TensorBoardWriter.texts(fromMetrics: record) == ["train/warning": "flat reward"])
        #expect(TensorBoardWriter.tag(forMetric: "val_") == "train/val_")
    }

    /// A written file is a sequence of well-framed records: file version first, then one event per add.
    @Test func writtenFileIsFramedRecords() throws {
        let dir = temporaryDirectory("rpt-tb")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let writer = try TensorBoardWriter(directory: dir + "/tb", wallTime: 1_700_000_000)
        let name = (writer.path as NSString).lastPathComponent
        #expect(name.hasPrefix("events.out.tfevents.1700000000."))
        try writer.add(step: 1, scalars: ["train/loss": 3, "train/lr": 0.1], wallTime: 1_700_000_001)
        try writer.add(step: 2, metrics: ["step": .number(2), "loss": .number(2), "warning": .string("x")], wallTime: 1_700_000_002)
        // Readable before close (a live run): every add is written at once.
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: writer.path)))
        #expect(try Self.records(bytes).count == 4)
        try writer.flush()
        try writer.close()
        bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: writer.path)))
        let records = try Self.records(bytes)
        #expect(records.count == 4)
        #expect(records[0] == TensorBoardEvent.fileVersion(wallTime: 1_700_000_000))
        #expect(records[1] == TensorBoardEvent.scalars(step: 1, wallTime: 1_700_000_001, [("train/loss", 3), ("train/lr", 0.1)]))
        // A second writer in the same second does not overwrite the first file.
        let second = try TensorBoardWriter(directory: dir + "/tb", wallTime: 1_700_000_000)
        #expect(second.path != writer.path)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/tb").count == 2)
    }

    /// `rpt pretrain --report-to tensorboard`: one scalar event per step next to metrics.jsonl, as the run goes.
    @Test func pretrainReportsToTensorBoard() throws {
        let dir = temporaryDirectory("rpt-tb-run")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try runRPT(["pretrain", "--model", Repo.fixtureModel("qwen2_f32"), "--data", Repo.path("Tests/Fixtures/data/short_stories.txt"),
                            "--delimiter", "\\n\\n\\n", "--steps", "4", "--seq-len", "16", "--batch-size", "1", "--validation", "1",
                            "--out", dir + "/run", "--report-to", "tensorboard"])
        #expect(r.status == 0, "\(r.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir + "/run/tensorboard")
        #expect(files.count == 1 && files[0].hasPrefix("events.out.tfevents."))
        let records = try Self.records([UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/run/tensorboard/" + files[0]))))
        #expect(records.count == 1 + 4, "the file version, then one event per step")
        let bad = try runRPT(["pretrain", "--model", Repo.fixtureModel("qwen2_f32"), "--data", Repo.path("Tests/Fixtures/data/short_stories.txt"),
                              "--out", dir + "/bad", "--report-to", "wandb"])
        #expect(bad.status != 0 && bad.stderr.contains("--report-to"))
    }

    @Test func unwritableDirectoryIsAnErrorNamingIt() throws {
        let dir = temporaryDirectory("rpt-tb")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let file = dir + "/plain"
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        do {
            _ = try TensorBoardWriter(directory: file + "/tb")
            Issue.record("expected an error")
        } catch let e as RPTError {
            #expect(e.file == file + "/tb")
        }
    }

    /// Splits TFRecords, checking both masked CRCs of each.
    static func records(_ bytes: [UInt8]) throws -> [[UInt8]] {
        func u32(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[at + $1]) << ($1 * 8) } }
        var out: [[UInt8]] = [], i = 0
        while i < bytes.count {
            guard i + 12 <= bytes.count else { throw RPTError("truncated header at \(i)") }
            let length = Int((0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[i + $1]) << ($1 * 8) })
            guard CRC32C.masked(bytes[i..<i + 8]) == u32(i + 8) else { throw RPTError("length CRC at \(i)") }
            guard i + 12 + length + 4 <= bytes.count else { throw RPTError("truncated record at \(i)") }
            let data = Array(bytes[(i + 12)..<(i + 12 + length)])
            guard CRC32C.masked(data) == u32(i + 12 + length) else { throw RPTError("data CRC at \(i)") }
            out.append(data)
            i += 12 + length + 4
        }
        return out
    }
}
