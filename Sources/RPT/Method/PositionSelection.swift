// Which positions become training and validation examples (RPT §3.3, §4.1): training keeps positions whose
// proxy entropy exceeds the threshold, optionally capped per document by a seeded sample; validation keeps
// every position whose split-model entropy exceeds 0.5 (the easiest split), labelled with its splits.

public enum PositionSelection {
    /// Training positions: those with entropy > threshold, in order; if more than `cap`, a seeded sample of
    /// `cap` of them (the stream is the document's index, so the sample does not depend on batching).
    public static func training(_ candidates: [(index: Int, entropy: Float)], threshold: Float, cap: Int?,
                                seed: UInt64, document: Int) -> [Int] {
        let kept = candidates.filter { $0.entropy > threshold }.map(\.index)
        guard let cap, kept.count > cap else { return kept }
        return sample(kept, count: cap, seed: seed, stream: UInt64(document))
    }

    /// Validation positions: entropy > 0.5 (the easy split), each with its nested splits.
    public static func validation(_ candidates: [(index: Int, entropy: Float)]) -> [(index: Int, splits: [DifficultySplit])] {
        candidates.compactMap { c in
            let s = DifficultySplit.splits(forEntropy: c.entropy)
            return s.isEmpty ? nil : (c.index, s)
        }
    }

    /// `count` items of `items` drawn without replacement (partial Fisher–Yates), returned in their order.
    public static func sample(_ items: [Int], count: Int, seed: UInt64, stream: UInt64) -> [Int] {
        var rng = RandomGenerator(seed: seed, stream: stream)
        var order = Array(items.indices)
        for i in 0..<min(count, order.count) {
            let j = i + Int(rng.next() % UInt64(order.count - i))
            order.swapAt(i, j)
        }
        return order.prefix(count).sorted().map { items[$0] }
    }
}
