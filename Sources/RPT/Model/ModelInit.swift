// Fresh weights for a model built from a config.json alone (`rpt pretrain --model config.json`):
// transformers' `_init_weights` for these families — linear and embedding weights ~ N(0, σ²) with
// σ = `initializer_range` (default 0.02), biases 0, RMSNorm weights 1 — drawn from a seeded generator.

import Foundation

extension Model {
    public static func initialized(config: ModelConfig, seed: UInt64) -> Model {
        let model = Model(config: config)
        let std = Float(config.raw["initializer_range"]?.double ?? 0.02)
        var rng = RandomGenerator(seed: seed)
        for spec in model.layout.specs {
            let p = model.params.base + spec.offset
            if spec.name.hasSuffix("norm.weight") {
                p.update(repeating: 1, count: spec.count)
            } else if spec.name.hasSuffix(".bias") {
                p.update(repeating: 0, count: spec.count)
            } else {
                for i in 0..<spec.count { p[i] = std * rng.nextGaussian() }
            }
        }
        return model
    }
}

extension RandomGenerator {
    /// A standard normal draw (Box–Muller, one value per two uniforms).
    public mutating func nextGaussian() -> Float {
        let u1 = max(nextUnit(), 1e-300), u2 = nextUnit()
        return Float((-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2))
    }
}
