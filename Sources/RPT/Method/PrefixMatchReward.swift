// The prefix-matching reward, RPT's default (§3.2 Eq. 3; docs/method.md §3.1–3.3): r = 1 when the prediction's
// UTF-8 bytes are a prefix of the ground-truth continuation's bytes AND their length l is a ground-truth token
// boundary (l ∈ L_gt); else 0. The prediction is never re-tokenized. Consequences: an empty prediction
// (l = 0) scores 0, a strict prefix ending mid-token (" si" for " size") scores 0, an exact multi-token
// prediction ending on a boundary scores 1, and a prediction longer than the horizon scores 0.

/// Eq. 3: bytes are a prefix of the continuation and end on a ground-truth token boundary.
public struct PrefixMatchReward: PerRolloutReward {
    public init() {}

    public var name: String { "prefix" }

    public func reward(_ input: RewardInput) -> Float {
        guard let prediction = input.answer.prediction else { return 0 }
        return PrefixMatchReward.matches(Array(prediction.utf8), continuation: input.continuationBytes,
                                         boundaries: input.boundaries) ? 1 : 0
    }

    /// True when `prediction` is non-empty, a prefix of `continuation`, and its length is in `boundaries`.
    public static func matches(_ prediction: [UInt8], continuation: [UInt8], boundaries: [Int]) -> Bool {
        let l = prediction.count
        guard l > 0, l <= continuation.count, boundaries.contains(l) else { return false }
        return continuation[0..<l].elementsEqual(prediction)
    }
}
