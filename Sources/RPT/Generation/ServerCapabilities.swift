// What an OpenAI-compatible completions server supports, found by a few small requests before the real work
// (OpenAI Completions API; vLLM's extensions `prompt_logprobs`, `return_token_ids`, `stop_token_ids`, token-id
// prompts; llama-cpp-python's `top_k`/`min_p`/`repeat_penalty` fields; docs/servers.md):
//
//   - /v1/models lists the served model (a server without the endpoint is accepted with a note);
//   - token-id prompts (a list of ints as `prompt`): else prompts go as text;
//   - neutral sampling fields (no top-k, no min-p, no repetition penalty) the server accepts, so its sampling is
//     rpt's (temperature and top-p only): else the server's own defaults apply, with a note;
//   - `return_token_ids`: responses are then decoded with rpt's tokenizer, as local evaluation does;
//   - `n`: else the n samples of a prompt go as n requests with their own seeds;
//   - prompt log-probabilities: vLLM's `prompt_logprobs` (keyed by token id) with token-id prompts, else the
//     OpenAI `echo` + `logprobs` form (keyed by token text, with character `text_offset`s), whose layout is
//     checked: whether the server adds a BOS it does not echo, and whether entry i's distribution predicts
//     token i (OpenAI semantics) or token i + 1 (llama-cpp-python's echo for a model without BOS).

import Foundation

public struct ServerCapabilities: Sendable, Equatable {
    public enum LogprobSource: String, Sendable {
        /// vLLM: choices[0].prompt_logprobs, one {token id: {logprob, rank}} per prompt token (first null).
        case promptLogprobs = "prompt_logprobs"
        /// OpenAI echo: choices[0].logprobs {tokens, text_offset, token_logprobs, top_logprobs} over prompt + output.
        case echo
    }

    /// The ids /v1/models lists (nil when the server has no such endpoint).
    public var models: [String]?
    public var tokenIdPrompts = false
    /// Whether `n` > 1 returns n choices.
    public var multipleChoices = false
    /// Whether `n` was probed (it is only when samples are drawn).
    public var probedN = false
    /// Sampling fields every request carries (the neutral settings the server accepted).
    public var samplingFields: [String: JSON] = [:]
    /// Whether `stop_token_ids` is accepted (it is sent with rpt's stop tokens).
    public var stopTokenIds = false
    /// Whether choices carry `token_ids` when asked (`return_token_ids`).
    public var returnsTokenIds = false
    /// How prompt log-probabilities come back (nil: not probed).
    public var logprobs: LogprobSource?
    /// Echo: the server puts a BOS before text prompts and lists no entry for it.
    public var echoHiddenBOS = false
    /// Echo: entry i's distribution predicts token i + echoShift (0, or 1 for llama-cpp-python without BOS).
    public var echoShift = 0
    /// What was learnt that changes behaviour, for the log and the results' metadata.
    public var notes: [String] = []

    public init() {}

    /// The capabilities as results metadata.
    public var json: JSON {
        var o: [String: JSON] = [
            "token_id_prompts": .bool(tokenIdPrompts),
            "sampling_fields": .object(samplingFields), "stop_token_ids": .bool(stopTokenIds),
            "token_ids": .bool(returnsTokenIds), "notes": .array(notes.map(JSON.string)),
        ]
        if let models { o["models"] = .array(models.map(JSON.string)) }
        if probedN { o["n"] = .bool(multipleChoices) }
        if let logprobs {
            o["logprobs"] = .string(logprobs.rawValue)
            if logprobs == .echo { o["echo_hidden_bos"] = .bool(echoHiddenBOS); o["echo_shift"] = .number(Double(echoShift)) }
        }
        return .object(o)
    }

    /// One line for the log.
    public var summary: String {
        var parts = ["prompts as " + (tokenIdPrompts ? "token ids" : "text")]
        if probedN { parts.append(multipleChoices ? "n honoured" : "n as separate seeded requests") }
        parts += [samplingFields.isEmpty ? "server-default sampling extras" : "neutral sampling",
                  returnsTokenIds ? "token ids returned" : "text returned"]
        if let logprobs {
            parts.append(logprobs == .promptLogprobs ? "prompt_logprobs" : "echo logprobs" + (echoShift == 1 ? " (shifted by one)" : ""))
        }
        return parts.joined(separator: ", ")
    }

