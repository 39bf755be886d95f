// The flags `rpt eval` and `rpt prepare` share for OpenAI-compatible servers (POST /v1/completions of vLLM,
// SGLang and llama.cpp servers; docs/servers.md): how many requests at once, how long each may take, and how
// many times a failed one is retried.

import ArgumentParser
import RPT

/// The defaults: ServerOptions' own (one source).
private let d = ServerOptions(url: "", model: "")

struct ServerFlags: ParsableArguments {
    @Option(name: .customLong("server-concurrency"), help: "Requests in flight at once to the server.")
    var concurrency: Int = d.concurrency
    @Option(name: .customLong("server-timeout"), help: "Seconds one server request may take.")
    var timeout: Double = d.timeout
    @Option(name: .customLong("server-retries"), help: "Retries of a request after a connection error, timeout, HTTP 5xx or 429 (with backoff).")
    var retries: Int = d.retries

    /// Options for `url` serving `model`; validated (a bad value is an error naming its flag).
    func options(url: String, model: String) throws -> ServerOptions {
        let o = ServerOptions(url: url, model: model, concurrency: concurrency, timeout: timeout, retries: retries)
        try o.validate()
        return o
    }
}
