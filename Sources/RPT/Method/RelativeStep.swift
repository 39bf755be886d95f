// A point in a training run given either as an absolute step ("500") or as a share of the run's total
// steps ("50%"): how `rpt train --dynamic-sampling-from` is written. The paper starts dynamic sampling at
// step 500 of 1000, i.e. half-way; "50%" keeps that proportion in a run of any length.
//
// Resolution: `.step(n)` is n; `.percent(p)` is ⌊total · p / 100⌋, computed so that whole results are exact
// (29% of 100 is 29, not 28). The step is the number of optimizer steps already taken (0-based), so a
// start of 500 makes the 501st update the first one with the feature, as in the paper's 1000-step run.
//
// JSON: an integer for `.step` (what older checkpoints hold, so they still decode), a string "P%" for
// `.percent`; a string holding an integer is read as a step too.

import Foundation

public enum RelativeStep: Codable, Sendable, Equatable, CustomStringConvertible {
    /// An absolute step.
    case step(Int)
    /// A percentage (0…100) of the run's total steps.
    case percent(Double)

    /// The step this stands for in a run of `totalSteps` steps.
    public func resolve(totalSteps: Int) -> Int {
        switch self {
        case .step(let n): return n
        case .percent(let p): return Int((Double(max(totalSteps, 0)) * p / 100).rounded(.down))
        }
    }

    /// Parses "N" (a step ≥ 0) or "P%" (0 ≤ P ≤ 100); `label` names the option in errors.
    public init(parsing text: String, label: String = "--dynamic-sampling-from") throws {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t.hasSuffix("%") {
            guard let p = Double(t.dropLast()), p.isFinite, p >= 0, p <= 100 else {
                throw RPTError("'\(text)' is not a percentage between 0% and 100%", file: label)
            }
            self = .percent(p)
        } else {
            guard let n = Int(t), n >= 0 else {
                throw RPTError("'\(text)' is neither a step (an integer ≥ 0) nor a percentage of the run such as 50%", file: label)
            }
            self = .step(n)
        }
    }

    public var description: String {
        switch self {
        case .step(let n): return "\(n)"
        case .percent(let p): return p == p.rounded() && abs(p) < 1e15 ? "\(Int(p))%" : "\(p)%"
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let n = try? c.decode(Int.self) {
            guard n >= 0 else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "a step must be ≥ 0, got \(n)")
            }
            self = .step(n)
            return
        }
        let text = try c.decode(String.self)
        do { self = try RelativeStep(parsing: text) } catch let e as RPTError {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: e.message)
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .step(let n): try c.encode(n)
        case .percent: try c.encode(description)
        }
    }
}
