// A self-contained HTML page: escaping, sections with a table of contents, tables, notes and the one
// inline stylesheet. Nothing is loaded from elsewhere: no scripts, no fonts, no images by URL, so the
// file opens the same offline, in a mail attachment or in a CI artefact viewer.

import Foundation

enum HTML {
    /// Text escaped for element content and attribute values.
    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for ch in s.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default:
                // Control characters other than tab/newline cannot appear in HTML text; show them as U+FFFD.
                if ch.value < 0x20, ch != "\n", ch != "\t", ch != "\r" { out += "\u{FFFD}" } else { out.unicodeScalars.append(ch) }
            }
        }
        return out
    }

    /// A table: headers and rows of cells already escaped (use `HTML.escape` for text). Columns listed in
    /// `numeric` are right-aligned with tabular figures.
    static func table(headers: [String], rows: [[String]], numeric: Set<Int> = [], caption: String? = nil,
                      cls: String = "data") -> String {
        var out = "<table class=\"\(cls)\">"
        if let caption { out += "<caption>\(caption)</caption>" }
        out += "<thead><tr>" + headers.enumerated().map { i, h in
            "<th\(numeric.contains(i) ? " class=\"num\"" : "")>\(h)</th>"
        }.joined() + "</tr></thead><tbody>"
        for row in rows {
            out += "<tr>" + row.enumerated().map { i, c in
                "<td\(numeric.contains(i) ? " class=\"num\"" : "")>\(c)</td>"
            }.joined() + "</tr>"
        }
        return out + "</tbody></table>"
    }

    /// A short explanatory note (for a section without input, or a caveat).
    static func note(_ text: String) -> String { "<p class=\"note\">\(escape(text))</p>" }
}

/// One section of the report: an anchor id, a heading and its HTML body.
struct HTMLSection {
    var id: String
    var title: String
    var body: String
}

struct HTMLDocument {
    var title: String
    /// HTML placed under the title, above the table of contents (the run summary).
    var header: String
    var sections: [HTMLSection]
    var footer: String

    func render() -> String {
        var out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        out += "<title>\(HTML.escape(title))</title>\n<style>\n\(Self.stylesheet)</style>\n</head>\n<body>\n<main>\n"
        out += "<header class=\"top\"><h1>\(HTML.escape(title))</h1>\n\(header)\n"
        out += "<nav class=\"toc\">" + sections.map { "<a href=\"#\(HTML.escape($0.id))\">\(HTML.escape($0.title))</a>" }
            .joined(separator: "") + "</nav></header>\n"
        for s in sections {
            out += "<section id=\"\(HTML.escape(s.id))\">\n<h2>\(HTML.escape(s.title))</h2>\n\(s.body)\n</section>\n"
        }
        out += "<footer>\(footer)</footer>\n</main>\n</body>\n</html>\n"
        return out
    }

