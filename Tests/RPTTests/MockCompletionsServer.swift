// A tiny HTTP/1.1 server on 127.0.0.1 for the tests of the OpenAI-compatible completions client (the OpenAI
// Completions API, POST /v1/completions and GET /v1/models): each connection is read (request line, headers,
// Content-Length body), answered by a handler with a status, a body and an optional delay, and closed. It
// records every request and the most requests it had in flight at once.

import Foundation
import Testing
@testable import RPT
#if canImport(Glibc)
import Glibc
#endif

final class MockCompletionsServer: @unchecked Sendable {
    struct Request {
        var method: String
        var path: String
        var body: JSON?
    }

    struct Response {
        var status = 200
        var body = ""
        var delay = 0.0
        var headers: [String: String] = [:]

        static func json(_ v: JSON, status: Int = 200) -> Response { Response(status: status, body: v.serialized()) }
    }

    typealias Handler = @Sendable (Request) -> Response

    let port: Int
    private let fd: Int32
    private let handler: Handler
    private let lock = NSLock()
    private var _requests: [Request] = []
    private var inFlight = 0
    private var _maxInFlight = 0
    private var stopped = false

    var url: String { "http://127.0.0.1:\(port)" }
    var requests: [Request] { lock.lock(); defer { lock.unlock() }; return _requests }
    var maxInFlight: Int { lock.lock(); defer { lock.unlock() }; return _maxInFlight }
    /// The bodies of the POST /v1/completions requests, in arrival order.
    var completionBodies: [JSON] { requests.filter { $0.path == "/v1/completions" }.compactMap(\.body) }

    init(handler: @escaping Handler) throws {
        self.handler = handler
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RPTError("socket() failed") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else { close(fd); throw RPTError("bind/listen failed") }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: addr.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    deinit { stop() }

    func stop() {
        lock.lock()
        let was = stopped
        stopped = true
        lock.unlock()
        if !was { shutdown(fd, Int32(SHUT_RDWR)); close(fd) }
    }

    /// A port on which nothing listens (bound, then closed).
    static func closedPort() -> Int {
        guard let s = try? MockCompletionsServer(handler: { _ in Response() }) else { return 9 }
        let p = s.port
        s.stop()
        return p
    }

    private func acceptLoop() {
        while true {
            let client = accept(fd, nil, nil)
            if client < 0 {
                lock.lock(); let done = stopped; lock.unlock()
                if done { return }
                continue
            }
            let t = Thread { [self] in serve(client) }
            t.start()
        }
    }

    private func serve(_ client: Int32) {
        defer { close(client) }
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        var headerEnd: Int? = nil
        var contentLength = 0
        while true {
            let n = recv(client, &buffer, buffer.count, 0)
            if n <= 0 { return }
            data += buffer[0..<n]
            if headerEnd == nil, let r = find(data, Array("\r\n\r\n".utf8)) {
                headerEnd = r + 4
                let head = String(decoding: data[0..<r], as: UTF8.self)
                for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
                    contentLength = Int(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) ?? 0
                }
            }
            if let h = headerEnd, data.count >= h + contentLength { break }
        }
        let head = String(decoding: data[0..<headerEnd!], as: UTF8.self)
        let first = head.split(separator: "\r\n").first.map(String.init) ?? ""
        let parts = first.split(separator: " ")
        let body = Data(data[headerEnd!..<(headerEnd! + contentLength)])
        let request = Request(method: parts.count > 0 ? String(parts[0]) : "", path: parts.count > 1 ? String(parts[1]) : "",
                              body: body.isEmpty ? nil : try? JSON.parse(body, file: "request"))
        lock.lock()
        _requests.append(request)
        inFlight += 1
        _maxInFlight = max(_maxInFlight, inFlight)
        lock.unlock()
        let response = handler(request)
        if response.delay > 0 { Thread.sleep(forTimeInterval: response.delay) }
        lock.lock(); inFlight -= 1; lock.unlock()
        let payload = Array(response.body.utf8)
        var text = "HTTP/1.1 \(response.status) X\r\nContent-Type: application/json\r\nContent-Length: \(payload.count)\r\nConnection: close\r\n"
        for (k, v) in response.headers { text += "\(k): \(v)\r\n" }
        let bytes = Array((text + "\r\n").utf8) + payload
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            sent += n
        }
    }

    private func find(_ hay: [UInt8], _ needle: [UInt8]) -> Int? {
        guard hay.count >= needle.count else { return nil }
        for i in 0...(hay.count - needle.count) where hay[i] == needle[0] && Array(hay[i..<(i + needle.count)]) == needle { return i }
        return nil
    }
}

