// `rpt pretrain`: next-token training (the paper's continual-NTP baseline) or SFT, with AdamW, gradient
// accumulation and clipping, a learning-rate schedule, periodic validation loss, metrics JSONL, and
// atomic checkpoints from which `--resume` continues bit-exactly (same weights, optimizer moments,
// data cursor; the thread count must match, as BLAS summation order depends on it).

import Foundation

/// The training examples of a run: a token stream (pretraining) or an SFT dataset.
enum TrainingData {
    case stream(PretrainingData)
    case sft(SFTData)

    var cursor: DataCursor {
        switch self { case .stream(let d): return d.train.cursor; case .sft(let d): return d.train.cursor }
    }
    mutating func restore(_ c: DataCursor) throws {
        switch self {
        case .stream(var d): try d.train.restore(c); self = .stream(d)
        case .sft(var d): try d.train.restore(c); self = .sft(d)
        }
    }
    mutating func next() -> TokenSequenceBatch {
        switch self {
        case .stream(var d): let b = d.train.next(); self = .stream(d); return b
        case .sft(var d): let b = d.train.next(); self = .sft(d); return b
        }
    }
    func validationBatches(_ n: Int, batchSize: Int) -> [TokenSequenceBatch] {
        switch self {
        case .stream(let d): return d.validation?.orderedBatches(maxWindows: n * batchSize) ?? []
        case .sft(let d): return d.validation?.orderedBatches(maxExamples: n * batchSize) ?? []
        }
    }
}

public final class Pretrainer {
    public let options: PretrainOptions
    public let model: Model
    public let tokenizer: any Tokenizer
    /// Where the model trains: forward/backward, gradients and AdamW's state.
    let backend: any ComputeBackend
    /// Learning rate of the last step.
    private var lr: Float = 0
    let schedule: LearningRateSchedule
    var data: TrainingData
    var step = 0
    /// Training compute so far: 6N per token of every trained sequence (forward + backward; docs/method.md §6.3).
    public private(set) var totalFlops: Double = 0
    let tokenizerSources: [String]
    /// The data line logged when the run starts: documents (or examples) and tokens of each split.
    public let dataSummary: String
    /// A note for a resume with another thread count (RunDirectory.threadNote).
    let resumeNote: String?
    /// Called with each log line (stdout by default).
    public var log: (String) -> Void = { StandardOutput.log($0) }
    /// Test hook: seconds to sleep after each step (makes a run slow enough to interrupt; not in any result).
    public var delayPerStep: Double = 0

