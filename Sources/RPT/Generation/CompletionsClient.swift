// A client of the OpenAI Completions API as vLLM, SGLang and llama.cpp servers serve it
// (POST /v1/completions, GET /v1/models; https://platform.openai.com/docs/api-reference/completions):
// JSON in, JSON out, over FoundationNetworking's URLSession. Every request has a timeout; connection
// errors, timeouts, HTTP 5xx, 408 and 429 are retried a bounded number of times with exponential backoff
// (and the server's Retry-After, capped); other HTTP errors are not retried. Errors name the server URL,
// the endpoint and the problem (HTTP status and an excerpt of the body, malformed JSON, a missing field).
// `map` runs many requests at once, at most `concurrency` in flight. docs/servers.md.

import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Where and how to reach an OpenAI-compatible server.
public struct ServerOptions: Codable, Sendable, Equatable {
    /// Base URL: `http://host:port`, with or without a trailing `/v1`.
    public var url: String
    /// The served model's name (the request's `model` field; one of `/v1/models`).
    public var model: String
    /// Requests in flight at once.
    public var concurrency = 8
    /// Seconds one HTTP request may take.
    public var timeout: Double = 600
    /// Further attempts after a retryable failure.
    public var retries = 3

    public init(url: String, model: String, concurrency: Int = 8, timeout: Double = 600, retries: Int = 3) {
        self.url = url
        self.model = model
        self.concurrency = concurrency
        self.timeout = timeout
        self.retries = retries
    }

    public func validate() throws {
        guard !model.isEmpty else { throw RPTError("the served model name is empty (--served-model)", file: url) }
        guard concurrency >= 1 else { throw RPTError("concurrency must be ≥ 1, got \(concurrency)", file: "--server-concurrency") }
        guard timeout.isFinite, timeout > 0 else { throw RPTError("must be a positive number of seconds, got \(timeout)", file: "--server-timeout") }
        guard retries >= 0, retries <= 100 else { throw RPTError("must be between 0 and 100, got \(retries)", file: "--server-retries") }
        _ = try ServerOptions.baseURL(url)
    }

    /// The server root (the URL less a trailing `/` and `/v1`); an error for anything but http(s)://host[:port][/path].
    static func baseURL(_ text: String) throws -> URL {
        var s = text.trimmingCharacters(in: .whitespaces)
        while s.hasSuffix("/") { s.removeLast() }
        if s.hasSuffix("/v1") { s.removeLast(3) }
        guard let url = URL(string: s), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = url.host, !host.isEmpty else {
            throw RPTError("not a server URL: give http://HOST:PORT (the OpenAI-compatible server's root, e.g. http://127.0.0.1:8000)", file: text)
        }
        return url
    }

    /// The options as results metadata: {"url","model"}.
    public var json: JSON { .object(["url": .string(url), "model": .string(model)]) }
}

/// One HTTP exchange that reached the server: its status, body and the body as JSON (nil when not JSON).
public struct ServerReply: Sendable {
    public var status: Int
    public var body: Data
    public var json: JSON?

    /// The first 300 characters of the body, for error messages.
    public var excerpt: String {
        let text = String(decoding: body.prefix(2000), as: UTF8.self).replacingOccurrences(of: "\n", with: " ")
        return text.count > 300 ? String(text.prefix(300)) + "… (\(body.count) bytes)" : text
    }
}

public final class CompletionsClient: @unchecked Sendable {
    public let options: ServerOptions
    let base: URL
    let session: URLSession
    /// Seconds of the first backoff; doubled per attempt, at most `maxBackoff`.
    public var backoff: Double = 0.5
    public var maxBackoff: Double = 10

    private let lock = NSLock()
    private var attempts = 0, retried = 0, completed = 0
    private var busySeconds = 0.0

    public init(options: ServerOptions) throws {
        try options.validate()
        self.options = options
        base = try ServerOptions.baseURL(options.url)
        let config = URLSessionConfiguration.ephemeral
        // URLSession on Linux counts whole seconds (a fraction below one times out at once): its limits sit above
        // ours, and `exchange` enforces the exact timeout itself.
        let sessionTimeout = options.timeout.rounded(.up) + 1
        config.timeoutIntervalForRequest = sessionTimeout
        config.timeoutIntervalForResource = sessionTimeout
        config.httpMaximumConnectionsPerHost = max(1, options.concurrency)
        config.requestCachePolicy = .reloadIgnoringLocalCacheData
        session = URLSession(configuration: config)
    }

