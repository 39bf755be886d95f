// bf16 training (`--train-dtype bf16`, docs/kernels.md §5): the matrix products of the linear layers, the LM head and
// attention, forward and backward, take bf16 operands and sum in fp32 (GemmBF16; the weights packed in BF16GemmWeights),
// the arithmetic of PyTorch's `torch.autocast(dtype=torch.bfloat16)` for those products; the master weights,
// gradients, AdamW and everything else (norms, softmax, loss) stay fp32.

import RPTKernels

/// Precision of the training products (`--train-dtype`).
public enum TrainingDType: String, Sendable, CaseIterable, Codable {
    case fp32, bf16

    /// Checks this machine can run `self`; bf16 needs AVX-512 BF16.
    public func requireSupported() throws {
        if self == .bf16 && !GemmBF16.isSupported {
            throw RPTError("--train-dtype bf16 needs a CPU with AVX-512 BF16 (VDPBF16PS); this one has none: use fp32")
        }
    }
}
