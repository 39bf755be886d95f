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
    public func evaluate(backend: any ComputeBackend, targets: [Int], batchTokens: Int = 1024,
                         progress: ((Int) -> Void)? = nil) throws -> [Bool] {
        precondition(targets.count == recordCount)
        return zip(try predictions(backend: backend, batchTokens: batchTokens, progress: progress), targets).map { $0 == $1 }
    }

    /// For every record, the model's next token after its context: the argmax (greedy, the default), or a
    /// sample drawn with `sampling` from the stream (seed, record index), so each record's draw is fixed.
    public func predictions(backend: any ComputeBackend, sampling: SamplingParameters = .greedy, seed: UInt64 = 0,
                            batchTokens: Int = 1024, progress: ((Int) -> Void)? = nil) throws -> [Int] {
        var predicted = Array(repeating: 0, count: recordCount)
        var done = 0
        // Whole chains packed into forward calls, each in its own cache slot; only the rows read are kept.
        try backend.forEachPacked(chains.map(\.ids), rows: { chains[$0].reads.map(\.row) }, batchTokens: batchTokens,
                                  afterBatch: { _ in progress?(done) }) { members, head in
            let records = members.flatMap { chains[$0].reads.map(\.record) }
            if sampling.temperature == 0 {
                let scores = try backend.scores(head, targets: Array(repeating: -1, count: records.count), topK: 0)
                for (record, s) in zip(records, scores) { predicted[record] = s.argmax }
            } else {
                var rngs = records.map { RandomGenerator(seed: seed, stream: UInt64($0)) }
                let tokens = try backend.sample(head, sampling, rngs: &rngs)
                for (record, t) in zip(records, tokens) { predicted[record] = t.token }
            }
            done += records.count
        }
        return predicted
    }
}
