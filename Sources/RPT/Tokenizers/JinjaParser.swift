// Parses JinjaLexer tokens into the syntax tree of JinjaSyntax.swift, with Jinja2's grammar and operator
// precedence (jinja2/parser.py; the Jinja2 template designer documentation,
// jinja.palletsprojects.com/en/stable/templates/), lowest first:
//   a if b else c  <  or  <  and  <  not  <  comparisons (== != < <= > >= in, not in)  <  + -  <  ~
//   <  * / // %  <  **  <  unary - +  <  filters `|` and tests `is`  <  .attr [subscript] (call)
// Statements: if/elif/else, for (with `if` filter, else, loop.*), set (name, tuple, ns.attr, block form),
// macro, break/continue (the loopcontrols extension transformers enables), generation (transformers'
// assistant-mask tag), comments and raw. Anything else (include, extends, import, block, call, filter, with)
// and every unknown filter or test is a parse error, as Jinja2 itself reports unknown filters when compiling:
// a template this subset cannot run is refused when it is loaded, not half-rendered.

struct JinjaParser {
    private var tokens: [JinjaToken]
    private var i = 0

    init(tokens: [JinjaToken]) { self.tokens = tokens }

    private var current: JinjaToken { tokens[i] }
    private var line: Int { current.line }

    private mutating func advance() -> JinjaToken {
        let t = tokens[i]
        if i < tokens.count - 1 { i += 1 }
        return t
    }

    private func isName(_ name: String) -> Bool { current.kind == .name(name) }
    private func isOp(_ op: String) -> Bool { current.kind == .op(op) }

    private mutating func skipName(_ name: String) -> Bool {
        guard isName(name) else { return false }
        _ = advance()
        return true
    }

    private mutating func skipOp(_ op: String) -> Bool {
        guard isOp(op) else { return false }
        _ = advance()
        return true
    }

    private mutating func expectOp(_ op: String) throws {
        guard skipOp(op) else { throw JinjaError("expected '\(op)', got \(describe(current))", line: line) }
    }

    private mutating func expectName() throws -> String {
        guard case .name(let n) = current.kind else { throw JinjaError("expected a name, got \(describe(current))", line: line) }
        _ = advance()
        return n
    }

    private mutating func expectStatementEnd() throws {
        guard current.kind == .statementEnd else { throw JinjaError("expected '%}', got \(describe(current))", line: line) }
        _ = advance()
    }

    private func describe(_ t: JinjaToken) -> String {
        switch t.kind {
        case .text: return "text"
        case .outputStart: return "'{{'"
        case .outputEnd: return "'}}'"
        case .statementStart: return "'{%'"
        case .statementEnd: return "'%}'"
        case .name(let n): return "'\(n)'"
        case .string(let s): return "string \(JinjaValue.pythonRepr(s))"
        case .integer(let v): return "\(v)"
        case .float(let v): return "\(v)"
        case .op(let o): return "'\(o)'"
        case .end: return "the end of the template"
        }
    }

    // MARK: Statements

    mutating func parseTemplate() throws -> [JinjaNode] {
        let (body, end) = try parseBody(until: [])
        if let end { throw JinjaError("unexpected '{% \(end) %}'", line: line) }
        return body
    }

    /// Nodes up to one of the `until` tags (returned, its name consumed but not the rest of its tag) or the end.
    private mutating func parseBody(until: Set<String>) throws -> ([JinjaNode], String?) {
        var nodes: [JinjaNode] = []
        while true {
            let t = current
            switch t.kind {
            case .end:
                if !until.isEmpty {
                    throw JinjaError("unexpected end of template; expected " + until.sorted().map { "'{% \($0) %}'" }.joined(separator: " or "), line: t.line)
                }
                return (nodes, nil)
            case .text(let s):
                _ = advance()
                nodes.append(JinjaNode(kind: .text(s), line: t.line))
            case .outputStart:
                _ = advance()
                let e = try parseTuple()
                guard current.kind == .outputEnd else { throw JinjaError("expected '}}', got \(describe(current))", line: line) }
                _ = advance()
                nodes.append(JinjaNode(kind: .output(e), line: t.line))
            case .statementStart:
                _ = advance()
                let tag = try expectName()
                if until.contains(tag) { return (nodes, tag) }
                nodes.append(try parseStatement(tag, line: t.line))
            default:
                throw JinjaError("unexpected \(describe(t))", line: t.line)
            }
        }
    }

