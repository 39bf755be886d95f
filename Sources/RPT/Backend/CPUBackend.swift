// The CPU implementation of the compute seam (ComputeBackend.swift): the forward pass of Forward.swift over the
// host parameters (bf16 decode weights when `Model.inferenceDType` is bf16), the LM head in chunks of rows so a
// 151k vocabulary never needs [tokens × vocab] logits at once, the training pass of TrainForward.swift and
// Backward.swift, AdamW (AdamW.swift) and clipping (GradientClipping.swift). The device is the host, so
// parameter transfer only tells the bf16 copy the weights changed.

import Foundation
import RPTKernels

public final class CPUBackend: ComputeBackend, @unchecked Sendable {
    public let model: Model
    public let optimizerSettings: AdamWSettings
    /// Gradient buffer and AdamW, allocated by the first training call.
    private var training: AdamW?
    private let workspace = ForwardWorkspace()
    /// Logit values a head operation computes at once (rows per chunk = this / vocab, at least 1): 64 MiB.
    var headChunkValues = 1 << 24

    public init(model: Model, optimizer: AdamWSettings = AdamWSettings()) {
        self.model = model
        self.optimizerSettings = optimizer
    }

    /// Hidden rows on the host.
    final class Rows: HeadRows {
        let hidden: [Float]
        let count: Int
        init(hidden: [Float], count: Int) { self.hidden = hidden; self.count = count }
    }

    private func host(_ rows: any HeadRows) throws -> Rows {
        guard let r = rows as? Rows else { throw RPTError("CPU backend: head rows from another backend") }
        return r
    }

    private func host(_ cache: any InferenceCache) throws -> KVCache {
        guard let c = cache as? KVCache else { throw RPTError("CPU backend: a KV cache from another backend") }
        return c
    }

    private func host(_ tape: any TrainingTape) throws -> ForwardTape {
        guard let t = tape as? ForwardTape else { throw RPTError("CPU backend: a training tape from another backend") }
        return t
    }

    // MARK: inference

    public func makeCache(slots: Int, capacity: Int) throws -> any InferenceCache {
        guard slots >= 1, capacity >= 1 else { throw RPTError("a KV cache needs at least one slot and one position") }
        let c = model.config
        guard let floats = checkedProduct([2, c.numLayers, slots, capacity, c.kvDim]),
              floats <= Int(ProcessInfo.processInfo.physicalMemory / 4) else {
            throw RPTError("a KV cache of \(slots) sequences × \(capacity) positions does not fit in this machine's memory")
        }
        // By default bf16 weights for inference keep the cache in bf16 too (docs/kernels.md §8).
        return KVCache(config: c, slots: slots, capacity: capacity, storage: model.kvCacheDType.storage(weights: model.inferenceDType))
    }

    public func forward(_ batch: ForwardBatch, cache: any InferenceCache, rows: LogitRows) throws -> any HeadRows {
        let hidden = try model.forwardHidden(batch, cache: host(cache), rows: rows, workspace: workspace)
        return Rows(hidden: hidden, count: hidden.count / model.config.hiddenSize)
    }

    /// Runs `body` over the logits of `rows` a chunk at a time: (first row, row count, logits [count, vocab]). With
    /// `destination` ([rows, vocab]) every chunk is computed in place there; otherwise in one reused buffer.
    private func eachLogitsChunk(_ rows: Rows, into destination: UnsafeMutablePointer<Float>? = nil,
                                 _ body: (Int, Int, UnsafeMutablePointer<Float>) throws -> Void) rethrows {
        let V = model.config.vocabSize, H = model.config.hiddenSize
        let chunk = max(1, headChunkValues / max(V, 1))
        let buffer = destination == nil ? UnsafeMutablePointer<Float>.allocate(capacity: max(min(chunk, rows.count) * V, 1)) : nil
        defer { buffer?.deallocate() }
        try rows.hidden.withUnsafeBufferPointer { h in
            var r0 = 0
            while r0 < rows.count {
                let m = min(chunk, rows.count - r0)
                let out = destination.map { $0 + r0 * V } ?? buffer!
                model.headLogits(h.baseAddress! + r0 * H, rows: m, into: out, workspace: workspace)
                try body(r0, m, out)
                r0 += m
            }
        }
    }

    public func logits(_ rows: any HeadRows) throws -> [Float] {
        let r = try host(rows), V = model.config.vocabSize
        return [Float](unsafeUninitializedCapacity: r.count * V) { out, initialized in
            if let base = out.baseAddress { eachLogitsChunk(r, into: base) { _, _, _ in } }
            initialized = r.count * V
        }
    }

