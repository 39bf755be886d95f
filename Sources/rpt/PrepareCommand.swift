// `rpt prepare`: build RPT's position dataset (paper §3.3, §4.1) — proxy-entropy-filtered training positions
// and difficulty-labelled validation positions — as DIR/train.jsonl, DIR/val.jsonl and DIR/meta.json
// (format: docs/dataset-format.md). `rpt prepare --stats DIR` prints a finished directory's summary.

import ArgumentParser
import Foundation
import RPT
import RPTKernels

/// The defaults every help text shows: PrepareOptions' own (one source).
private let d = PrepareOptions()

/// The flags that set PrepareOptions, each property named as the option it sets (StageFlags).
struct PrepareFlags: StageFlags {
    @Option(help: "Policy model (HF directory or llama2.c .bin): positions are defined on its tokenizer.")
    var policy: String?
    @Option(name: .customLong("policy-tokenizer"), help: "Tokenizer for a llama2.c policy .bin.")
    var policyTokenizer: String?
    @Option(help: "Proxy model whose top-k entropy filters training positions (with --proxy-server: only its tokenizer is read).")
    var proxy: String?
    @Option(name: .customLong("proxy-tokenizer"), help: "Tokenizer for a llama2.c proxy .bin.")
    var proxyTokenizer: String?
    @Option(name: .customLong("split-model"), help: "Model whose entropy labels validation positions (default: the policy; \"proxy\": the proxy's).")
    var splitModel: String?
    @Option(name: .customLong("split-model-tokenizer"), help: "Tokenizer for a llama2.c split model .bin.")
    var splitModelTokenizer: String?

    @Option(help: "Corpus: text file, JSONL file, or a directory of them.")
    var corpus: String?
    @Option(name: .customLong("out"), help: "Output directory.")
    var outputDirectory: String?
    @Option(name: .customLong("text-field"), help: "JSONL field holding the document (default \(d.textField)).")
    var textField: String?
    @Option(name: [.customLong("text-template"), .customLong("template")],
            help: "JSONL: the document text as a template over fields, e.g. \"{problem}\\n\\n{solution}\" (\\n and \\t are unescaped). (--template is the old name; in train/eval --template is the prompt template.)")
    var textTemplate: EscapedText?
    @Option(help: "Plain text: string between documents (\\n and \\t are unescaped).")
    var delimiter: EscapedText?
    @Flag(help: "Strip GSM8K-style <<expr=result>> calculator annotations; positions inside a result record it (\"calculation\").")
    var calculations = false

    @Option(name: .customLong("entropy-threshold"), help: "Training keeps positions with proxy entropy above this, in nats (default \(d.entropyThreshold)).")
    var entropyThreshold: Float?
    @Option(name: .customLong("val-docs"), help: "Validation documents (default: 10% of the documents).")
    var validationDocuments: Int?
    @Option(help: "Seed of the document split and the per-document cap (default \(d.seed)).")
    var seed: UInt64?
    @Option(name: .customLong("top-k"), help: "k of the top-k entropy (default \(d.topK)).")
    var topK: Int?
    @Option(help: "Continuation tokens stored per position (default \(d.horizon)).")
    var horizon: Int?
    @Option(help: "Proxy context window (default: min(model max positions, 1024)).")
    var window: Int?
    @Option(name: .customLong("min-context"), help: "Minimum left context (tokens) of a scored position (default \(d.minContext)).")
    var minContext: Int?
    @Option(name: .customLong("max-context-tokens"), help: "Stored contexts are left-truncated to this many tokens (default \(d.maxContextTokens)).")
    var maxContextTokens: Int?
    @Option(name: .customLong("max-positions-per-doc"), help: "Cap on training positions per document (seeded sample).")
    var maxPositionsPerDocument: Int?
    @Option(name: .customLong("batch-tokens"), help: "Tokens per forward call (default \(d.batchTokens)).")
    var batchTokens: Int?
}

struct PrepareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prepare",
        abstract: "Score a corpus with a proxy model and write RPT training/validation positions (JSONL).",
        discussion: """
        --proxy-server URL --proxy-served-model NAME scores proxy entropy through an OpenAI-compatible server (vLLM prompt_logprobs, or llama.cpp echo logprobs); rpt's tokenizer for the proxy comes from --proxy-tokenizer, else --proxy, else the policy, and positions are mapped to it by bytes (docs/servers.md). --split-model proxy labels validation splits with the proxy's entropies.

        Every option has its default in PrepareOptions; --config sets any of them (docs/config.md), and flags override the config.
        """)

    @Option(help: "Print the summary of a finished output directory and exit.")
    var stats: String?
    @OptionGroup var configFlags: ConfigFlags
    @OptionGroup var options: PrepareFlags
    @Option(name: .customLong("proxy-server"), help: "Score proxy entropy through this OpenAI-compatible server (http://HOST:PORT) instead of loading --proxy.")
    var proxyServer: String?
    @Option(name: .customLong("proxy-served-model"), help: "With --proxy-server: the served proxy model's name (one of its /v1/models).")
    var proxyServedModel: String?
    @OptionGroup var serverFlags: ServerFlags
    @Option(help: "Threads for the compute kernels (default: all cores).")
    var threads: Int?

    func run() throws {
        if let dir = stats {
            print(try PrepareSummary.render(directory: dir), terminator: "")
            return
        }
        var o = try PrepareOptions.layered(config: configFlags.config, flags: try options.given())
        if let url = proxyServer {
            guard let name = proxyServedModel else { throw ValidationError("--proxy-server needs --proxy-served-model NAME (one of the server's /v1/models)") }
            o.proxyServer = try serverFlags.options(url: url, model: name)
        } else if proxyServedModel != nil {
            throw ValidationError("--proxy-served-model goes with --proxy-server URL")
        }
        if configFlags.printOptions {
            print(try o.prettyPrinted())
            return
        }
        guard !o.policy.isEmpty, !o.proxy.isEmpty || o.proxyServer != nil, !o.corpus.isEmpty, !o.outputDirectory.isEmpty else {
            throw ValidationError("--policy, --proxy (or --proxy-server), --corpus and --out are required (as flags or in --config; or --stats DIR)")
        }
        if let t = threads { Parallel.setThreads(t) }
        let out = o.outputDirectory
        try OutputGuard.refuseTrainingRun(out)
        let preparer = Preparer(options: o)
        if let d = ProcessInfo.processInfo.environment["RPT_PREPARE_GROUP_DELAY"].flatMap(Double.init) { preparer.delayPerGroup = d }
        let r = try preparer.run()
        print(String(format: "wrote %@/train.jsonl (%d positions, %d documents) and %@/val.jsonl (%d positions, %d documents) in %.2f s",
                     out, r.trainPositions, r.train.documents, out, r.valPositions, r.val.documents, r.seconds))
        if r.documentsScoredNow > 0 {
            print(String(format: "scored %d documents now, proxy scoring %.0f tokens/s", r.documentsScoredNow, r.proxyTokensPerSecond))
        }
        if let s = r.proxyServer, let p = s["positions"] {
            let n = { (k: String) in p[k]?.int ?? 0 }
            print(String(format: "proxy server %@: %d positions scored, %d refused (%d tokenization disagrees, %d incomplete top-k, %d without a distribution), %d requests, %.2f requests/s",
                         s["url"]?.string ?? "", n("scored"), n("refused_tokenization") + n("incomplete_top_k") + n("missing"),
                         n("refused_tokenization"), n("incomplete_top_k"), n("missing"), s["requests"]?.int ?? 0, s["requests_per_second"]?.double ?? 0))
        }
    }
}
