// Runs a parsed Jinja template (JinjaSyntax.swift) the way Jinja2's ImmutableSandboxedEnvironment does for
// transformers' `apply_chat_template` (src/transformers/utils/chat_template_utils.py): the globals
// `raise_exception` and `strftime_now` (transformers'), `namespace`, `range`, `dict`; transformers' `tojson`
// (json.dumps with ensure_ascii=False); Jinja2's builtin filters and tests that chat templates use; the
// Python string and dict methods they call (`.strip()`, `.split()`, `.startswith()`, `.get()`, ...).
// Semantics follow the Jinja2 template designer documentation (jinja.palletsprojects.com/en/stable/templates/):
//   - a for-loop body is a new scope each iteration (a `set` inside it is gone after the iteration; an outer
//     value is changed only through a namespace()); `if` opens no scope;
//   - undefined names and missing members are Undefined: "" when printed, false, empty when iterated, an
//     error when used as an object (attribute, subscript, call, arithmetic);
//   - `a.b` on a dict is its method when dict has one of that name (`items`, `get`, ...) and else its key;
//   - list mutation (`append`, `update`, ...) is refused, as the immutable sandbox refuses it.

import Foundation

final class JinjaRuntime {
    /// Filters this interpreter implements (the parser refuses any other).
    static let filterNames: Set<String> = [
        "abs", "attr", "batch", "capitalize", "count", "d", "default", "dictsort", "e", "escape", "first", "float",
        "indent", "int", "items", "join", "last", "length", "list", "lower", "map", "max", "min", "reject",
        "rejectattr", "replace", "reverse", "round", "safe", "select", "selectattr", "sort", "string", "sum",
        "title", "tojson", "trim", "unique", "upper", "wordcount",
    ]

    /// Tests this interpreter implements.
    static let testNames: Set<String> = [
        "boolean", "callable", "defined", "divisibleby", "eq", "equalto", "==", "even", "false", "float", "ge",
        ">=", "greaterthan", "gt", ">", "in", "integer", "iterable", "le", "<=", "lessthan", "lower", "lt", "<",
        "mapping", "ne", "!=", "none", "number", "odd", "sameas", "sequence", "string", "true", "undefined",
        "upper",
    ]

    private enum Signal { case normal, breakLoop, continueLoop }

    private let globals: [String: JinjaValue]
    private var scopes: [[String: JinjaValue]] = [[:]]
    private var output = ""
    /// UTF-8 offsets of the output written inside `{% generation %}` blocks.
    private(set) var generationSpans: [Range<Int>] = []
    private var capturing = 0
    private let now: Date

    /// `variables`: the template context (messages, add_generation_prompt, special tokens, ...). `now`: what
    /// strftime_now() formats.
    init(variables: [String: JinjaValue], now: Date) {
        self.now = now
        var g = variables
        g["namespace"] = .function(JinjaFunction(name: "namespace") { args, kwargs in
            let ns = JinjaNamespace()
            if let first = args.first {
                guard case .dict(let d) = first else { throw JinjaError("namespace() takes a dict or keyword arguments") }
                for (k, v) in d.pairs { ns.set(k, v) }
            }
            for (k, v) in kwargs { ns.set(k, v) }
            return .namespace(ns)
        })
        g["dict"] = .function(JinjaFunction(name: "dict") { args, kwargs in
            var d = JinjaDict()
            if let first = args.first {
                guard case .dict(let base) = first else { throw JinjaError("dict() takes a dict or keyword arguments") }
                d = base
            }
            for (k, v) in kwargs { d[k] = v }
            return .dict(d)
        })
        g["range"] = .function(JinjaFunction(name: "range") { args, _ in
            let ints = try args.map { a -> Int in
                guard let v = a.integer else { throw JinjaError("range() takes integers, got \(a.typeName)") }
                return v
            }
            let (start, stop, step): (Int, Int, Int)
            switch ints.count {
            case 1: (start, stop, step) = (0, ints[0], 1)
            case 2: (start, stop, step) = (ints[0], ints[1], 1)
            case 3: (start, stop, step) = (ints[0], ints[1], ints[2])
            default: throw JinjaError("range() takes 1 to 3 arguments")
            }
            guard step != 0 else { throw JinjaError("range() arg 3 must not be zero") }
            let values = Array(stride(from: start, to: stop, by: step))
            guard values.count <= 100_000 else { throw JinjaError("range too big, the sandbox allows at most 100000 items") }
            return .list(values.map { .int($0) })
        })
        g["raise_exception"] = .function(JinjaFunction(name: "raise_exception") { args, _ in
            throw JinjaError("the template raised an exception: \(args.first?.str ?? "")")
        })
        g["strftime_now"] = .function(JinjaFunction(name: "strftime_now") { args, _ in
            guard let format = args.first?.stringValue else { throw JinjaError("strftime_now() takes a format string") }
            return .string(JinjaRuntime.strftime(format, now))
        })
        globals = g
    }

    /// Renders `template` and returns the text.
    func render(_ template: JinjaTemplate) throws -> String {
        output = ""
        generationSpans = []
        scopes = [[:]]
        _ = try execute(template.nodes)
        return output
    }

