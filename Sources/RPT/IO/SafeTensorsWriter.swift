// Writing safetensors files (format in SafeTensors.swift): tensors laid out in the order given, header
// JSON padded with spaces to a multiple of 8 bytes as the reference implementation does, and the file
// written atomically. F32 and BF16 (round-to-nearest-even) output; I64 for integer fixtures.

import Foundation

public struct SafeTensorsWriter {
    public enum Payload {
        case f32([Float])
        case bf16([Float])
        case i64([Int])
    }

    private var entries: [(name: String, shape: [Int], payload: Payload)] = []
    public var metadata: [String: String] = [:]

    public init() {}

    public mutating func add(_ name: String, shape: [Int], _ payload: Payload) {
        entries.append((name, shape, payload))
    }

    /// The complete file contents.
    public func serialized() -> Data {
        var body = Data()
        var layout: [(name: String, dtype: String, shape: [Int], bytes: Int)] = []
        for e in entries {
            let begin = body.count
            let dtype: String
            switch e.payload {
            case .f32(let v):
                dtype = "F32"
                v.withUnsafeBufferPointer { body.append(Data(buffer: $0)) }
            case .bf16(let v):
                dtype = "BF16"
                let bits = v.map(bfloat16Bits)
                bits.withUnsafeBufferPointer { body.append(Data(buffer: $0)) }
            case .i64(let v):
                dtype = "I64"
                let w = v.map { Int64($0) }
                w.withUnsafeBufferPointer { body.append(Data(buffer: $0)) }
            }
            layout.append((e.name, dtype, e.shape, body.count - begin))
        }
        var out = Data(SafeTensorsWriter.header(layout, metadata: metadata))
        out.append(body)
        return out
    }

    /// The 8-byte length and the JSON header (sorted keys, padded with spaces to a multiple of 8, as the
    /// reference implementation writes it) for tensors stored back to back in the given order.
    public static func header(_ tensors: [(name: String, dtype: String, shape: [Int], bytes: Int)],
                              metadata: [String: String] = [:]) -> [UInt8] {
        var header: [String: JSON] = [:]
        var offset = 0
        for t in tensors {
            header[t.name] = .object(["dtype": .string(t.dtype), "shape": .array(t.shape.map { .number(Double($0)) }),
                                      "data_offsets": .array([.number(Double(offset)), .number(Double(offset + t.bytes))])])
            offset += t.bytes
        }
        if !metadata.isEmpty { header["__metadata__"] = .object(metadata.mapValues { .string($0) }) }
        var json = Array(JSON.object(header).serialized().utf8)
        while json.count % 8 != 0 { json.append(0x20) }
        let n = UInt64(json.count)
        return (0..<8).map { UInt8(truncatingIfNeeded: n >> (8 * $0)) } + json
    }

    public func write(to path: String) throws {
        try AtomicFile.write(serialized(), to: path)
    }
}

/// Float32 → bfloat16 bits with round-to-nearest-even (NaN stays NaN), as torch's `.to(torch.bfloat16)`.
public func bfloat16Bits(_ f: Float) -> UInt16 {
    let b = f.bitPattern
    if f.isNaN { return UInt16(b >> 16) | 0x0040 }
    let rounded = b &+ 0x7FFF &+ ((b >> 16) & 1)
    return UInt16(rounded >> 16)
}