    /// The page's only style sheet: system fonts, a centred column, card-like sections, compact tables.
    static let stylesheet = """
    :root { color-scheme: light; }
    * { box-sizing: border-box; }
    body { margin: 0; background: #f3f5f7; color: #1f2933;
      font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", "Liberation Sans", sans-serif;
      font-size: 14px; line-height: 1.45; }
    main { max-width: 1140px; margin: 0 auto; padding: 24px 20px 40px; }
    h1 { font-size: 24px; margin: 0 0 4px; letter-spacing: -0.01em; }
    h2 { font-size: 18px; margin: 0 0 12px; padding-bottom: 6px; border-bottom: 1px solid #e3e8ee; }
    h3 { font-size: 14px; margin: 18px 0 8px; color: #3e4c59; }
    header.top { background: #ffffff; border: 1px solid #dde3ea; border-radius: 8px; padding: 20px 22px 14px; margin-bottom: 18px; }
    .subtitle { color: #52606d; margin: 0 0 14px; font-size: 13px; word-break: break-all; }
    .kpis { display: grid; grid-template-columns: repeat(auto-fill, minmax(140px, 1fr)); gap: 10px; margin: 0 0 14px; }
    .kpi { background: #f7f9fb; border: 1px solid #e3e8ee; border-radius: 6px; padding: 8px 12px; min-width: 0; }
    .kpi.wide { grid-column: span 2; }
    .kpi .k { font-size: 11px; text-transform: uppercase; letter-spacing: 0.04em; color: #6b7785; }
    .kpi .v { font-size: 16px; font-weight: 600; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
    .kpi .s { font-size: 11px; color: #6b7785; }
    nav.toc { display: flex; flex-wrap: wrap; gap: 6px 16px; font-size: 13px; padding-top: 10px; border-top: 1px solid #eef1f4; }
    nav.toc a { color: #1f6fb2; text-decoration: none; }
    section { background: #ffffff; border: 1px solid #dde3ea; border-radius: 8px; padding: 18px 22px; margin-bottom: 18px; }
    .charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(500px, 1fr)); gap: 14px; }
    .charts.small { grid-template-columns: repeat(auto-fit, minmax(330px, 1fr)); }
    figure { margin: 0; min-width: 0; }
    svg.chart { display: block; width: 100%; height: auto; max-width: 100%; overflow: visible; }
    svg.chart text { font-family: inherit; }
    figcaption { font-size: 12px; color: #6b7785; margin-top: 2px; }
    table.data { border-collapse: collapse; width: 100%; margin: 10px 0 4px; font-size: 13px; }
    table.data caption { text-align: left; font-size: 12px; color: #6b7785; padding-bottom: 4px; caption-side: top; }
    table.data th, table.data td { padding: 5px 9px; border-bottom: 1px solid #e8ecf0; text-align: left; vertical-align: top; }
    table.data th { background: #f5f7f9; font-weight: 600; color: #3e4c59; white-space: nowrap; }
    table.data td.num, table.data th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
    table.data tbody tr:hover { background: #fafbfc; }
    .swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; vertical-align: baseline; }
    .ci { color: #6b7785; font-size: 12px; }
    .pos { color: #1e7b52; } .neg { color: #b3372f; }
    p.note { color: #6b7785; font-style: italic; margin: 6px 0; }
    .warning-box { background: #fff5e6; border: 1px solid #f0c27b; border-left: 6px solid #d9822b; border-radius: 6px;
      padding: 10px 16px; margin: 8px 0 14px; color: #3d2a10; }
    .warning-box p { margin: 6px 0; } .warning-box ul { margin: 4px 0 6px; padding-left: 20px; }
    .warning-box .warning-title { font-size: 15px; font-weight: 700; color: #a34a00; }
    code { font-family: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12.5px;
      background: #f1f4f7; padding: 1px 4px; border-radius: 3px; white-space: pre-wrap; }
    .traces { display: grid; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr)); gap: 12px; }
    .trace { border: 1px solid #e3e8ee; border-left: 4px solid #9aa5b1; border-radius: 6px; padding: 10px 12px; min-width: 0; }
    .trace.rewarded { border-left-color: #2a9d6f; } .trace.unrewarded { border-left-color: #c8443b; }
    .trace .meta { font-size: 12px; color: #52606d; margin-bottom: 6px; display: flex; flex-wrap: wrap; gap: 4px 12px; align-items: baseline; }
    .badge { display: inline-block; font-size: 11px; font-weight: 600; padding: 1px 7px; border-radius: 10px; color: #fff; }
    .badge.rewarded { background: #2a9d6f; } .badge.unrewarded { background: #c8443b; }
    pre.completion { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; font-size: 12px; line-height: 1.4;
      font-family: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, monospace;
      background: #f7f9fb; border-radius: 4px; padding: 8px 10px; max-height: 340px; overflow: auto; }
    footer { color: #8a96a3; font-size: 12px; text-align: center; margin-top: 8px; }
    @media print { body { background: #fff; } section, header.top { break-inside: avoid; border-color: #ccc; } }

    """
}
