// Number formatting for the report's chart labels and tables: just enough decimals for a tick step,
// thousands separators, powers of ten with superscript exponents ("3×10¹⁵"), significant digits and
// percentages; a non-finite or missing value is shown as "—".

import Foundation

/// Number formatting for chart labels and report tables.
enum ChartFormat {
    /// `value` with the decimals that `step` needs; big numbers with thousands separators or as a power.
    static func number(_ value: Double, step: Double) -> String {
        guard value.isFinite else { return "—" }
        if abs(value) >= 1e6 || (abs(value) > 0 && abs(value) < 1e-4) { return power(value) }
        let decimals = decimals(forStep: step)
        if decimals == 0 {
            return grouped(Int(value.rounded()))
        }
        return String(format: "%.\(decimals)f", value)
    }

    /// Decimals that tick values `step` apart need (1 → 0, 0.5 → 1, 0.02 → 2), robust to rounding noise.
    static func decimals(forStep step: Double) -> Int {
        guard step.isFinite, step > 0 else { return 0 }
        return min(6, max(0, -Int((log10(step) + 1e-6).rounded(.down))))
    }

    /// An integer with thousands separators: 12,345.
    static func grouped(_ n: Int) -> String {
        let digits = String(abs(n))
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out += "," }
            out.append(c)
        }
        return (n < 0 ? "−" : "") + out
    }

    /// m×10ⁿ with a superscript exponent (10ⁿ alone when m is 1), m to `digits` significant digits.
    static func power(_ value: Double, digits: Int = 2) -> String {
        guard value.isFinite else { return "—" }
        if value == 0 { return "0" }
        var exponent = Int(log10(abs(value)).rounded(.down))
        var mantissa = value / pow(10, Double(exponent))
        var text = String(format: "%.\(max(digits - 1, 0))f", mantissa)
        if abs(Double(text) ?? mantissa) >= 10 { exponent += 1; mantissa /= 10; text = String(format: "%.\(max(digits - 1, 0))f", mantissa) }
        while text.contains("."), text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        let sign = text.hasPrefix("-") ? "−" : ""
        if text.hasPrefix("-") { text.removeFirst() }
        let tail = "10" + superscript(exponent)
        return sign + (text == "1" ? tail : text + "×" + tail)
    }

    /// Significant-digit formatting for table cells (fit parameters, metric summaries).
    static func significant(_ value: Double?, digits: Int = 4) -> String {
        guard let v = value, v.isFinite else { return "—" }
        if v != 0, abs(v) >= 1e6 || abs(v) < 1e-3 { return power(v, digits: digits) }
        var text = String(format: "%.\(digits)g", v)
        if text.hasPrefix("-") { text = "−" + text.dropFirst() }
        return text
    }

    /// A fraction as a percentage with one decimal: 0.4107 → "41.1%".
    static func percent(_ value: Double?, decimals: Int = 1) -> String {
        guard let v = value, v.isFinite else { return "—" }
        return String(format: "%.\(decimals)f%%", v * 100)
    }

    static func superscript(_ n: Int) -> String {
        let map: [Character: Character] = ["0": "⁰", "1": "¹", "2": "²", "3": "³", "4": "⁴", "5": "⁵",
                                           "6": "⁶", "7": "⁷", "8": "⁸", "9": "⁹", "-": "⁻"]
        return String(String(n).map { map[$0] ?? $0 })
    }
}
