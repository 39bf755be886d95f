// A minimal SVG writer for the report's charts: elements appended as text with escaped content and
// rounded coordinates, the report's colour palette, a text-width estimate for layout (no fonts are
// loaded, so widths are approximated from the character count), and a wrapping legend. The SVG is meant
// to be inlined in HTML5, so it carries no xmlns and no external references.

import Foundation

struct SVGCanvas {
    let width: Double
    let height: Double
    private(set) var body = ""

    init(width: Double, height: Double) {
        self.width = width
        self.height = height
    }

    /// The finished `<svg>` element; `id` and `label` (an accessible name) are escaped.
    func svg(id: String, label: String) -> String {
        "<svg id=\"\(HTML.escape(id))\" class=\"chart\" viewBox=\"0 0 \(n(width)) \(n(height))\" width=\"\(n(width))\" height=\"\(n(height))\" style=\"max-width:\(n(width))px\" role=\"img\" aria-label=\"\(HTML.escape(label))\">"
            + "<title>\(HTML.escape(label))</title>" + body + "</svg>"
    }

    mutating func raw(_ s: String) { body += s }

    mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String, width: Double = 1,
                       dash: String? = nil, cls: String? = nil) {
        body += "<line\(c(cls)) x1=\"\(n(x1))\" y1=\"\(n(y1))\" x2=\"\(n(x2))\" y2=\"\(n(y2))\" stroke=\"\(stroke)\" stroke-width=\"\(n(width))\""
            + (dash.map { " stroke-dasharray=\"\($0)\"" } ?? "") + "/>"
    }

    mutating func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, fill: String, cls: String? = nil,
                       stroke: String? = nil, radius: Double = 0, title: String? = nil) {
        body += "<rect\(c(cls)) x=\"\(n(x))\" y=\"\(n(y))\" width=\"\(n(max(w, 0)))\" height=\"\(n(max(h, 0)))\" fill=\"\(fill)\""
            + (stroke.map { " stroke=\"\($0)\"" } ?? "") + (radius > 0 ? " rx=\"\(n(radius))\"" : "")
        body += title.map { "><title>\(HTML.escape($0))</title></rect>" } ?? "/>"
    }

    mutating func circle(_ x: Double, _ y: Double, r: Double, fill: String, opacity: Double = 1, cls: String? = nil,
                         stroke: String? = nil, title: String? = nil) {
        body += "<circle\(c(cls)) cx=\"\(n(x))\" cy=\"\(n(y))\" r=\"\(n(r))\" fill=\"\(fill)\""
            + (opacity < 1 ? " fill-opacity=\"\(n(opacity))\"" : "") + (stroke.map { " stroke=\"\($0)\" stroke-width=\"1\"" } ?? "")
        body += title.map { "><title>\(HTML.escape($0))</title></circle>" } ?? "/>"
    }

    /// A polyline through `points`; each inner array is one unbroken run.
    mutating func path(_ runs: [[(Double, Double)]], stroke: String, width: Double, opacity: Double = 1,
                       dash: String? = nil, cls: String? = nil) {
        var d = ""
        for run in runs where !run.isEmpty {
            d += "M" + run.map { "\(n($0.0)),\(n($0.1))" }.joined(separator: "L")
        }
        guard !d.isEmpty else { return }
        body += "<path\(c(cls)) d=\"\(d)\" fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"\(n(width))\" stroke-linejoin=\"round\" stroke-linecap=\"round\""
            + (opacity < 1 ? " stroke-opacity=\"\(n(opacity))\"" : "") + (dash.map { " stroke-dasharray=\"\($0)\"" } ?? "") + "/>"
    }

    enum Anchor: String { case start, middle, end }

    mutating func text(_ s: String, x: Double, y: Double, size: Double = 11, anchor: Anchor = .start,
                       fill: String = SVGPalette.text, weight: String? = nil, rotate: Double? = nil, cls: String? = nil) {
        body += "<text\(c(cls)) x=\"\(n(x))\" y=\"\(n(y))\" font-size=\"\(n(size))\" text-anchor=\"\(anchor.rawValue)\" fill=\"\(fill)\""
            + (weight.map { " font-weight=\"\($0)\"" } ?? "")
            + (rotate.map { " transform=\"rotate(\(n($0)) \(n(x)) \(n(y)))\"" } ?? "")
            + ">\(HTML.escape(s))</text>"
    }

    /// Legend entries laid out in rows from (`x`, `y`) within `maxWidth`; returns the height used.
    /// The swatch shows how the series is drawn: a (dashed) line, a faint line with a dot, a dot, or a block.
    @discardableResult
    mutating func legend(_ entries: [LegendEntry], x: Double, y: Double, maxWidth: Double) -> Double {
        guard !entries.isEmpty else { return 0 }
        let rowHeight = 16.0
        var cx = x, cy = y
        for e in entries {
            let w = 22 + SVGCanvas.textWidth(e.label, size: 11) + 14
            if cx > x, cx + w > x + maxWidth { cx = x; cy += rowHeight }
            switch e.swatch {
            case .line(let dashed):
                line(cx, cy + 6, cx + 16, cy + 6, stroke: e.color, width: 2.5, dash: dashed ? "5 3" : nil)
            case .faintLineAndMarker:
                body += "<g opacity=\"0.45\">"
                line(cx, cy + 6, cx + 16, cy + 6, stroke: e.color, width: 1)
                circle(cx + 8, cy + 6, r: 2.2, fill: e.color)
                body += "</g>"
            case .marker:
                circle(cx + 8, cy + 6, r: 3.5, fill: e.color)
            case .block:
                rect(cx + 2, cy, 12, 12, fill: e.color, radius: 2)
            }
            text(e.label, x: cx + 21, y: cy + 10, size: 11, fill: SVGPalette.text, cls: "legend")
            cx += w
        }
        return cy - y + rowHeight
    }

    /// Approximate rendered width of `s` in a sans-serif font of `size` px.
    static func textWidth(_ s: String, size: Double) -> Double {
        var units = 0.0
        for ch in s {
            if "il.,:;'|!ı ".contains(ch) { units += 0.3 }
            else if "mwMW@%".contains(ch) { units += 0.85 }
            else if ch.isUppercase { units += 0.68 }
            else { units += 0.56 }
        }
        return units * size
    }

    private func c(_ cls: String?) -> String { cls.map { " class=\"\($0)\"" } ?? "" }
    private func n(_ v: Double) -> String { SVGCanvas.num(v) }
}