    /// The text every probe sends.
    static let probeText = "Once upon a time, there was a little"

    /// Probes `client`'s server. `tokenizer` is rpt's tokenizer for the served model (probe ids). `samples`: probe
    /// `n`. `promptLogprobs`: probe prompt log-probabilities with this top-k (for proxy entropy).
    public static func probe(_ client: CompletionsClient, tokenizer: any Tokenizer, samples: Bool = false,
                             promptLogprobs topK: Int? = nil) throws -> ServerCapabilities {
        var caps = ServerCapabilities()
        let model = client.options.model

        // /v1/models: the served model must be listed.
        let listing = try client.get("/v1/models")
        if listing.status == 200 {
            guard let data = listing.json?["data"]?.array else {
                throw client.error("GET /v1/models: the reply has no \"data\" list: \(listing.excerpt)")
            }
            let ids = data.compactMap { $0["id"]?.string }
            caps.models = ids
            guard ids.contains(model) else {
                throw client.error("serves \(ids.isEmpty ? "no models" : ids.map { "\"\($0)\"" }.joined(separator: ", ")), not \"\(model)\": give --served-model one of them")
            }
        } else if listing.status == 404 || listing.status == 405 {
            caps.notes.append("no /v1/models (HTTP \(listing.status)): the served model name is not checked")
        } else {
            throw client.error("GET /v1/models: HTTP \(listing.status): \(listing.excerpt)")
        }

        var ids: [Int] = []
        if let bos = tokenizer.bosTokenId { ids.append(bos) }
        ids += tokenizer.encode(probeText)
        func request(_ fields: [String: JSON]) -> JSON {
            var b: [String: JSON] = ["model": .string(model), "max_tokens": .number(1), "temperature": .number(0), "stream": .bool(false)]
            for (k, v) in fields { b[k] = v }
            return .object(b)
        }
        // An optional feature is supported when its probe gets HTTP 200 with choices; any other status means no
        // (llama-cpp-python reports a refused field as HTTP 500), and probes are not retried.
        func accepted(_ reply: ServerReply) throws -> Bool {
            if reply.status == 200 { _ = try client.requireCompletion(reply); return true }
            return false
        }
        func probe(_ body: JSON) throws -> ServerReply { try client.post("/v1/completions", body: body, retrying: false) }

        // A text prompt must work (with retries); token ids are optional.
        let text = try client.post("/v1/completions", body: request(["prompt": .string(probeText)]))
        guard text.status == 200 else {
            throw client.error("POST /v1/completions: a plain completion request for \"\(model)\" fails: HTTP \(text.status): \(text.excerpt)")
        }
        _ = try client.requireCompletion(text)
        let idsReply = try probe(request(["prompt": .array(ids.map { .number(Double($0)) })]))
        caps.tokenIdPrompts = try accepted(idsReply)
        if !caps.tokenIdPrompts { caps.notes.append("token-id prompts refused (HTTP \(idsReply.status)): prompts go as text") }
        let prompt: JSON = caps.tokenIdPrompts ? .array(ids.map { .number(Double($0)) }) : .string(probeText)

        // Neutral sampling: no top-k, no min-p, no penalties (vLLM's older releases want top_k -1, llama.cpp's ≥ 0).
        let neutral: [String: JSON] = ["min_p": .number(0), "repetition_penalty": .number(1), "repeat_penalty": .number(1),
                                       "frequency_penalty": .number(0), "presence_penalty": .number(0)]
        var candidates: [[String: JSON]] = [neutral.merging(["top_k": .number(0)]) { a, _ in a },
                                            neutral.merging(["top_k": .number(-1)]) { a, _ in a }]
        candidates.append([:])
        for (i, c) in candidates.enumerated() {
            if try accepted(probe(request(c.merging(["prompt": prompt]) { a, _ in a }))) {
                caps.samplingFields = c
                if i == candidates.count - 1 {
                    caps.notes.append("the server refused top_k/min_p/penalty fields: its own sampling defaults apply besides temperature and top_p")
                }
                break
            }
        }
        // stop_token_ids and return_token_ids (vLLM), each optional.
        let stop = tokenizer.eosTokenIds.first ?? 0
        caps.stopTokenIds = try accepted(probe(request(caps.samplingFields.merging(
            ["prompt": prompt, "stop_token_ids": .array([.number(Double(stop))])]) { a, _ in a })))
        let withIds = try probe(request(["prompt": prompt, "return_token_ids": .bool(true)]))
        if try accepted(withIds), let choice = withIds.json?["choices"]?.array?.first,
           let tokenIds = choice["token_ids"]?.array, tokenIds.allSatisfy({ $0.int != nil }) {
            caps.returnsTokenIds = true
        }

        if samples {
            caps.probedN = true
            let reply = try probe(request(caps.samplingFields.merging(
                ["prompt": prompt, "n": .number(2), "temperature": .number(1), "seed": .number(1), "max_tokens": .number(2)]) { a, _ in a }))
            caps.multipleChoices = try accepted(reply) && (reply.json?["choices"]?.array?.count == 2)
            if !caps.multipleChoices { caps.notes.append("n is not honoured: each sample is its own request with its own seed") }
        }

        if let topK {
            try probeLogprobs(&caps, client: client, ids: ids, topK: topK, request: request, probe: probe)
        }
        return caps
    }

    static func probeLogprobs(_ caps: inout ServerCapabilities, client: CompletionsClient, ids: [Int], topK: Int,
                              request: ([String: JSON]) -> JSON, probe: (JSON) throws -> ServerReply) throws {
        if caps.tokenIdPrompts {
            let reply = try probe(request([
                "prompt": .array(ids.map { .number(Double($0)) }), "prompt_logprobs": .number(Double(topK))]))
            if reply.status == 200, let list = reply.json?["choices"]?.array?.first?["prompt_logprobs"]?.array, list.count == ids.count {
                caps.logprobs = .promptLogprobs
                return
            }
        }
        let reply = try probe(request([
            "prompt": .string(probeText), "echo": .bool(true), "logprobs": .number(Double(topK))]))
        guard reply.status == 200 else {
            throw client.error("returns no prompt log-probabilities: neither vLLM's prompt_logprobs nor echo with logprobs is accepted (HTTP \(reply.status): \(reply.excerpt))")
        }
        let json = try client.requireCompletion(reply)
        let choice = json["choices"]!.array![0]
        guard let lp = choice["logprobs"], let offsets = lp["text_offset"]?.array?.compactMap(\.int),
              let top = lp["top_logprobs"]?.array, offsets.count == top.count, !offsets.isEmpty else {
            throw client.error("returns no prompt log-probabilities: echo with logprobs gave no \"logprobs\" with text_offset and top_logprobs lists of one length (\(reply.excerpt))")
        }
        caps.logprobs = .echo
        let promptCharacters = probeText.unicodeScalars.count
        let promptEntries = offsets.filter { $0 < promptCharacters }.count
        let usagePrompt = json["usage"]?["prompt_tokens"]?.int
        let usageCompletion = json["usage"]?["completion_tokens"]?.int ?? 1
        caps.echoHiddenBOS = usagePrompt == promptEntries + 1
        let listsOutput = offsets.count > promptEntries
        if listsOutput || caps.echoHiddenBOS {
            caps.echoShift = 0
        } else if usageCompletion >= 1 {
            // The output token was generated but not listed: llama-cpp-python pairs entry i with the distribution
            // after token i when the prompt has no BOS.
            caps.echoShift = 1
            caps.notes.append("echo logprobs are shifted by one token (entry i holds the distribution that predicts token i + 1); proxy_logprob is read by token text and is an upper bound where the token is not among the top k")
        } else {
            throw client.error("cannot tell how echo logprobs line up with the prompt tokens (the probe's output ended at once): use a server with prompt_logprobs (vLLM)")
        }
    }
}
