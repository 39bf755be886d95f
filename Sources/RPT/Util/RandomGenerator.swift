// Seeded, serialisable pseudo-random numbers: xoshiro256** (Blackman & Vigna, 2018) seeded through
// SplitMix64. Every random choice in the package takes one of these, so the same seed gives the same
// result, and the four-word state can be checkpointed for bit-exact resume.

public struct RandomGenerator: RandomNumberGenerator, Sendable, Equatable, Codable {
    public var state: [UInt64]

    public init(seed: UInt64) {
        var sm = seed
        state = (0..<4).map { _ in RandomGenerator.splitMix(&sm) }
        if state.allSatisfy({ $0 == 0 }) { state[0] = 1 }
    }

    /// An independent stream for item `index` of a run seeded with `seed` (e.g. sample i of a batch),
    /// so results do not depend on how items are batched or ordered.
    public init(seed: UInt64, stream index: UInt64) {
        var sm = seed ^ (index &* 0x9E37_79B9_7F4A_7C15)
        self.init(seed: RandomGenerator.splitMix(&sm) ^ index)
    }

    static func splitMix(_ x: inout UInt64) -> UInt64 {
        x &+= 0x9E37_79B9_7F4A_7C15
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public mutating func next() -> UInt64 {
        let result = rotl(state[1] &* 5, 7) &* 9
        let t = state[1] << 17
        state[2] ^= state[0]
        state[3] ^= state[1]
        state[1] ^= state[2]
        state[0] ^= state[3]
        state[2] ^= t
        state[3] = rotl(state[3], 45)
        return result
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    @inline(__always) private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}
