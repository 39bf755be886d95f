// Standard next-token prediction accuracy (paper §4.1, Table 1, "standard next-token prediction"): a
// position counts as correct when the argmax of the model's logits after x_<t is the ground-truth x_t.
//
// Work is shared: positions of one document whose contexts are prefixes of a longer context of the same
// document are read off one forward pass over that longer context (a causal model's logits at row i depend
// only on tokens ≤ i). Contexts longer than the model's positions keep their newest tokens. The plan depends
// only on the dataset and that length, so evaluating several checkpoints reuses it.

import Foundation

public struct NextTokenAccuracyPlan: Sendable {
    /// One forward sequence and the positions read from it: (record index, row whose logits predict it).
    public struct Chain: Sendable {
        public var ids: [Int]
        public var reads: [(record: Int, row: Int)]
    }
    public var chains: [Chain]
    public var recordCount: Int
    /// Contexts longer than this keep their newest tokens (a model's max_position_embeddings).
    public var maxContext: Int

    public init(records: [PositionRecord], maxContext: Int) {
        recordCount = records.count
        self.maxContext = maxContext
        var byDoc: [String: [Int]] = [:]
        var docOrder: [String] = []
        for (i, r) in records.enumerated() {
            if byDoc[r.docId] == nil { docOrder.append(r.docId) }
            byDoc[r.docId, default: []].append(i)
        }
        var chains: [Chain] = []
        for doc in docOrder {
            // Longest contexts first: each later (shorter) one joins the first chain it is a prefix of.
            let members = byDoc[doc]!.sorted { records[$0].contextIds.count > records[$1].contextIds.count }
            var local: [Chain] = []
            for i in members {
                let ctx = Array(records[i].contextIds.suffix(maxContext))
                if let c = local.firstIndex(where: { $0.ids.count >= ctx.count && $0.ids[0..<ctx.count].elementsEqual(ctx) }) {
                    local[c].reads.append((i, ctx.count - 1))
                } else {
                    local.append(Chain(ids: ctx, reads: [(i, ctx.count - 1)]))
                }
            }
            chains += local
        }
        self.chains = chains
    }

    /// Tokens run through the model (compare with the sum of all context lengths, the cost without sharing).
    public var forwardTokens: Int { chains.reduce(0) { $0 + $1.ids.count } }

    /// For every record, whether the model's argmax after its context is its target id.
    public func evaluate(model: Model, targets: [Int], batchTokens: Int = 1024,
                         progress: ((Int) -> Void)? = nil) throws -> [Bool] {
        precondition(targets.count == recordCount)
        return zip(try predictions(model: model, batchTokens: batchTokens, progress: progress), targets).map { $0 == $1 }
    }

    /// For every record, the model's next token after its context: the argmax (greedy, the default), or a
    /// sample drawn with `sampling` from the stream (seed, record index), so each record's draw is fixed.
    public func predictions(model: Model, sampling: SamplingParameters = .greedy, seed: UInt64 = 0, batchTokens: Int = 1024,
                            progress: ((Int) -> Void)? = nil) throws -> [Int] {
        let v = model.config.vocabSize
        var predicted = Array(repeating: 0, count: recordCount)
        var done = 0
        // Whole chains packed into forward calls, each in its own cache slot.
        try model.forEachSequenceLogits(chains.map(\.ids), batchTokens: batchTokens, afterBatch: { _ in progress?(done) }) { c, logits in
            for (record, row) in chains[c].reads {
                let row = logits + row * v
                if sampling.temperature == 0 {
                    predicted[record] = NextTokenAccuracyPlan.argmax(row, count: v)
                } else {
                    var rng = RandomGenerator(seed: seed, stream: UInt64(record))
                    predicted[record] = Sampler.sample(row, vocab: v, params: sampling, rng: &rng)
                }
            }
            done += chains[c].reads.count
        }
        return predicted
    }

    /// Index of the first largest value (torch.argmax's convention).
    static func argmax(_ p: UnsafePointer<Float>, count: Int) -> Int {
        var best = 0
        var value = p[0]
        for i in 1..<count where p[i] > value { value = p[i]; best = i }
        return best
    }
}