    private mutating func parseStatement(_ tag: String, line: Int) throws -> JinjaNode {
        switch tag {
        case "if":
            var branches: [(JinjaExpr, [JinjaNode])] = []
            var condition = try parseTuple(withCondexpr: false)
            var otherwise: [JinjaNode] = []
            while true {
                try expectStatementEnd()
                let (body, end) = try parseBody(until: ["elif", "else", "endif"])
                branches.append((condition, body))
                if end == "elif" { condition = try parseTuple(withCondexpr: false); continue }
                if end == "else" {
                    try expectStatementEnd()
                    (otherwise, _) = try parseBody(until: ["endif"])
                }
                try expectStatementEnd()
                break
            }
            return JinjaNode(kind: .ifChain(branches, otherwise: otherwise), line: line)
        case "for":
            let target = try parseAssignTarget(allowAttribute: false)
            guard skipName("in") else { throw JinjaError("expected 'in' in a for loop, got \(describe(current))", line: self.line) }
            let iterable = try parseTuple(withCondexpr: false)
            var filter: JinjaExpr? = nil
            if skipName("if") { filter = try parseExpression() }
            if isName("recursive") { throw JinjaError("recursive for loops are not supported", line: self.line) }
            try expectStatementEnd()
            let (body, end) = try parseBody(until: ["endfor", "else"])
            var otherwise: [JinjaNode] = []
            if end == "else" {
                try expectStatementEnd()
                (otherwise, _) = try parseBody(until: ["endfor"])
            }
            try expectStatementEnd()
            return JinjaNode(kind: .forLoop(target, iterable, filter: filter, body: body, otherwise: otherwise), line: line)
        case "set":
            let target = try parseAssignTarget(allowAttribute: true)
            if skipOp("=") {
                let value = try parseTuple()
                try expectStatementEnd()
                return JinjaNode(kind: .set(target, value), line: line)
            }
            guard case .name(let name) = target else { throw JinjaError("a block set needs a single name", line: line) }
            try expectStatementEnd()
            let (body, _) = try parseBody(until: ["endset"])
            try expectStatementEnd()
            return JinjaNode(kind: .setBlock(name, body), line: line)
        case "macro":
            let name = try expectName()
            try expectOp("(")
            var parameters: [(String, JinjaExpr?)] = []
            while !isOp(")") {
                if !parameters.isEmpty { try expectOp(",") }
                if isOp(")") { break }
                let p = try expectName()
                parameters.append((p, skipOp("=") ? try parseExpression() : nil))
            }
            try expectOp(")")
            try expectStatementEnd()
            let (body, _) = try parseBody(until: ["endmacro"])
            if case .name = current.kind { _ = advance() } // {% endmacro name %}
            try expectStatementEnd()
            return JinjaNode(kind: .macro(JinjaMacro(name: name, parameters: parameters, body: body)), line: line)
        case "break", "continue":
            try expectStatementEnd()
            return JinjaNode(kind: tag == "break" ? .breakLoop : .continueLoop, line: line)
        case "generation":
            try expectStatementEnd()
            let (body, _) = try parseBody(until: ["endgeneration"])
            try expectStatementEnd()
            return JinjaNode(kind: .generation(body), line: line)
        case "elif", "else", "endif", "endfor", "endset", "endmacro", "endgeneration":
            throw JinjaError("unexpected '{% \(tag) %}'", line: line)
        default:
            throw JinjaError("unsupported tag '{% \(tag) %}'", line: line)
        }
    }

    /// `x`, `a, b`, `(a, b)` or (for set) `ns.attr`.
    private mutating func parseAssignTarget(allowAttribute: Bool) throws -> JinjaTarget {
        if skipOp("(") {
            var names: [String] = []
            while !isOp(")") {
                if !names.isEmpty { try expectOp(",") }
                if isOp(")") { break }
                names.append(try expectName())
            }
            try expectOp(")")
            return .names(names)
        }
        let first = try expectName()
        if allowAttribute, skipOp(".") { return .attribute(first, try expectName()) }
        guard isOp(",") else { return .name(first) }
        var names = [first]
        while skipOp(",") {
            guard case .name(let n) = current.kind else { break }
            _ = advance()
            names.append(n)
        }
        return .names(names)
    }

    // MARK: Expressions

    /// An expression, or a tuple `a, b` without parentheses.
    private mutating func parseTuple(withCondexpr: Bool = true) throws -> JinjaExpr {
        let first = withCondexpr ? try parseExpression() : try parseOr()
        guard isOp(",") else { return first }
        var items = [first]
        while skipOp(",") {
            if current.kind == .outputEnd || current.kind == .statementEnd || isOp(")") { break }
            items.append(withCondexpr ? try parseExpression() : try parseOr())
        }
        return .tuple(items)
    }

