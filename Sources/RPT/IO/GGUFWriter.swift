// A GGUF version 3 writer: the single-file model format of ggml and llama.cpp, as specified in
// github.com/ggml-org/ggml, docs/gguf.md. Everything is little-endian:
//
//   header        magic "GGUF" (bytes 47 47 55 46), version u32 = 3, tensor_count u64, metadata_kv_count u64
//   metadata      per entry: key (a gguf string: u64 byte length + UTF-8 bytes, no terminator), value type u32,
//                 value. Scalars u8 i8 u16 i16 u32 i32 f32 bool(1 byte) string u64 i64 f64; an array is its
//                 element type u32, its length u64, then the elements.
//   tensor infos  per tensor: name (gguf string, at most 63 bytes), n_dimensions u32, the dimensions u64 with
//                 the fastest-varying first (ggml's ne[0]: a row-major [rows, cols] matrix is written (cols, rows)),
//                 ggml type u32, offset u64 into the data section (a multiple of the alignment)
//   padding       zeros up to a multiple of `general.alignment` (32 unless the key says otherwise)
//   data          each tensor's bytes at its offset, zero-padded to the alignment
//
// Tensors are written as F32 or BF16 (round to nearest even, NaN kept a quiet NaN) from Float32 values; the values
// are read only while `write(to:)` runs, one chunk at a time, so a model is never held twice in memory. The file is
// written atomically (StreamingAtomicFile): an interrupted export leaves no partial file behind.

import Foundation

/// GGUF metadata value types (gguf.md `gguf_metadata_value_type`).
public enum GGUFValueType: UInt32, Sendable {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7, string = 8,
         array = 9, uint64 = 10, int64 = 11, float64 = 12
}

/// One metadata value. Arrays are typed (GGUF arrays hold elements of one type).
public enum GGUFValue: Equatable, Sendable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case uint64(UInt64), int64(Int64), float32(Float), float64(Double), bool(Bool), string(String)
    case uint8Array([UInt8]), int32Array([Int32]), uint32Array([UInt32]), float32Array([Float])
    case boolArray([Bool]), stringArray([String])

    public var type: GGUFValueType {
        switch self {
        case .uint8: .uint8
        case .int8: .int8
        case .uint16: .uint16
        case .int16: .int16
        case .uint32: .uint32
        case .int32: .int32
        case .uint64: .uint64
        case .int64: .int64
        case .float32: .float32
        case .float64: .float64
        case .bool: .bool
        case .string: .string
        case .uint8Array, .int32Array, .uint32Array, .float32Array, .boolArray, .stringArray: .array
        }
    }
}

/// ggml tensor types this writer produces (ggml.h `enum ggml_type`).
public enum GGMLType: UInt32, Sendable {
    case f32 = 0
    case bf16 = 30

    public var bytesPerElement: Int { self == .f32 ? 4 : 2 }
    public var name: String { self == .f32 ? "F32" : "BF16" }
}

/// Where a tensor's Float32 values come from when the file is written.
public enum GGUFTensorSource: @unchecked Sendable {
    /// `count` values at `offset` of a parameter buffer (kept alive by this reference).
    case parameters(ParameterBuffer, offset: Int, count: Int)
    /// Values in hand (e.g. a permuted copy).
    case values([Float])

    var count: Int {
        switch self {
        case .parameters(_, _, let count): count
        case .values(let v): v.count
        }
    }

    func withValues<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        switch self {
        case .parameters(let buffer, let offset, let count):
            return try body(UnsafeBufferPointer(start: buffer.base + offset, count: count))
        case .values(let v):
            return try v.withUnsafeBufferPointer(body)
        }
    }
}

/// A GGUF file being assembled: metadata in insertion order, then tensors in insertion order.
public struct GGUFWriter: @unchecked Sendable {
    public struct Tensor {
        public var name: String
        /// Row-major shape, outermost first (the PyTorch / safetensors order); written reversed.
        public var shape: [Int]
        public var type: GGMLType
        public var source: GGUFTensorSource
        public var byteCount: Int { shape.reduce(1, *) * type.bytesPerElement }
    }

    public static let version: UInt32 = 3
    public static let defaultAlignment = 32
    /// GGML_MAX_NAME is 64 bytes including the terminating NUL.
    public static let maxTensorNameBytes = 63

    public private(set) var metadata: [(key: String, value: GGUFValue)] = []
    public private(set) var tensors: [Tensor] = []
    /// The data alignment; written as `general.alignment` (u32).
    public private(set) var alignment: Int

    public init(alignment: Int = GGUFWriter.defaultAlignment) {
        precondition(alignment > 0 && alignment % 8 == 0, "GGUF alignment must be a positive multiple of 8")
        self.alignment = alignment
        set("general.alignment", .uint32(UInt32(alignment)))
    }

    /// Sets a metadata key (replacing an earlier value of the same key, keeping its position).
    public mutating func set(_ key: String, _ value: GGUFValue) {
        if let i = metadata.firstIndex(where: { $0.key == key }) { metadata[i].value = value } else { metadata.append((key, value)) }
    }

    public func value(_ key: String) -> GGUFValue? { metadata.first { $0.key == key }?.value }

    /// Adds a tensor. The name must be new and fit ggml's limit; the shape's element count must match the source.
    public mutating func addTensor(_ name: String, shape: [Int], type: GGMLType, source: GGUFTensorSource) throws {
        guard !name.isEmpty, name.utf8.count <= Self.maxTensorNameBytes else {
            throw RPTError("GGUF tensor name '\(RPTError.echo(name))' must be 1 to \(Self.maxTensorNameBytes) bytes")
        }
        guard !tensors.contains(where: { $0.name == name }) else { throw RPTError("GGUF tensor '\(name)' added twice") }
        guard !shape.isEmpty, shape.count <= 4, shape.allSatisfy({ $0 > 0 }) else {
            throw RPTError("GGUF tensor '\(name)' has shape \(shape): ggml tensors have 1 to 4 positive dimensions")
        }
        guard let n = checkedProduct(shape), n == source.count else {
            throw RPTError("GGUF tensor '\(name)': shape \(shape) does not match its \(source.count) values")
        }
        tensors.append(Tensor(name: name, shape: shape, type: type, source: source))
    }

