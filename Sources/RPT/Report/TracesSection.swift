// The "Sample traces" section: a few completions from the run (early and late steps, rewarded and not),
// each with its step, position, target, extracted prediction and reward, the text HTML-escaped and
// shown pre-wrapped. Very long completions are cut to their first part with a note of what was left out.

import Foundation

enum TracesSection {
    static let maxCharacters = 3000

    static func build(_ traces: [TraceSample], total: Int, path: String, droppedIncompleteLastLine: Bool) -> String {
        guard !traces.isEmpty else { return HTML.note("\(path) has no completions.") }
        var body = "<p>\(traces.count) of \(total) logged completions (<code>\(HTML.escape(path))</code>): early and late steps, rewarded and unrewarded.</p>"
        if droppedIncompleteLastLine { body += HTML.note("The last line of \(path) was incomplete and was left out.") }
        body += "<div class=\"traces\">"
        for t in traces {
            let kind = t.rewarded ? "rewarded" : "unrewarded"
            var meta = "<span class=\"badge \(kind)\">reward \(ChartFormat.significant(t.reward, digits: 3))</span>"
            meta += "<span>step <b>\(t.step)</b></span>"
            meta += "<span>\(HTML.escape(t.docId))\(t.index.map { "@\($0)" } ?? "")</span>"
            if let target = t.target { meta += "<span>target <code>\(HTML.escape(visible(target)))</code></span>" }
            meta += "<span>prediction " + (t.prediction.map { "<code>\(HTML.escape(visible($0)))</code>" } ?? "<i>none</i>") + "</span>"
            var text = t.completion
            var cut = ""
            if text.count > maxCharacters {
                let rest = text.count - maxCharacters
                text = String(text.prefix(maxCharacters))
                cut = "\n… (\(rest) more characters)"
            }
            body += "<article class=\"trace \(kind)\"><div class=\"meta\">\(meta)</div>"
                + "<pre class=\"completion\">\(HTML.escape(text))\(HTML.escape(cut))</pre></article>"
        }
        return body + "</div>"
    }

    /// Leading/trailing spaces and line breaks made visible (they decide a prefix match): " x" → "␣x".
    static func visible(_ s: String) -> String {
        var out = ""
        let chars = Array(s)
        let firstNonSpace = chars.firstIndex { $0 != " " } ?? chars.count
        let lastNonSpace = chars.lastIndex { $0 != " " } ?? -1
        for (i, c) in chars.enumerated() {
            if c == " ", i < firstNonSpace || i > lastNonSpace { out += "␣" }
            else if c == "\n" { out += "⏎" }
            else if c == "\t" { out += "⇥" }
            else { out.append(c) }
        }
        return out
    }
}