    // MARK: Statements

    private func execute(_ nodes: [JinjaNode]) throws -> Signal {
        for node in nodes {
            do {
                let signal = try execute(node)
                if signal != .normal { return signal }
            } catch var e as JinjaError {
                if e.line == nil { e.line = node.line }
                throw e
            }
        }
        return .normal
    }

    private func execute(_ node: JinjaNode) throws -> Signal {
        switch node.kind {
        case .text(let s):
            output += s
        case .output(let e):
            output += try eval(e).str
        case .ifChain(let branches, let otherwise):
            for (condition, body) in branches {
                if try eval(condition).truthy { return try execute(body) }
            }
            return try execute(otherwise)
        case .forLoop(let target, let iterable, let filter, let body, let otherwise):
            return try runFor(target, iterable, filter, body, otherwise)
        case .set(let target, let e):
            try assign(target, try eval(e))
        case .setBlock(let name, let body):
            let text = try capture { _ = try execute(body) }
            scopes[scopes.count - 1][name] = .string(text)
        case .macro(let macro):
            scopes[scopes.count - 1][macro.name] = .function(makeMacro(macro))
        case .breakLoop:
            return .breakLoop
        case .continueLoop:
            return .continueLoop
        case .generation(let body):
            let start = output.utf8.count
            let signal = try execute(body)
            if capturing == 0 { generationSpans.append(start..<output.utf8.count) }
            return signal
        }
        return .normal
    }

    private func capture(_ body: () throws -> Void) throws -> String {
        let saved = output
        output = ""
        capturing += 1
        defer { capturing -= 1 }
        do { try body() } catch { output = saved; throw error }
        let text = output
        output = saved
        return text
    }

    private func assign(_ target: JinjaTarget, _ value: JinjaValue) throws {
        switch target {
        case .name(let n):
            scopes[scopes.count - 1][n] = value
        case .names(let names):
            let items = try unpack(value, count: names.count)
            for (n, v) in zip(names, items) { scopes[scopes.count - 1][n] = v }
        case .attribute(let object, let attribute):
            guard case .namespace(let ns) = lookup(object) else {
                throw JinjaError("cannot assign attribute on non-namespace object '\(object)'")
            }
            ns.set(attribute, value)
        }
    }

    private func unpack(_ value: JinjaValue, count: Int) throws -> [JinjaValue] {
        let items = try iterate(value)
        guard items.count == count else {
            throw JinjaError(items.count > count ? "too many values to unpack (expected \(count))"
                                                 : "not enough values to unpack (expected \(count), got \(items.count))")
        }
        return items
    }

    private func runFor(_ target: JinjaTarget, _ iterable: JinjaExpr, _ filter: JinjaExpr?, _ body: [JinjaNode],
                        _ otherwise: [JinjaNode]) throws -> Signal {
        func bind(_ item: JinjaValue) throws -> [String: JinjaValue] {
            switch target {
            case .name(let n): return [n: item]
            case .names(let names): return Dictionary(uniqueKeysWithValues: zip(names, try unpack(item, count: names.count)))
            case .attribute: throw JinjaError("a for loop cannot assign to an attribute")
            }
        }
        var items = try iterate(try eval(iterable))
        if let filter {
            items = try items.filter { item in
                scopes.append(try bind(item))
                defer { scopes.removeLast() }
                return try eval(filter).truthy
            }
        }
        if items.isEmpty { return try execute(otherwise) }
        let length = items.count
        for (index, item) in items.enumerated() {
            var scope = try bind(item)
            var loop = JinjaDict()
            loop["index"] = .int(index + 1)
            loop["index0"] = .int(index)
            loop["revindex"] = .int(length - index)
            loop["revindex0"] = .int(length - index - 1)
            loop["first"] = .bool(index == 0)
            loop["last"] = .bool(index == length - 1)
            loop["length"] = .int(length)
            loop["depth"] = .int(1)
            loop["depth0"] = .int(0)
            loop["previtem"] = index > 0 ? items[index - 1] : .undefined("there is no previous item")
            loop["nextitem"] = index + 1 < length ? items[index + 1] : .undefined("there is no next item")
            loop["cycle"] = .function(JinjaFunction(name: "loop.cycle") { args, _ in
                guard !args.isEmpty else { throw JinjaError("no items for cycling given") }
                return args[index % args.count]
            })
            scope["loop"] = .dict(loop)
            scopes.append(scope)
            let signal = try execute(body)
            scopes.removeLast()
            if signal == .breakLoop { break }
        }
        return .normal
    }

    private func makeMacro(_ macro: JinjaMacro) -> JinjaFunction {
        JinjaFunction(name: macro.name) { [unowned self] args, kwargs in
            guard args.count <= macro.parameters.count else {
                throw JinjaError("macro '\(macro.name)' takes not more than \(macro.parameters.count) argument(s)")
            }
            var scope: [String: JinjaValue] = [:]
            for (i, (name, defaultValue)) in macro.parameters.enumerated() {
                if i < args.count {
                    scope[name] = args[i]
                } else if let kw = kwargs.first(where: { $0.0 == name }) {
                    scope[name] = kw.1
                } else if let defaultValue {
                    scope[name] = try self.eval(defaultValue)
                } else {
                    scope[name] = .undefined("parameter '\(name)' was not provided")
                }
            }
            for (k, _) in kwargs where !macro.parameters.contains(where: { $0.0 == k }) {
                throw JinjaError("macro '\(macro.name)' takes no keyword argument '\(k)'")
            }
            let saved = self.scopes
            self.scopes = [saved[0], scope]
            defer { self.scopes = saved }
            let text = try self.capture { _ = try self.execute(macro.body) }
            return .string(text)
        }
    }

