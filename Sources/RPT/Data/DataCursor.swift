// Where a training data stream stands, and the seeded epoch order it walks. Epoch e visits every item once
// in the order of a permutation drawn from RandomGenerator(seed:, stream: e); a batch takes the next B items,
// running on into the next epoch when one ends. Restoring a saved cursor continues exactly where it was.

/// A resumable position: the epoch and the index into that epoch's permutation (always < item count).
public struct DataCursor: Sendable, Equatable, Codable {
    public var epoch: Int
    public var index: Int

    public init(epoch: Int = 0, index: Int = 0) {
        self.epoch = epoch
        self.index = index
    }
}

/// Seeded permutations, the same on every platform and Swift version (no stdlib shuffle, whose
/// algorithm is not specified).
enum DataShuffle {
    /// The generator stream used for the train/validation split (epochs use streams 0, 1, 2, ...).
    static let splitStream: UInt64 = 0x5350_4C49_5400_0000

    /// A Fisher–Yates permutation of 0..<count from RandomGenerator(seed:, stream:).
    static func permutation(count: Int, seed: UInt64, stream: UInt64) -> [Int] {
        var rng = RandomGenerator(seed: seed, stream: stream)
        var p = Array(0..<count)
        var i = count - 1
        while i > 0 {
            let j = uniform(below: UInt64(i + 1), &rng)
            p.swapAt(i, Int(j))
            i -= 1
        }
        return p
    }

    /// `keep` distinct indices of 0..<count chosen uniformly with `seed`, in increasing order (evaluation subsets).
    static func subset(count: Int, keep: Int, seed: UInt64) -> [Int] {
        Array(permutation(count: count, seed: seed, stream: subsetStream).prefix(keep)).sorted()
    }

    static let subsetStream: UInt64 = 0x5355_4253_4554_0000

    /// Uniform in 0..<n without modulo bias (Lemire's multiply-and-reject).
    static func uniform(below n: UInt64, _ rng: inout RandomGenerator) -> UInt64 {
        var m = rng.next().multipliedFullWidth(by: n)
        if m.low < n {
            let threshold = (0 &- n) % n
            while m.low < threshold { m = rng.next().multipliedFullWidth(by: n) }
        }
        return m.high
    }
}

/// The shuffled, epoch-by-epoch order of `count` items with a resumable cursor.
struct EpochOrder: Sendable {
    let count: Int
    let seed: UInt64
    private(set) var cursor = DataCursor()
    private var permutation: [Int] = []
    private var permutationEpoch = -1

    init(count: Int, seed: UInt64) {
        precondition(count > 0, "an epoch order needs at least one item")
        self.count = count
        self.seed = seed
    }

    /// The next item index, advancing the cursor (into the next epoch after the last item).
    mutating func next() -> Int {
        if permutationEpoch != cursor.epoch {
            permutation = DataShuffle.permutation(count: count, seed: seed, stream: UInt64(cursor.epoch))
            permutationEpoch = cursor.epoch
        }
        let item = permutation[cursor.index]
        cursor.index += 1
        if cursor.index == count { cursor = DataCursor(epoch: cursor.epoch + 1, index: 0) }
        return item
    }

    /// Moves to a saved cursor; an RPTError naming `source` if it does not fit this order.
    mutating func restore(_ saved: DataCursor, source: String) throws {
        guard saved.epoch >= 0, saved.index >= 0, saved.index < count else {
            throw RPTError("data cursor (epoch \(saved.epoch), index \(saved.index)) does not fit a stream of \(count) items; "
                           + "was the corpus, sequence length or split changed?", file: source)
        }
        cursor = saved
    }
}
