// One GRPO iteration (paper §3.2–3.3, Table 5; docs/method.md §5): sample G responses per context, score them,
// form group advantages, optionally drop zero-variance groups and refill from new contexts (DAPO's
// dynamic sampling), then update the policy with the clipped objective over `epochs` × `miniBatches`
// optimizer steps. Log-probabilities are taken at the sampling temperature, as verl and TRL do. With one
// epoch and one mini-batch the update is exactly on-policy (ρ ≡ 1), the paper's setting.

import Foundation

public struct GRPOOptions: Codable, Sendable, Equatable {
    public var groupSize = 8
    public var temperature: Float = 0.8
    public var topP: Float = 1
    public var topK = 0
    public var maxResponseTokens = 512
    public var epochs = 1
    public var miniBatches = 1
    public var normalizeByStd = true
    public var loss = GRPOLossOptions()
    public var gradClip: Float = 1.0
    /// Drop groups whose rewards are all equal and refill from new contexts, up to this many extra rounds.
    public var dynamicSampling = false
    public var maxRefillRounds = 3
    /// Compute each group's prompt once in the update, its responses continuing it (RPTTrainOptions.sharePrompts).
    public var sharePrompts = false
    public init() {}
}

/// A context to roll out: its prompt and how to score a group of completions of it.
public struct RolloutContext {
    public var promptIds: [Int]
    public var score: ([GeneratedSequence]) throws -> [Float]
    public init(promptIds: [Int], score: @escaping ([GeneratedSequence]) throws -> [Float]) {
        self.promptIds = promptIds
        self.score = score
    }
}

/// The scored rollouts of one context.
public struct RolloutGroup: Sendable {
    public var promptIds: [Int]
    public var samples: [GeneratedSequence]
    public var rewards: [Float]
}

public struct GRPOStepMetrics: Sendable {
    public var rewardMean: Float = 0
    public var groupsKept = 0
    public var groupsDropped = 0
    public var contextsSampled = 0
    public var responseLengthMean: Float = 0
    public var clipFraction: Float = 0
    public var kl: Float = 0
    /// Mean entropy (nats) of the policy's next-token distribution over trained response tokens.
    public var entropy: Float = 0
    public var loss: Float = 0
    public var gradNorm: Float = 0
    public var rolloutTokens = 0
    public var trainedTokens = 0
    public var promptTokens = 0
    /// Training compute of this step: 2N per prompt or generated token in rollouts, 2N per token of an
    /// extra scoring pass (old or reference log-probs), 6N per trained token (forward + backward).
    public var flops: Double = 0
    public var rolloutSeconds: Double = 0
    public var updateSeconds: Double = 0
    public var groups: [RolloutGroup] = []
}

public final class GRPOTrainer {
    /// The policy's backend: rollouts, the update's forward/backward, and AdamW's state.
    public let policy: any ComputeBackend
    public let reference: (any ComputeBackend)?
    public var options: GRPOOptions
    public var stopTokens: Set<Int>
    /// Learning rate of the next optimizer step (set per step from the schedule).
    public var lr: Float

    public init(policy: any ComputeBackend, reference: (any ComputeBackend)? = nil, lr: Float, options: GRPOOptions,
                stopTokens: Set<Int>) throws {
        guard options.loss.klCoefficient == 0 || reference != nil else {
            throw RPTError("a KL coefficient > 0 needs a reference model")
        }
        self.policy = policy
        self.reference = reference
        self.lr = lr
        self.options = options
        self.stopTokens = stopTokens
    }

    /// Samples and scores G responses for each context.
    public func rollout(_ contexts: [RolloutContext], seed: UInt64) throws -> [RolloutGroup] {
        let o = options
        let gen = Generator(backend: policy)
        let samples = try gen.generate(prompts: contexts.map(\.promptIds), samplesPerPrompt: o.groupSize,
                                       options: GenerationOptions(maxTokens: o.maxResponseTokens,
                                                                  sampling: SamplingParameters(temperature: o.temperature, topK: o.topK, topP: o.topP),
                                                                  seed: seed, stopTokens: stopTokens))
        return try contexts.enumerated().map { i, c in
            let group = Array(samples[(i * o.groupSize)..<((i + 1) * o.groupSize)])
            let r = try c.score(group)
            guard r.count == group.count else { throw RPTError("the reward scored \(r.count) of the group's \(group.count) rollouts") }
            return RolloutGroup(promptIds: c.promptIds, samples: group, rewards: r)
        }
    }