    // MARK: Expressions

    private func lookup(_ name: String) -> JinjaValue {
        for scope in scopes.reversed() {
            if let v = scope[name] { return v }
        }
        return globals[name] ?? .undefined("'\(name)' is undefined")
    }

    func eval(_ e: JinjaExpr) throws -> JinjaValue {
        switch e {
        case .literal(let l):
            switch l {
            case .none: return .none
            case .bool(let b): return .bool(b)
            case .int(let i): return .int(i)
            case .double(let d): return .double(d)
            case .string(let s): return .string(s)
            }
        case .name(let n):
            return lookup(n)
        case .list(let items):
            return .list(try items.map(eval))
        case .tuple(let items):
            return .tuple(try items.map(eval))
        case .dict(let pairs):
            var d = JinjaDict()
            for (k, v) in pairs {
                guard case .string(let key) = try eval(k) else { throw JinjaError("only string keys are supported in dict literals") }
                d[key] = try eval(v)
            }
            return .dict(d)
        case .attribute(let base, let name):
            return try attribute(try eval(base), name)
        case .item(let base, let index):
            return try item(try eval(base), try eval(index))
        case .slice(let base, let start, let stop, let step):
            return try slice(try eval(base), try start.map(eval), try stop.map(eval), try step.map(eval))
        case .call(let callee, let args, let kwargs):
            let f = try eval(callee)
            let a = try args.map(eval)
            let k = try kwargs.map { ($0.0, try eval($0.1)) }
            switch f {
            case .function(let fn): return try fn.call(a, k)
            case .undefined(let why): throw JinjaError(why)
            default: throw JinjaError("'\(f.typeName)' object is not callable")
            }
        case .filter(let base, let name, let args, let kwargs):
            return try applyFilter(name, try eval(base), try args.map(eval), try kwargs.map { ($0.0, try eval($0.1)) })
        case .test(let base, let name, let args, let negated):
            let r = try applyTest(name, try eval(base), try args.map(eval))
            return .bool(negated ? !r : r)
        case .not(let x):
            return .bool(!(try eval(x).truthy))
        case .negate(let x):
            switch try defined(eval(x)) {
            case .int(let i): return .int(-i)
            case .bool(let b): return .int(b ? -1 : 0)
            case .double(let d): return .double(-d)
            case let v: throw JinjaError("bad operand type for unary -: '\(v.typeName)'")
            }
        case .plus(let x):
            let v = try defined(eval(x))
            guard v.number != nil else { throw JinjaError("bad operand type for unary +: '\(v.typeName)'") }
            return v
        case .binary(let op, let a, let b):
            return try binary(op, try eval(a), try eval(b))
        case .and(let a, let b):
            let x = try eval(a)
            return x.truthy ? try eval(b) : x
        case .or(let a, let b):
            let x = try eval(a)
            return x.truthy ? x : try eval(b)
        case .compare(let first, let ops):
            var left = try eval(first)
            for (op, rightExpr) in ops {
                let right = try eval(rightExpr)
                guard try compare(op, left, right) else { return .bool(false) }
                left = right
            }
            return .bool(true)
        case .conditional(let then, let condition, let otherwise):
            if try eval(condition).truthy { return try eval(then) }
            return try otherwise.map(eval) ?? .undefined("the conditional expression evaluated to false and has no else")
        }
    }

    /// Fails on undefined (its use as an operand).
    private func defined(_ v: JinjaValue) throws -> JinjaValue {
        if case .undefined(let why) = v { throw JinjaError(why) }
        return v
    }

    private func compare(_ op: String, _ a: JinjaValue, _ b: JinjaValue) throws -> Bool {
        switch op {
        case "==": return a.equals(b)
        case "!=": return !a.equals(b)
        case "in": return try contains(b, a)
        case "not in": return !(try contains(b, a))
        default:
            let x = try defined(a), y = try defined(b)
            let result: Bool?
            switch op {
            case "<": result = x.lessThan(y)
            case ">": result = y.lessThan(x)
            case "<=": result = y.lessThan(x).map { !$0 }
            case ">=": result = x.lessThan(y).map { !$0 }
            default: result = nil
            }
            guard let result else { throw JinjaError("'\(op)' not supported between instances of '\(x.typeName)' and '\(y.typeName)'") }
            return result
        }
    }