    mutating func parseExpression() throws -> JinjaExpr {
        var e = try parseOr()
        while skipName("if") {
            let condition = try parseOr()
            let otherwise: JinjaExpr? = skipName("else") ? try parseExpression() : nil
            e = .conditional(then: e, condition: condition, otherwise: otherwise)
        }
        return e
    }

    private mutating func parseOr() throws -> JinjaExpr {
        var e = try parseAnd()
        while skipName("or") { e = .or(e, try parseAnd()) }
        return e
    }

    private mutating func parseAnd() throws -> JinjaExpr {
        var e = try parseNot()
        while skipName("and") { e = .and(e, try parseNot()) }
        return e
    }

    private mutating func parseNot() throws -> JinjaExpr {
        if skipName("not") { return .not(try parseNot()) }
        return try parseCompare()
    }

    private mutating func parseCompare() throws -> JinjaExpr {
        let first = try parseMath1()
        var ops: [(String, JinjaExpr)] = []
        while true {
            if case .op(let o) = current.kind, ["==", "!=", "<", "<=", ">", ">="].contains(o) {
                _ = advance()
                ops.append((o, try parseMath1()))
            } else if skipName("in") {
                ops.append(("in", try parseMath1()))
            } else if isName("not"), i + 1 < tokens.count, tokens[i + 1].kind == .name("in") {
                _ = advance(); _ = advance()
                ops.append(("not in", try parseMath1()))
            } else {
                break
            }
        }
        return ops.isEmpty ? first : .compare(first, ops)
    }

    private mutating func parseMath1() throws -> JinjaExpr {
        var e = try parseConcat()
        while case .op(let o) = current.kind, o == "+" || o == "-" {
            _ = advance()
            e = .binary(o, e, try parseConcat())
        }
        return e
    }

    private mutating func parseConcat() throws -> JinjaExpr {
        var e = try parseMath2()
        while skipOp("~") { e = .binary("~", e, try parseMath2()) }
        return e
    }

    private mutating func parseMath2() throws -> JinjaExpr {
        var e = try parsePow()
        while case .op(let o) = current.kind, ["*", "/", "//", "%"].contains(o) {
            _ = advance()
            e = .binary(o, e, try parsePow())
        }
        return e
    }

    private mutating func parsePow() throws -> JinjaExpr {
        var e = try parseUnary()
        while skipOp("**") { e = .binary("**", e, try parseUnary()) }
        return e
    }

    private mutating func parseUnary(withFilter: Bool = true) throws -> JinjaExpr {
        var e: JinjaExpr
        if skipOp("-") {
            e = .negate(try parseUnary(withFilter: false))
        } else if skipOp("+") {
            e = .plus(try parseUnary(withFilter: false))
        } else {
            e = try parsePrimary()
        }
        e = try parsePostfix(e)
        if withFilter { e = try parseFilterExpr(e) }
        return e
    }

    private mutating func parsePrimary() throws -> JinjaExpr {
        let t = advance()
        switch t.kind {
        case .name(let n):
            switch n {
            case "true", "True": return .literal(.bool(true))
            case "false", "False": return .literal(.bool(false))
            case "none", "None": return .literal(.none)
            default: return .name(n)
            }
        case .string(var s):
            // Adjacent string literals concatenate.
            while case .string(let more) = current.kind { s += more; _ = advance() }
            return .literal(.string(s))
        case .integer(let v): return .literal(.int(v))
        case .float(let v): return .literal(.double(v))
        case .op("("):
            if skipOp(")") { return .tuple([]) }
            let first = try parseExpression()
            if skipOp(")") { return first }
            var items = [first]
            while skipOp(",") {
                if isOp(")") { break }
                items.append(try parseExpression())
            }
            try expectOp(")")
            return .tuple(items)
        case .op("["):
            var items: [JinjaExpr] = []
            while !isOp("]") {
                if !items.isEmpty { try expectOp(",") }
                if isOp("]") { break }
                items.append(try parseExpression())
            }
            try expectOp("]")
            return .list(items)
        case .op("{"):
            var pairs: [(JinjaExpr, JinjaExpr)] = []
            while !isOp("}") {
                if !pairs.isEmpty { try expectOp(",") }
                if isOp("}") { break }
                let k = try parseExpression()
                try expectOp(":")
                pairs.append((k, try parseExpression()))
            }
            try expectOp("}")
            return .dict(pairs)
        default:
            throw JinjaError("unexpected \(describe(t))", line: t.line)
        }
    }