    /// Sets up a run, or resumes the latest checkpoint in `options.out` when `resume` is true (the stored
    /// options are used then, but for `PretrainOptions.safeOnResume`; ResumeOptions).
    public init(options requested: PretrainOptions, resume: Bool) throws {
        var options = requested
        let checkpoint = try RunDirectory.checkpointToResume(out: requested.out, resume: resume)
        resumeNote = RunDirectory.threadNote(checkpoint)
        if let ck = checkpoint {
            let stored: PretrainOptions
            do { stored = try PretrainOptions.stored(ck.state.options) } catch {
                throw RPTError("these are not `rpt pretrain` options (an `rpt train` run?): \(CheckpointJSON.describe(error))", file: ck.directory + "/" + Checkpoint.stateFile)
            }
            options = try ResumeOptions.merge(stored: stored, requested: requested, defaults: PretrainOptions(),
                                              safe: PretrainOptions.safeOnResume, out: requested.out)
        } else {
            options.model = ResumeOptions.absolute(options.model); options.data = ResumeOptions.absolute(options.data)
            options.tokenizer = options.tokenizer.map(ResumeOptions.absolute)
        }
        try options.validate()
        self.options = options
        // Model and tokenizer. A new run loads the tokenizer from the path given (errors name it) and copies it
        // afresh into OUT/tokenizer, the source every checkpoint copies from (a resumed run keeps that copy and
        // must not depend on a checkpoint that may be pruned).
        let sourceTokenizer: String
        if let ck = checkpoint {
            model = ck.model
            sourceTokenizer = ck.directory
        } else if options.model.hasSuffix(".json") {
            let config = try ModelConfig.load(path: options.model)
            try Model.checkAllocation(config: config, file: options.model)
            model = Model.initialized(config: config, seed: options.seed)
            sourceTokenizer = options.tokenizer ?? (options.model as NSString).deletingLastPathComponent
        } else {
            model = try Model.load(path: options.model)
            sourceTokenizer = options.tokenizer ?? options.model
        }
        let loaded: (directory: String, tokenizer: any Tokenizer)
        do { loaded = try RunDirectory.tokenizer(out: options.out, source: sourceTokenizer) } catch var e as RPTError
        where checkpoint == nil && options.tokenizer == nil {
            // The default place: say where it came from and how to choose another.
            e.message += " (the tokenizer of --model \(requested.model) is read from "
                + (options.model.hasSuffix(".json") ? "the directory of the config.json" : "the model") + "; pass --tokenizer to use another)"
            throw e
        }
        tokenizerSources = [loaded.directory]
        tokenizer = loaded.tokenizer
        guard tokenizer.vocabSize <= model.config.vocabSize else {
            throw RPTError("tokenizer has \(tokenizer.vocabSize) ids but the model's vocabulary has \(model.config.vocabSize)", file: sourceTokenizer)
        }
        // Data.
        let v = options.validationSize
        if options.sft {
            let sftOptions = SFTOptions(promptField: options.promptField, completionField: options.completionField)
            data = .sft(try SFTData.load(path: options.data, options: sftOptions, tokenizer: tokenizer, seqLen: options.seqLen,
                                         batchSize: options.batchSize, validation: v, seed: options.seed))
        } else {
            let corpus = CorpusOptions(documentDelimiter: options.delimiter, textField: options.textField,
                                       template: try options.template.map { try TextTemplate($0, label: "--template") },
                                       calculations: options.calculations ?? false)
            data = .stream(try PretrainingData.load(path: options.data, options: corpus, tokenizer: tokenizer, seqLen: options.seqLen,
                                                    batchSize: options.batchSize, validation: v, seed: options.seed))
        }
        switch data {
        case .stream(let d): dataSummary = d.summary
        case .sft(let d):
            func part(_ set: SFTDataset?) -> String {
                let n = set?.count ?? 0, t = set?.sequences.reduce(0) { $0 + $1.tokens.count } ?? 0
                return "\(thousands(n)) example\(n == 1 ? "" : "s") / \(thousands(t)) tokens"
            }
            dataSummary = "data (SFT): train \(part(d.train)), validation \(part(d.validation))"
        }
        try options.trainDType.requireSupported()
        model.trainingDType = options.trainDType
        backend = try model.backend(optimizer: AdamWSettings(beta1: options.beta1, beta2: options.beta2, eps: options.eps,
                                                             weightDecay: options.weightDecay))
        schedule = try LearningRateSchedule(parsing: options.schedule, totalSteps: options.steps)
        if let ck = checkpoint {
            try backend.restoreOptimizer(OptimizerState(m: ck.m, v: ck.v, step: ck.state.adamwStep))
            step = ck.state.step
            totalFlops = ck.state.payload["flops"]?.double ?? 0
            let cursor = try JSONDecoder().decode(DataCursor.self, from: Data(ck.state.dataCursor.serialized().utf8))
            try data.restore(cursor)
        }
    }

    /// Runs to `options.steps` (or stops after step `stopAfter`, saving a checkpoint there, as an
    /// interruption would), logging, validating and checkpointing; returns the last training loss.
    @discardableResult
    public func run(stopAfter: Int? = nil) throws -> Float? {
        let o = options
        let end = min(o.steps, stopAfter ?? o.steps)
        let metrics = try MetricsLog(path: o.out + "/metrics.jsonl", keepThroughStep: step > 0 ? step : nil)
        // --report-to tensorboard: the same records as TensorBoard scalars in OUT/tensorboard, written as they come.
        let tensorboard = try o.reportTo == "tensorboard" ? TensorBoardWriter(directory: o.out + "/tensorboard") : nil
        if step > 0 { try tensorboard?.restart(atStep: step + 1) }
        log(dataSummary)
        if step == 0 { log("pretrain: \(model.parameterCount) parameters, \(o.steps) steps of \(o.batchSize)×\(o.gradAccumulation) sequences ≤ \(o.seqLen + 1) tokens; out \(o.out)") }
        else { log("pretrain: resumed at step \(step) from \(Checkpoint.latest(in: o.out) ?? o.out)") }
        if let note = resumeNote { log("pretrain: note: " + note) }
        let progress = ProgressLine(total: o.steps, label: "pretrain")
        var lastLoss: Float?
        let start = Date()
        Interruption.install()
        while step < end {
            if let budget = o.flopsBudget, totalFlops >= budget { break }
            let t0 = Date()
            let (loss, tokens) = try trainStep()
            lastLoss = loss
            step += 1
            totalFlops += 6 * Double(model.parameterCount) * Double(tokens)
            let budgetReached = o.flopsBudget.map { totalFlops >= $0 } ?? false
            let dt = Date().timeIntervalSince(t0)
            var line = PretrainMetricsLine(step: step, loss: Double(loss), lr: Double(lr), gradNorm: Double(lastGradNorm),
                                           tokens: tokens, tokensPerSecond: Double(tokens) / dt,
                                           elapsedSeconds: Date().timeIntervalSince(start), flops: totalFlops)
            if step % o.evalEvery == 0 || step == o.steps || budgetReached, let val = try validationLoss() {
                line.valLoss = Double(val)
            }
            let record = try metrics.append(line)
            try tensorboard?.add(step: step, metrics: record)
            if step % o.logEvery == 0 || step == o.steps || budgetReached {
                var text = String(format: "step %d | loss %.4f | lr %.3g | grad_norm %.3f | %.0f tokens/s", step, loss,
                                  lr, lastGradNorm, Double(tokens) / dt)
                if let v = line.valLoss { text += String(format: " | val_loss %.4f", v) }
                log(text)
            }
            progress.update(step, unit: "steps", detail: String(format: "loss %.4f", loss))
            if delayPerStep > 0 { Thread.sleep(forTimeInterval: delayPerStep) }
            let signal = Interruption.pending
            if step % o.saveEvery == 0 || step == end || budgetReached || signal != nil { try save() }
            if let signal { throw InterruptedRun(signal: signal, step: step, checkpoint: Checkpoint.latest(in: o.out) ?? o.out) }
            if budgetReached { log(String(format: "pretrain: compute budget of %.4g FLOPs reached at step %d (%.4g FLOPs)", o.flopsBudget!, step, totalFlops)) }
        }
        return lastLoss
    }

