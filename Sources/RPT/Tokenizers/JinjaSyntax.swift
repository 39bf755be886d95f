// The syntax tree of a parsed Jinja template (JinjaParser.swift builds it, JinjaRuntime.swift runs it): the
// statements and expressions of the Jinja2 template designer documentation
// (jinja.palletsprojects.com/en/stable/templates/) that Hugging Face chat templates use, plus the
// `{% generation %}` tag transformers adds for assistant masks (src/transformers/utils/chat_template_utils.py).

/// A literal written in the template.
enum JinjaLiteral: Sendable, Equatable {
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
}

indirect enum JinjaExpr: Sendable {
    case literal(JinjaLiteral)
    case name(String)
    case list([JinjaExpr])
    case tuple([JinjaExpr])
    case dict([(JinjaExpr, JinjaExpr)])
    /// `a.b` (and `a.0`, as a subscript by the integer).
    case attribute(JinjaExpr, String)
    /// `a[b]`.
    case item(JinjaExpr, JinjaExpr)
    /// `a[start:stop:step]`.
    case slice(JinjaExpr, JinjaExpr?, JinjaExpr?, JinjaExpr?)
    case call(JinjaExpr, [JinjaExpr], [(String, JinjaExpr)])
    /// `a | name(args)`.
    case filter(JinjaExpr, String, [JinjaExpr], [(String, JinjaExpr)])
    /// `a is [not] name(args)`.
    case test(JinjaExpr, String, [JinjaExpr], negated: Bool)
    case not(JinjaExpr)
    case negate(JinjaExpr)
    case plus(JinjaExpr)
    /// Arithmetic (+ - * / // % **) and `~` concatenation.
    case binary(String, JinjaExpr, JinjaExpr)
    case and(JinjaExpr, JinjaExpr)
    case or(JinjaExpr, JinjaExpr)
    /// A chain `a < b <= c`, each operator one of == != < <= > >= in "not in".
    case compare(JinjaExpr, [(String, JinjaExpr)])
    /// `a if cond else b` (no else: undefined when false).
    case conditional(then: JinjaExpr, condition: JinjaExpr, otherwise: JinjaExpr?)
}

/// Where `{% set %}` and `{% for %}` put values.
enum JinjaTarget: Sendable {
    case name(String)
    case names([String])
    /// `ns.attr` of a namespace().
    case attribute(String, String)
}

struct JinjaMacro: Sendable {
    var name: String
    var parameters: [(String, JinjaExpr?)]
    var body: [JinjaNode]
}

struct JinjaNode: Sendable {
    indirect enum Kind: Sendable {
        case text(String)
        case output(JinjaExpr)
        case ifChain([(JinjaExpr, [JinjaNode])], otherwise: [JinjaNode])
        case forLoop(JinjaTarget, JinjaExpr, filter: JinjaExpr?, body: [JinjaNode], otherwise: [JinjaNode])
        case set(JinjaTarget, JinjaExpr)
        /// `{% set x %}...{% endset %}`: the rendered body as a string.
        case setBlock(String, [JinjaNode])
        case macro(JinjaMacro)
        case breakLoop
        case continueLoop
        /// transformers' `{% generation %}...{% endgeneration %}`: output of an assistant turn, tracked for the
        /// assistant-token mask.
        case generation([JinjaNode])
    }

    var kind: Kind
    var line: Int
}

/// A parsed template.
struct JinjaTemplate: Sendable {
    var nodes: [JinjaNode]

    /// Parses `source` (errors are JinjaErrors with the line).
    init(_ source: String) throws {
        let tokens = try JinjaLexer().tokenize(source)
        var parser = JinjaParser(tokens: tokens)
        nodes = try parser.parseTemplate()
    }
}