    private mutating func parsePostfix(_ base: JinjaExpr) throws -> JinjaExpr {
        var e = base
        while true {
            if skipOp(".") {
                let t = advance()
                switch t.kind {
                case .name(let n): e = .attribute(e, n)
                case .integer(let v): e = .item(e, .literal(.int(v)))
                default: throw JinjaError("expected an attribute name after '.', got \(describe(t))", line: t.line)
                }
            } else if skipOp("[") {
                e = try parseSubscript(e)
            } else if isOp("(") {
                e = try parseCall(e)
            } else {
                return e
            }
        }
    }

    private mutating func parseSubscript(_ base: JinjaExpr) throws -> JinjaExpr {
        var parts: [JinjaExpr?] = []
        if isOp(":") {
            parts.append(nil)
        } else {
            let index = try parseExpression()
            if skipOp("]") { return .item(base, index) }
            parts.append(index)
        }
        try expectOp(":")
        parts.append(isOp(":") || isOp("]") ? nil : try parseExpression())
        if skipOp(":") {
            parts.append(isOp("]") ? nil : try parseExpression())
        } else {
            parts.append(nil)
        }
        try expectOp("]")
        return .slice(base, parts[0], parts[1], parts[2])
    }

    private mutating func parseCallArguments() throws -> ([JinjaExpr], [(String, JinjaExpr)]) {
        try expectOp("(")
        var args: [JinjaExpr] = []
        var kwargs: [(String, JinjaExpr)] = []
        while !isOp(")") {
            if !args.isEmpty || !kwargs.isEmpty { try expectOp(",") }
            if isOp(")") { break }
            if isOp("*") || isOp("**") { throw JinjaError("*args and **kwargs in calls are not supported", line: line) }
            if case .name(let n) = current.kind, i + 1 < tokens.count, tokens[i + 1].kind == .op("=") {
                _ = advance(); _ = advance()
                kwargs.append((n, try parseExpression()))
            } else {
                guard kwargs.isEmpty else { throw JinjaError("a positional argument follows a keyword argument", line: line) }
                args.append(try parseExpression())
            }
        }
        try expectOp(")")
        return (args, kwargs)
    }

    private mutating func parseCall(_ callee: JinjaExpr) throws -> JinjaExpr {
        let (args, kwargs) = try parseCallArguments()
        return .call(callee, args, kwargs)
    }

    private mutating func parseDottedName() throws -> String {
        var name = try expectName()
        while skipOp(".") { name += "." + (try expectName()) }
        return name
    }

    private mutating func parseFilterExpr(_ base: JinjaExpr) throws -> JinjaExpr {
        var e = base
        while true {
            if skipOp("|") {
                let fline = line
                let name = try parseDottedName()
                guard JinjaRuntime.filterNames.contains(name) else {
                    throw JinjaError("unsupported filter '\(name)'", line: fline)
                }
                var args: [JinjaExpr] = [], kwargs: [(String, JinjaExpr)] = []
                if isOp("(") { (args, kwargs) = try parseCallArguments() }
                e = .filter(e, name, args, kwargs)
            } else if skipName("is") {
                let tline = line
                let negated = skipName("not")
                let name = try parseDottedName()
                guard JinjaRuntime.testNames.contains(name) else {
                    throw JinjaError("unsupported test '\(name)'", line: tline)
                }
                var args: [JinjaExpr] = []
                if isOp("(") {
                    let (a, k) = try parseCallArguments()
                    guard k.isEmpty else { throw JinjaError("keyword arguments to a test are not supported", line: tline) }
                    args = a
                } else if startsPrimary(), !isName("else"), !isName("or"), !isName("and") {
                    if isName("is") { throw JinjaError("you cannot chain multiple tests with is", line: line) }
                    args = [try parsePostfix(try parsePrimary())]
                }
                e = .test(e, name, args, negated: negated)
            } else if isOp("(") {
                e = try parseCall(e)
            } else {
                return e
            }
        }
    }

    /// Whether the current token can start a test's bare argument (`x is divisibleby 3`).
    private func startsPrimary() -> Bool {
        switch current.kind {
        case .name, .string, .integer, .float: return true
        case .op(let o): return o == "(" || o == "[" || o == "{"
        default: return false
        }
    }
}
