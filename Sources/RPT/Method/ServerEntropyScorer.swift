// Proxy top-k entropy (RPT §3.3; docs/method.md §4.2) from an OpenAI-compatible server's prompt
// log-probabilities instead of a local forward pass (docs/servers.md): the same windows as EntropyScorer, each
// one request with `max_tokens` 1, and per scored position the entropy of the k largest log-probabilities
// renormalised over those k (Distribution.topKEntropy(values:)), in nats.
//
// Two forms, as ServerCapabilities found them:
//   - vLLM `prompt_logprobs` with the window's token ids as the prompt: entry i is keyed by token id and is the
//     distribution predicting token i, exactly as locally.
//   - OpenAI `echo` + `logprobs` with the window's text as the prompt (llama-cpp-python refuses token ids): the
//     server tokenizes the text itself, so its tokens are matched to rpt's by byte offset (`text_offset`, in
//     characters of the prompt, turned into bytes of rpt's own token bytes; server token strings are never used
//     for lengths). A position is scored only when the server's tokens agree with rpt's from the window's start
//     through that token; others are refused and counted. A later window of a long document goes as its own
//     text, which the server prefixes with its BOS, unlike local scoring (docs/servers.md).
//
// The top-k lists of the echo form are keyed by token text: two tokens with the same text collapse into one
// entry, so a list with fewer than k entries is refused (counted as incomplete) rather than renormalised.

import Foundation

/// Anything that scores proxy entropy for token sequences (the local EntropyScorer or a server).
public protocol ProxyEntropyScoring {
    func score(_ sequences: [[Int]]) throws -> [SequenceScores]
}

extension EntropyScorer: ProxyEntropyScoring {}

public final class ServerEntropyScorer: ProxyEntropyScoring {
    public let client: CompletionsClient
    public let capabilities: ServerCapabilities
    public let tokenizer: any Tokenizer
    public let topK: Int
    public let window: Int
    public let minContext: Int
    /// Whether rpt's tokenizer writes a dummy-prefix space before text (SentencePiece), which the server adds too.
    let dummyPrefix: Bool
    /// Called with the number of windows scored so far in the current `score` call.
    public var progress: ((Int) -> Void)?

    /// What happened to the positions asked for, over every `score` call.
    public struct Tally: Sendable, Equatable {
        public var windows = 0
        public var scored = 0
        /// Echo form: the server's tokens disagree with rpt's at or before the position.
        public var refusedTokenization = 0
        /// Fewer than k distinct entries in the server's top-k list.
        public var incompleteTopK = 0
        /// The server gave no distribution for the position (e.g. the first token of an echo).
        public var missing = 0
        /// Echo shifted by one: proxy_logprob could not be read and is the k-th log-probability (an upper bound).
        public var boundedLogProb = 0

        public var refused: Int { refusedTokenization + incompleteTopK + missing }

        mutating func add(_ o: Tally) {
            windows += o.windows; scored += o.scored; refusedTokenization += o.refusedTokenization
            incompleteTopK += o.incompleteTopK; missing += o.missing; boundedLogProb += o.boundedLogProb
        }

        public var json: JSON {
            .object(["windows": .number(Double(windows)), "scored": .number(Double(scored)),
                     "refused_tokenization": .number(Double(refusedTokenization)), "incomplete_top_k": .number(Double(incompleteTopK)),
                     "missing": .number(Double(missing)), "bounded_logprob": .number(Double(boundedLogProb))])
        }
    }
    public private(set) var tally = Tally()

    public init(client: CompletionsClient, capabilities: ServerCapabilities, tokenizer: any Tokenizer, topK: Int = 16,
                window: Int, minContext: Int) throws {
        guard let source = capabilities.logprobs else {
            throw client.error("the server was not probed for prompt log-probabilities")
        }
        guard topK >= 1 else { throw RPTError("top-k must be ≥ 1, got \(topK)", file: "--top-k") }
        guard window > minContext, window >= 2 else {
            throw RPTError("window (\(window) tokens) must exceed the minimum context (\(minContext))", file: "--window")
        }
        if source == .promptLogprobs && !capabilities.tokenIdPrompts {
            throw client.error("prompt_logprobs need token-id prompts, which the server refuses")
        }
        self.client = client
        self.capabilities = capabilities
        self.tokenizer = tokenizer
        self.topK = topK
        self.window = window
        self.minContext = minContext
        dummyPrefix = tokenizer.bytes(of: tokenizer.encode("a")).first == 0x20
    }

