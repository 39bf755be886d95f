// OpenAI-compatible server backends (docs/servers.md) against in-process mock servers: the client's retries,
// timeouts and errors naming the server; the concurrency limit; the capability probe adapting to a vLLM-like and
// a llama.cpp-like server; seeded, deterministic requests; `rpt eval` through a server giving the local model's
// greedy outcomes; proxy entropy from prompt_logprobs and from echo logprobs equal to local scoring, with
// positions whose tokenization disagrees refused and counted; and the CLI's exit status for a dead server.

import Foundation
import Testing
@testable import RPT

@Suite(.serialized) struct ServerTests {
    static let reply: JSON = .object(["choices": .array([.object(["index": .number(0), "text": .string("ok"), "finish_reason": .string("stop")])])])

    func client(_ url: String, timeout: Double = 5, retries: Int = 3, concurrency: Int = 4) throws -> CompletionsClient {
        let c = try CompletionsClient(options: ServerOptions(url: url, model: "m", concurrency: concurrency, timeout: timeout, retries: retries))
        c.backoff = 0.01
        return c
    }

    // MARK: client

    @Test func retriesServerErrorsThenSucceeds() throws {
        let count = Counter()
        let server = try MockCompletionsServer { _ in
            count.next() < 2 ? .init(status: 503, body: "busy") : .json(Self.reply)
        }
        let json = try client(server.url).complete(.object(["prompt": .string("x")]))
        #expect(json["choices"]?.array?.count == 1)
        #expect(server.requests.count == 3)
        let tooMany = Counter()
        let limited = try MockCompletionsServer { _ in
            tooMany.next() < 1 ? .init(status: 429, body: "slow down", headers: ["Retry-After": "0"]) : .json(Self.reply)
        }
        _ = try client(limited.url).complete(.object(["prompt": .string("x")]))
        #expect(limited.requests.count == 2)
    }

    @Test func givesUpAfterBoundedRetriesNamingTheServer() throws {
        let server = try MockCompletionsServer { _ in .init(status: 500, body: "{\"error\":\"boom\"}") }
        let e = expectRPTError(naming: server.url) { _ = try client(server.url, retries: 2).complete(.object([:])) }
        #expect(e?.message.contains("HTTP 500") == true && e?.message.contains("boom") == true && e?.message.contains("3 attempts") == true, "\(String(describing: e))")
        #expect(server.requests.count == 3)
        // 4xx is the request's fault: no retry, the status and body in the error.
        let bad = try MockCompletionsServer { _ in .init(status: 422, body: "{\"detail\":\"prompt must be a string\"}") }
        let e2 = expectRPTError(naming: bad.url) { _ = try client(bad.url).complete(.object([:])) }
        #expect(e2?.message.contains("HTTP 422") == true && e2?.message.contains("prompt must be a string") == true)
        #expect(bad.requests.count == 1)
    }

    @Test func timeoutsAndRefusedConnectionsAreBoundedErrors() throws {
        let slow = try MockCompletionsServer { _ in .init(status: 200, body: Self.reply.serialized(), delay: 4) }
        let t0 = Date()
        let e = expectRPTError(naming: slow.url) { _ = try client(slow.url, timeout: 0.6, retries: 1).complete(.object([:])) }
        #expect(e?.message.contains("timed out") == true && e?.message.contains("2 attempts") == true, "\(String(describing: e))")
        let waited = Date().timeIntervalSince(t0)
        #expect(waited >= 1.1 && waited < 3, "\(waited) s")
        let url = "http://127.0.0.1:\(MockCompletionsServer.closedPort())"
        let t1 = Date()
        let e2 = expectRPTError(naming: url) { _ = try client(url, retries: 2).complete(.object([:])) }
        #expect(e2?.message.contains("cannot connect") == true || e2?.message.contains("network") == true, "\(String(describing: e2))")
        #expect(Date().timeIntervalSince(t1) < 5)
    }