    /// Python `item in container`.
    private func contains(_ container: JinjaValue, _ item: JinjaValue) throws -> Bool {
        switch container {
        case .string(let s):
            guard case .string(let sub) = item else {
                throw JinjaError("'in <string>' requires string as left operand, not \(item.typeName)")
            }
            return JinjaStrings.find(Array(s.unicodeScalars), Array(sub.unicodeScalars), from: 0) != nil
        case .list(let a, _): return a.contains { $0.equals(item) }
        case .dict(let d):
            guard case .string(let k) = item else { return false }
            return d[k] != nil
        case .undefined: return false
        default: throw JinjaError("argument of type '\(container.typeName)' is not iterable")
        }
    }

    private func binary(_ op: String, _ a: JinjaValue, _ b: JinjaValue) throws -> JinjaValue {
        if op == "~" { return .string(a.str + b.str) }
        let x = try defined(a), y = try defined(b)
        func unsupported() -> JinjaError {
            JinjaError("unsupported operand type(s) for \(op): '\(x.typeName)' and '\(y.typeName)'")
        }
        switch (op, x, y) {
        case ("+", .string(let s), .string(let t)): return .string(s + t)
        case ("+", .list(let s, let tuple), .list(let t, _)): return .list(s + t, isTuple: tuple)
        case ("*", .string(let s), _) where y.integer != nil: return .string(String(repeating: s, count: max(0, y.integer!)))
        case ("*", .list(let s, let tuple), _) where y.integer != nil:
            return .list(Array(repeating: s, count: max(0, y.integer!)).flatMap { $0 }, isTuple: tuple)
        case ("%", .string, _): throw JinjaError("printf-style string formatting ('%') is not supported")
        default: break
        }
        if let i = x.integer, let j = y.integer, op != "/" {
            switch op {
            case "+": let (r, o) = i.addingReportingOverflow(j); if !o { return .int(r) }
            case "-": let (r, o) = i.subtractingReportingOverflow(j); if !o { return .int(r) }
            case "*": let (r, o) = i.multipliedReportingOverflow(by: j); if !o { return .int(r) }
            case "//":
                guard j != 0 else { throw JinjaError("integer division or modulo by zero") }
                let q = i / j
                return .int((i % j != 0 && (i < 0) != (j < 0)) ? q - 1 : q)
            case "%":
                guard j != 0 else { throw JinjaError("integer division or modulo by zero") }
                let r = i % j
                return .int(r != 0 && (r < 0) != (j < 0) ? r + j : r)
            case "**":
                if j >= 0 {
                    var r = 1
                    for _ in 0..<j {
                        let (m, o) = r.multipliedReportingOverflow(by: i)
                        if o { throw JinjaError("integer overflow") }
                        r = m
                    }
                    return .int(r)
                }
                return .double(pow(Double(i), Double(j)))
            default: throw unsupported()
            }
            throw JinjaError("integer overflow")
        }
        guard let p = x.number, let q = y.number else { throw unsupported() }
        switch op {
        case "+": return .double(p + q)
        case "-": return .double(p - q)
        case "*": return .double(p * q)
        case "/":
            guard q != 0 else { throw JinjaError("division by zero") }
            return .double(p / q)
        case "//":
            guard q != 0 else { throw JinjaError("float floor division by zero") }
            return .double((p / q).rounded(.down))
        case "%":
            guard q != 0 else { throw JinjaError("float modulo") }
            let r = p.truncatingRemainder(dividingBy: q)
            return .double(r != 0 && (r < 0) != (q < 0) ? r + q : r)
        case "**": return .double(pow(p, q))
        default: throw unsupported()
        }
    }

    // MARK: Members

    /// `value.name`.
    func attribute(_ value: JinjaValue, _ name: String) throws -> JinjaValue {
        switch value {
        case .undefined(let why): throw JinjaError(why)
        case .dict(let d):
            if let m = dictMethod(d, name) { return .function(m) }
            return d[name] ?? .undefined("'dict object' has no attribute '\(name)'")
        case .namespace(let ns):
            return ns.values[name] ?? .undefined("'Namespace object' has no attribute '\(name)'")
        case .string(let s):
            if let m = JinjaStrings.method(s, name) { return .function(m) }
            return .undefined("'str object' has no attribute '\(name)'")
        case .list(let a, _):
            if ["append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse"].contains(name) {
                return .function(JinjaFunction(name: name) { _, _ in
                    throw JinjaError("access to attribute '\(name)' of 'list' object is unsafe (the template may not change a list)")
                })
            }
            if name == "index" || name == "count" {
                return .function(JinjaFunction(name: name) { args, _ in
                    guard let x = args.first else { throw JinjaError("\(name)() takes one argument") }
                    if name == "count" { return .int(a.filter { $0.equals(x) }.count) }
                    guard let i = a.firstIndex(where: { $0.equals(x) }) else { throw JinjaError("\(x.repr) is not in list") }
                    return .int(i)
                })
            }
            return .undefined("'list object' has no attribute '\(name)'")
        default:
            return .undefined("'\(value.typeName) object' has no attribute '\(name)'")
        }
    }

