// The precision of the weights the inference forward pass reads (docs/kernels.md §4). `bf16` keeps a bf16 copy
// of every weight beside the fp32 parameters (which fp32 training and checkpoints keep using); decode-sized
// products (≤ MatmulBF16.maxRows rows) read the copy, halving the bytes a memory-bound decode step streams, and
// larger ones (prefill) run the bf16 GEMM on packed weights (BF16GemmWeights, docs/kernels.md §5).
// The copy follows the parameters: it is rebuilt whenever `ParameterBuffer.generation` has moved (an optimizer
// step), so rollouts after an update never see stale weights.

import Foundation
import RPTKernels

/// Weight precision of the inference forward pass (`--inference-dtype`).
public enum InferenceDType: String, Sendable, CaseIterable, Codable {
    case fp32, bf16

    /// Checks this machine can run `self`; bf16 needs AVX-512 BF16.
    public func requireSupported() throws {
        if self == .bf16 && !MatmulBF16.isSupported {
            throw RPTError("--inference-dtype bf16 needs a CPU with AVX-512 BF16 (VDPBF16PS); this one has none: use fp32")
        }
    }
}

/// A bf16 copy of a parameter buffer, same offsets, converted when the parameters' generation changes. Its weight
/// matrices are in MatmulBF16's packed layout (rows in groups of 8 with interleaved chunks, so a decode GEMV reads
/// one stream), where `MatmulBF16.packs` accepts their shape; everything else is a plain bf16 copy.
final class BF16Weights: @unchecked Sendable {
    let base: UnsafeMutablePointer<UInt16>
    let count: Int
    /// The 2-D tensors: offset, rows, columns.
    private let matrices: [(offset: Int, rows: Int, columns: Int)]
    private(set) var generation: UInt64
    private let lock = NSLock()

    init(params: ParameterBuffer, specs: [ParameterSpec]) {
        count = max(params.count, 1)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: count * 2, alignment: 64)
        base = raw.bindMemory(to: UInt16.self, capacity: count)
        base.initialize(repeating: 0, count: count)
        var seen = Set<Int>()
        matrices = specs.compactMap { s in
            guard s.shape.count == 2, seen.insert(s.offset).inserted else { return nil }
            return (s.offset, s.shape[0], s.shape[1])
        }
        generation = params.generation
        convert(params)
    }

    deinit { base.deallocate() }

    private func convert(_ params: ParameterBuffer) {
        MatmulBF16.convert(params.base, to: base, count: params.count)
        let largest = matrices.map { $0.rows * $0.columns }.max() ?? 0
        let scratch = UnsafeMutablePointer<UInt16>.allocate(capacity: max(largest, 1))
        defer { scratch.deallocate() }
        for m in matrices where MatmulBF16.packs(rows: m.rows, columns: m.columns) {
            MatmulBF16.convertPacked(params.base + m.offset, to: base + m.offset, rows: m.rows, columns: m.columns, scratch: scratch)
        }
    }

    /// The copy, reconverted first when `params` changed since it was made.
    func current(for params: ParameterBuffer) -> UnsafePointer<UInt16> {
        lock.lock()
        defer { lock.unlock() }
        if generation != params.generation {
            convert(params)
            generation = params.generation
        }
        return UnsafePointer(base)
    }
}