    @Test func malformedRepliesNameTheProblem() throws {
        let notJSON = try MockCompletionsServer { _ in .init(status: 200, body: "<html>oops</html>") }
        let e = expectRPTError(naming: notJSON.url) { _ = try client(notJSON.url).complete(.object([:])) }
        #expect(e?.message.contains("not a JSON object") == true && e?.message.contains("oops") == true)
        let noChoices = try MockCompletionsServer { _ in .init(status: 200, body: "{\"id\":\"x\"}") }
        let e2 = expectRPTError(naming: noChoices.url) { _ = try client(noChoices.url).complete(.object([:])) }
        #expect(e2?.message.contains("\"choices\"") == true)
        for bad in ["ftp://host", "localhost:8000", "http://"] {
            expectRPTError(naming: bad) { _ = try CompletionsClient(options: ServerOptions(url: bad, model: "m")) }
        }
        expectRPTError(naming: "--server-concurrency") { _ = try CompletionsClient(options: ServerOptions(url: "http://h:1", model: "m", concurrency: 0)) }
    }

    @Test func concurrencyIsLimitedAndResultsKeepTheirOrder() throws {
        let server = try MockCompletionsServer { r in
            .init(status: 200, body: JSON.object(["choices": .array([.object(["text": r.body!["prompt"]!])])]).serialized(), delay: 0.15)
        }
        let c = try client(server.url, concurrency: 3)
        let texts = try c.map(12) { i in try c.complete(.object(["prompt": .string("p\(i)")]))["choices"]!.array![0]["text"]!.string! }
        #expect(texts == (0..<12).map { "p\($0)" })
        #expect(server.maxInFlight == 3, "max in flight \(server.maxInFlight)")
        #expect(c.statistics.requests == 12 && c.requestsPerSecond > 0)
    }

    // MARK: capabilities

    func languageModel(_ path: String) throws -> LanguageModel { try LanguageModel.load(model: path) }

    @Test func probeAdaptsToTheServer() throws {
        let lm = try languageModel(Repo.stories260KHF)
        let llama = ModelBackedServer(lm: lm, flavour: .llamaCpp)
        let ls = try MockCompletionsServer { llama.handle($0) }
        let a = try ServerCapabilities.probe(try client(ls.url).withModel("served"), tokenizer: lm.tokenizer, samples: true, promptLogprobs: 16)
        #expect(!a.tokenIdPrompts && !a.multipleChoices && !a.returnsTokenIds)
        #expect(a.logprobs == .echo && a.echoHiddenBOS && a.echoShift == 0)
        #expect(a.models == ["served"] && a.samplingFields["top_k"] == .number(0))
        let vllm = ModelBackedServer(lm: lm, flavour: .vllm)
        let vs = try MockCompletionsServer { vllm.handle($0) }
        let b = try ServerCapabilities.probe(try client(vs.url).withModel("served"), tokenizer: lm.tokenizer, samples: true, promptLogprobs: 16)
        #expect(b.tokenIdPrompts && b.multipleChoices && b.returnsTokenIds && b.logprobs == .promptLogprobs)
        // The served model must be one the server lists.
        let e = expectRPTError(naming: vs.url) { _ = try ServerCapabilities.probe(try client(vs.url).withModel("other"), tokenizer: lm.tokenizer) }
        #expect(e?.message.contains("\"served\"") == true && e?.message.contains("--served-model") == true)
    }

    // MARK: proxy entropy

    func documents(_ tok: any Tokenizer) -> [[Int]] {
        let texts = ["Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her dog.",
                     "Tom had a big red ball. He threw it high in the sky and his friend Sam caught it. They laughed and played all day."]
        return texts.map { tok.documentIds($0).ids }
    }

    @Test func topKEntropyOfLogprobsEqualsThatOfLogits() {
        var logits: [Float] = (0..<100).map { Float(sin(Double($0) * 1.7) * 3) }
        let lse = Float(Foundation.log(logits.reduce(0.0) { $0 + Foundation.exp(Double($1)) }))
        let lp = logits.map { $0 - lse }
        let a = logits.withUnsafeMutableBufferPointer { Distribution.topKEntropy($0.baseAddress!, vocab: 100, k: 16) }
        #expect(abs(a - Distribution.topKEntropy(values: lp, k: 16)) < 1e-6)
        var rng = RandomGenerator(seed: 7)
        #expect(abs(a - Distribution.topKEntropy(values: lp.shuffled(using: &rng), k: 16)) < 1e-6)
        logits[0] = 0
    }