    /// One GRPO step over `batchSize` contexts drawn from `next` (more when dynamic sampling refills).
    public func step(batchSize: Int, seed: UInt64, next: () throws -> RolloutContext?) throws -> GRPOStepMetrics {
        var m = GRPOStepMetrics()
        let t0 = Date()
        var kept: [RolloutGroup] = []
        var all: [RolloutGroup] = []
        var round = 0
        while kept.count < batchSize {
            var contexts: [RolloutContext] = []
            while contexts.count < batchSize - kept.count, let c = try next() { contexts.append(c) }
            if contexts.isEmpty { break }
            m.contextsSampled += contexts.count
            let groups = try rollout(contexts, seed: seed &+ UInt64(round) &* 0x9E37_79B9)
            all += groups
            for g in groups {
                if options.dynamicSampling && GroupAdvantages.isZeroVariance(g.rewards[...]) { m.groupsDropped += 1 } else { kept.append(g) }
            }
            round += 1
            if !options.dynamicSampling || round > options.maxRefillRounds { break }
        }
        m.rolloutSeconds = Date().timeIntervalSince(t0)
        let rewards = all.flatMap(\.rewards)
        m.rewardMean = rewards.isEmpty ? 0 : rewards.reduce(0, +) / Float(rewards.count)
        let lengths = all.flatMap { $0.samples.map(\.tokens.count) }
        m.responseLengthMean = lengths.isEmpty ? 0 : Float(lengths.reduce(0, +)) / Float(lengths.count)
        m.rolloutTokens = lengths.reduce(0, +)
        m.promptTokens = all.reduce(0) { $0 + $1.promptIds.count }
        m.groupsKept = kept.count
        m.groups = all
        // Rollout compute is spent whether or not any group survives dynamic sampling.
        m.flops += 2 * Double(policy.model.parameterCount) * Double(m.promptTokens + m.rolloutTokens)
        let t1 = Date()
        if !kept.isEmpty { try update(kept, metrics: &m) }
        m.updateSeconds = Date().timeIntervalSince(t1)
        return m
    }