struct LegendEntry {
    enum Swatch { case line(dashed: Bool), faintLineAndMarker, marker, block }
    var label: String
    var color: String
    var swatch: Swatch
}

extension SVGCanvas {
    /// Coordinates in SVG text: at most two decimals, no trailing zeros.
    static func num(_ v: Double) -> String {
        guard v.isFinite else { return "0" }
        let r = (v * 100).rounded() / 100
        if r == r.rounded() { return String(Int(r)) }
        var s = String(format: "%.2f", r)
        while s.hasSuffix("0") { s.removeLast() }
        return s
    }
}

/// The report's colours: a muted categorical palette of well-separated hues, fixed colours
/// for the difficulty splits, and the greys of axes and text.
enum SVGPalette {
    static let categorical = ["#1f6fb2", "#e08a1e", "#2a9d6f", "#c8443b", "#7b5ea7", "#8c6d46", "#d46fa8", "#5b6770", "#b5a31a", "#38a3c7"]
    static let text = "#1f2933"
    static let muted = "#6b7785"
    static let axis = "#9aa5b1"
    static let grid = "#e6eaee"

    static func color(_ i: Int) -> String { categorical[((i % categorical.count) + categorical.count) % categorical.count] }

    /// Difficulty splits keep their colour across charts: easy green, medium amber, hard red, all blue.
    static func split(_ name: String, fallbackIndex: Int) -> String {
        switch name.lowercased() {
        case "easy": return "#2a9d6f"
        case "medium": return "#e08a1e"
        case "hard": return "#c8443b"
        case "all", "avg", "average": return "#1f6fb2"
        default: return color(fallbackIndex + 4)
        }
    }
}
