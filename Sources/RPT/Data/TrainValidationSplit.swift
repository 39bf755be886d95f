// The train/validation split by whole documents (or examples): a seeded draw picks the validation items,
// and both parts keep the corpus order. The same items, size and seed always give the same split.

/// How many items go to validation.
public enum ValidationSize: Sendable, Equatable {
    case none
    /// A fraction of the items in [0, 1), rounded, at least one item when the fraction is positive.
    case fraction(Double)
    /// An exact number of items.
    case count(Int)
}

public struct TrainValidationSplit<Item> {
    public var train: [Item]
    public var validation: [Item]

    /// Splits `items`; `source` names the corpus in errors (bad size, nothing left to train on unless
    /// `allowAllValidation`, e.g. a prepared evaluation set).
    public init(_ items: [Item], validation size: ValidationSize, seed: UInt64, source: String, allowAllValidation: Bool = false) throws {
        let n = items.count
        let k: Int
        switch size {
        case .none: k = 0
        case .fraction(let f):
            guard f >= 0, f < 1, f.isFinite else {
                throw RPTError("validation fraction must be in [0, 1), got \(f)", file: source)
            }
            k = f > 0 ? max(1, Int((f * Double(n)).rounded())) : 0
        case .count(let c):
            guard c >= 0 else { throw RPTError("validation document count must be ≥ 0, got \(c)", file: source) }
            k = c
        }
        guard k < n || k == 0 || (allowAllValidation && k == n) else {
            throw RPTError("validation would take \(k) of the \(n) documents, leaving none to train on", file: source)
        }
        let permutation = DataShuffle.permutation(count: n, seed: seed, stream: DataShuffle.splitStream)
        var isValidation = [Bool](repeating: false, count: n)
        for i in permutation.prefix(k) { isValidation[i] = true }
        train = []
        validation = []
        train.reserveCapacity(n - k)
        validation.reserveCapacity(k)
        for (i, item) in items.enumerated() {
            if isValidation[i] { validation.append(item) } else { train.append(item) }
        }
    }
}

extension TrainValidationSplit: Sendable where Item: Sendable {}
