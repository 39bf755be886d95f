// AdamW, gradient clipping and learning-rate schedules against independent references: AdamW against the
// textbook update (Loshchilov & Hutter 2019, torch.optim.AdamW's documented algorithm) in Double; the SIMD
// kernel against a plain per-element loop; clipping against a direct sum; schedules against the closed forms
// of transformers' get_*_schedule_with_warmup.

import Foundation
import Testing
@testable import RPT
@testable import RPTKernels

private func randomFill(_ b: ParameterBuffer, _ rng: inout RandomGenerator, scale: Double = 1) {
    for s in b.specs { for i in 0..<s.count { b.base[s.offset + i] = Float((rng.nextUnit() * 2 - 1) * scale) } }
}

private func layout(_ shapes: [(String, [Int])]) -> [ParameterSpec] {
    var specs: [ParameterSpec] = []
    var offset = 0
    for (name, shape) in shapes {
        specs.append(ParameterSpec(name: name, shape: shape, offset: offset))
        offset += (shape.reduce(1, *) + 15) / 16 * 16
    }
    return specs
}

private let tinyLayout = layout([("w.weight", [3, 5]), ("norm.weight", [5]), ("q.bias", [7]), ("emb.weight", [4, 3])])

@Suite struct OptimizerAdamWTests {
    /// Several steps of a tiny problem, against the update written out in Double.
    @Test func matchesDoubleReference() throws {
        var rng = RandomGenerator(seed: 11)
        let params = ParameterBuffer(specs: tinyLayout), grads = ParameterBuffer(specs: tinyLayout)
        randomFill(params, &rng)
        let opt = try AdamW(params: params, grads: grads, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1)
        let (b1, b2, eps, wd) = (0.9, 0.95, 1e-8, 0.1)
        var p = (0..<params.count).map { Double(params.base[$0]) }
        var m = [Double](repeating: 0, count: params.count), v = m
        let lrs: [Float] = [1e-2, 3e-3, 2e-2, 1e-3]
        for (k, lr) in lrs.enumerated() {
            randomFill(grads, &rng, scale: pow(10, Double(k - 1)))
            opt.lr = lr
            opt.step()
            let t = Double(k + 1)
            for s in tinyLayout {
                for i in s.offset..<(s.offset + s.count) {
                    let g = Double(grads.base[i]), lrD = Double(lr)
                    if s.shape.count >= 2 { p[i] *= 1 - lrD * wd }
                    m[i] = b1 * m[i] + (1 - b1) * g
                    v[i] = b2 * v[i] + (1 - b2) * g * g
                    let mHat = m[i] / (1 - pow(b1, t)), vHat = v[i] / (1 - pow(b2, t))
                    p[i] -= lrD * mHat / (vHat.squareRoot() + eps)
                }
            }
        }
        #expect(opt.t == lrs.count)
        for s in tinyLayout {
            for i in s.offset..<(s.offset + s.count) {
                #expect(abs(Double(params.base[i]) - p[i]) <= 1e-6 * max(1, abs(p[i])), "param \(s.name)[\(i - s.offset)]")
                #expect(abs(Double(opt.m.base[i]) - m[i]) <= 1e-6 * max(1e-3, abs(m[i])), "m \(s.name)[\(i - s.offset)]")
                #expect(abs(Double(opt.v.base[i]) - v[i]) <= 1e-6 * max(1e-6, abs(v[i])), "v \(s.name)[\(i - s.offset)]")
            }
        }
    }

