// The Jinja chat-template interpreter against transformers' apply_chat_template renderings of real Hugging Face
// templates (Tests/Fixtures/chat_templates/renderings.json, scripts/make_chat_template_fixtures.py), unit tests
// of the constructs, and the errors for what it does not support.

import Foundation
import Testing
@testable import RPT

private struct RenderingsFixture: Decodable {
    struct Template: Decodable {
        var config: String
        var special_tokens: [String: String]
    }
    struct Case: Decodable {
        var template: String
        var conversation: String
        var messages: [ChatMessage]
        var add_generation_prompt: Bool
        var kwargs: [String: Bool]
        var expected: String?
        var error: String?
    }
    var date: String
    var templates: [String: Template]
    var cases: [Case]
}

private enum JinjaFixtures {
    static func renderings() throws -> RenderingsFixture {
        let data = try Data(contentsOf: URL(fileURLWithPath: Repo.path("Tests/Fixtures/chat_templates/renderings.json")))
        return try JSONDecoder().decode(RenderingsFixture.self, from: data)
    }

    /// The fixture's frozen clock (local midday of its date, as Python's datetime.now() was patched).
    static func date(_ text: String) throws -> Date {
        let parts = text.split(separator: "-").compactMap { Int($0) }
        var c = DateComponents()
        (c.year, c.month, c.day, c.hour) = (parts[0], parts[1], parts[2], 12)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone.current
        return try #require(calendar.date(from: c))
    }
}

/// Renders `source` with `variables` (values as JSON text) the way a chat template is rendered.
private func render(_ source: String, _ variables: [String: JinjaValue] = [:]) throws -> String {
    let template = try JinjaTemplate(source)
    return try JinjaRuntime(variables: variables, now: Date(timeIntervalSince1970: 0)).render(template)
}

@Suite struct JinjaChatTemplateTests {
    @Test func renderingsAreByteIdenticalToTransformers() throws {
        let fx = try JinjaFixtures.renderings()
        let now = try JinjaFixtures.date(fx.date)
        var templates: [String: JinjaChatTemplate] = [:]
        for (name, t) in fx.templates {
            var template = try #require(try JinjaChatTemplate.load(tokenizerConfig: Repo.path(t.config)))
            template.now = now
            // The special tokens reach the template as transformers passes them.
            #expect(template.specialTokens == t.special_tokens, "\(name)")
            templates[name] = template
        }
        #expect(templates.count == 6 && fx.cases.count >= 200)
        var passed: [String: Int] = [:], total: [String: Int] = [:]
        for c in fx.cases {
            let template = try #require(templates[c.template])
            total[c.template, default: 0] += 1
            let label = "\(c.template) / \(c.conversation) / generation prompt \(c.add_generation_prompt) \(c.kwargs)"
            do {
                let got = try template.render(messages: c.messages, addGenerationPrompt: c.add_generation_prompt, variables: c.kwargs)
                guard let expected = c.expected else { Issue.record("\(label): expected an error"); continue }
                #expect(Exact(got) == Exact(expected), "\(label)")
                if Exact(got) == Exact(expected) { passed[c.template, default: 0] += 1 }
            } catch {
                if c.error != nil { passed[c.template, default: 0] += 1 } else { Issue.record("\(label): \(error)") }
            }
        }
        print("chat templates: " + total.keys.sorted().map { "\($0) \(passed[$0] ?? 0)/\(total[$0]!)" }.joined(separator: ", "))
        // Generation prompt on and off are both covered for every template.
        for name in fx.templates.keys {
            #expect(Set(fx.cases.filter { $0.template == name }.map(\.add_generation_prompt)) == [false, true])
        }
    }

