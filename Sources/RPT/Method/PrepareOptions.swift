// Options of `rpt prepare` (RPT §3.3 data preparation): models, corpus, entropy filtering, windows, the
// document split. `fingerprint` records everything that changes the output, so a resumed run refuses a
// work directory made with different options. The property initialisers are the defaults; a config file
// (`--config`) and the command line are layers over them (StageOptions).

import Foundation

public struct PrepareOptions: StageOptions {
    /// Policy model (positions are defined on its tokenizer) and optional tokenizer for a llama2.c .bin.
    public var policy = ""
    public var policyTokenizer: String?
    /// Proxy model whose entropy filters training positions.
    public var proxy = ""
    public var proxyTokenizer: String?
    /// Score proxy entropy through this OpenAI-compatible server instead of loading `proxy` (docs/servers.md); the
    /// proxy's tokenizer is then `proxyTokenizer`, else `proxy` (a directory or tokenizer file), else the policy's.
    public var proxyServer: ServerOptions?
    /// Model whose entropy labels validation positions (nil: the policy; `proxySplitModel`: the proxy's entropies).
    public var splitModel: String?
    /// The `splitModel` value that means "the proxy itself" (useful with a proxy server).
    public static let proxySplitModel = "proxy"
    public var splitModelTokenizer: String?

    public var corpus = ""
    /// JSONL: the field holding the document text (used when `textTemplate` is nil).
    public var textField = "text"
    /// JSONL: the document text as a template over fields (TextTemplate), e.g. "{problem}\n\n{solution}".
    public var textTemplate: String?
    /// Plain text: the string between documents (nil: one document per file).
    public var delimiter: String?
    /// Strip GSM8K-style `<<expr=result>>` calculator annotations; positions inside a result record it.
    public var calculations = false
    public var outputDirectory = ""

    /// Training keeps positions with proxy entropy above this (nats).
    public var entropyThreshold: Float = 1.0
    public var topK: Int = 16
    /// Continuation tokens stored per position.
    public var horizon: Int = 32
    /// Proxy context window (nil: min(model max positions, 1024)).
    public var window: Int?
    /// Minimum left context (tokens) of a scored position.
    public var minContext: Int = 32
    /// Stored contexts are left-truncated to this many tokens.
    public var maxContextTokens: Int = 1024
    /// Cap on training positions per document (sampled with the seed).
    public var maxPositionsPerDocument: Int?
    /// Validation documents (nil: 10%).
    public var validationDocuments: Int?
    public var seed: UInt64 = 0
    /// Tokens per forward call.
    public var batchTokens: Int = 4096

    /// The flag names where they differ from the option's.
    public static let aliases: [String: String] = [
        "out": "outputDirectory", "valDocs": "validationDocuments", "maxPositionsPerDoc": "maxPositionsPerDocument",
    ]

    public init() {}

    public init(policy: String, proxy: String, corpus: String, outputDirectory: String,
                corpusOptions: CorpusOptions = CorpusOptions()) {
        self.policy = policy
        self.proxy = proxy
        self.corpus = corpus
        self.outputDirectory = outputDirectory
        textField = corpusOptions.textField
        textTemplate = corpusOptions.template?.pattern
        delimiter = corpusOptions.documentDelimiter
        calculations = corpusOptions.calculations
    }

    /// How the corpus is read; an invalid `textTemplate` is an error naming --text-template.
    public func corpusOptions() throws -> CorpusOptions {
        CorpusOptions(documentDelimiter: delimiter, textField: textField,
                      template: try textTemplate.map { try TextTemplate($0, label: "--text-template") }, calculations: calculations)
    }

    public func validate() throws {
        guard entropyThreshold.isFinite, entropyThreshold >= 0 else {
            throw RPTError("must be a non-negative number, got \(entropyThreshold)", file: "--entropy-threshold")
        }
        guard topK >= 1 else { throw RPTError("must be ≥ 1, got \(topK)", file: "--top-k") }
        guard horizon >= 1 else { throw RPTError("must be ≥ 1, got \(horizon)", file: "--horizon") }
        guard minContext >= 1 else { throw RPTError("must be ≥ 1, got \(minContext)", file: "--min-context") }
        guard maxContextTokens >= 1 else { throw RPTError("must be ≥ 1, got \(maxContextTokens)", file: "--max-context-tokens") }
        guard batchTokens >= 1 else { throw RPTError("must be ≥ 1, got \(batchTokens)", file: "--batch-tokens") }
        if let w = window, w <= minContext { throw RPTError("must exceed --min-context (\(minContext)), got \(w)", file: "--window") }
        if let m = maxPositionsPerDocument, m < 1 { throw RPTError("must be ≥ 1, got \(m)", file: "--max-positions-per-doc") }
        if let v = validationDocuments, v < 0 { throw RPTError("must be ≥ 0, got \(v)", file: "--val-docs") }
        try proxyServer?.validate()
        _ = try corpusOptions()
    }

    /// Everything that determines the output. --batch-tokens is included: packing changes float rounding in
    /// the last bits, so a resumed run must pack exactly as the first one did.
    public func fingerprint(window resolvedWindow: Int) -> JSON {
        func s(_ v: String?) -> JSON { v.map { .string($0) } ?? .null }
        var f: [String: JSON] = [
            "policy": .string(policy), "policy_tokenizer": s(policyTokenizer),
            "proxy": .string(proxy), "proxy_tokenizer": s(proxyTokenizer),
            "split_model": s(splitModel), "split_model_tokenizer": s(splitModelTokenizer),
            "corpus": .string(corpus),
            "text_field": .string(textField),
            "template": s(textTemplate),
            "delimiter": s(delimiter),
            "entropy_threshold": .number(Double(entropyThreshold)),
            "top_k": .number(Double(topK)),
            "horizon": .number(Double(horizon)),
            "window": .number(Double(resolvedWindow)),
            "min_context": .number(Double(minContext)),
            "max_context_tokens": .number(Double(maxContextTokens)),
            "max_positions_per_doc": maxPositionsPerDocument.map { .number(Double($0)) } ?? .null,
            "val_docs": validationDocuments.map { .number(Double($0)) } ?? .null,
            "seed": .string(String(seed)),
            "batch_tokens": .number(Double(batchTokens)),
        ]
        if calculations { f["calculations"] = .bool(true) }
        if let proxyServer {
            f["proxy_server"] = .string(proxyServer.url)
            f["proxy_served_model"] = .string(proxyServer.model)
        }
        return .object(f)
    }

    /// The options that change what scoring computes (the work directory is reusable while these match): the
    /// fingerprint without the training selection (threshold, per-document cap), with the work-file format.
    public func scoringFingerprint(window resolvedWindow: Int) -> JSON {
        guard case .object(var f) = fingerprint(window: resolvedWindow) else { return .null }
        f["entropy_threshold"] = nil
        f["max_positions_per_doc"] = nil
        f["work_format"] = .number(2)
        return .object(f)
    }
}
