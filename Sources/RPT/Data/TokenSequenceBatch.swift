// The one batch type the trainer consumes from every data source (pretraining windows, SFT examples):
// variable-length token sequences, each with a loss mask over its predicted positions.

public struct TokenSequenceBatch: Sendable, Equatable {
    /// Token ids of each sequence (sequence i has length L_i).
    public var sequences: [[Int]]
    /// For each sequence, L_i − 1 weights: entry j weights predicting token j+1 from tokens 0...j.
    public var lossMasks: [[Float]]

    public init(sequences: [[Int]], lossMasks: [[Float]]) {
        precondition(sequences.count == lossMasks.count, "one loss mask per sequence")
        for (s, m) in zip(sequences, lossMasks) {
            precondition(m.count == max(s.count - 1, 0), "a loss mask has one entry per predicted position")
        }
        self.sequences = sequences
        self.lossMasks = lossMasks
    }

    /// Sequences with every predicted position weighted 1 (pretraining).
    public init(fullyMasked sequences: [[Int]]) {
        self.sequences = sequences
        self.lossMasks = sequences.map { [Float](repeating: 1, count: max($0.count - 1, 0)) }
    }

    public var count: Int { sequences.count }
    /// Tokens in all sequences.
    public var tokenCount: Int { sequences.reduce(0) { $0 + $1.count } }
    /// Positions with a non-zero loss weight.
    public var predictedCount: Int { lossMasks.reduce(0) { $0 + $1.reduce(0) { $0 + ($1 != 0 ? 1 : 0) } } }
}