    @Test func autoChatRendersTheModelsTemplate() throws {
        let qwen = try ChatTemplate.named("auto", tokenizerPath: Repo.path("Assets/qwen2-tokenizer"))
        guard case .jinja(let t) = qwen else { Issue.record("expected the Jinja template, got \(qwen)"); return }
        #expect(t.file.hasSuffix("Assets/qwen2-tokenizer/tokenizer_config.json"))
        // Qwen3's template moves the reasoning of the latest assistant turn into a <think> block: the written
        // chatml form does not.
        let messages: [ChatMessage] = [.user("Q"), .assistant("<think>r</think>A")]
        #expect(try qwen.apply(messages: messages, addGenerationPrompt: false)
                == "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n<think>\nr\n</think>\n\nA<|im_end|>\n")
        #expect(try ChatTemplate.chatML.apply(messages: messages, addGenerationPrompt: false)
                == "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n<think>r</think>A<|im_end|>\n")
        #expect(!qwen.opensThinkBlock)
        let r1 = try ChatTemplate.named("auto", tokenizerPath: Repo.path("Tests/Fixtures/chat_templates/deepseek-r1-distill/tokenizer_config.json"))
        #expect(r1.opensThinkBlock && ChatTemplate.deepSeekR1.opensThinkBlock)
        #expect(try r1.apply(messages: [.user("Hi")], addGenerationPrompt: true) == "<｜begin▁of▁sentence｜><｜User｜>Hi<｜Assistant｜><think>\n")
        // Explicit choices keep their written forms; no config means raw.
        #expect(try ChatTemplate.named("chatml", tokenizerPath: Repo.path("Assets/qwen2-tokenizer")) == .chatML)
        #expect(try ChatTemplate.named("deepseek-r1", tokenizerPath: "/nonexistent") == .deepSeekR1)
        #expect(try ChatTemplate.named("auto", tokenizerPath: Repo.path("Assets/stories260K")) == .raw)
        _ = expectRPTError(naming: "--chat") { _ = try ChatTemplate.named("llama", tokenizerPath: ".") }
    }

    @Test func unsupportedTemplatesAreErrorsNamingTheFile() throws {
        for (source, problem) in [
            ("{% include 'other.jinja' %}", "unsupported tag"),
            ("{{ messages | frobnicate }}", "unsupported filter 'frobnicate'"),
            ("{% if messages is prime %}x{% endif %}", "unsupported test 'prime'"),
            ("{% for m in messages %}{{ m.content }}", "endfor"),
            ("{{ 'unterminated }}", "unterminated string"),
        ] {
            let json = #"{"chat_template": \#(JinjaValue.jsonString(source)), "eos_token": "</s>"}"#
            let path = try writeTemporary(Array(json.utf8), name: "tokenizer_config.json")
            let e = expectRPTError(naming: path) { _ = try ChatTemplate.detect(tokenizerConfig: path) }
            #expect(e?.message.contains(problem) == true, "\(source): \(e?.message ?? "no error")")
            #expect(e?.message.contains("--chat chatml, deepseek-r1 or raw") == true)
        }
        // A list of named templates without "default" cannot be chosen from.
        let list = try writeTemporary(Array(#"{"chat_template": [{"name": "tool_use", "template": "x"}]}"#.utf8), name: "tokenizer_config.json")
        _ = expectRPTError(naming: list) { _ = try ChatTemplate.detect(tokenizerConfig: list) }
        // The "default" one of a list is used.
        let named = try writeTemporary(Array(#"{"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D{{ messages[0].content }}"}]}"#.utf8),
                                       name: "tokenizer_config.json")
        #expect(try ChatTemplate.detect(tokenizerConfig: named).apply(messages: [.user("u")], addGenerationPrompt: false) == "Du")
    }

    @Test func raiseExceptionIsAnErrorOrAWarningNamingTheFallback() throws {
        let source = "{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
        let t = ChatTemplate.jinja(try JinjaChatTemplate(source: source, file: "model/tokenizer_config.json"))
        let e = expectRPTError(naming: "model/tokenizer_config.json") {
            _ = try t.apply(messages: [.system("S"), .user("U")], addGenerationPrompt: true)
        }
        #expect(e?.message.contains("System role not supported") == true)
        #expect(try t.apply(messages: [.user("U")], addGenerationPrompt: false) == "<|im_start|>user\nU<|im_end|>\n")
        // The non-throwing form prints a warning naming the fallback (the written chatml form here) and uses it.
        #expect(t.render(messages: [.system("S"), .user("U")], addGenerationPrompt: true)
                == ChatTemplate.chatML.render(messages: [.system("S"), .user("U")], addGenerationPrompt: true))
    }

    @Test func whitespaceControlAsTransformersConfiguresJinja() throws {
        // trim_blocks: the newline after a block tag goes; lstrip_blocks: indentation before a block tag goes.
        #expect(try render("  {% if true %}\n  x\n  {% endif %}\n  {{ 'y' }}  \n{# c #}\nz") == "  x\n  y  \nz")
        #expect(try render("a\n{#- c -#}\n  b {#+ c +#}\n c") == "ab \n c")
        #expect(try render("{%+ if true %}x{% endif +%}\ny") == "x\ny")
        #expect(try render("a  {{- 'b' -}}  \n c") == "abc")
        #expect(try render("{% raw %}{{ not rendered }}{% endraw %}") == "{{ not rendered }}")
        // One final newline of the template is dropped; \r\n becomes \n.
        #expect(try render("x\r\ny\n") == "x\ny")
    }

    @Test func expressionsFollowPython() throws {
        #expect(try render("{{ none }}|{{ true }}|{{ [1,'a',none] }}|{{ {'a':1} }}|{{ 1.0 }}|{{ 1/2 }}|{{ 7//2 }}|{{ -7//2 }}|{{ -7 % 3 }}")
                == "None|True|[1, 'a', None]|{'a': 1}|1.0|0.5|3|-4|2")
        #expect(try render("{{ ('a','b') }}{{ (1,) }}{{ 'a' ~ u ~ 1 }}") == "('a', 'b')(1,)a1")
        #expect(try render("{{ 'abc'[::-1] }}{{ [1,2,3][1:] }}{{ 'abc'[-1] }}{{ [1][5] }}{{ 'héllo'[1:3] }}") == "cba[2, 3]cél")
        #expect(try render("{{ not 1 == 2 }}{{ 1 < 2 < 3 }}{{ 'b' in 'abc' }}{{ 'z' not in ['a'] }}{{ 3 if false }}|{{ 'x' if true else 'y' }}")
                == "TrueTrueTrueTrue|x")
        #expect(try render("{{ 1 + true }}|{{ 2 ** 10 }}|{{ 2.5|int }}|{{ '3'|int + 1 }}|{{ 'ab' * 2 }}") == "2|1024|2|4|abab")
        #expect(try render("{{ n.x }}", ["n": .none]) == "")
        #expect(try render("{{ x.strip() }}|{{ x.split() }}|{{ x.split(' ') }}|{{ x.lstrip() }}|{{ 'a-b-c'.split('-', 1) }}",
                           ["x": .string("  a  b ")]) == "a  b|['a', 'b']|['', '', 'a', '', 'b', '']|a  b |['a', 'b-c']")
        #expect(try render("{{ c.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') }}|{{ c.split('</think>')[-1].lstrip('\\n') }}",
                           ["c": .string("<think>\nr\n</think>\n\nA")]) == "r|A")
        #expect(try render("{{ s.startswith('<a') }}{{ s.endswith(('x', '>')) }}{{ s.upper() }}{{ s.replace('a', 'b') }}", ["s": .string("<a>")])
                == "TrueTrue<A><b>")
        // Unicode: code points, not grapheme clusters; no normalization.
        #expect(try render("{{ s|length }}{{ s == 'é' }}", ["s": .string("e\u{301}")]) == "2False")
    }

    @Test func statementsScopesAndLoops() throws {
        // A for body is a new scope each iteration; namespace() carries values out.
        #expect(try render("{% set x = 0 %}{% for i in [1,2,3] %}{{ x }}{% set x = x + i %}{{ x }}|{% endfor %}{{ x }}") == "01|02|03|0")
        #expect(try render("{% set ns = namespace(n=0) %}{% for i in [1,2,3] %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}") == "6")
        #expect(try render("{% for a in [] %}x{% else %}empty{% endfor %}") == "empty")
        #expect(try render("{% for x in 'abcd' if x != 'b' %}{{ loop.index0 }}{{ x }}{{ loop.length }}{% if loop.first %}F{% endif %}{% if loop.last %}L{% endif %},{% endfor %}")
                == "0a3F,1c3,2d3L,")
        #expect(try render("{% for x in [1,2,3,4] %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 4 %}{% break %}{% endif %}{{ x }}{% endfor %}") == "13")
        #expect(try render("{% for k, v in {'a': 1, 'b': 2}|items %}{{ k }}={{ v }};{% endfor %}{% for k in {'z': 1, 'y': 2} %}{{ k }}{% endfor %}") == "a=1;b=2;zy")
        #expect(try render("{% set m = messages[1:] %}{{ m|length }}{% if m[0]['role'] == 'user' %}U{% elif m %}M{% else %}E{% endif %}",
                           ["messages": .list([ChatMessage.system("s").templateValue, ChatMessage.user("u").templateValue])]) == "1U")
        #expect(try render("{% set a, b = [1, 2] %}{{ b }}{{ a }}{% set t %}[{{ a }}]{% endset %}{{ t }}") == "21[1]")
        #expect(try render("{% macro f(a, b='B') %}[{{ a }}{{ b }}]{% endmacro %}{{ f(1) }}{{ f(1, b=2) }}") == "[1B][12]")
        #expect(try render("{% for i in range(3) %}{{ loop.revindex }}{% endfor %}{{ range(1, 7, 2)|list }}") == "321[1, 3, 5]")
        // {% generation %} output is tracked (transformers' assistant mask).
        let template = try JinjaTemplate("a{% generation %}bc{% endgeneration %}d")
        let runtime = JinjaRuntime(variables: [:], now: Date())
        #expect(try runtime.render(template) == "abcd" && runtime.generationSpans == [1..<3])
    }

    @Test func testsFiltersAndJSON() throws {
        let message = JinjaValue.dict(JinjaDict([("role", .string("tool")), ("content", .string("{\"a\": 1}"))]))
        #expect(try render("{{ u is defined }}{{ m.tool_calls is defined }}{{ m is mapping }}{{ m.content is string }}{{ m.content is iterable }}{{ none is none }}{{ 'tool_calls' in m }}{{ m.x is not none }}",
                           ["m": message]) == "FalseFalseTrueTrueTrueTrueFalseTrue")
        #expect(try render("{{ 3 is odd }}{{ 4 is divisibleby 2 }}{{ 'a' is lower }}{{ 1 is number }}{{ 1 is integer }}{{ 1.5 is float }}{{ [] is sequence }}")
                == "TrueTrueTrueTrueTrueTrueTrue")
        #expect(try render("{{ '  x  '|trim }}|{{ 'Hi'|upper }}{{ 'Hi'|lower }}|{{ u|default('d') }}|{{ ''|default('d', true) }}|{{ [3,1,2]|first }}{{ [3,1,2]|last }}|{{ ['a','b']|join(', ') }}|{{ 'aXa'|replace('a', 'b') }}|{{ 'hello wORLD-foo'|title }}|{{ 'hello wORLD'|capitalize }}")
                == "x|HIhi|d|d|32|a, b|bXb|Hello World-Foo|Hello world")
        #expect(try render("{{ ['code_interpreter', 'brave_search', 'wolfram']|reject('equalto', 'code_interpreter')|join(', ') }}") == "brave_search, wolfram")
        #expect(try render("{{ [3,1,2]|sort|list }}{{ [1,2,2,1]|unique|list }}{{ [1,2,3]|sum }}{{ [{'n': 'a'}, {'n': 'b'}]|map(attribute='n')|join }}{{ [1,2,3]|select('odd')|list }}")
                == "[1, 2, 3][1, 2]6ab[1, 3]")
        // transformers' tojson: json.dumps with ensure_ascii=False.
        let tool = JinjaValue.dict(JinjaDict([("name", .string("get_weather")), ("parameters", .dict(JinjaDict([("city", .string("Zürich \"ZH\"\n"))]))), ("n", .list([.int(1), .double(2.5), .bool(true), .none]))]))
        #expect(try render("{{ t|tojson }}", ["t": tool]) == #"{"name": "get_weather", "parameters": {"city": "Zürich \"ZH\"\n"}, "n": [1, 2.5, true, null]}"#)
        #expect(try render("{{ t|tojson(indent=2) }}", ["t": .dict(JinjaDict([("a", .list([.int(1), .dict(JinjaDict())]))]))]) == "{\n  \"a\": [\n    1,\n    {}\n  ]\n}")
        #expect(try render("{{ 'x'|tojson }}{{ 'x'|string }}") == "\"x\"x")
        #expect(try render("{{ strftime_now('%d %b %Y') }}").count == 11)
    }

    @Test func runtimeErrorsNameTheLine() throws {
        for (source, problem) in [
            ("\n\n{{ u.x }}", "line 3: 'u' is undefined"),
            ("{{ raise_exception('no tools') }}", "no tools"),
            ("{{ 'a' + 1 }}", "unsupported operand type(s) for +: 'str' and 'int'"),
            ("{{ [1].append(2) }}", "unsafe"),
            ("{{ 1 < 'a' }}", "'<' not supported"),
            ("{% set x.y = 1 %}", "non-namespace"),
            ("{{ u|tojson }}", "not JSON serializable"),
        ] {
            do {
                _ = try render(source)
                Issue.record("\(source): no error")
            } catch let e as JinjaError {
                #expect("\(e)".contains(problem), "\(source): \(e)")
            }
        }
    }
}