    private func dictMethod(_ d: JinjaDict, _ name: String) -> JinjaFunction? {
        switch name {
        case "get":
            return JinjaFunction(name: "get") { args, _ in
                guard let key = args.first else { throw JinjaError("get() takes a key") }
                guard case .string(let k) = key, let v = d[k] else { return args.count > 1 ? args[1] : .none }
                return v
            }
        case "keys": return JinjaFunction(name: "keys") { _, _ in .list(d.keys.map { .string($0) }) }
        case "values": return JinjaFunction(name: "values") { _, _ in .list(d.values) }
        case "items": return JinjaFunction(name: "items") { _, _ in .list(d.pairs.map { .tuple([.string($0.0), $0.1]) }) }
        case "update", "pop", "popitem", "setdefault", "clear":
            return JinjaFunction(name: name) { _, _ in
                throw JinjaError("access to attribute '\(name)' of 'dict' object is unsafe (the template may not change a dict)")
            }
        default: return nil
        }
    }

    /// `value[index]`: Python indexing, with Jinja's fallback to attributes and Undefined for a missing item.
    func item(_ value: JinjaValue, _ index: JinjaValue) throws -> JinjaValue {
        switch value {
        case .undefined(let why): throw JinjaError(why)
        case .list(let a, _):
            guard let i = index.integer else { return .undefined("list indices must be integers") }
            let j = i < 0 ? a.count + i : i
            return a.indices.contains(j) ? a[j] : .undefined("list index out of range")
        case .string(let s):
            guard let i = index.integer else { return .undefined("string indices must be integers") }
            let scalars = Array(s.unicodeScalars)
            let j = i < 0 ? scalars.count + i : i
            return scalars.indices.contains(j) ? .string(String(Character(scalars[j]))) : .undefined("string index out of range")
        case .dict(let d):
            guard case .string(let k) = index else { return .undefined("no such key") }
            if let v = d[k] { return v }
            if let m = dictMethod(d, k) { return .function(m) }
            return .undefined("'dict object' has no attribute '\(k)'")
        case .namespace:
            guard case .string(let k) = index else { return .undefined("no such attribute") }
            return try attribute(value, k)
        default:
            return .undefined("'\(value.typeName)' object is not subscriptable")
        }
    }

    /// Python slicing `value[start:stop:step]` of a list or string.
    private func slice(_ value: JinjaValue, _ start: JinjaValue?, _ stop: JinjaValue?, _ step: JinjaValue?) throws -> JinjaValue {
        func int(_ v: JinjaValue?) throws -> Int? {
            guard let v, !v.isNone else { return nil }
            guard let i = v.integer else { throw JinjaError("slice indices must be integers or None") }
            return i
        }
        let step = try int(step) ?? 1
        guard step != 0 else { throw JinjaError("slice step cannot be zero") }
        let (a, b) = (try int(start), try int(stop))
        func indices(_ count: Int) -> [Int] {
            func adjust(_ i: Int?, _ def: Int, _ lo: Int, _ hi: Int) -> Int {
                guard var i else { return def }
                if i < 0 { i += count }
                return min(max(i, lo), hi)
            }
            if step > 0 {
                let s = adjust(a, 0, 0, count), e = adjust(b, count, 0, count)
                return s < e ? Array(stride(from: s, to: e, by: step)) : []
            }
            let s = adjust(a, count - 1, -1, count - 1), e = adjust(b, -1, -1, count - 1)
            return s > e ? Array(stride(from: s, to: e, by: step)) : []
        }
        switch value {
        case .undefined(let why): throw JinjaError(why)
        case .list(let items, let tuple): return .list(indices(items.count).map { items[$0] }, isTuple: tuple)
        case .string(let s):
            let scalars = Array(s.unicodeScalars)
            var out = ""
            out.unicodeScalars.append(contentsOf: indices(scalars.count).map { scalars[$0] })
            return .string(out)
        default:
            return .undefined("'\(value.typeName)' object is not subscriptable")
        }
    }

    /// The items a for loop (or list(), join, ...) goes over: list items, dict keys, string characters; none for
    /// undefined.
    func iterate(_ value: JinjaValue) throws -> [JinjaValue] {
        switch value {
        case .undefined: return []
        case .list(let a, _): return a
        case .dict(let d): return d.keys.map { .string($0) }
        case .string(let s): return s.unicodeScalars.map { .string(String(Character($0))) }
        default: throw JinjaError("'\(value.typeName)' object is not iterable")
        }
    }

    // MARK: Filters and tests

    private func argument(_ args: [JinjaValue], _ kwargs: [(String, JinjaValue)], _ position: Int, _ name: String) -> JinjaValue? {
        if position < args.count { return args[position] }
        return kwargs.first { $0.0 == name }?.1
    }