    /// One window's values: (position in the sequence, entropy, log-probability, the largest log-probability or
    /// NaN when the position's own is only a bound) and its tally.
    struct WindowScores {
        var values: [(position: Int, entropy: Float, logProb: Float, top: Float)] = []
        var tally = Tally()
    }

    public func score(_ sequences: [[Int]]) throws -> [SequenceScores] {
        var results = sequences.map {
            SequenceScores(entropy: [Float](repeating: .nan, count: $0.count), logProb: [Float](repeating: .nan, count: $0.count),
                           topLogProb: [Float](repeating: .nan, count: $0.count))
        }
        let windows = sequences.enumerated().flatMap { s, seq in
            EntropyScorer.windows(sequence: s, length: seq.count, window: window, minContext: minContext)
        }
        let perWindow = try client.map(windows.count, progress: progress) { [self] i in
            let w = windows[i]
            let ids = Array(sequences[w.sequence][w.start..<(w.start + w.count)])
            return try capabilities.logprobs == .promptLogprobs
                ? scoreIds(ids, firstScored: w.firstScored - w.start)
                : scoreText(ids, firstScored: w.firstScored - w.start, startsSequence: w.start == 0)
        }
        for (w, r) in zip(windows, perWindow) {
            tally.add(r.tally)
            tally.windows += 1
            for v in r.values {
                results[w.sequence].entropy[w.start + v.position] = v.entropy
                results[w.sequence].logProb[w.start + v.position] = v.logProb
                results[w.sequence].topLogProb[w.start + v.position] = v.top
            }
        }
        return results
    }

    func body(_ fields: [String: JSON]) -> JSON {
        var b: [String: JSON] = ["model": .string(client.options.model), "max_tokens": .number(1), "temperature": .number(0),
                                 "stream": .bool(false)]
        for (k, v) in fields { b[k] = v }
        return .object(b)
    }

    /// The k largest log-probabilities of one top-k list, or nil when it holds fewer than min(k, vocabulary).
    func topValues(_ values: [Float]) -> [Float]? {
        let need = min(topK, tokenizer.vocabSize)
        guard values.count >= need else { return nil }
        return Array(values.sorted(by: >).prefix(topK))
    }

    /// vLLM: token ids in, `prompt_logprobs` out (entry i predicts token i; keyed by token id).
    func scoreIds(_ ids: [Int], firstScored: Int) throws -> WindowScores {
        let json = try client.complete(body(["prompt": .array(ids.map { .number(Double($0)) }), "prompt_logprobs": .number(Double(topK))]))
        guard let list = json["choices"]!.array![0]["prompt_logprobs"]?.array else {
            throw client.error("POST /v1/completions: the reply has no choices[0].prompt_logprobs list")
        }
        guard list.count == ids.count else {
            throw client.error("POST /v1/completions: prompt_logprobs has \(list.count) entries for a prompt of \(ids.count) tokens")
        }
        var out = WindowScores()
        for i in firstScored..<ids.count {
            guard let entry = list[i].object else { out.tally.missing += 1; continue }
            var values: [Float] = []
            var own: Float? = nil
            for (key, v) in entry {
                guard let id = Int(key), let lp = (v["logprob"]?.double ?? v.double) else {
                    throw client.error("POST /v1/completions: prompt_logprobs[\(i)] has an entry that is not {token id: {\"logprob\": number}}")
                }
                if id == ids[i] { own = Float(lp) }
                // The true token is listed too; with its rank beyond k it is not one of the top k.
                if let rank = v["rank"]?.int, rank > topK { continue }
                values.append(Float(lp))
            }
            guard let top = topValues(values), let own else { out.tally.incompleteTopK += 1; continue }
            out.values.append((i, Distribution.topKEntropy(values: top, k: topK), own, top[0]))
            out.tally.scored += 1
        }
        return out
    }