    /// With zero gradients the update is 0 / (0 + eps) = 0, so only the decoupled decay moves the weights.
    @Test(arguments: [WeightDecayRule.matricesOnly, .all])
    func decaysOnlyWhatTheRuleSays(_ rule: WeightDecayRule) throws {
        var rng = RandomGenerator(seed: 12)
        let params = ParameterBuffer(specs: tinyLayout), grads = ParameterBuffer(specs: tinyLayout)
        randomFill(params, &rng)
        let before = params.clone()
        let opt = try AdamW(params: params, grads: grads, lr: 0.5, weightDecay: 0.2, decayRule: rule)
        opt.step()
        opt.step()
        let factor = Float(1 - Double(Float(0.5)) * Double(Float(0.2)))
        for s in tinyLayout {
            let decayed = rule == .all || s.shape.count >= 2
            for i in s.offset..<(s.offset + s.count) {
                let expected = decayed ? before.base[i] * factor * factor : before.base[i]
                #expect(params.base[i].bitPattern == expected.bitPattern, "\(s.name) decayed=\(decayed)")
            }
        }
    }

    /// The SIMD16 kernel, its scalar tails and the parallel chunking equal a plain loop of the same fp32 ops.
    @Test func kernelEqualsScalarLoop() throws {
        let specs = layout([("big.weight", [611, 523]), ("odd.bias", [37]), ("n.weight", [1])])
        var rng = RandomGenerator(seed: 13)
        let params = ParameterBuffer(specs: specs), grads = ParameterBuffer(specs: specs)
        randomFill(params, &rng)
        let opt = try AdamW(params: params, grads: grads, lr: 1e-2, beta1: 0.9, beta2: 0.95, weightDecay: 0.1)
        let p = params.clone(), m = ParameterBuffer(specs: specs), v = ParameterBuffer(specs: specs)
        for _ in 0..<3 {
            randomFill(grads, &rng)
            opt.step()
            let s = opt.scalars(step: opt.t)
            for spec in specs {
                for i in spec.offset..<(spec.offset + spec.count) {
                    var pv = p.base[i]
                    if spec.isMatrix { pv = pv * s.decayFactor }
                    let g = grads.base[i]
                    m.base[i] = m.base[i].addingProduct(s.lerpWeight, g - m.base[i])
                    v.base[i] = (v.base[i] * s.beta2).addingProduct(s.oneMinusBeta2 * g, g)
                    let denom = v.base[i].squareRoot() / s.biasCorrection2Sqrt + s.eps
                    p.base[i] = pv + s.negativeStepSize * m.base[i] / denom
                }
            }
        }
        for spec in specs {
            #expect(params.values(spec.name).map(\.bitPattern) == p.values(spec.name).map(\.bitPattern), "\(spec.name)")
            #expect(opt.m.values(spec.name).map(\.bitPattern) == m.values(spec.name).map(\.bitPattern), "m \(spec.name)")
            #expect(opt.v.values(spec.name).map(\.bitPattern) == v.values(spec.name).map(\.bitPattern), "v \(spec.name)")
        }
    }

    /// Bias corrections and the step size, computed as torch does (Python floats, then fp32).
    @Test func scalarsFollowTorch() throws {
        let b = ParameterBuffer(specs: tinyLayout)
        let opt = try AdamW(params: b, grads: ParameterBuffer(specs: tinyLayout), lr: 3e-4, beta1: 0.9, beta2: 0.999,
                            eps: 1e-8, weightDecay: 0.01)
        let s = opt.scalars(step: 7)
        let lr = Double(Float(3e-4)), b1 = Double(Float(0.9)), b2 = Double(Float(0.999))
        #expect(s.negativeStepSize == Float(-(lr / (1 - pow(b1, 7)))))
        #expect(s.biasCorrection2Sqrt == Float((1 - pow(b2, 7)).squareRoot()))
        #expect(s.decayFactor == Float(1 - lr * Double(Float(0.01))))
        #expect(s.lerpWeight == Float(1 - b1))
        #expect(s.oneMinusBeta2 == Float(1 - b2))
    }

    @Test func rejectsMismatchedLayouts() throws {
        let other = layout([("w.weight", [3, 5])])
        #expect(throws: RPTError.self) {
            try AdamW(params: ParameterBuffer(specs: tinyLayout), grads: ParameterBuffer(specs: other))
        }
        let opt = try AdamW(params: ParameterBuffer(specs: tinyLayout), grads: ParameterBuffer(specs: tinyLayout))
        #expect(throws: RPTError.self) {
            try opt.restore(m: ParameterBuffer(specs: other), v: ParameterBuffer(specs: other), t: 1)
        }
    }
}