/// An OpenAI-compatible server backed by an rpt model, in two flavours: `.vllm` (token-id prompts, `n`,
/// `prompt_logprobs` keyed by id, `return_token_ids`) and `.llamaCpp` (text prompts only, `n` ignored, echo
/// logprobs keyed by token text with character text_offsets and a BOS it does not echo, as llama-cpp-python).
final class ModelBackedServer: @unchecked Sendable {
    enum Flavour { case vllm, llamaCpp }
    let lm: LanguageModel
    let flavour: Flavour
    let name: String
    let lock = NSLock()
    /// Tokens whose boundary the llama.cpp flavour moves (one token merged into the next), to test refusals.
    var mergeAfterText: String?
    /// llama.cpp flavour: whether text_offset counts the dummy-prefix space in front of the text (llama-cpp-python
    /// 0.3.36 does: ' upon' of "Once upon" is at 5), or characters of the text itself.
    var offsetsCountDummySpace = true

    init(lm: LanguageModel, flavour: Flavour, name: String = "served") {
        self.lm = lm
        self.flavour = flavour
        self.name = name
    }

    func handle(_ r: MockCompletionsServer.Request) -> MockCompletionsServer.Response {
        if r.path == "/v1/models" {
            return .json(.object(["object": .string("list"), "data": .array([.object(["id": .string(name), "object": .string("model")])])]))
        }
        guard r.path == "/v1/completions", let b = r.body else { return .init(status: 404, body: "{\"detail\":\"Not Found\"}") }
        guard b["model"]?.string == name else { return .init(status: 404, body: "{\"error\":\"model not found\"}") }
        var ids: [Int]
        let tok = lm.tokenizer
        if let text = b["prompt"]?.string {
            ids = (tok.bosTokenId.map { [$0] } ?? []) + tok.encode(text)
        } else if let list = b["prompt"]?.array {
            guard flavour == .vllm else { return .init(status: 500, body: "{\"error\":{\"message\":\"1 validation error: Input should be a valid string\"}}") }
            ids = list.compactMap(\.int)
        } else { return .init(status: 400, body: "{\"error\":\"no prompt\"}") }
        lock.lock(); defer { lock.unlock() }
        do {
            if let k = b["prompt_logprobs"]?.int, flavour == .vllm { return .json(try promptLogprobs(ids, k: k)) }
            if b["echo"]?.bool == true, let k = b["logprobs"]?.int, let text = b["prompt"]?.string { return .json(try echo(text, ids: ids, k: k)) }
            return .json(try generate(ids, body: b))
        } catch {
            return .init(status: 500, body: "{\"error\":\"\(error)\"}")
        }
    }

    func logSoftmax(_ row: ArraySlice<Float>) -> [Float] {
        let m = row.max()!
        let lse = m + Float(Foundation.log(row.reduce(0.0) { $0 + Foundation.exp(Double($1 - m)) }))
        return row.map { $0 - lse }
    }

    func top(_ lp: [Float], k: Int) -> [(Int, Float)] {
        Array(lp.enumerated().sorted { $0.element > $1.element || ($0.element == $1.element && $0.offset < $1.offset) }.prefix(k)).map { ($0.offset, $0.element) }
    }

    func promptLogprobs(_ ids: [Int], k: Int) throws -> JSON {
        let logits = try allLogits(lm.model, ids)
        let v = lm.model.config.vocabSize
        var list: [JSON] = [.null]
        for i in 1..<ids.count {
            let lp = logSoftmax(logits[((i - 1) * v)..<(i * v)])
            var d: [String: JSON] = [:]
            for (rank, (id, x)) in top(lp, k: k).enumerated() { d[String(id)] = .object(["logprob": .number(Double(x)), "rank": .number(Double(rank + 1))]) }
            if d[String(ids[i])] == nil {
                let rank = lp.filter { $0 > lp[ids[i]] }.count + 1
                d[String(ids[i])] = .object(["logprob": .number(Double(lp[ids[i]])), "rank": .number(Double(rank))])
            }
            list.append(.object(d))
        }
        return .object(["choices": .array([.object(["index": .number(0), "text": .string(""), "prompt_logprobs": .array(list),
                                                     "finish_reason": .string("length")])]),
                        "usage": .object(["prompt_tokens": .number(Double(ids.count)), "completion_tokens": .number(1)])])
    }

