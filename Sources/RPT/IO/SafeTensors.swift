// The safetensors format (https://huggingface.co/docs/safetensors, "Format"): an 8-byte little-endian
// header length N, N bytes of JSON `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}`,
// then the data buffer. Offsets are relative to the buffer, must not overlap, and must cover it exactly.
//
// The reader validates everything the header claims before a byte of tensor data is touched, so a
// truncated or lying file gives an `RPTError` naming the file and the problem, never a trap.

import Foundation

/// Element types of the safetensors format.
public enum SafeTensorsDType: String, Sendable, CaseIterable {
    case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8", u8 = "U8", bool = "BOOL"
    case u16 = "U16", u32 = "U32", u64 = "U64", f8e4m3 = "F8_E4M3", f8e5m2 = "F8_E5M2"

    public var byteSize: Int {
        switch self {
        case .f64, .i64, .u64: return 8
        case .f32, .i32, .u32: return 4
        case .f16, .bf16, .i16, .u16: return 2
        case .i8, .u8, .bool, .f8e4m3, .f8e5m2: return 1
        }
    }
}

/// One tensor's entry in a safetensors header.
public struct SafeTensorInfo: Sendable, Equatable {
    public var name: String
    public var dtype: SafeTensorsDType
    public var shape: [Int]
    /// Byte range inside the data buffer.
    public var begin: Int, end: Int
    public var elementCount: Int { shape.reduce(1, *) }
}

/// A parsed, validated safetensors file whose data stays memory-mapped.
public final class SafeTensorsFile: @unchecked Sendable {
    public let path: String
    public let tensors: [String: SafeTensorInfo]
    public let metadata: [String: String]
    private let data: Data
    private let dataStart: Int

    /// Largest header accepted (the reference implementation's limit is 100 MB).
    static let maxHeaderBytes = 100_000_000

