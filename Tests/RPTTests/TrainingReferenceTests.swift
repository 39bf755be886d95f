// Ten AdamW steps on the fixture batch against PyTorch (scripts/make_model_fixtures.py): loss before
// each step, the global gradient norm that clip_grad_norm_ returns, and three parameters after step 10,
// for all seven tiny models (relative error ≤ 1e-3; the gradient norm 3e-3: by step 10 the batch is
// memorised, the loss is ~1e-3 and the gradients are small differences of nearly equal numbers).
// AdamW lr 1e-2, betas (0.9, 0.95), eps 1e-8, weight decay 0.1 on matrices only, norm clipped to 1.0.
// Run through the compute seam, once per backend (`ComputeBackendKind`).

import Foundation
import Testing
@testable import RPT

@Suite struct TrainingReferenceTests {
    @Test(arguments: referenceModels, ComputeBackendKind.allCases)
    func tenAdamWStepsMatchPyTorch(_ name: String, _ kind: ComputeBackendKind) throws {
        let g = try GradientCase(name)
        let backend = try kind.make(model: g.model, optimizer: AdamWSettings(beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1))
        var losses: [Float] = [], norms: [Float] = []
        for _ in 0..<10 {
            try backend.zeroGradients()
            let tape = try backend.trainForward(g.batch)
            losses.append(zip(tape.logProbs, g.weights).reduce(Float(0)) { $0 + $1.0 * $1.1 })
            try backend.backward(tape, gradLogProbs: g.weights)
            #expect(try backend.firstNonFiniteGradient() == nil)
            norms.append(try backend.clipGradients(maxNorm: 1.0))
            try backend.optimizerStep(lr: 1e-2)
        }
        try backend.downloadParameters()
        #expect(try backend.optimizerState().step == 10)
        let refLosses = try g.ref.floats("adamw_losses"), refNorms = try g.ref.floats("adamw_grad_norms")
        for i in 0..<10 {
            #expect(abs(losses[i] - refLosses[i]) <= 1e-3 * abs(refLosses[i]) + 1e-5, "\(name) step \(i): loss \(losses[i]) vs \(refLosses[i])")
            #expect(abs(norms[i] - refNorms[i]) <= 3e-3 * refNorms[i], "\(name) step \(i): grad norm \(norms[i]) vs \(refNorms[i]), loss \(refLosses[i])")
        }
        for p in ["model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight", "model.norm.weight"] {
            let err = relativeError(g.model.params.values(p), try g.ref.floats("after10." + p))
            #expect(err <= 1e-3, "\(name) \(p) after 10 steps: relative error \(err)")
        }
        print("\(name): 10 AdamW steps, losses \(losses.first!) → \(losses.last!) (PyTorch \(refLosses.last!))")
    }
}