    private func applyFilter(_ name: String, _ value: JinjaValue, _ args: [JinjaValue], _ kwargs: [(String, JinjaValue)]) throws -> JinjaValue {
        func arg(_ position: Int, _ key: String) -> JinjaValue? { argument(args, kwargs, position, key) }
        switch name {
        case "trim":
            let chars = arg(0, "chars").flatMap(\.stringValue)
            return .string(JinjaStrings.strip(value.str, chars: chars, left: true, right: true))
        case "tojson":
            var indent: String? = nil
            if let i = arg(0, "indent"), !i.isNone {
                if let n = i.integer { indent = String(repeating: " ", count: max(0, n)) } else { indent = i.str }
            }
            var itemSep: String? = nil, keySep: String? = nil
            if let sep = kwargs.first(where: { $0.0 == "separators" })?.1, !sep.isNone {
                let parts = try iterate(sep)
                guard parts.count == 2 else { throw JinjaError("tojson separators must be a pair of strings") }
                (itemSep, keySep) = (parts[0].str, parts[1].str)
            }
            if let ascii = kwargs.first(where: { $0.0 == "ensure_ascii" })?.1, ascii.truthy {
                throw JinjaError("tojson(ensure_ascii=true) is not supported")
            }
            let sortKeys = kwargs.first(where: { $0.0 == "sort_keys" })?.1.truthy ?? false
            return .string(try value.json(indent: indent, itemSeparator: itemSep, keySeparator: keySep, sortKeys: sortKeys))
        case "length", "count":
            switch value {
            case .undefined: return .int(0)
            case .string(let s): return .int(s.unicodeScalars.count)
            case .list(let a, _): return .int(a.count)
            case .dict(let d): return .int(d.count)
            case .namespace(let ns): return .int(ns.keys.count)
            default: throw JinjaError("object of type '\(value.typeName)' has no len()")
            }
        case "upper": return .string(value.str.uppercased())
        case "lower": return .string(value.str.lowercased())
        case "capitalize": return .string(JinjaStrings.capitalize(value.str))
        case "title": return .string(JinjaStrings.title(value.str))
        case "default", "d":
            let fallback = arg(0, "default_value") ?? .string("")
            let boolean = arg(1, "boolean")?.truthy ?? false
            if value.isUndefined || (boolean && !value.truthy) { return fallback }
            return value
        case "first":
            return try iterate(value).first ?? .undefined("No first item, sequence was empty.")
        case "last":
            if case .undefined = value { return .undefined("No last item, sequence was empty.") }
            return try iterate(value).last ?? .undefined("No last item, sequence was empty.")
        case "join":
            let separator = arg(0, "d")?.str ?? ""
            var items = try iterate(value)
            if let attribute = arg(1, "attribute") { items = try items.map { try self.attributeOrItem($0, attribute) } }
            return .string(items.map(\.str).joined(separator: separator))
        case "replace":
            guard let old = arg(0, "old"), let new = arg(1, "new") else { throw JinjaError("replace() takes old and new strings") }
            let count = arg(2, "count").flatMap(\.integer)
            return .string(JinjaStrings.replace(value.str, old.str, new.str, count: count))
        case "items":
            switch value {
            case .undefined: return .list([])
            case .dict(let d): return .list(d.pairs.map { .tuple([.string($0.0), $0.1]) })
            default: throw JinjaError("Can only get item pairs from a mapping.")
            }
        case "dictsort":
            guard case .dict(let d) = value else { throw JinjaError("dictsort() takes a mapping") }
            let caseSensitive = arg(0, "case_sensitive")?.truthy ?? false
            let byValue = (arg(1, "by")?.str ?? "key") == "value"
            let reverse = arg(2, "reverse")?.truthy ?? false
            var pairs = d.pairs.map { JinjaValue.tuple([.string($0.0), $0.1]) }
            try sortValues(&pairs, caseSensitive: caseSensitive, reverse: reverse) { v in
                guard case .list(let t, _) = v else { return v }
                return byValue ? t[1] : t[0]
            }
            return .list(pairs)
        case "list": return .list(try iterate(value))
        case "string", "safe": return value.isUndefined && name == "safe" ? value : .string(value.str)
        case "escape", "e": return .string(JinjaStrings.htmlEscape(value.str))
        case "int":
            let fallback = arg(0, "default") ?? .int(0)
            switch value {
            case .int, .bool: return .int(value.integer!)
            case .double(let d): return d.isFinite ? .int(Int(d)) : fallback
            case .string(let s):
                let t = JinjaStrings.strip(s, chars: nil, left: true, right: true)
                if let i = Int(t.replacingOccurrences(of: "_", with: "")) { return .int(i) }
                if let d = Double(t), d.isFinite { return .int(Int(d)) }
                return fallback
            default: return fallback
            }
        case "float":
            let fallback = arg(0, "default") ?? .double(0)
            if let n = value.number { return .double(n) }
            if case .string(let s) = value, let d = Double(JinjaStrings.strip(s, chars: nil, left: true, right: true)) { return .double(d) }
            return fallback
        case "abs":
            switch try defined(value) {
            case .int(let i): return .int(abs(i))
            case .bool(let b): return .int(b ? 1 : 0)
            case .double(let d): return .double(abs(d))
            default: throw JinjaError("bad operand type for abs(): '\(value.typeName)'")
            }
        case "round":
            guard let x = value.number else { throw JinjaError("round() takes a number") }
            let precision = arg(0, "precision")?.integer ?? 0
            let method = arg(1, "method")?.str ?? "common"
            let f = pow(10.0, Double(precision))
            let rule: FloatingPointRoundingRule = method == "ceil" ? .up : method == "floor" ? .down : .toNearestOrAwayFromZero
            return .double((x * f).rounded(rule) / f)
        case "reverse":
            switch value {
            case .string(let s): return .string(String(String.UnicodeScalarView(s.unicodeScalars.reversed())))
            default: return .list(try iterate(value).reversed())
            }
        case "sort":
            var items = try iterate(value)
            let reverse = arg(0, "reverse")?.truthy ?? false
            let caseSensitive = arg(1, "case_sensitive")?.truthy ?? false
            let attribute = arg(2, "attribute")
            try sortValues(&items, caseSensitive: caseSensitive, reverse: reverse) { v in
                try attribute.map { try self.attributeOrItem(v, $0) } ?? v
            }
            return .list(items)
        case "unique":
            let caseSensitive = arg(0, "case_sensitive")?.truthy ?? false
            var seen: [JinjaValue] = [], out: [JinjaValue] = []
            for v in try iterate(value) {
                let key = caseSensitive ? v : (v.stringValue.map { .string($0.lowercased()) } ?? v)
                if !seen.contains(where: { $0.equals(key) }) { seen.append(key); out.append(v) }
            }
            return .list(out)
        case "sum":
            var total: JinjaValue = arg(1, "start") ?? .int(0)
            for v in try iterate(value) {
                total = try binary("+", total, try arg(0, "attribute").map { try self.attributeOrItem(v, $0) } ?? v)
            }
            return total
        case "min", "max":
            let items = try iterate(value)
            guard var best = items.first else { return .undefined("No \(name) item, sequence was empty.") }
            for v in items.dropFirst() {
                guard let less = v.lessThan(best) else { throw JinjaError("cannot compare \(v.typeName) and \(best.typeName)") }
                if (name == "min") == less && !v.equals(best) { best = v }
            }
            return best
        case "map":
            let items = try iterate(value)
            if let attribute = kwargs.first(where: { $0.0 == "attribute" })?.1 {
                let fallback = kwargs.first { $0.0 == "default" }?.1
                return .list(try items.map { v in
                    let r = try self.attributeOrItem(v, attribute)
                    return r.isUndefined ? (fallback ?? r) : r
                })
            }
            guard let filter = args.first?.stringValue else { throw JinjaError("map() takes a filter name or attribute=") }
            guard JinjaRuntime.filterNames.contains(filter) else { throw JinjaError("unsupported filter '\(filter)'") }
            return .list(try items.map { try self.applyFilter(filter, $0, Array(args.dropFirst()), []) })
        case "select", "reject":
            let keep = name == "select"
            return .list(try iterate(value).filter { v in
                guard let test = args.first?.stringValue else { return v.truthy == keep }
                return try self.applyTestNamed(test, v, Array(args.dropFirst())) == keep
            })
        case "selectattr", "rejectattr":
            let keep = name == "selectattr"
            guard let attribute = args.first else { throw JinjaError("\(name)() takes an attribute name") }
            return .list(try iterate(value).filter { v in
                let a = try self.attributeOrItem(v, attribute)
                guard args.count > 1, let test = args[1].stringValue else { return a.truthy == keep }
                return try self.applyTestNamed(test, a, Array(args.dropFirst(2))) == keep
            })
        case "attr":
            guard let attribute = args.first?.stringValue else { throw JinjaError("attr() takes a name") }
            return try self.attribute(value, attribute)
        case "indent":
            let width = arg(0, "width") ?? .int(4)
            let indentation = width.integer.map { String(repeating: " ", count: max(0, $0)) } ?? width.str
            let first = arg(1, "first")?.truthy ?? false
            let blank = arg(2, "blank")?.truthy ?? false
            let lines = JinjaStrings.splitLines(value.str + "\n")
            var rv: String
            if blank {
                rv = lines.joined(separator: "\n" + indentation)
            } else {
                rv = lines.first ?? ""
                let rest = lines.dropFirst()
                if !rest.isEmpty { rv += "\n" + rest.map { $0.isEmpty ? $0 : indentation + $0 }.joined(separator: "\n") }
            }
            return .string(first ? indentation + rv : rv)
        case "wordcount":
            return .int(JinjaStrings.split(value.str, separator: nil, maxSplit: -1).count)
        case "batch":
            guard let size = arg(0, "linecount")?.integer, size > 0 else { throw JinjaError("batch() takes a positive size") }
            let items = try iterate(value)
            let fill = arg(1, "fill_with")
            return .list(stride(from: 0, to: items.count, by: size).map { start in
                var chunk = Array(items[start..<min(start + size, items.count)])
                if let fill { while chunk.count < size { chunk.append(fill) } }
                return .list(chunk)
            })
        default:
            throw JinjaError("unsupported filter '\(name)'")
        }
    }