    public convenience init(path: String) throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw RPTError("cannot read safetensors file (\(error.localizedDescription))", file: path)
        }
        try self.init(data: data, path: path)
    }

    public init(data: Data, path: String) throws {
        self.path = path
        self.data = data
        func fail(_ m: String) -> RPTError { RPTError(m, file: path) }
        guard data.count >= 8 else { throw fail("truncated: \(data.count) bytes, too short for the 8-byte header length") }
        let n = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 0, as: UInt64.self)) }
        guard n <= UInt64(Self.maxHeaderBytes) else { throw fail("header length \(n) is implausibly large (limit \(Self.maxHeaderBytes))") }
        guard Int(n) <= data.count - 8 else {
            throw fail("header length \(n) runs past the end of the file (\(data.count) bytes): file truncated or corrupt")
        }
        let headerLen = Int(n)
        dataStart = 8 + headerLen
        let header = data.subdata(in: 8..<(8 + headerLen))
        let json: JSON
        do { json = try JSON.parse(header, file: path) } catch {
            throw fail("header is not valid JSON")
        }
        guard let dict = json.object else { throw fail("header JSON is not an object") }
        var tensors: [String: SafeTensorInfo] = [:]
        var metadata: [String: String] = [:]
        let bufferSize = data.count - dataStart
        for (name, value) in dict {
            // Names and values echoed into messages are cut short (RPTError.echo): a header may be 100 MB.
            let quoted = "'\(RPTError.echo(name))'"
            if name == "__metadata__" {
                guard let m = value.object else { throw fail("__metadata__ is not an object") }
                for (k, v) in m {
                    guard let s = v.string else { throw fail("__metadata__[\(RPTError.echo(k))] is not a string") }
                    metadata[k] = s
                }
                continue
            }
            guard let entry = value.object else { throw fail("tensor \(quoted): entry is not an object") }
            guard let dt = entry["dtype"]?.string else { throw fail("tensor \(quoted): missing dtype") }
            guard let dtype = SafeTensorsDType(rawValue: dt) else { throw fail("tensor \(quoted): unknown dtype '\(RPTError.echo(dt))'") }
            guard let shape = entry["shape"]?.array?.compactMap(\.int), shape.count == entry["shape"]?.array?.count, shape.allSatisfy({ $0 >= 0 }) else {
                throw fail("tensor \(quoted): shape must be a list of non-negative integers")
            }
            guard let offs = entry["data_offsets"]?.array?.compactMap(\.int), offs.count == 2, entry["data_offsets"]?.array?.count == 2 else {
                throw fail("tensor \(quoted): data_offsets must be two integers")
            }
            let (begin, end) = (offs[0], offs[1])
            guard begin >= 0, end >= begin else { throw fail("tensor \(quoted): data_offsets [\(begin), \(end)] are invalid") }
            guard end <= bufferSize else {
                throw fail("tensor \(quoted): data_offsets [\(begin), \(end)] lie outside the data buffer (\(bufferSize) bytes): file truncated or header lies")
            }
            // The shape's byte size, overflow-checked: a lying shape must be an error, not a trap.
            let shapeText = RPTError.echo("\(shape)")
            guard let bytes = checkedProduct(shape + [dtype.byteSize]) else {
                throw fail("tensor \(quoted): shape \(shapeText) of \(dtype.rawValue) has more elements than can be addressed")
            }
            guard bytes == end - begin else {
                throw fail("tensor \(quoted): shape \(shapeText) of \(dtype.rawValue) needs \(bytes) bytes but data_offsets span \(end - begin)")
            }
            tensors[name] = SafeTensorInfo(name: name, dtype: dtype, shape: shape, begin: begin, end: end)
        }
        // The buffer must be covered exactly: sorted ranges are contiguous, from 0 to the end of the file.
        var cursor = 0
        for t in tensors.values.sorted(by: { ($0.begin, $0.end) < ($1.begin, $1.end) }) {
            if t.begin < cursor { throw fail("tensor '\(RPTError.echo(t.name))': data_offsets overlap another tensor") }
            if t.begin > cursor { throw fail("tensor '\(RPTError.echo(t.name))': gap in the data buffer before offset \(t.begin)") }
            cursor = t.end
        }
        guard cursor == bufferSize else {
            throw fail("data buffer has \(bufferSize) bytes but the tensors cover \(cursor): trailing bytes or wrong offsets")
        }
        self.tensors = tensors
        self.metadata = metadata
    }

    public func info(_ name: String) throws -> SafeTensorInfo {
        guard let t = tensors[name] else { throw RPTError("missing tensor '\(RPTError.echo(name))'", file: path) }
        return t
    }

    /// Checks, from the header alone, that `name` is a floating-point tensor (F32, F16, BF16, F64) of `shape`:
    /// lets a loader verify every tensor a config implies before allocating anything.
    public func checkFloatTensor(_ name: String, shape expected: [Int]? = nil) throws {
        let t = try info(name)
        if let s = expected, s != t.shape {
            throw RPTError("tensor '\(RPTError.echo(name))' has shape \(RPTError.echo("\(t.shape)")), expected \(s)", file: path)
        }
        guard [.f32, .bf16, .f16, .f64].contains(t.dtype) else {
            throw RPTError("tensor '\(RPTError.echo(name))' has dtype \(t.dtype.rawValue); a floating-point tensor (F32, F16, BF16) is required", file: path)
        }
    }

    /// Calls `body` with the raw bytes of a tensor.
    public func withBytes<R>(_ t: SafeTensorInfo, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try data.withUnsafeBytes { raw in
            try body(UnsafeRawBufferPointer(rebasing: raw[(dataStart + t.begin)..<(dataStart + t.end)]))
        }
    }

    /// Converts a floating-point tensor (F32, F16, BF16, F64) into `out` as Float32.
    public func readFloats(_ name: String, into out: UnsafeMutablePointer<Float>, expectedShape: [Int]? = nil) throws {
        try checkFloatTensor(name, shape: expectedShape)
        let t = try info(name)
        try withBytes(t) { raw in
            let n = t.elementCount
            switch t.dtype {
            case .f32:
                for i in 0..<n { out[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
            case .bf16:
                for i in 0..<n { out[i] = Float(bitPattern: UInt32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16) }
            case .f16:
                for i in 0..<n { out[i] = Float(float16Bits: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
            case .f64:
                for i in 0..<n { out[i] = Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
            default:
                throw RPTError("tensor '\(RPTError.echo(name))' has dtype \(t.dtype.rawValue); a floating-point tensor (F32, F16, BF16) is required", file: path)
            }
        }
    }

    public func floats(_ name: String) throws -> [Float] {
        let t = try info(name)
        var out = [Float](repeating: 0, count: t.elementCount)
        try out.withUnsafeMutableBufferPointer { try readFloats(name, into: $0.baseAddress!) }
        return out
    }

    /// Reads an integer tensor (I64, I32, I16, I8, U8) as Int.
    public func ints(_ name: String) throws -> [Int] {
        let t = try info(name)
        return try withBytes(t) { raw in
            let n = t.elementCount
            switch t.dtype {
            case .i64: return (0..<n).map { Int(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self))) }
            case .i32: return (0..<n).map { Int(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self))) }
            case .i16: return (0..<n).map { Int(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: Int16.self))) }
            case .i8: return (0..<n).map { Int(raw.load(fromByteOffset: $0, as: Int8.self)) }
            case .u8: return (0..<n).map { Int(raw[$0]) }
            default: throw RPTError("tensor '\(RPTError.echo(name))' has dtype \(t.dtype.rawValue); an integer tensor is required", file: path)
            }
        }
    }
}

extension Float {
    /// IEEE 754 half precision bits to Float (exact; handles subnormals, infinities and NaN).
    init(float16Bits h: UInt16) {
        let sign = UInt32(h & 0x8000) << 16
        let exp = Int((h >> 10) & 0x1F)
        let mant = UInt32(h & 0x3FF)
        if exp == 0 {
            let v = Float(mant) * Float(sign: .plus, exponent: -24, significand: 1)
            self = sign != 0 ? -v : v
        } else if exp == 31 {
            self = Float(bitPattern: sign | 0x7F80_0000 | (mant << 13))
        } else {
            self = Float(bitPattern: sign | (UInt32(exp + 112) << 23) | (mant << 13))
        }
    }
}
