// The weights of the bf16 GEMM (GemmBF16, docs/kernels.md §5): every linear layer's W [out, in] and the LM head packed
// as Wᵀ for the forward product x·Wᵀ, and, for training, as W for the input gradient dy·W. bf16 training
// (`--train-dtype bf16`, TrainingDType) runs the products of the linear layers and the LM head, forward and backward,
// on them; bf16 inference (`--inference-dtype bf16`) runs prefill-sized products on the forward packs. The packs
// follow the parameters' generation (repacked after an optimizer step), like the decode weights (InferenceWeights.swift).

import Foundation
import RPTKernels

/// The packed bf16 weights of one model's linear layers and LM head, repacked when the parameters change.
final class BF16GemmWeights: @unchecked Sendable {
    struct Packs {
        /// Wᵀ [in, out]: the forward product x·Wᵀ.
        let forward: PackedBF16Matrix
        /// W [out, in]: the input gradient dy·W (training packs only).
        let backward: PackedBF16Matrix?

        /// The backward pack, which weights made with `gradients` have.
        var input: PackedBF16Matrix {
            guard let backward else { preconditionFailure("bf16 GEMM weights made without their backward packs") }
            return backward
        }
    }
    /// By the weight's offset in the parameter buffer.
    private let packs: [Int: Packs]
    private var generation: UInt64
    private let lock = NSLock()

    /// `gradients`: also the packs of the backward pass.
    init(params: ParameterBuffer, layout: ModelLayout, gradients: Bool) {
        var offsets = [layout.lmHead]
        for o in layout.layers { offsets += [o.wq, o.wk, o.wv, o.wo, o.gate, o.up, o.down] }
        let shapes = Dictionary(params.specs.map { ($0.offset, $0.shape) }, uniquingKeysWith: { a, _ in a })
        var packs: [Int: Packs] = [:]
        for offset in offsets {
            guard let shape = shapes[offset], shape.count == 2 else { continue }
            packs[offset] = Packs(forward: PackedBF16Matrix(rows: shape[1], columns: shape[0]),
                                  backward: gradients ? PackedBF16Matrix(rows: shape[0], columns: shape[1]) : nil)
        }
        self.packs = packs
        generation = params.generation
        repack(params)
    }

    private func repack(_ params: ParameterBuffer) {
        for (offset, p) in packs {
            let w = params.base + offset, inputs = p.forward.rows
            p.forward.pack(w, rowStride: 1, columnStride: inputs)
            p.backward?.pack(w, rowStride: inputs, columnStride: 1)
        }
    }

    /// The packs of the weight at `offset`, repacked first when `params` changed since they were made.
    func packs(_ offset: Int, for params: ParameterBuffer) -> Packs {
        lock.lock()
        defer { lock.unlock() }
        if generation != params.generation {
            repack(params)
            generation = params.generation
        }
        guard let p = packs[offset] else { preconditionFailure("no bf16 training weights at offset \(offset)") }
        return p
    }
}