    /// Jinja's attribute lookup for filters that take `attribute=` (dotted paths, integer indexes).
    private func attributeOrItem(_ value: JinjaValue, _ attribute: JinjaValue) throws -> JinjaValue {
        if case .int(let i) = attribute { return try item(value, .int(i)) }
        var v = value
        for part in attribute.str.split(separator: ".", omittingEmptySubsequences: false) {
            if let i = Int(part) { v = try item(v, .int(i)) } else { v = try item(v, .string(String(part))) }
            if v.isUndefined { return v }
        }
        return v
    }

    private func sortValues(_ items: inout [JinjaValue], caseSensitive: Bool, reverse: Bool,
                            key: (JinjaValue) throws -> JinjaValue) throws {
        let keyed = try items.map { v -> (JinjaValue, JinjaValue) in
            let k = try key(v)
            return (caseSensitive ? k : (k.stringValue.map { .string($0.lowercased()) } ?? k), v)
        }
        var failure: JinjaError? = nil
        let sorted = keyed.enumerated().sorted { x, y in
            // Stable: ties keep their order.
            guard let less = reverse ? y.element.0.lessThan(x.element.0) : x.element.0.lessThan(y.element.0) else {
                failure = JinjaError("cannot sort \(x.element.0.typeName) and \(y.element.0.typeName)")
                return false
            }
            if less { return true }
            let greater = reverse ? x.element.0.lessThan(y.element.0) : y.element.0.lessThan(x.element.0)
            return greater == false && x.offset < y.offset
        }
        if let failure { throw failure }
        items = sorted.map { $0.element.1 }
    }

