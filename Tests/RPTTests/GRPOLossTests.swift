// The GRPO loss gradient against PyTorch autograd (scripts/make_grpo_fixtures.py): a fixed batch of
// responses, rewards, rollout-time and reference log-probs on the tiny Qwen2 model, for each loss
// aggregation, with clipping active (ratios spread over ~[0.5, 2]) and with k1/k3 KL terms. Plus the
// advantage formula, zero-variance groups, and the on-policy limit (ρ = 1 → REINFORCE with baseline).

import Foundation
import Testing
@testable import RPT

@Suite struct GRPOLossTests {
    static let cases: [(String, LossAggregation, Bool, Float, Float, Float, KLEstimator)] = [
        ("token_mean", .tokenMean, true, 0.2, 0.28, 0, .k1),
        ("seq_mean_token_mean", .seqMeanTokenMean, true, 0.2, 0.2, 0, .k1),
        ("constant_drgrpo", .constant, false, 0.2, 0.28, 0, .k1),
        ("token_mean_k3", .tokenMean, true, 0.2, 0.28, 0.05, .k3),
        ("token_mean_k1", .tokenMean, true, 0.2, 0.28, 0.05, .k1),
    ]

    @Test(arguments: 0..<5)
    func gradientsMatchPyTorch(_ index: Int) throws {
        let (name, agg, stdNorm, low, high, beta, kl) = Self.cases[index]
        let model = try Model.load(path: Repo.fixtureModel("qwen2_f32"))
        let ref = try SafeTensorsFile(path: Repo.path("Tests/Fixtures/grpo/qwen2_f32.safetensors"))
        let ids = try ref.ints("input_ids"), mask2d = try ref.floats("loss_mask")
        let old2d = try ref.floats("old_logprobs"), ref2d = try ref.floats("ref_logprobs")
        let rewards = try ref.floats("rewards"), g = try ref.ints("group_size")[0]
        let b = rewards.count, t = ids.count / b
        let batch = TrainingBatch(sequences: (0..<b).map { Array(ids[($0 * t)..<(($0 + 1) * t)]) })
        func packed(_ x: [Float]) -> [Float] { batch.packed((0..<b).map { Array(x[($0 * (t - 1))..<(($0 + 1) * (t - 1))]) }) }
        let mask = packed(mask2d), old = packed(old2d), refLP = packed(ref2d)
        let sequenceOf = (0..<b).flatMap { Array(repeating: $0, count: t) }
        let adv = GroupAdvantages.compute(rewards: rewards, groupSize: g, normalizeByStd: stdNorm)
        #expect(maxAbsDiff(adv, try ref.floats(name + ".advantages")) < 1e-5)
        var o = GRPOLossOptions()
        o.aggregation = agg; o.clipLow = low; o.clipHigh = high; o.klCoefficient = beta; o.klEstimator = kl
        o.constantNormalizer = 16
        let tape = try model.trainForward(batch)
        let result = GRPOLoss.compute(logProbs: tape.logProbs, oldLogProbs: old, refLogProbs: refLP, mask: mask,
                                      sequenceOf: sequenceOf, advantages: adv, options: o)
        let refLoss = try ref.floats(name + ".loss")[0]
        #expect(abs(result.loss - refLoss) <= 1e-4 * max(abs(refLoss), 1e-2), "\(name): loss \(result.loss) vs \(refLoss)")
        #expect(result.clipFraction > 0.2, "clipping should be active in this fixture")
        let grads = ParameterBuffer(specs: model.layout.specs)
        try model.backward(tape, gradLogProbs: result.gradLogProbs, into: grads)
        for spec in model.layout.specs {
            let err = relativeError(grads.values(spec.name), try ref.floats("\(name).grad.\(spec.name)"))
            #expect(err <= 1e-3, "\(name) \(spec.name): relative error \(err)")
        }
    }

    @Test func advantagesAndZeroVarianceGroups() {
        let r: [Float] = [1, 0, 0, 1, 1, 1, 1, 1]
        let a = GroupAdvantages.compute(rewards: r, groupSize: 4)
        // group 1: mean 0.5, unbiased std √(1/3)
        let s = Float((1.0 / 3.0).squareRoot())
        let expectedA: Float = 0.5 / (s + 1e-6)
        #expect(abs(a[0] - expectedA) < 1e-5)
        #expect(abs(a[1] + expectedA) < 1e-5)
        #expect(a[4...].allSatisfy { $0 == 0 })
        #expect(GroupAdvantages.isZeroVariance(r[4...]) && !GroupAdvantages.isZeroVariance(r[0..<4]))
        let dr = GroupAdvantages.compute(rewards: r, groupSize: 4, normalizeByStd: false)
        #expect(dr[0] == 0.5 && dr[1] == -0.5)
    }

    /// With logp = logp_old (one update per rollout batch) the token weights are −A / T: REINFORCE with
    /// the group baseline, and nothing is clipped.
    @Test func onPolicyLimitIsReinforce() {
        let lp: [Float] = [-1, -2, -0.5, -3, -1.5]
        let mask: [Float] = [0, 1, 1, 1, 1]
        let seq = [0, 0, 0, 1, 1]
        let adv: [Float] = [0.7, -0.7]
        let r = GRPOLoss.compute(logProbs: lp, oldLogProbs: lp, mask: mask, sequenceOf: seq, advantages: adv, options: GRPOLossOptions())
        #expect(r.clipFraction == 0)
        let q: Float = 0.7 / 4
        let expected: [Float] = [0, -q, -q, q, q]
        #expect(r.gradLogProbs == expected)
        #expect(abs(r.loss) < 1e-7) // −(2·0.7 − 2·0.7)/4
    }
}
