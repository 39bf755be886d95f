// Axis scales for the report's SVG charts: "nice" tick values (1, 2, 5 × 10^k) on a linear axis,
// 1-2-5 values (decades only, thinned, over long ranges) on a log axis, and the mapping from data to
// the axis; tick labels come from ChartFormat.

import Foundation

/// A linear or base-10 logarithmic axis over a closed data range, with its tick values.
struct ChartScale {
    let lower: Double
    let upper: Double
    let logarithmic: Bool
    let ticks: [Double]

    /// A linear scale widened to nice tick bounds around `values` (non-finite values are ignored).
    /// `includeZero` pulls the lower (or upper) bound to 0; `clamp` caps the widened range; `minStep`
    /// keeps ticks that far apart at least (1 for steps). Values that are all ≥ 0 never get a negative axis.
    static func linear(_ values: [Double], includeZero: Bool = false, targetTicks: Int = 5,
                       clamp: ClosedRange<Double>? = nil, minStep: Double = 0) -> ChartScale {
        var finite = values.filter(\.isFinite)
        if finite.isEmpty { finite = [0, 1] }
        var lo = finite.min()!, hi = finite.max()!
        let nonNegative = lo >= 0
        if includeZero { lo = min(lo, 0); hi = max(hi, 0) }
        if lo == hi {
            let pad = lo == 0 ? 1 : abs(lo) * 0.1
            lo -= pad; hi += pad
        }
        if nonNegative { lo = max(lo, 0) }
        let step = max(niceStep((hi - lo) / Double(max(targetTicks, 1))), minStep)
        var start = (lo / step).rounded(.down) * step
        var end = (hi / step).rounded(.up) * step
        if let c = clamp { start = max(start, c.lowerBound); end = min(end, c.upperBound) }
        if end <= start { end = start + step }
        var ticks: [Double] = []
        var t = (start / step).rounded(.up) * step
        while t <= end + step * 1e-9 {
            ticks.append(abs(t) < step * 1e-9 ? 0 : t)
            t += step
        }
        return ChartScale(lower: start, upper: end, logarithmic: false, ticks: ticks)
    }

    /// A log₁₀ scale over the positive finite `values`, padded by 5% of their span (in decades), with
    /// ticks at 1, 2 and 5 × 10ⁿ inside it (decades only, thinned, when the span is long).
    static func logarithmic(_ values: [Double]) -> ChartScale {
        let positive = values.filter { $0.isFinite && $0 > 0 }
        guard let mn = positive.min(), let mx = positive.max() else {
            return ChartScale(lower: 1, upper: 10, logarithmic: true, ticks: [1, 10])
        }
        let span = log10(mx) - log10(mn)
        let pad = max(span * 0.05, 0.05)
        var lo = log10(mn) - pad, hi = log10(mx) + pad
        let multiples: [Double] = hi - lo <= 2.5 ? [1, 2, 5] : [1]
        let stride = max(1, Int((span / 6).rounded(.up)))
        var ticks: [Double] = []
        for e in Int(lo.rounded(.down))...Int(hi.rounded(.up)) where multiples.count > 1 || e % stride == 0 {
            for m in multiples {
                let t = m * pow(10, Double(e))
                if log10(t) >= lo - 1e-9, log10(t) <= hi + 1e-9 { ticks.append(t) }
            }
        }
        // A short range between two ticks: widen to the neighbouring 1-2-5 values so the axis has labels.
        if ticks.count < 2 {
            lo = log10(mn).rounded(.down); hi = max(log10(mx).rounded(.up), lo + 1)
            ticks = [pow(10, lo), 2 * pow(10, lo), 5 * pow(10, lo), pow(10, hi)]
        }
        return ChartScale(lower: pow(10, lo), upper: pow(10, hi), logarithmic: true, ticks: ticks)
    }

    /// The fraction (0 at `lower`, 1 at `upper`) of `value` along the axis; nil for values a log axis cannot show.
    func fraction(_ value: Double) -> Double? {
        guard value.isFinite else { return nil }
        if logarithmic {
            guard value > 0 else { return nil }
            return (log10(value) - log10(lower)) / (log10(upper) - log10(lower))
        }
        return (value - lower) / (upper - lower)
    }

    /// The tick spacing of a linear scale (for label precision).
    var step: Double { ticks.count > 1 ? ticks[1] - ticks[0] : max(upper - lower, 1e-12) }

    /// A tick label: decades as 10ⁿ on a log axis, otherwise a number with just enough decimals.
    func label(_ value: Double) -> String {
        if logarithmic { return ChartFormat.power(value) }
        return ChartFormat.number(value, step: step)
    }

    /// 1, 2 or 5 × 10^k, the smallest not below `raw`.
    static func niceStep(_ raw: Double) -> Double {
        guard raw.isFinite, raw > 0 else { return 1 }
        let magnitude = pow(10, log10(raw).rounded(.down))
        let normalized = raw / magnitude
        let nice: Double = normalized <= 1 ? 1 : normalized <= 2 ? 2 : normalized <= 5 ? 5 : 10
        return nice * magnitude
    }
}