@Suite struct OptimizerGradientClippingTests {
    private static let specs = layout([("a.weight", [70, 300]), ("b.bias", [33]), ("c.weight", [1, 1]), ("d.weight", [5, 9])])

    private func directNorm(_ b: ParameterBuffer) -> Double {
        var s = 0.0
        for spec in b.specs { for x in b.values(spec.name) { s += Double(x) * Double(x) } }
        return s.squareRoot()
    }

    @Test func globalNormMatchesDirectSum() {
        var rng = RandomGenerator(seed: 21)
        let g = ParameterBuffer(specs: Self.specs)
        randomFill(g, &rng, scale: 3)
        let expected = directNorm(g)
        let norm = GradientClipping.globalNorm(g)
        #expect(abs(Double(norm) - expected) <= 1e-6 * expected)
        #expect(GradientClipping.tensorSumsOfSquares(g).count == Self.specs.count)
    }

    @Test func clipsToMaxNormOnlyWhenAbove() {
        var rng = RandomGenerator(seed: 22)
        let g = ParameterBuffer(specs: Self.specs)
        randomFill(g, &rng)
        let before = g.clone()
        let norm = GradientClipping.clip(g, maxNorm: 1.0)
        #expect(norm > 1)
        let coef = Float(1.0) / (norm + Float(1e-6))
        for s in Self.specs {
            #expect(g.values(s.name).map(\.bitPattern) == before.values(s.name).map { ($0 * coef).bitPattern })
        }
        #expect(abs(directNorm(g) - 1) < 1e-5)
        // Below the threshold nothing changes.
        let unchanged = g.clone()
        let norm2 = GradientClipping.clip(g, maxNorm: 10)
        #expect(abs(Double(norm2) - directNorm(unchanged)) < 1e-6)
        for s in Self.specs { #expect(g.values(s.name).map(\.bitPattern) == unchanged.values(s.name).map(\.bitPattern)) }
    }

    @Test func firstNonFiniteNamesTheTensor() {
        var rng = RandomGenerator(seed: 23)
        let g = ParameterBuffer(specs: Self.specs)
        randomFill(g, &rng)
        #expect(GradientClipping.firstNonFinite(g) == nil)
        g.pointer("d.weight")[44] = .nan                    // scalar tail of the last tensor
        #expect(GradientClipping.firstNonFinite(g) == "d.weight")
        g.pointer("b.bias")[5] = -.infinity                 // SIMD body
        #expect(GradientClipping.firstNonFinite(g) == "b.bias")
        g.pointer("a.weight")[70 * 300 - 1] = .infinity     // last element of a multi-block tensor
        #expect(GradientClipping.firstNonFinite(g) == "a.weight")
        #expect(!GradientClipping.globalNorm(g).isFinite)
        let before = g.clone()
        GradientClipping.clip(g, maxNorm: 1)                // a non-finite norm leaves gradients as they are
        #expect(g.values("b.bias").map(\.bitPattern) == before.values("b.bias").map(\.bitPattern))
    }
}

@Suite struct OptimizerLearningRateScheduleTests {
    private func close(_ a: Float, _ b: Double) -> Bool { abs(Double(a) - b) <= 1e-7 * max(abs(b), 1e-12) }