    // MARK: Encoding

    /// Offsets of each tensor in the data section, and the section's padded size.
    public func dataLayout() -> (offsets: [Int], size: Int) {
        var offsets: [Int] = [], offset = 0
        for t in tensors {
            offsets.append(offset)
            offset += padded(t.byteCount)
        }
        return (offsets, offset)
    }

    private func padded(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }

    /// Everything before the tensor data: header, metadata, tensor infos and the padding up to the data section.
    public func encodeHeader() -> [UInt8] {
        var out = ByteSink()
        out.u32(0x4655_4747)          // "GGUF" read as a little-endian u32
        out.u32(Self.version)
        out.u64(UInt64(tensors.count))
        out.u64(UInt64(metadata.count))
        for (key, value) in metadata {
            out.string(key)
            out.u32(value.type.rawValue)
            out.value(value)
        }
        let offsets = dataLayout().offsets
        for (t, offset) in zip(tensors, offsets) {
            out.string(t.name)
            out.u32(UInt32(t.shape.count))
            for d in t.shape.reversed() { out.u64(UInt64(d)) }
            out.u32(t.type.rawValue)
            out.u64(UInt64(offset))
        }
        out.bytes.append(contentsOf: [UInt8](repeating: 0, count: padded(out.bytes.count) - out.bytes.count))
        return out.bytes
    }

    /// Writes the file atomically. Returns its size in bytes.
    @discardableResult
    public func write(to path: String) throws -> Int {
        let file = try StreamingAtomicFile(path: path)
        let header = encodeHeader()
        try file.append(header)
        var total = header.count
        let chunk = 1 << 20
        var bytes = [UInt8]()
        bytes.reserveCapacity(chunk * 4)
        for t in tensors {
            try t.source.withValues { values in
                var start = 0
                while start < values.count {
                    let end = min(start + chunk, values.count)
                    bytes.removeAll(keepingCapacity: true)
                    Self.encode(UnsafeBufferPointer(rebasing: values[start..<end]), as: t.type, into: &bytes)
                    try file.append(bytes)
                    start = end
                }
            }
            let pad = padded(t.byteCount) - t.byteCount
            if pad > 0 { try file.append([UInt8](repeating: 0, count: pad)) }
            total += padded(t.byteCount)
        }
        try file.commit()
        return total
    }

    /// Appends `values` encoded as `type` (little-endian).
    static func encode(_ values: UnsafeBufferPointer<Float>, as type: GGMLType, into out: inout [UInt8]) {
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: values.count * type.bytesPerElement))
        out.withUnsafeMutableBytes { raw in
            let dst = UnsafeMutableRawBufferPointer(rebasing: raw[start...])
            switch type {
            case .f32:
                for (i, v) in values.enumerated() { dst.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
            case .bf16:
                for (i, v) in values.enumerated() { dst.storeBytes(of: bfloat16Bits(v).littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
            }
        }
    }

    /// The bfloat16 nearest to `x`, ties to even; a NaN stays a (quiet) NaN.
    public static func bfloat16Bits(_ x: Float) -> UInt16 {
        let bits = x.bitPattern
        if bits & 0x7FFF_FFFF > 0x7F80_0000 { return UInt16(truncatingIfNeeded: (bits >> 16) | 0x0040) }
        let rounding: UInt32 = 0x7FFF + ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: (UInt64(bits) + UInt64(rounding)) >> 16)
    }
}

/// Little-endian serialisation of GGUF primitives.
private struct ByteSink {
    var bytes: [UInt8] = []

    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func string(_ s: String) {
        u64(UInt64(s.utf8.count))
        bytes.append(contentsOf: s.utf8)
    }

    mutating func value(_ v: GGUFValue) {
        switch v {
        case .uint8(let x): bytes.append(x)
        case .int8(let x): bytes.append(UInt8(bitPattern: x))
        case .uint16(let x): withUnsafeBytes(of: x.littleEndian) { bytes.append(contentsOf: $0) }
        case .int16(let x): withUnsafeBytes(of: x.littleEndian) { bytes.append(contentsOf: $0) }
        case .uint32(let x): u32(x)
        case .int32(let x): u32(UInt32(bitPattern: x))
        case .uint64(let x): u64(x)
        case .int64(let x): u64(UInt64(bitPattern: x))
        case .float32(let x): u32(x.bitPattern)
        case .float64(let x): u64(x.bitPattern)
        case .bool(let x): bytes.append(x ? 1 : 0)
        case .string(let s): string(s)
        case .uint8Array(let a): header(.uint8, a.count); bytes.append(contentsOf: a)
        case .int32Array(let a): header(.int32, a.count); for x in a { u32(UInt32(bitPattern: x)) }
        case .uint32Array(let a): header(.uint32, a.count); for x in a { u32(x) }
        case .float32Array(let a): header(.float32, a.count); for x in a { u32(x.bitPattern) }
        case .boolArray(let a): header(.bool, a.count); for x in a { bytes.append(x ? 1 : 0) }
        case .stringArray(let a): header(.string, a.count); for s in a { string(s) }
        }
    }

    private mutating func header(_ element: GGUFValueType, _ count: Int) {
        u32(element.rawValue)
        u64(UInt64(count))
    }
}
