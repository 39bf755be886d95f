// The precision of the weights the inference forward pass reads (docs/kernels.md §4). `bf16` keeps a bf16 copy
// of every weight beside the fp32 parameters (which training, prefill and checkpoints keep using); decode-sized
// products (≤ MatmulBF16.maxRows rows) read the copy, halving the bytes a memory-bound decode step streams.
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

/// A bf16 copy of a parameter buffer, same offsets, converted when the parameters' generation changes.
final class BF16Weights: @unchecked Sendable {
    let base: UnsafeMutablePointer<UInt16>
    let count: Int
    private(set) var generation: UInt64
    private let lock = NSLock()

    init(params: ParameterBuffer) {
        count = max(params.count, 1)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: count * 2, alignment: 64)
        base = raw.bindMemory(to: UInt16.self, capacity: count)
        base.initialize(repeating: 0, count: count)
        MatmulBF16.convert(params.base, to: base, count: params.count)
        generation = params.generation
    }

    deinit { base.deallocate() }

    /// The copy, reconverted first when `params` changed since it was made.
    func current(for params: ParameterBuffer) -> UnsafePointer<UInt16> {
        lock.lock()
        defer { lock.unlock() }
        if generation != params.generation {
            MatmulBF16.convert(params.base, to: base, count: params.count)
            generation = params.generation
        }
        return UnsafePointer(base)
    }
}
