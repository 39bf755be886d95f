// trainer_state.json of a training checkpoint (format in Checkpoint.swift): everything besides the weights and
// the AdamW moments that a resumed run needs to continue bit for bit — the step, AdamW's step count, the
// random generators' states, the data cursor, the options the run was started with, and the last step's
// metrics — plus a free-form payload for caller-defined parts. Written by JSONEncoder (sorted keys,
// pretty-printed), which writes UInt64 generator words and Doubles exactly (shortest round-trip digits).

import Foundation
import RPTKernels

public struct TrainerState: Codable, Sendable, Equatable {
    /// Version of the checkpoint format this state belongs to; loading refuses a newer one.
    public static let currentFormatVersion = 1

    public var formatVersion: Int
    /// Training steps completed (the checkpoint directory is named after it).
    public var step: Int
    /// AdamW's step count t (torch `state["step"]`); set from the optimizer when saving.
    public var adamwStep: Int
    /// Random generator states by role (e.g. "sampling", "data"); restored exactly.
    public var rngStates: [String: RandomGenerator]
    /// Where the data stream continues (defined by the data loader).
    public var dataCursor: JSON
    /// The training options of the run.
    public var options: JSON
    /// Metrics of the last step (loss, reward, grad norm, lr, …). NaN/±Inf are stored as strings.
    public var metrics: [String: Double]
    /// Caller-defined extras.
    public var payload: JSON
    /// Checksums (FileChecksum) of the checkpoint's weight and optimizer files, by file name; nil in checkpoints
    /// written before checksums existed.
    public var checksums: [String: String]?
    /// Threads the run computed with (Parallel.threads when the state was made); nil in older checkpoints. Sums
    /// split by thread count round differently, so only a resume with the same count is bit-exact.
    public var threads: Int?

    public init(step: Int, adamwStep: Int = 0, rngStates: [String: RandomGenerator] = [:], dataCursor: JSON = .null,
                options: JSON = .null, metrics: [String: Double] = [:], payload: JSON = .null) {
        self.formatVersion = TrainerState.currentFormatVersion
        self.step = step
        self.adamwStep = adamwStep
        self.rngStates = rngStates
        self.dataCursor = dataCursor
        self.options = options
        self.metrics = metrics
        self.payload = payload
        self.threads = Parallel.threads
    }

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", step, adamwStep = "adamw_step", rngStates = "rng_states"
        case dataCursor = "data_cursor", options = "training_options", metrics = "last_step_metrics", payload, checksums, threads
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        formatVersion = try c.decode(Int.self, forKey: .formatVersion)
        step = try c.decode(Int.self, forKey: .step)
        adamwStep = try c.decode(Int.self, forKey: .adamwStep)
        rngStates = try c.decode([String: RandomGenerator].self, forKey: .rngStates)
        dataCursor = try c.decode(CodableJSON.self, forKey: .dataCursor).value
        options = try c.decode(CodableJSON.self, forKey: .options).value
        metrics = try c.decode([String: Double].self, forKey: .metrics)
        payload = try c.decode(CodableJSON.self, forKey: .payload).value
        checksums = try c.decodeIfPresent([String: String].self, forKey: .checksums)
        threads = try c.decodeIfPresent(Int.self, forKey: .threads)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(formatVersion, forKey: .formatVersion)
        try c.encode(step, forKey: .step)
        try c.encode(adamwStep, forKey: .adamwStep)
        try c.encode(rngStates, forKey: .rngStates)
        try c.encode(CodableJSON(dataCursor), forKey: .dataCursor)
        try c.encode(CodableJSON(options), forKey: .options)
        try c.encode(metrics, forKey: .metrics)
        try c.encode(CodableJSON(payload), forKey: .payload)
        try c.encodeIfPresent(checksums, forKey: .checksums)
        try c.encodeIfPresent(threads, forKey: .threads)
    }

    /// The file contents (pretty-printed, sorted keys).
    public func serialized() throws -> Data {
        do { return try CheckpointJSON.encoder().encode(self) } catch {
            throw RPTError("cannot encode trainer state: \(error)")
        }
    }

    /// Reads and validates trainer_state.json.
    public static func load(path: String) throws -> TrainerState {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RPTError("missing or unreadable trainer state", file: path)
        }
        let state: TrainerState
        do { state = try CheckpointJSON.decoder().decode(TrainerState.self, from: data) } catch {
            throw RPTError("corrupt trainer state: \(CheckpointJSON.describe(error))", file: path)
        }
        guard state.formatVersion >= 1, state.formatVersion <= currentFormatVersion else {
            throw RPTError("unsupported checkpoint format_version \(state.formatVersion) (this build reads 1...\(currentFormatVersion))", file: path)
        }
        guard state.step >= 0, state.adamwStep >= 0 else {
            throw RPTError("negative step (\(state.step)) or adamw_step (\(state.adamwStep))", file: path)
        }
        for (role, g) in state.rngStates where g.state.count != 4 || g.state.allSatisfy({ $0 == 0 }) {
            throw RPTError("random generator '\(role)' must have 4 state words, not all zero", file: path)
        }
        return state
    }
}

/// JSON encoding settings shared by the checkpoint's JSON files.
public enum CheckpointJSON {
    static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return e
    }

    static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return d
    }

    /// A `JSON` value as pretty-printed text with sorted keys (config.json, generation_config.json).
    static func pretty(_ value: JSON) throws -> Data {
        var data = try encoder().encode(CodableJSON(value))
        data.append(0x0A)
        return data
    }

    /// A DecodingError as "what, at which key path".
    public static func describe(_ error: Error) -> String {
        func path(_ p: [CodingKey]) -> String { p.isEmpty ? "top level" : p.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".") }
        switch error as? DecodingError {
        case .keyNotFound(let key, let ctx)?: return "missing field '\(key.stringValue)' at \(path(ctx.codingPath))"
        case .typeMismatch(_, let ctx)?, .valueNotFound(_, let ctx)?: return "wrong type at \(path(ctx.codingPath)): \(ctx.debugDescription)"
        case .dataCorrupted(let ctx)?: return "malformed at \(path(ctx.codingPath)): \(ctx.debugDescription)"
        default: return "\(error)"
        }
    }
}

/// Codable bridge for the package's `JSON` value (integral numbers below 2^53 are written as integers).
struct CodableJSON: Codable {
    var value: JSON
    init(_ value: JSON) { self.value = value }

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { value = .null }
        else if let b = try? c.decode(Bool.self) { value = .bool(b) }
        else if let s = try? c.decode(String.self) { value = .string(s) }
        else if let d = try? c.decode(Double.self) { value = .number(d) }
        else if let a = try? c.decode([CodableJSON].self) { value = .array(a.map(\.value)) }
        else if let o = try? c.decode([String: CodableJSON].self) { value = .object(o.mapValues(\.value)) }
        else { throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a JSON value") }
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch value {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let d):
            if d == d.rounded(), abs(d) < 9_007_199_254_740_992 { try c.encode(Int64(d)) } else { try c.encode(d) }
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a.map(CodableJSON.init))
        case .object(let o): try c.encode(o.mapValues(CodableJSON.init))
        }
    }
}