    public func scores(_ rows: any HeadRows, targets: [Int], topK: Int) throws -> [RowScore] {
        let r = try host(rows), V = model.config.vocabSize
        guard targets.count == r.count else { throw RPTError("scores: \(targets.count) targets for \(r.count) rows") }
        if let bad = targets.first(where: { $0 < -1 || $0 >= V }) {
            throw RPTError("scores: target id \(bad) is outside the vocabulary (0..<\(V))")
        }
        var out = [RowScore](repeating: RowScore(logProb: 0, entropy: 0, argmax: 0), count: r.count)
        out.withUnsafeMutableBufferPointer { o in
            let box = UnsafeSendable(o.baseAddress!)
            eachLogitsChunk(r) { r0, m, logits in
                let rowsBox = UnsafeSendable(logits)
                Parallel.forRange(m, minChunk: 16) { lo, hi in
                    for i in lo..<hi {
                        let row = rowsBox.value + i * V, t = targets[r0 + i]
                        box.value[r0 + i] = RowScore(logProb: t >= 0 ? Distribution.logProb(row, vocab: V, token: t) : 0,
                                                     entropy: topK > 0 ? Distribution.topKEntropy(row, vocab: V, k: topK) : 0,
                                                     argmax: Distribution.argmax(row, count: V))
                    }
                }
            }
        }
        return out
    }

    public func sample(_ rows: any HeadRows, draws: [Int], _ params: SamplingParameters,
                       rngs: inout [RandomGenerator]) throws -> [SampledToken] {
        let r = try host(rows), V = model.config.vocabSize
        try params.validate()
        guard rngs.count == draws.count else { throw RPTError("sample: \(rngs.count) random streams for \(draws.count) draws") }
        guard draws.allSatisfy({ $0 >= 0 && $0 < r.count }) else { throw RPTError("sample: a draw reads a row outside the \(r.count) rows") }
        var out = [SampledToken](repeating: SampledToken(token: 0, logProb: 0), count: draws.count)
        // Draws grouped by row, so each chunk of logits serves every draw that reads it. Rows run in parallel: a draw
        // reads only its row and advances only its own random stream, so the split does not change any result.
        let byRow = Dictionary(grouping: draws.indices, by: { draws[$0] })
        try eachLogitsChunk(r) { r0, m, logits in
            var nan = [Bool](repeating: false, count: m)
            out.withUnsafeMutableBufferPointer { o in
                rngs.withUnsafeMutableBufferPointer { g in
                    nan.withUnsafeMutableBufferPointer { bad in
                        let box = UnsafeSendable((o.baseAddress!, g.baseAddress!, bad.baseAddress!, logits))
                        Parallel.forRange(m, minChunk: max(1, (1 << 16) / max(V, 1))) { lo, hi in
                            let (o, g, bad, logits) = box.value
                            for i in lo..<hi {
                                guard let readers = byRow[r0 + i] else { continue }
                                let row = logits + i * V
                                if UnsafeBufferPointer(start: row, count: V).contains(where: \.isNaN) { bad[i] = true; continue }
                                for d in readers {
                                    let t = Sampler.sample(row, vocab: V, params: params, rng: &g[d])
                                    o[d] = SampledToken(token: t, logProb: Distribution.logProb(row, vocab: V, token: t))
                                }
                            }
                        }
                    }
                }
            }
            if nan.contains(true) { throw RPTError("the model produced NaN logits") }
        }
        return out
    }

    // MARK: training

    public func trainForward(_ batch: TrainingBatch, temperature: Float, entropies: Bool) throws -> any TrainingTape {
        try model.trainForward(batch, temperature: temperature, entropies: entropies)
    }

    private func optimizer() throws -> AdamW {
        if let t = training { return t }
        let s = optimizerSettings
        let t = try AdamW(params: model.params, grads: ParameterBuffer(specs: model.layout.specs), beta1: s.beta1, beta2: s.beta2,
                          eps: s.eps, weightDecay: s.weightDecay, decayRule: s.decayRule)
        training = t
        return t
    }

    public func backward(_ tape: any TrainingTape, gradLogProbs: [Float]) throws {
        try model.backward(host(tape), gradLogProbs: gradLogProbs, into: optimizer().grads)
    }

    public func zeroGradients() throws { try optimizer().grads.zero() }

    public func firstNonFiniteGradient() throws -> String? { GradientClipping.firstNonFinite(try optimizer().grads) }

    public func clipGradients(maxNorm: Float) throws -> Float {
        let g = try optimizer().grads
        return maxNorm > 0 ? GradientClipping.clip(g, maxNorm: maxNorm) : GradientClipping.globalNorm(g)
    }

    public func optimizerStep(lr: Float) throws {
        let o = try optimizer()
        o.lr = lr
        o.step()
    }

    // MARK: state transfer

    public func optimizerState() throws -> OptimizerState {
        let o = try optimizer()
        return OptimizerState(m: o.m, v: o.v, step: o.t)
    }

    public func restoreOptimizer(_ state: OptimizerState) throws {
        try optimizer().restore(m: state.m, v: state.v, t: state.step)
    }

    public func downloadGradients() throws -> ParameterBuffer { try optimizer().grads }

    public func downloadParameters() throws {}

    public func uploadParameters() throws { model.params.markModified() }
}