    deinit { session.invalidateAndCancel() }

    /// An error about this server: "URL: what".
    public func error(_ message: String) -> RPTError { RPTError(message, file: options.url) }

    /// What the client did so far: HTTP attempts, retries, requests answered, and requests per second of wall time
    /// spent in `map` (or in single requests).
    public var statistics: (attempts: Int, retries: Int, requests: Int, seconds: Double) {
        lock.lock(); defer { lock.unlock() }
        return (attempts, retried, completed, busySeconds)
    }

    public var requestsPerSecond: Double {
        let s = statistics
        return s.seconds > 0 ? Double(s.requests) / s.seconds : 0
    }

    // MARK: Requests

    /// GET `path`; retries as `send` does. Returns the reply whatever its status.
    public func get(_ path: String) throws -> ServerReply {
        try send(method: "GET", path: path, body: nil)
    }

    /// POST `body` as JSON to `path`. Returns the reply whatever its status (after retries of 5xx/408/429, unless
    /// `retrying` is false: a capability probe takes one answer, since some servers report a refused field as 500).
    public func post(_ path: String, body: JSON, retrying: Bool = true) throws -> ServerReply {
        try send(method: "POST", path: path, body: Data(body.serialized().utf8), retrying: retrying)
    }

    /// POST to /v1/completions and require HTTP 200 with a JSON object holding a non-empty `choices` array.
    public func complete(_ body: JSON) throws -> JSON {
        let reply = try post("/v1/completions", body: body)
        return try requireCompletion(reply)
    }

    /// Checks a /v1/completions reply: HTTP 200, a JSON object, a non-empty `choices` array of objects.
    public func requireCompletion(_ reply: ServerReply) throws -> JSON {
        guard reply.status == 200 else {
            throw error("POST /v1/completions: HTTP \(reply.status): \(reply.excerpt)")
        }
        guard let json = reply.json, json.object != nil else {
            throw error("POST /v1/completions: the reply is not a JSON object: \(reply.excerpt)")
        }
        guard let choices = json["choices"]?.array, !choices.isEmpty, choices.allSatisfy({ $0.object != nil }) else {
            throw error("POST /v1/completions: the reply has no \"choices\" list of objects: \(reply.excerpt)")
        }
        return json
    }

    /// One request with retries. Transport failures that outlast the retries, and 5xx/408/429 replies that do,
    /// are errors; any other reply is returned.
    func send(method: String, path: String, body: Data?, retrying: Bool = true) throws -> ServerReply {
        let url = base.appendingPathComponent(path.hasPrefix("/") ? String(path.dropFirst()) : path)
        var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: options.timeout.rounded(.up) + 1)
        request.httpMethod = method
        if let body {
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        let started = Date()
        defer {
            lock.lock()
            busySeconds += inMap ? 0 : Date().timeIntervalSince(started)
            lock.unlock()
        }
        var attempt = 0
        while true {
            lock.lock(); attempts += 1; lock.unlock()
            let outcome = exchange(request)
            var why: String
            var wait: Double? = nil
            switch outcome {
            case .reply(let status, let data, let retryAfter):
                if !retrying || (status < 500 && status != 408 && status != 429) {
                    lock.lock(); completed += 1; lock.unlock()
                    let json = try? JSON.parse(data, file: options.url)
                    return ServerReply(status: status, body: data, json: json)
                }
                why = "HTTP \(status): " + ServerReply(status: status, body: data, json: nil).excerpt
                wait = retryAfter
            case .failure(let message):
                why = message
            }
            guard attempt < options.retries else {
                let tries = attempt + 1
                throw error("\(method) \(path): \(why) (\(tries) attempt\(tries == 1 ? "" : "s"), timeout \(Self.seconds(options.timeout)) each)")
            }
            let delay = min(maxBackoff, backoff * pow(2, Double(attempt)))
            Thread.sleep(forTimeInterval: min(30, max(delay, wait ?? 0)))
            attempt += 1
            lock.lock(); retried += 1; lock.unlock()
        }
    }