    /// OpenAI echo: the window's text in, `logprobs` over the echoed prompt out; tokens matched by byte offset.
    func scoreText(_ ids: [Int], firstScored: Int, startsSequence: Bool) throws -> WindowScores {
        var out = WindowScores()
        let hasBOS = startsSequence && tokenizer.bosTokenId != nil && ids.first == tokenizer.bosTokenId
        let real = Array(ids[(hasBOS ? 1 : 0)...])
        // rpt's token byte spans over the window's bytes.
        var starts: [Int] = [], ends: [Int] = []
        var bytes: [UInt8] = []
        for id in real {
            starts.append(bytes.count)
            bytes += tokenizer.tokenBytes(id)
            ends.append(bytes.count)
        }
        // The server adds the dummy-prefix space itself: send the text without it.
        let drop = dummyPrefix && bytes.first == 0x20 ? 1 : 0
        let sentBytes = Array(bytes.dropFirst(drop))
        let scoredCount = max(0, ids.count - firstScored)
        guard !sentBytes.isEmpty, let text = String(validating: sentBytes, as: UTF8.self) else {
            out.tally.refusedTokenization += scoredCount
            return out
        }
        let json = try client.complete(body(["prompt": .string(text), "echo": .bool(true), "logprobs": .number(Double(topK))]))
        let choice = json["choices"]!.array![0]
        guard let lp = choice["logprobs"], let offsetsJSON = lp["text_offset"]?.array, let top = lp["top_logprobs"]?.array,
              offsetsJSON.count == top.count else {
            throw client.error("POST /v1/completions: echo reply has no logprobs with text_offset and top_logprobs lists of one length")
        }
        let offsets = try offsetsJSON.map { v -> Int in
            guard let o = v.int, o >= 0 else { throw client.error("POST /v1/completions: logprobs.text_offset holds \(RPTError.echo(v))") }
            return o
        }
        let tokenLogprobs = lp["token_logprobs"]?.array ?? []
        let serverTokens = lp["tokens"]?.array ?? []
        // Character offsets → byte offsets. Servers differ in what the offsets count: the sent text, or the text
        // with the tokenizer's dummy-prefix space in front (llama-cpp-python detokenizes with it); both are tried
        // and the reading under which more tokens agree with rpt's is kept.
        func agreement(spaceInFront: Bool) -> Int {
            var byteAt: [Int] = [0]
            for s in ((spaceInFront ? " " : "") + text).unicodeScalars { byteAt.append(byteAt.last! + String(s).utf8.count) }
            let characters = byteAt.count - 1, total = byteAt.last!
            let entries = offsets.prefix { $0 < characters }.count
            let serverStart = offsets.prefix(entries).map { byteAt[$0] }
            func serverEnd(_ r: Int) -> Int { r + 1 < entries ? serverStart[r + 1] : total }
            // rpt's spans in the same coordinates (a dropped dummy space belongs to the first token).
            let back = drop - (spaceInFront ? 1 : 0)
            let oursStart = starts.map { max(0, $0 - back) }, oursEnd = ends.map { max(0, $0 - back) }
            // Tokens 0..<agree match the server's one for one.
            var agree = 0
            while agree < real.count, agree < entries, serverStart[agree] == oursStart[agree], serverEnd(agree) == oursEnd[agree] { agree += 1 }
            return agree
        }
        let agree = drop == 1 ? max(agreement(spaceInFront: false), agreement(spaceInFront: true)) : agreement(spaceInFront: false)
        let shift = capabilities.echoShift
        for i in firstScored..<ids.count {
            let r = i - (hasBOS ? 1 : 0)
            guard r >= 0, r < agree else { out.tally.refusedTokenization += 1; continue }
            let e = r - shift
            guard e >= 0, e < top.count, let entry = top[e].object else { out.tally.missing += 1; continue }
            let values = entry.values.compactMap { $0.double.map(Float.init) }
            guard values.count == entry.count, let topList = topValues(values) else { out.tally.incompleteTopK += 1; continue }
            var own: Float
            var exact = true
            if shift == 0 {
                guard e < tokenLogprobs.count, let v = tokenLogprobs[e].double else { out.tally.missing += 1; continue }
                own = Float(v)
            } else if r < serverTokens.count, let key = serverTokens[r].string, let v = entry[key]?.double {
                own = Float(v)
            } else {
                own = topList.last!
                exact = false
                out.tally.boundedLogProb += 1
            }
            own = min(own, 0)
            out.values.append((i, Distribution.topKEntropy(values: topList, k: topK), own, exact ? min(topList[0], 0) : .nan))
            out.tally.scored += 1
        }
        return out
    }
}
