// A logits probe: the engine's logits for one token sequence, saved as safetensors so an independent
// implementation can check a checkpoint we wrote (scripts/check_hf_load.py runs it through
// transformers.AutoModelForCausalLM and compares). Tensors: `input_ids` I64 [1, T] and `logits` F32 [1, T, V],
// position t predicting token t+1.

import Foundation

/// Runs `tokens` through `model` (fresh KV cache, all positions) and writes the probe file to `path`.
public func writeLogitsProbe(model: Model, tokens: [Int], to path: String) throws {
    guard !tokens.isEmpty else { throw RPTError("logits probe needs at least one token", file: path) }
    if let bad = tokens.first(where: { $0 < 0 || $0 >= model.config.vocabSize }) {
        throw RPTError("logits probe token \(bad) is outside the vocabulary (\(model.config.vocabSize))", file: path)
    }
    let logits = try model.backend().sequenceLogits(tokens)
    var writer = SafeTensorsWriter()
    writer.add("input_ids", shape: [1, tokens.count], .i64(tokens))
    writer.add("logits", shape: [1, tokens.count, model.config.vocabSize], .f32(logits))
    writer.metadata = ["format": "pt", "producer": "swift-rpt writeLogitsProbe"]
    try writer.write(to: path)
}