    static func seconds(_ s: Double) -> String { s == s.rounded() ? "\(Int(s)) s" : String(format: "%.1f s", s) }

    enum Outcome {
        case reply(status: Int, data: Data, retryAfter: Double?)
        case failure(String)
    }

    /// Carries a task's result from URLSession's delegate queue to the waiting thread.
    private final class Box: @unchecked Sendable {
        var outcome: Outcome = .failure("no reply")
    }

    /// One HTTP exchange, waiting at most the timeout whatever URLSession does.
    func exchange(_ request: URLRequest) -> Outcome {
        let done = DispatchSemaphore(value: 0)
        let box = Box()
        let timeout = options.timeout
        let task = session.dataTask(with: request) { data, response, error in
            if let error {
                box.outcome = .failure(CompletionsClient.describe(error, timeout: timeout))
            } else if let http = response as? HTTPURLResponse {
                let retryAfter = (http.value(forHTTPHeaderField: "Retry-After")).flatMap(Double.init)
                box.outcome = .reply(status: http.statusCode, data: data ?? Data(), retryAfter: retryAfter)
            } else {
                box.outcome = .failure("no HTTP response")
            }
            done.signal()
        }
        task.resume()
        if done.wait(timeout: .now() + timeout) == .timedOut {
            task.cancel()
            return .failure("no reply within \(Self.seconds(timeout)) (timed out)")
        }
        return box.outcome
    }

    static func describe(_ error: Error, timeout: Double) -> String {
        if let u = error as? URLError {
            switch u.code {
            case .timedOut: return "no reply within \(seconds(timeout)) (timed out)"
            case .cannotConnectToHost: return "cannot connect (connection refused: is the server running?)"
            case .cannotFindHost, .dnsLookupFailed: return "cannot resolve the host name"
            case .networkConnectionLost: return "the connection was lost"
            case .notConnectedToInternet: return "no network connection"
            case .badServerResponse: return "malformed HTTP response"
            default: return "network error \(u.code.rawValue) (\(u.localizedDescription))"
            }
        }
        return "network error (\(error.localizedDescription))"
    }

    // MARK: Concurrency

    /// The shared state of one `map`: the next index to hand out, results, the first failure.
    private final class MapState<R>: @unchecked Sendable {
        let lock = NSLock()
        var next = 0, finished = 0
        var results: [R?]
        var failure: (index: Int, error: Error)?
        init(_ n: Int) { results = Array(repeating: nil, count: n) }
    }

    /// Carries a closure to worker threads; `map` calls it from one thread at a time per item.
    private struct Unchecked<F>: @unchecked Sendable {
        let f: F
        init(f: F) { self.f = f }
    }

    private var inMap = false

    /// Runs `work(i)` for i in 0..<count on up to `concurrency` threads and returns the results in index order.
    /// The first error stops handing out work; it is thrown once the running requests have returned.
    /// `progress` is called (serially) with the number of finished items.
    public func map<T>(_ count: Int, progress: ((Int) -> Void)? = nil, _ work: @escaping (Int) throws -> T) throws -> [T] {
        guard count > 0 else { return [] }
        let state = MapState<T>(count)
        let job = Unchecked(f: work), report = Unchecked(f: progress)
        let started = Date()
        lock.lock(); inMap = true; lock.unlock()
        let group = DispatchGroup()
        for _ in 0..<min(options.concurrency, count) {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                while true {
                    state.lock.lock()
                    guard state.failure == nil, state.next < count else { state.lock.unlock(); return }
                    let i = state.next
                    state.next += 1
                    state.lock.unlock()
                    do {
                        let r = try job.f(i)
                        state.lock.lock()
                        state.results[i] = r
                        state.finished += 1
                        report.f?(state.finished)
                        state.lock.unlock()
                    } catch {
                        state.lock.lock()
                        if state.failure == nil || i < state.failure!.index { state.failure = (i, error) }
                        state.lock.unlock()
                        return
                    }
                }
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        group.wait()
        lock.lock(); inMap = false; busySeconds += Date().timeIntervalSince(started); lock.unlock()
        if let f = state.failure { throw f.error }
        return state.results.map { $0! }
    }
}