    private func applyTestNamed(_ name: String, _ value: JinjaValue, _ args: [JinjaValue]) throws -> Bool {
        guard JinjaRuntime.testNames.contains(name) else { throw JinjaError("unsupported test '\(name)'") }
        return try applyTest(name, value, args)
    }

    private func applyTest(_ name: String, _ value: JinjaValue, _ args: [JinjaValue]) throws -> Bool {
        func other() throws -> JinjaValue {
            guard let a = args.first else { throw JinjaError("test '\(name)' takes an argument") }
            return a
        }
        switch name {
        case "defined": return !value.isUndefined
        case "undefined": return value.isUndefined
        case "none": return value.isNone
        case "boolean": if case .bool = value { return true }; return false
        case "true": if case .bool(true) = value { return true }; return false
        case "false": if case .bool(false) = value { return true }; return false
        case "integer": if case .int = value { return true }; return false
        case "float": if case .double = value { return true }; return false
        case "number": return value.number != nil
        case "string": if case .string = value { return true }; return false
        case "mapping": if case .dict = value { return true }; return false
        case "callable": if case .function = value { return true }; return false
        case "iterable":
            switch value {
            case .undefined, .list, .dict, .string: return true
            default: return false
            }
        case "sequence":
            switch value {
            case .undefined, .list, .dict, .string: return true
            default: return false
            }
        case "odd", "even":
            guard let i = value.integer else { throw JinjaError("test '\(name)' takes an integer") }
            return (i % 2 != 0) == (name == "odd")
        case "divisibleby":
            guard let i = value.integer, let j = try other().integer, j != 0 else { throw JinjaError("divisibleby takes integers") }
            return i % j == 0
        case "lower": return value.str == value.str.lowercased()
        case "upper": return value.str == value.str.uppercased()
        case "eq", "equalto", "==": return value.equals(try other())
        case "ne", "!=": return !value.equals(try other())
        case "sameas":
            let o = try other()
            switch (value, o) {
            case (.none, .none): return true
            case (.bool(let a), .bool(let b)): return a == b
            case (.namespace(let a), .namespace(let b)): return a === b
            default: return false
            }
        case "in": return try contains(try other(), value)
        case "lt", "<", "lessthan": return try compare("<", value, try other())
        case "le", "<=": return try compare("<=", value, try other())
        case "gt", ">", "greaterthan": return try compare(">", value, try other())
        case "ge", ">=": return try compare(">=", value, try other())
        default: throw JinjaError("unsupported test '\(name)'")
        }
    }

    // MARK: strftime

    /// C-locale strftime for the directives chat templates use (%d %m %Y %y %b %B %a %A %H %I %M %S %p %j %e %%).
    static func strftime(_ format: String, _ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone.current
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
        let months = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
                      "October", "November", "December"]
        let days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
        let year = c.year ?? 1970, month = c.month ?? 1, day = c.day ?? 1
        let hour = c.hour ?? 0, minute = c.minute ?? 0, second = c.second ?? 0, weekday = (c.weekday ?? 1) - 1
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        var out = ""
        var chars = Array(format.unicodeScalars)[...]
        while let ch = chars.popFirst() {
            guard ch == "%", let d = chars.popFirst() else { out.unicodeScalars.append(ch); continue }
            switch d {
            case "d": out += two(day)
            case "e": out += day < 10 ? " \(day)" : "\(day)"
            case "m": out += two(month)
            case "Y": out += String(year)
            case "y": out += two(year % 100)
            case "b": out += String(months[month - 1].prefix(3))
            case "B": out += months[month - 1]
            case "a": out += String(days[weekday].prefix(3))
            case "A": out += days[weekday]
            case "H": out += two(hour)
            case "I": out += two(hour % 12 == 0 ? 12 : hour % 12)
            case "M": out += two(minute)
            case "S": out += two(second)
            case "p": out += hour < 12 ? "AM" : "PM"
            case "j":
                let ordinal = calendar.ordinality(of: .day, in: .year, for: date) ?? 1
                out += ordinal < 10 ? "00\(ordinal)" : ordinal < 100 ? "0\(ordinal)" : "\(ordinal)"
            case "%": out += "%"
            default: out += "%"; out.unicodeScalars.append(d)
            }
        }
        return out
    }
}