    private var lastGradNorm: Float = 0

    /// One optimizer step over `gradAccumulation` micro-batches; returns the mean loss and the token count.
    func trainStep() throws -> (Float, Int) {
        let micro = (0..<options.gradAccumulation).map { _ in data.next() }
        let predicted = micro.reduce(0) { $0 + $1.lossMasks.reduce(0) { $0 + Double($1.reduce(0, +)) } }
        guard predicted > 0 else { throw RPTError("step \(step + 1): the batch has no positions to predict") }
        try backend.zeroGradients()
        var loss: Double = 0
        var tokens = 0
        for b in micro {
            let batch = TrainingBatch(sequences: b.sequences)
            tokens += batch.count
            let weights = batch.packed(b.lossMasks).map { -$0 / Float(predicted) }
            let tape: any TrainingTape
            do { tape = try backend.trainForward(batch) } catch let e as RPTError {
                throw RPTError("step \(step + 1): \(e.message); weights left unchanged. Resume from the last checkpoint (--resume --lr with a lower rate).")
            }
            loss += zip(tape.logProbs, weights).reduce(0.0) { $0 + Double($1.0) * Double($1.1) } // = −Σ mask·logp / P
            try backend.backward(tape, gradLogProbs: weights)
        }
        guard loss.isFinite else {
            throw RPTError("step \(step + 1): loss is \(loss); weights left unchanged. Resume from the last checkpoint (--resume --lr with a lower rate).")
        }
        if let bad = try backend.firstNonFiniteGradient() {
            throw RPTError("step \(step + 1): non-finite gradient in tensor '\(bad)'; weights left unchanged. Resume from the last checkpoint (--resume).")
        }
        lastGradNorm = try backend.clipGradients(maxNorm: options.gradClip)
        lr = schedule.lr(step: step, peak: options.lr)
        try backend.optimizerStep(lr: lr)
        return (Float(loss), tokens)
    }

    /// Mean next-token loss over the fixed validation batches (nil without a validation split).
    public func validationLoss() throws -> Float? {
        let batches = data.validationBatches(options.evalBatches, batchSize: options.batchSize)
        guard !batches.isEmpty else { return nil }
        var total: Double = 0, count: Double = 0
        for b in batches {
            let batch = TrainingBatch(sequences: b.sequences)
            let tape = try backend.trainForward(batch)
            for (lp, w) in zip(tape.logProbs, batch.packed(b.lossMasks)) where w != 0 {
                total -= Double(lp) * Double(w); count += Double(w)
            }
        }
        return count > 0 ? Float(total / count) : nil
    }

    func save() throws {
        let cursor = try JSON.parse(JSONEncoder().encode(data.cursor), file: "cursor")
        let state = TrainerState(step: step, dataCursor: cursor, options: try options.json,
                                 metrics: ["grad_norm": Double(lastGradNorm)], payload: .object(["flops": .number(totalFlops)]))
        try backend.downloadParameters()
        let dir = try Checkpoint.save(model: model, optimizer: backend.optimizerState(), state: state, in: options.out,
                                      options: CheckpointOptions(modelDType: options.saveBF16 ? .bfloat16 : .float32,
                                                                 keepLast: options.keepLast, tokenizerSources: tokenizerSources))
        log("saved checkpoint \(dir)")
    }
}