    @Test func serverEntropyEqualsLocalScoring() throws {
        let lm = try languageModel(Repo.stories260KHF)
        let local = try EntropyScorer(model: lm.model, topK: 16, window: 256, minContext: 8, batchTokens: 4096).score(documents(lm.tokenizer))
        for (flavour, spaceInOffsets) in [(ModelBackedServer.Flavour.vllm, false), (.llamaCpp, true), (.llamaCpp, false)] {
            let backend = ModelBackedServer(lm: lm, flavour: flavour)
            backend.offsetsCountDummySpace = spaceInOffsets
            let server = try MockCompletionsServer { backend.handle($0) }
            let c = try client(server.url).withModel("served")
            let caps = try ServerCapabilities.probe(c, tokenizer: lm.tokenizer, promptLogprobs: 16)
            let scorer = try ServerEntropyScorer(client: c, capabilities: caps, tokenizer: lm.tokenizer, topK: 16, window: 256, minContext: 8)
            let remote = try scorer.score(documents(lm.tokenizer))
            var compared = 0, worst: Float = 0, worstLogProb: Float = 0
            for (l, r) in zip(local, remote) {
                for j in 1..<l.entropy.count where !r.entropy[j].isNaN {
                    worst = max(worst, abs(l.entropy[j] - r.entropy[j]))
                    worstLogProb = max(worstLogProb, abs(l.logProb[j] - r.logProb[j]))
                    compared += 1
                }
            }
            let positions = local.map { $0.entropy.count - 1 }.reduce(0, +)
            #expect(worst < 1e-4 && worstLogProb < 1e-4, "\(flavour): max |ΔH| \(worst), |Δlogp| \(worstLogProb)")
            // vLLM's prompt_logprobs cover every position; the echo form lacks only the first token's (null by convention),
            // and top-k lists that lose entries to tokens with the same text are refused, never renormalised short.
            if flavour == .vllm { #expect(compared == positions && scorer.tally.refused == 0) }
            else {
                #expect(scorer.tally.missing == 2 && compared + scorer.tally.refused == positions && compared >= positions - 6, "\(scorer.tally)")
            }
        }
    }

    @Test func echoRefusesPositionsWhereTheServerTokenizesDifferently() throws {
        let lm = try languageModel(Repo.stories260KHF)
        let backend = ModelBackedServer(lm: lm, flavour: .llamaCpp)
        backend.mergeAfterText = "named"
        let server = try MockCompletionsServer { backend.handle($0) }
        let c = try client(server.url).withModel("served")
        let caps = try ServerCapabilities.probe(c, tokenizer: lm.tokenizer, promptLogprobs: 16)
        let scorer = try ServerEntropyScorer(client: c, capabilities: caps, tokenizer: lm.tokenizer, topK: 16, window: 256, minContext: 8)
        let docs = documents(lm.tokenizer)
        let r = try scorer.score([docs[0]])[0]
        // Tokens before " named" agree; " named" ends elsewhere on the server, and every position from it on is refused.
        let named = lm.tokenizer.encode("Once upon a time, there was a little girl named").count  // its position (BOS is 0)
        #expect(r.entropy[1..<named].filter { !$0.isNaN }.count >= named - 4)
        #expect(r.entropy[named...].allSatisfy { $0.isNaN })
        #expect(scorer.tally.refusedTokenization == docs[0].count - named)
    }

    @Test func preparePositionsThroughAServerMatchLocalOnes() throws {
        let dir = temporaryDirectory("server-prepare")
        let corpus = dir + "/ledger.jsonl"
        var lo = LedgerCorpusOptions(); lo.documents = 4; lo.seed = 3
        _ = try LedgerCorpus.write(lo, to: corpus)
        let base = Repo.path("Assets/quickstart/models/base")
        func options(_ out: String) -> PrepareOptions {
            var o = PrepareOptions(policy: base, proxy: base, corpus: corpus, outputDirectory: dir + "/" + out,
                                   corpusOptions: CorpusOptions(calculations: true))
            o.minContext = 8; o.maxContextTokens = 192; o.validationDocuments = 2; o.entropyThreshold = 0.5
            return o
        }
        _ = try Preparer(options: options("local")).run()
        let backend = ModelBackedServer(lm: try languageModel(base), flavour: .vllm)
        let server = try MockCompletionsServer { backend.handle($0) }
        var o = options("served")
        o.proxyServer = ServerOptions(url: server.url, model: "served", concurrency: 2, timeout: 30, retries: 1)
        let r = try Preparer(options: o).run()
        #expect(r.proxyServer?["positions"]?["refused_tokenization"]?.int == 0)
        for file in ["train.jsonl", "val.jsonl"] {
            let a = try PositionDataset.read(path: dir + "/local/" + file), b = try PositionDataset.read(path: dir + "/served/" + file)
            #expect(a.count == b.count && !a.isEmpty, "\(file)")
            for (x, y) in zip(a, b) {
                #expect(x.docId == y.docId && x.index == y.index && x.contextIds == y.contextIds)
                #expect(abs(x.proxyEntropy - y.proxyEntropy) < 1e-4, "\(file) \(x.docId)@\(x.index): \(x.proxyEntropy) vs \(y.proxyEntropy)")
            }
        }
        let meta = try JSON.load(path: dir + "/served/meta.json")
        #expect(meta["proxy_server"]?["served_model"]?.string == "served" && meta["options"]?["proxy_server"]?.string == server.url)
        // --split-model proxy: the served proxy's entropies label the validation splits too.
        var p = options("served-splits")
        p.proxyServer = o.proxyServer
        p.splitModel = PrepareOptions.proxySplitModel
        _ = try Preparer(options: p).run()
        let val = try PositionDataset.read(path: dir + "/served-splits/val.jsonl")
        #expect(!val.isEmpty && val.allSatisfy { $0.entropy == $0.proxyEntropy })
    }

    // MARK: evaluation

    func validation(_ dir: String) throws -> String {
        let corpus = dir + "/ledger.jsonl"
        var lo = LedgerCorpusOptions(); lo.documents = 3; lo.seed = 11
        _ = try LedgerCorpus.write(lo, to: corpus)
        let base = Repo.path("Assets/quickstart/models/base")
        var o = PrepareOptions(policy: base, proxy: base, corpus: corpus, outputDirectory: dir + "/prep", corpusOptions: CorpusOptions(calculations: true))
        o.minContext = 8; o.maxContextTokens = 192; o.validationDocuments = 3
        _ = try Preparer(options: o).run()
        return dir + "/prep/val.jsonl"
    }

    func evalOptions(_ data: String) -> EvalOptions {
        var o = EvalOptions()
        o.mode = .reasoning
        o.data = data
        o.template = Repo.path("Assets/reproduce/prompt.txt")
        o.chat = "raw"
        o.maxPromptTokens = 200
        o.maxResponseTokens = 40
        o.maxItems = 10
        return o
    }

    @Test func evalThroughAServerGivesTheLocalGreedyOutcomes() throws {
        let dir = temporaryDirectory("server-eval")
        let data = try validation(dir)
        let coldStart = Repo.path("Assets/quickstart/models/cold-start")
        let lm = try languageModel(coldStart)
        for flavour in [ModelBackedServer.Flavour.vllm, .llamaCpp] {
            let backend = ModelBackedServer(lm: lm, flavour: flavour)
            let server = try MockCompletionsServer { backend.handle($0) }
            var o = evalOptions(data)
            o.dump = dir + "/dump-\(flavour).jsonl"
            let served = EvalTarget.served(ServerOptions(url: server.url, model: "served", concurrency: 3, timeout: 30, retries: 1),
                                           tokenizer: coldStart, label: "served")
            let evaluator = try Evaluator(options: o)
            let results = try evaluator.evaluate([EvalTarget(path: coldStart, label: "local"), served])
            #expect(results[0].scores.map(\.greedy) == results[1].scores.map(\.greedy), "\(flavour)")
            #expect(results[0].scores.count == 10)
            // The predictions themselves agree, response by response.
            let lines = try String(contentsOfFile: o.dump!, encoding: .utf8).split(separator: "\n").map { try JSON.parse(Data($0.utf8), file: "dump") }
            let local = lines.filter { $0["label"]?.string == "local" }, remote = lines.filter { $0["label"]?.string == "served" }
            #expect(local.map { $0["prediction"] } == remote.map { $0["prediction"] })
            if flavour == .vllm { #expect(local.map { $0["completion"] } == remote.map { $0["completion"] }) }
            // Results metadata names the server and what it supports.
            let json = try EvalResults(options: o, itemCount: evaluator.itemCount, models: results, items: evaluator.items).json()
            let s = json["results"]!.array![1]["server"]!
            #expect(s["url"]?.string == server.url && s["served_model"]?.string == "served")
            #expect(s["capabilities"]?["token_id_prompts"]?.bool == (flavour == .vllm))
            #expect(json["results"]!.array![0]["server"] == nil)
        }
    }

    @Test func nextTokenAccuracyThroughAServerGivesTheLocalOutcomes() throws {
        let dir = temporaryDirectory("server-ntp")
        let data = try validation(dir)
        let base = Repo.path("Assets/quickstart/models/base")
        let lm = try languageModel(base)
        var o = EvalOptions()
        o.mode = .ntp
        o.data = data
        for flavour in [ModelBackedServer.Flavour.vllm, .llamaCpp] {
            let backend = ModelBackedServer(lm: lm, flavour: flavour)
            let server = try MockCompletionsServer { backend.handle($0) }
            let served = EvalTarget.served(ServerOptions(url: server.url, model: "served", concurrency: 3, timeout: 30, retries: 1),
                                           tokenizer: base, label: "served")
            let evaluator = try Evaluator(options: o)
            let results = try evaluator.evaluate([EvalTarget(path: base, label: "local"), served])
            let local = results[0].scores.map(\.greedy), remote = results[1].scores.map(\.greedy)
            #expect(local.count >= 20 && local.count == remote.count, "\(local.count) positions")
            // Some right and some wrong: the comparison can fail.
            #expect(local.contains(true) && local.contains(false))
            let unscored = try #require(results[1].server?["unscored"]?.int)
            if flavour == .vllm {
                #expect(local == remote && unscored == 0, "\(flavour)")
            } else {
                // Echo: the server tokenizes the text itself; positions it splits differently count as wrong.
                let differ = zip(local, remote).filter { $0 != $1 }
                #expect(differ.allSatisfy { $0.0 == true && $0.1 == false } && differ.count <= unscored, "\(flavour): \(differ.count) differ, \(unscored) unscored")
                #expect(unscored < local.count / 10)
            }
            #expect(results[1].server?["served_model"]?.string == "served")
        }
    }

    @Test func multipleChoiceThroughAServerGivesTheLocalOutcomes() throws {
        let dir = temporaryDirectory("server-mcq")
        let questions = [("2 + 2 =", ["3", "4", "5"], "B", "math"), ("The sky is", ["blue", "green"], "A", "world"),
                         ("Lily had 3 apples and got 2 more. She had", ["1", "5", "6", "7"], "B", "math")]
        let lines = questions.enumerated().map { i, q in
            JSON.object(["question_id": .number(Double(i)), "question": .string(q.0), "options": .array(q.1.map(JSON.string)),
                         "answer": .string(q.2), "category": .string(q.3)]).serialized()
        }
        let data = dir + "/mcq.jsonl"
        try (lines.joined(separator: "\n") + "\n").write(toFile: data, atomically: true, encoding: .utf8)
        let coldStart = Repo.path("Assets/quickstart/models/cold-start")
        let backend = ModelBackedServer(lm: try languageModel(coldStart), flavour: .llamaCpp)
        let server = try MockCompletionsServer { backend.handle($0) }
        var o = EvalOptions()
        o.mode = .mcq
        o.data = data
        o.chat = "raw"
        o.maxResponseTokens = 30
        o.dump = dir + "/dump.jsonl"
        let served = EvalTarget.served(ServerOptions(url: server.url, model: "served", timeout: 30, retries: 1), tokenizer: coldStart)
        let results = try Evaluator(options: o).evaluate([EvalTarget(path: coldStart, label: "local"), served])
        #expect(results[0].scores == results[1].scores && results[0].scores.count == 3)
        #expect(results[1].groups.map(\.name) == ["all", "math", "world"])
        let dump = try String(contentsOfFile: o.dump!, encoding: .utf8).split(separator: "\n").map { try JSON.parse(Data($0.utf8), file: "dump") }
        #expect(dump.filter { $0["label"]?.string == "local" }.map { $0["prediction"] } == dump.filter { $0["label"]?.string == "served" }.map { $0["prediction"] })
    }

    @Test func sampledRequestsAreSeededPerPositionAndSample() throws {
        let dir = temporaryDirectory("server-seeds")
        let data = try validation(dir)
        let coldStart = Repo.path("Assets/quickstart/models/cold-start")
        let lm = try languageModel(coldStart)
        #expect(ServerRollouts.seed(run: 1, key: "d@5", sample: 0) == ServerRollouts.seed(run: 1, key: "d@5", sample: 0))
        #expect(Set((0..<8).map { ServerRollouts.seed(run: 1, key: "d@5", sample: $0) }).count == 8)
        #expect(ServerRollouts.seed(run: 1, key: "d@5", sample: 0) != ServerRollouts.seed(run: 2, key: "d@5", sample: 0))
        for flavour in [ModelBackedServer.Flavour.llamaCpp, .vllm] {
            var bodies: [[JSON]] = []
            var outcomes: [[ItemScore]] = []
            for concurrency in [1, 4] {
                let backend = ModelBackedServer(lm: lm, flavour: flavour)
                let server = try MockCompletionsServer { backend.handle($0) }
                var o = evalOptions(data)
                o.maxItems = 4
                o.samples = 3
                o.greedy = false
                o.temperature = 1
                o.seed = 7
                let served = EvalTarget.served(ServerOptions(url: server.url, model: "served", concurrency: concurrency, timeout: 30, retries: 1),
                                               tokenizer: coldStart)
                outcomes.append(try Evaluator(options: o).evaluate([served])[0].scores)
                let sent = server.completionBodies.filter { $0["max_tokens"]?.int == 40 }
                bodies.append(sent.sorted { $0.serialized() < $1.serialized() })
                if flavour == .llamaCpp {
                    // n is ignored by llama.cpp: three requests per position, each with its own seed.
                    #expect(sent.count == 12 && sent.allSatisfy { $0["n"] == nil })
                    #expect(Set(sent.compactMap { $0["seed"]?.int }).count == 12)
                } else {
                    #expect(sent.count == 4 && sent.allSatisfy { $0["n"]?.int == 3 })
                }
            }
            #expect(bodies[0] == bodies[1] && outcomes[0] == outcomes[1], "\(flavour): same seed, same requests, whatever the concurrency")
        }
    }

    @Test func deadServerFailsTheCommandNamingIt() throws {
        let dir = temporaryDirectory("server-cli")
        let data = try validation(dir)
        let url = "http://127.0.0.1:\(MockCompletionsServer.closedPort())"
        let r = try runRPT(["eval", "--server", url, "--served-model", "m", "--server-tokenizer", "Assets/quickstart/models/cold-start",
                            "--data", data, "--mode", "reasoning", "--server-retries", "1", "--max-response-tokens", "40", "--max-prompt-tokens", "200",
                            "--template", "Assets/reproduce/prompt.txt", "--chat", "raw"])
        #expect(r.status >= 1 && r.status <= 127 && r.stderr.contains(url) && r.stderr.contains("cannot connect"), "\(r.status) \(r.stderr)")
        let ntp = try runRPT(["eval", "--server", url, "--served-model", "m", "--server-tokenizer", "Assets/quickstart/models/cold-start",
                              "--data", data])
        #expect(ntp.status >= 1 && ntp.status <= 127 && ntp.stderr.contains(url) && ntp.stderr.contains("cannot connect"), "\(ntp.status) \(ntp.stderr)")
        let mcq = try runRPT(["eval", "--server", url, "--served-model", "m", "--server-tokenizer", "Assets/quickstart/models/cold-start",
                              "--data", "Assets/mmlu-pro-sample/test.jsonl", "--mcq", "--mode", "ntp"])
        #expect(mcq.status != 0 && mcq.stderr.contains("log-likelihood"), "\(mcq.status) \(mcq.stderr)")
        let p = try runRPT(["prepare", "--policy", "Assets/quickstart/models/base", "--proxy-server", url, "--proxy-served-model", "m",
                            "--corpus", dir + "/ledger.jsonl", "--out", dir + "/p", "--server-retries", "0"])
        #expect(p.status >= 1 && p.status <= 127 && p.stderr.contains(url), "\(p.status) \(p.stderr)")
        let noModel = try runRPT(["prepare", "--policy", "Assets/quickstart/models/base", "--proxy-server", url,
                                  "--corpus", dir + "/ledger.jsonl", "--out", dir + "/p"])
        #expect(noModel.status != 0 && noModel.stderr.contains("--proxy-served-model"))
    }
}

/// A thread-safe counter for mock handlers.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func next() -> Int { lock.lock(); defer { lock.unlock() }; n += 1; return n - 1 }
}

extension CompletionsClient {
    /// The same client settings for another served model name.
    func withModel(_ name: String) throws -> CompletionsClient {
        var o = options
        o.model = name
        let c = try CompletionsClient(options: o)
        c.backoff = backoff
        return c
    }
}