    @Test func keyStepsMatchClosedForms() {
        let peak: Float = 3e-4, P = Double(peak)
        #expect(LearningRateSchedule.constant.lr(step: 0, peak: peak) == peak)
        #expect(LearningRateSchedule.constant.lr(step: 12345, peak: peak) == peak)

        let warm = LearningRateSchedule.linearWarmup(warmupSteps: 100)
        #expect(warm.lr(step: 0, peak: peak) == 0)
        #expect(close(warm.lr(step: 25, peak: peak), P * 0.25))
        #expect(warm.lr(step: 100, peak: peak) == peak)
        #expect(warm.lr(step: 5000, peak: peak) == peak)

        // cosine: W = 100, total = 1100, floor 0.1 · peak; midpoint of the decay is step 600.
        let cosine = LearningRateSchedule.cosine(warmupSteps: 100, totalSteps: 1100, minRatio: 0.1)
        #expect(cosine.lr(step: 0, peak: peak) == 0)
        #expect(close(cosine.lr(step: 50, peak: peak), P * 0.5))
        #expect(cosine.lr(step: 100, peak: peak) == peak)
        #expect(close(cosine.lr(step: 350, peak: peak), P * (0.1 + 0.9 * 0.5 * (1 + cos(Double.pi * 0.25)))))
        #expect(close(cosine.lr(step: 600, peak: peak), P * 0.55))
        #expect(close(cosine.lr(step: 1100, peak: peak), P * 0.1))
        #expect(close(cosine.lr(step: 9999, peak: peak), P * 0.1))

        // HF's get_cosine_schedule_with_warmup is minRatio 0; linear decays to 0 at total.
        let hfCosine = LearningRateSchedule.cosine(warmupSteps: 10, totalSteps: 110, minRatio: 0)
        #expect(close(hfCosine.lr(step: 60, peak: peak), P * 0.5))
        #expect(hfCosine.lr(step: 110, peak: peak) == 0)
        let linear = LearningRateSchedule.linear(warmupSteps: 100, totalSteps: 1100, minRatio: 0)
        #expect(linear.lr(step: 0, peak: peak) == 0)
        #expect(linear.lr(step: 100, peak: peak) == peak)
        #expect(close(linear.lr(step: 600, peak: peak), P * 0.5))
        #expect(close(linear.lr(step: 850, peak: peak), P * 0.25))
        #expect(linear.lr(step: 1100, peak: peak) == 0)
        let linearFloor = LearningRateSchedule.linear(warmupSteps: 0, totalSteps: 100, minRatio: 0.2)
        #expect(linearFloor.lr(step: 0, peak: peak) == peak)
        #expect(close(linearFloor.lr(step: 50, peak: peak), P * 0.6))
        #expect(close(linearFloor.lr(step: 100, peak: peak), P * 0.2))
    }

    @Test func parsesTheCLIForms() throws {
        #expect(try LearningRateSchedule(parsing: "constant", totalSteps: 500) == .constant)
        #expect(try LearningRateSchedule(parsing: "warmup:100", totalSteps: 500) == .linearWarmup(warmupSteps: 100))
        #expect(try LearningRateSchedule(parsing: "cosine:100:0.1", totalSteps: 500) == .cosine(warmupSteps: 100, totalSteps: 500, minRatio: 0.1))
        #expect(try LearningRateSchedule(parsing: "linear:100:0", totalSteps: 500) == .linear(warmupSteps: 100, totalSteps: 500, minRatio: 0))
        #expect(try LearningRateSchedule(parsing: "cosine:100:0.1", totalSteps: 500).description == "cosine:100:0.1")
        for bad in ["", "cosine", "cosine:100", "warmup:-1", "warmup:x", "cosine:100:1.5", "linear:10:0:3", "step:5", "cosine:600:0.1"] {
            do {
                _ = try LearningRateSchedule(parsing: bad, totalSteps: 500)
                Issue.record("'\(bad)' was accepted")
            } catch let e as RPTError {
                #expect(e.file == "--lr-schedule")
                #expect(e.message.contains("'\(bad)'"))
            }
        }
    }

    @Test func codableRoundTrip() throws {
        for s in [LearningRateSchedule.constant, .linearWarmup(warmupSteps: 7), .cosine(warmupSteps: 1, totalSteps: 9, minRatio: 0.1),
                  .linear(warmupSteps: 2, totalSteps: 3, minRatio: 0)] {
            let data = try JSONEncoder().encode(s)
            #expect(try JSONDecoder().decode(LearningRateSchedule.self, from: data) == s)
        }
    }
}
