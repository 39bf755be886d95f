// Learning-rate schedules as Hugging Face transformers defines them (transformers/optimization.py):
// get_constant_schedule, get_constant_schedule_with_warmup, get_cosine_schedule_with_warmup /
// get_cosine_with_min_lr_schedule_with_warmup (min_lr_rate), get_linear_schedule_with_warmup (generalised
// with a floor: factor·(1 − minRatio) + minRatio).
//
// Step convention (HF's LambdaLR): `step` is the number of optimizer steps already taken, counted from 0,
// so the t-th update (1-based) uses lr(step: t − 1). With warmup W > 0 the first update therefore uses
// lr 0, and the peak is reached at step W:
//     step < W:  peak · step / W
//     step ≥ W:  progress = (step − W) / max(1, total − W), clamped to [0, 1]
//                cosine: peak · (minRatio + (1 − minRatio) · ½(1 + cos(π · progress)))
//                linear: peak · (minRatio + (1 − minRatio) · (1 − progress))
// Past `totalSteps` the rate stays at minRatio · peak (HF's cosine would rise again; we clamp).
// The factor is computed in Double; the result is rounded to Float once.

import Foundation

public enum LearningRateSchedule: Codable, Sendable, Equatable, CustomStringConvertible {
    /// The peak rate at every step.
    case constant
    /// Linear warmup from 0 over `warmupSteps`, then constant.
    case linearWarmup(warmupSteps: Int)
    /// Linear warmup, then a half cosine from the peak down to minRatio · peak at `totalSteps`.
    case cosine(warmupSteps: Int, totalSteps: Int, minRatio: Double)
    /// Linear warmup, then linear decay from the peak down to minRatio · peak at `totalSteps`.
    case linear(warmupSteps: Int, totalSteps: Int, minRatio: Double)

    /// The learning rate for optimizer step `step` (0-based, see the header).
    public func lr(step: Int, peak: Float) -> Float {
        Float(Double(peak) * factor(step: step))
    }

    /// The multiplier of the peak rate at `step` (HF's lr_lambda).
    public func factor(step: Int) -> Double {
        func warmup(_ w: Int) -> Double? { step < w ? Double(step) / Double(max(1, w)) : nil }
        func progress(_ w: Int, _ total: Int) -> Double {
            min(1, max(0, Double(step - w) / Double(max(1, total - w))))
        }
        switch self {
        case .constant:
            return 1
        case .linearWarmup(let w):
            return warmup(w) ?? 1
        case .cosine(let w, let total, let minRatio):
            if let f = warmup(w) { return f }
            let cosine = 0.5 * (1 + cos(Double.pi * progress(w, total)))
            return max(0, cosine * (1 - minRatio) + minRatio)
        case .linear(let w, let total, let minRatio):
            if let f = warmup(w) { return f }
            return max(0, (1 - progress(w, total)) * (1 - minRatio) + minRatio)
        }
    }

    /// Parses the CLI form: "constant", "warmup:W", "cosine:W:MIN_RATIO", "linear:W:MIN_RATIO"
    /// (`totalSteps` is the run's step count). `label` names the option in errors.
    public init(parsing text: String, totalSteps: Int, label: String = "--lr-schedule") throws {
        func fail(_ m: String) -> RPTError {
            RPTError("invalid learning-rate schedule '\(text)': \(m) (expected constant, warmup:W, cosine:W:MIN_RATIO or linear:W:MIN_RATIO)", file: label)
        }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        func steps(_ s: String) throws -> Int {
            guard let w = Int(s), w >= 0 else { throw fail("warmup steps '\(s)' must be a non-negative integer") }
            return w
        }
        func ratio(_ s: String) throws -> Double {
            guard let r = Double(s), r >= 0, r <= 1 else { throw fail("min ratio '\(s)' must be a number in [0, 1]") }
            return r
        }
        switch (parts[0], parts.count) {
        case ("constant", 1):
            self = .constant
        case ("warmup", 2):
            self = .linearWarmup(warmupSteps: try steps(parts[1]))
        case ("cosine", 3), ("linear", 3):
            let w = try steps(parts[1]), r = try ratio(parts[2])
            guard totalSteps > 0 else { throw fail("the total step count must be positive, got \(totalSteps)") }
            guard w <= totalSteps else { throw fail("warmup \(w) exceeds the total step count \(totalSteps)") }
            self = parts[0] == "cosine" ? .cosine(warmupSteps: w, totalSteps: totalSteps, minRatio: r)
                                        : .linear(warmupSteps: w, totalSteps: totalSteps, minRatio: r)
        default:
            throw fail("unknown form")
        }
    }

    /// The CLI form (without the total step count).
    public var description: String {
        switch self {
        case .constant: return "constant"
        case .linearWarmup(let w): return "warmup:\(w)"
        case .cosine(let w, _, let r): return "cosine:\(w):\(r)"
        case .linear(let w, _, let r): return "linear:\(w):\(r)"
        }
    }
}