    /// llama-cpp-python's echo: entries for every token after BOS (+ the generated one), first entry's lists null.
    func echo(_ text: String, ids: [Int], k: Int) throws -> JSON {
        let tok = lm.tokenizer
        let logits = try allLogits(lm.model, ids)
        let v = lm.model.config.vocabSize
        precondition(tok.bosTokenId != nil, "the llama.cpp flavour emulates a model with BOS")
        let real = Array(ids.dropFirst())
        let lastRow = logSoftmax(logits[((ids.count - 1) * v)..<(ids.count * v)])
        let generated = top(lastRow, k: 1)[0].0
        let all = real + [generated]
        // Character offsets of each token in the text (the dummy-prefix space is not in the text).
        var bytes: [UInt8] = []
        var starts: [Int] = []
        for id in all { starts.append(bytes.count); bytes += tok.tokenBytes(id) }
        let drop = bytes.first == 0x20 && text.utf8.first != 0x20 && !offsetsCountDummySpace ? 1 : 0
        func chars(_ byteCount: Int) -> Int { String(decoding: bytes[drop..<max(drop, byteCount)], as: UTF8.self).unicodeScalars.count }
        var offsets = starts.map { chars($0) }
        if let merge = mergeAfterText, let r = text.range(of: merge) {
            // Pretend the server's tokenizer glued the token after `merge` to the one before it.
            let at = text[..<r.upperBound].unicodeScalars.count + (offsetsCountDummySpace ? 1 : 0)
            if let j = offsets.firstIndex(where: { $0 == at }), j > 0 { offsets[j] = offsets[j - 1] + 1 }
        }
        var tokens: [JSON] = [], tokenLogprobs: [JSON] = [], tops: [JSON] = []
        for (idx, id) in all.enumerated() {
            // With BOS, logits row idx follows BOS + real[..<idx]: the distribution of token idx.
            tokens.append(.string(String(decoding: tok.tokenBytes(id), as: UTF8.self)))
            guard idx > 0 else { tokenLogprobs.append(.null); tops.append(.null); continue }
            let lp = logSoftmax(logits[(idx * v)..<((idx + 1) * v)])
            var d: [String: JSON] = [:]
            for (cand, x) in top(lp, k: k) { d[String(decoding: tok.tokenBytes(cand), as: UTF8.self)] = .number(Double(x)) }
            d[String(decoding: tok.tokenBytes(id), as: UTF8.self)] = .number(Double(lp[id]))
            tokenLogprobs.append(.number(Double(lp[id])))
            tops.append(.object(d))
        }
        let logprobs: JSON = .object(["tokens": .array(tokens), "text_offset": .array(offsets.map { .number(Double($0)) }),
                                      "token_logprobs": .array(tokenLogprobs), "top_logprobs": .array(tops)])
        return .object(["choices": .array([.object(["index": .number(0), "text": .string(text + String(decoding: tok.tokenBytes(generated), as: UTF8.self)),
                                                     "logprobs": logprobs, "finish_reason": .string("length")])]),
                        "usage": .object(["prompt_tokens": .number(Double(ids.count)), "completion_tokens": .number(1)])])
    }

    func generate(_ ids: [Int], body b: JSON) throws -> JSON {
        let n = flavour == .vllm ? (b["n"]?.int ?? 1) : 1
        let temperature = Float(b["temperature"]?.double ?? 1)
        let sampling = temperature == 0 ? SamplingParameters.greedy : SamplingParameters(temperature: temperature, topP: Float(b["top_p"]?.double ?? 1))
        let stops = lm.stopTokens.union(ReasoningFormat.stopTokens(tokenizer: lm.tokenizer, config: lm.model.config))
        let seqs = try Generator(model: lm.model).generate(prompts: [ids], samplesPerPrompt: n,
            options: GenerationOptions(maxTokens: b["max_tokens"]?.int ?? 16, sampling: sampling, seed: UInt64(b["seed"]?.int ?? 0), stopTokens: stops))
        let choices: [JSON] = seqs.enumerated().map { i, s in
            var c: [String: JSON] = ["index": .number(Double(i)), "finish_reason": .string(s.finishReason == .length ? "length" : "stop")]
            let visible = s.finishReason == .stopToken ? Array(s.tokens.dropLast()) : s.tokens
            c["text"] = .string(lm.tokenizer.decode(visible))
            if flavour == .vllm && b["return_token_ids"]?.bool == true { c["token_ids"] = .array(s.tokens.map { .number(Double($0)) }) }
            return .object(c)
        }
        return .object(["choices": .array(choices),
                        "usage": .object(["prompt_tokens": .number(Double(ids.count)), "completion_tokens": .number(Double(seqs.map(\.tokens.count).reduce(0, +)))])])
    }
}