    /// The policy update over scored groups: `epochs` passes of `miniBatches` optimizer steps.
    public func update(_ groups: [RolloutGroup], metrics m: inout GRPOStepMetrics) throws {
        let o = options
        let g = o.groupSize
        let advantages = GroupAdvantages.compute(rewards: groups.flatMap(\.rewards), groupSize: g, normalizeByStd: o.normalizeByStd)
        // One trained rollout per non-empty response; train on response positions only.
        var rollouts: [UpdateRollout] = []
        for (gi, group) in groups.enumerated() {
            for (si, s) in group.samples.enumerated() where !s.tokens.isEmpty {
                rollouts.append(UpdateRollout(prompt: group.promptIds, response: s.tokens, group: gi, advantage: advantages[gi * g + si]))
            }
        }
        guard !rollouts.isEmpty else { return }
        let onPolicy = o.epochs == 1 && o.miniBatches == 1
        let chunks = (0..<o.miniBatches).map { k in (rollouts.count * k / o.miniBatches)..<(rollouts.count * (k + 1) / o.miniBatches) }
            .filter { !$0.isEmpty }
        let batches = try chunks.map { try UpdateBatch(rollouts[$0], sharePrompts: o.sharePrompts) }
        // Rollout-time log-probs (at the sampling temperature), unless the single update is on-policy.
        var oldLogProbs: [[Float]] = []
        if !onPolicy {
            for u in batches { oldLogProbs.append(try policy.trainForward(u.batch, temperature: o.temperature).logProbs) }
        }
        var clipSum: Float = 0, klSum: Float = 0, lossSum: Float = 0, steps: Float = 0, entropySum: Double = 0, entropyCount = 0
        let n = Double(policy.model.parameterCount)
        let allTokens = Double(batches.reduce(0) { $0 + $1.batch.count })
        if !onPolicy { m.flops += 2 * n * allTokens }
        if o.loss.klCoefficient > 0 { m.flops += 2 * n * allTokens * Double(o.epochs) }
        for _ in 0..<o.epochs {
            for (k, c) in chunks.enumerated() {
                let (batch, mask, sequenceOf) = (batches[k].batch, batches[k].mask, batches[k].sequenceOf)
                let tape = try policy.trainForward(batch, temperature: o.temperature, entropies: true)
                let current = tape.logProbs
                for (h, w) in zip(tape.entropies ?? [], mask) where w != 0 { entropySum += Double(h); entropyCount += 1 }
                var refLP: [Float]?
                if o.loss.klCoefficient > 0, let ref = reference {
                    refLP = try ref.trainForward(batch, temperature: o.temperature).logProbs
                }
                let r = GRPOLoss.compute(logProbs: current, oldLogProbs: onPolicy ? current : oldLogProbs[k], refLogProbs: refLP,
                                         mask: mask, sequenceOf: sequenceOf, advantages: rollouts[c].map(\.advantage), options: o.loss)
                try policy.zeroGradients()
                try policy.backward(tape, gradLogProbs: r.gradLogProbs)
                if let bad = try policy.firstNonFiniteGradient() {
                    throw RPTError("GRPO update: non-finite gradient in tensor '\(bad)'; weights left unchanged")
                }
                m.gradNorm = try policy.clipGradients(maxNorm: o.gradClip)
                try policy.optimizerStep(lr: lr)
                clipSum += r.clipFraction; klSum += r.meanKL; lossSum += r.loss; steps += 1
                m.trainedTokens += Int(mask.reduce(0, +))
                m.flops += 6 * n * Double(batch.count)
            }
        }
        m.entropy = entropyCount > 0 ? Float(entropySum / Double(entropyCount)) : 0
        m.clipFraction = clipSum / max(steps, 1)
        m.kl = klSum / max(steps, 1)
        m.loss = lossSum / max(steps, 1)
    }
}

/// One rollout as the update trains it.
struct UpdateRollout {
    var prompt: [Int], response: [Int], group: Int, advantage: Float
}

/// The training batch of a mini-batch of rollouts, with its per-row mask (1 where a row predicts a response token)
/// and the rollout (index within the mini-batch) of every row.
struct UpdateBatch {
    let batch: TrainingBatch
    let mask: [Float]
    let sequenceOf: [Int]

    /// Each rollout as prompt + response; or, with `sharePrompts`, each group's prompt but its last token once, and
    /// each response after that last token as a continuation of it (TrainingBatch.parents): the same rows predict
    /// the same tokens from the same contexts. A one-token prompt has nothing to share and stays whole.
    init(_ rollouts: ArraySlice<UpdateRollout>, sharePrompts: Bool) throws {
        var sequences: [[Int]] = [], parents: [Int?] = [], masks: [[Float]] = [], owner: [Int] = []
        var prefixOfGroup: [Int: Int] = [:]
        for (i, r) in rollouts.enumerated() {
            if sharePrompts, r.prompt.count >= 2 {
                if prefixOfGroup[r.group] == nil {
                    prefixOfGroup[r.group] = sequences.count
                    sequences.append(Array(r.prompt.dropLast())); parents.append(nil)
                    masks.append(Array(repeating: 0, count: r.prompt.count - 2)); owner.append(i)
                }
                sequences.append([r.prompt.last!] + r.response); parents.append(prefixOfGroup[r.group])
                masks.append(Array(repeating: 1, count: r.response.count)); owner.append(i)
            } else {
                sequences.append(r.prompt + r.response); parents.append(nil)
                masks.append(Array(repeating: 0, count: r.prompt.count - 1) + Array(repeating: 1, count: r.response.count)); owner.append(i)
            }
        }
        var b = TrainingBatch(sequences: sequences)
        b.parents = parents
        batch = b
        mask = b.packed(masks)
        sequenceOf = zip(owner, sequences).flatMap { Array(repeating: $0.0, count: $0.1.count) }
    }
}
