// `rpt train`: Reinforcement Pre-Training (paper §3.2–3.3). Each step draws `batchSize` positions of a
// prepared dataset (`rpt prepare`), wraps each context x_<t in the next-token-reasoning prompt, samples G
// responses, extracts the \boxed{} prediction, scores it with the prefix-matching reward (or another), and
// runs a GRPO update at the step's learning rate (the schedule spans the run's `steps`). Metrics per step go
// to metrics.jsonl, a sample of completions to completions.jsonl, checkpoints to step-* directories; a
// stalled learning signal is reported once (LearningSignalMonitor); --resume continues bit-exactly
// (rollouts are seeded by (seed, step)) with the options stored in the checkpoint, `steps` excepted.

import Foundation

public final class RPTTrainer {
    public let options: RPTTrainOptions
    public let policy: Model
    public let tokenizer: any Tokenizer
    let grpo: GRPOTrainer
    let records: [PositionRecord]
    var order: EpochOrder
    let prompt: NextTokenPrompt
    let extractor: AnswerExtractor
    let reward: any RPTReward
    /// --reward-command: a reward computed by another program, used instead of `reward`.
    let externalReward: ExternalReward?
    let schedule: LearningRateSchedule
    let tokenizerDir: String
    public private(set) var step = 0
    var totalFlops: Double = 0
    var monitor: LearningSignalMonitor
    /// Notes from setting up (a fitted token budget, a changed horizon on resume), logged when the run starts.
    public private(set) var notes: [String] = []
    /// The total steps of the run the checkpoint was resumed from (nil for a fresh run).
    let resumedRunSteps: Int?
    public var log: (String) -> Void = { StandardOutput.log($0) }

    public init(options requested: RPTTrainOptions, resume: Bool) throws {
        var o = requested
        var setupNotes: [String] = []
        let checkpoint = try RunDirectory.checkpointToResume(out: requested.out, resume: resume)
        if let note = RunDirectory.threadNote(checkpoint) { setupNotes.append(note) }
        if let ck = checkpoint {
            let stored: RPTTrainOptions
            do { stored = try RPTTrainOptions.stored(ck.state.options) } catch {
                throw RPTError("these are not `rpt train` options (a `rpt pretrain` run?): \(CheckpointJSON.describe(error))", file: ck.directory + "/" + Checkpoint.stateFile)
            }
            resumedRunSteps = stored.steps
            o = try ResumeOptions.merge(stored: stored, requested: requested, defaults: RPTTrainOptions(), safe: RPTTrainOptions.safeOnResume, out: requested.out)
        } else {
            resumedRunSteps = nil
            o.model = ResumeOptions.absolute(o.model); o.data = ResumeOptions.absolute(o.data)
            o.tokenizer = o.tokenizer.map(ResumeOptions.absolute); o.reference = o.reference.map(ResumeOptions.absolute)
            // A template file is stored by absolute path too: `eval --run` reads the format back from the checkpoint.
            if FileManager.default.fileExists(atPath: o.template) { o.template = ResumeOptions.absolute(o.template) }
        }
        try o.validate()
        // Policy, tokenizer (copied once into OUT/tokenizer so checkpoints never depend on a pruned one).
        let source: String
        if let ck = checkpoint { policy = ck.model; source = ck.directory } else {
            policy = try Model.load(path: o.model)
            source = o.tokenizer ?? o.model
        }
        tokenizerDir = try RunDirectory.tokenizerCopy(out: o.out, source: source)
        tokenizer = try loadTokenizer(path: tokenizerDir)
        // Prompt format.
        let format = try ReasoningFormat(template: o.template, chat: o.chat, tokenizerPath: tokenizerDir)
        prompt = format.prompt
        extractor = format.extractor
        reward = o.reward.makeReward(conditionalFallback: o.conditionalFallback)
        externalReward = try o.rewardCommand.map { try ExternalReward(command: $0, timeout: o.rewardTimeout) }
        // Token budget: prompt + response must fit the policy's positions.
        let defaults = RPTTrainOptions()
        let instruction = try prompt.promptTokens(contextIds: [], tokenizer: tokenizer, maxPromptTokens: Int.max).ids.count
        let budget = try SequenceBudget.fit(prompt: o.maxPromptTokens, response: o.maxResponseTokens,
                                            promptIsDefault: o.maxPromptTokens == defaults.maxPromptTokens,
                                            responseIsDefault: o.maxResponseTokens == defaults.maxResponseTokens,
                                            instructionTokens: instruction, positions: policy.rope.positions)
        o.maxPromptTokens = budget.maxPromptTokens
        o.maxResponseTokens = budget.maxResponseTokens
        if let note = budget.note { setupNotes.append(note) }
        if let before = resumedRunSteps, before != o.steps {
            // What is laid out over the run's length moves with it (as in transformers' Trainer on resume).
            var spans: [String] = []
            if o.lrSchedule.hasPrefix("cosine") || o.lrSchedule.hasPrefix("linear") { spans.append("the lr schedule \(o.lrSchedule)") }
            if o.dynamicSampling, case .percent = o.dynamicSamplingFromStep { spans.append("the dynamic-sampling start \(o.dynamicSamplingFromStep)") }
            if !spans.isEmpty {
                setupNotes.append("--steps \(o.steps) changes the run's length from \(before) steps: \(spans.joined(separator: " and ")) now span\(spans.count == 1 ? "s" : "") \(o.steps) steps")
            }
        }
        options = o
        notes = setupNotes
        // Data.
        records = try PositionDataset.read(path: o.data)
        guard !records.isEmpty else { throw RPTError("no positions to train on", file: o.data) }
        let vocab = policy.config.vocabSize
        for r in records where r.contextIds.contains(where: { $0 < 0 || $0 >= vocab }) {
            throw RPTError("position \(r.docId)@\(r.index) has token ids outside the policy's vocabulary: was it prepared for another tokenizer?", file: o.data)
        }
        order = EpochOrder(count: records.count, seed: o.seed)
        // Optimizer, reference, GRPO.
        try o.inferenceDType.requireSupported()
        policy.inferenceDType = o.inferenceDType
        policy.kvCacheDType = o.kvCacheDType
        try o.trainDType.requireSupported()
        policy.trainingDType = o.trainDType
        let backend = try policy.backend(optimizer: AdamWSettings(beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.weightDecay))
        var g = GRPOOptions()
        g.groupSize = o.groupSize; g.temperature = o.temperature; g.topP = o.topP; g.topK = o.topK
        g.maxResponseTokens = o.maxResponseTokens; g.epochs = o.epochs; g.miniBatches = o.miniBatches
        g.normalizeByStd = o.normalizeByStd; g.loss = o.lossOptions; g.gradClip = o.gradClip
        g.maxRefillRounds = o.maxRefillRounds; g.sharePrompts = o.sharePrompts
        let reference = o.klCoefficient > 0 ? try Model.load(path: o.reference ?? o.model).backend() : nil
        grpo = try GRPOTrainer(policy: backend, reference: reference, lr: o.lr, options: g,
                               stopTokens: ReasoningFormat.stopTokens(tokenizer: tokenizer, config: policy.config))
        schedule = try LearningRateSchedule(parsing: o.lrSchedule, totalSteps: o.steps)
        monitor = LearningSignalMonitor(totalSteps: o.steps)
        if let ck = checkpoint {
            try backend.restoreOptimizer(OptimizerState(m: ck.m, v: ck.v, step: ck.state.adamwStep))
            step = ck.state.step
            try order.restore(try JSONDecoder().decode(DataCursor.self, from: Data(ck.state.dataCursor.serialized().utf8)), source: o.data)
            totalFlops = ck.state.payload["flops"]?.double ?? 0
            // Diagnostics only: a checkpoint without it (older) or with an unreadable one starts a fresh monitor.
            if let saved = ck.state.payload["learning_signal"],
               let restored = try? JSONDecoder().decode(LearningSignalMonitor.self, from: Data(saved.serialized().utf8)) {
                monitor = restored
            }
        }
    }

    /// The learning-rate schedule and dynamic-sampling start, as the start-of-run line shows them.
    var scheduleSummary: String {
        let o = options
        let lr = String(format: "lr %g", o.lr) + " (\(o.lrSchedule) over \(o.steps) steps)"
        guard o.dynamicSampling else { return lr + ", no dynamic sampling" }
        let from = o.dynamicSamplingStart
        let share = o.dynamicSamplingFromStep == .step(from) ? "" : " (\(o.dynamicSamplingFromStep) of the run)"
        return lr + (from == 0 ? ", dynamic sampling from the start" : ", dynamic sampling after step \(from)") + share
    }

    /// Runs to `options.steps` (or stops after `stopAfter`, saving there as an interruption would).
    public func run(stopAfter: Int? = nil) throws {
        let o = options
        let end = min(o.steps, stopAfter ?? o.steps)
        let metrics = try MetricsLog(path: o.out + "/metrics.jsonl", keepThroughStep: step > 0 ? step : nil)
        // --report-to tensorboard: the same records as TensorBoard scalars in OUT/tensorboard, written as they come.
        let tensorboard = try o.reportTo == "tensorboard" ? TensorBoardWriter(directory: o.out + "/tensorboard") : nil
        if step > 0 { try tensorboard?.restart(atStep: step + 1) }
        let completions = try MetricsLog(path: o.out + "/completions.jsonl", keepThroughStep: step > 0 ? step : nil)
        log(step == 0 ? "train: \(policy.parameterCount) parameters, \(records.count) positions, \(o.steps) steps of \(o.batchSize) contexts × \(o.groupSize) rollouts; \(scheduleSummary); out \(o.out)"
                      : "train: resumed at step \(step) of \(o.steps) with the checkpoint's options: \(scheduleSummary)")
        for note in notes { log("train: note: " + note) }
        let progress = ProgressLine(total: end, label: "train")
        Interruption.install()
        while step < end {
            var tally = AnswerOutcomeTally()
            var used: [PositionRecord] = []
            grpo.options.dynamicSampling = o.dynamicSampling && step >= o.dynamicSamplingStart
            grpo.lr = schedule.lr(step: step, peak: o.lr)
            let m = try grpo.step(batchSize: o.batchSize, seed: o.seed &+ UInt64(step) &* 1_000_003) {
                let rec = self.records[self.order.next()]
                used.append(rec)
                return try self.context(for: rec) { tally.merge($0) }
            }
            step += 1
            totalFlops += m.flops
            let rewards = m.groups.flatMap(\.rewards)
            let accuracy = rewards.isEmpty ? 0 : Float(rewards.filter { $0 == 1 }.count) / Float(rewards.count)
            var line = TrainMetricsLine(
                step: step, rewardMean: Double(m.rewardMean), accuracy: Double(accuracy),
                groupsDroppedFraction: Double(m.groupsDropped) / Double(max(m.groups.count, 1)), responseLength: Double(m.responseLengthMean),
                clipFraction: Double(m.clipFraction), kl: Double(m.kl), entropy: Double(m.entropy), gradNorm: Double(m.gradNorm),
                loss: Double(m.loss), lr: Double(grpo.lr), flops: totalFlops,
                rolloutTokensPerSecond: Double(m.rolloutTokens) / max(m.rolloutSeconds, 1e-9), rolloutSeconds: m.rolloutSeconds,
                updateSeconds: m.updateSeconds, formatFailures: tally.failed)
            line.answers = tally.metrics
            let warning = monitor.observe(LearningSignalMonitor.StepSignal(
                step: step, rewardMean: m.rewardMean, gradNorm: m.gradNorm,
                allGroupsEqual: !m.groups.isEmpty && m.groups.allSatisfy { GroupAdvantages.isZeroVariance($0.rewards[...]) },
                answers: tally, responseLengthMean: m.responseLengthMean, maxResponseTokens: o.maxResponseTokens))
            if let w = warning {
                line.warning = w.message
                line.warningKind = w.kind.rawValue
            }
            let record = try metrics.append(line)
            try tensorboard?.add(step: step, metrics: record)
            for (gi, group) in m.groups.prefix(o.completionsPerStep).enumerated() where gi < used.count {
                let s = group.samples[0]
                let text = tokenizer.decode(s.tokens)
                try completions.append(CompletionLine(
                    step: step, docId: used[gi].docId, index: used[gi].index, target: used[gi].target, completion: text,
                    prediction: extractor.extract(text, truncated: s.finishReason == .length).prediction, reward: Double(group.rewards[0])))
            }
            log(String(format: "step %d | reward_mean %.4f | accuracy %.3f | format failures %d/%d | dropped %d | length %.1f | grad_norm %.3f | lr %.3g | %.0f rollout tok/s",
                       step, m.rewardMean, accuracy, tally.failed, tally.total, m.groupsDropped, m.responseLengthMean, m.gradNorm,
                       grpo.lr, Double(m.rolloutTokens) / max(m.rolloutSeconds, 1e-9)))
            if let w = warning { log("warning: " + w.message) }
            progress.update(step, unit: "steps", detail: String(format: "reward %.3f", m.rewardMean))
            let signal = Interruption.pending
            if step % o.saveEvery == 0 || step == end || (o.saveSteps ?? []).contains(step) || signal != nil { try save() }
            if let signal { throw InterruptedRun(signal: signal, step: step, checkpoint: Checkpoint.latest(in: o.out) ?? o.out) }
        }
    }

    /// The rollout context of one dataset position: its prompt and its reward.
    func context(for rec: PositionRecord, tally: @escaping (AnswerOutcomeTally) -> Void) throws -> RolloutContext {
        let p = try prompt.promptTokens(contextIds: rec.contextIds, tokenizer: tokenizer, maxPromptTokens: options.maxPromptTokens)
        let needsProbabilities = options.reward == .dense || options.reward == .conditionalDense
        let probabilities: ((Int) -> Float)? = needsProbabilities ? try nextTokenProbabilities(rec.contextIds) : nil
        let tokenizer = self.tokenizer, extractor = self.extractor, reward = self.reward, external = self.externalReward
        return RolloutContext(promptIds: p.ids) { group in
            let inputs = group.map { s in
                let text = tokenizer.decode(s.tokens)
                return RewardInput(answer: extractor.extract(text, truncated: s.finishReason == .length),
                                   continuationBytes: rec.continuation, boundaries: rec.boundaries, nextTokenId: rec.targetId,
                                   probabilityOfToken: probabilities, tokenizer: tokenizer, response: text)
            }
            tally(AnswerOutcomeTally(inputs))
            return try external?.rewards(inputs, record: rec) ?? reward.rewards(inputs)
        }
    }

    /// P(· | x_<t) of the policy on the raw context (for the dense rewards, App. A).
    func nextTokenProbabilities(_ contextIds: [Int]) throws -> (Int) -> Float {
        let ids = contextIds.isEmpty ? [tokenizer.bosTokenId ?? 0] : contextIds
        let backend = grpo.policy
        let cache = try backend.makeCache(slots: 1, capacity: ids.count)
        let logits = try backend.logits(backend.forward(ForwardBatch(tokens: ids, segments: [.init(slot: 0, count: ids.count)]),
                                                        cache: cache, rows: .lastOfEachSegment))
        let v = policy.config.vocabSize
        return { id in id >= 0 && id < v ? logits.withUnsafeBufferPointer { exp(Distribution.logProb($0.baseAddress!, vocab: v, token: id)) } : 0 }
    }

    func save() throws {
        let cursor = try JSON.parse(JSONEncoder().encode(order.cursor), file: "cursor")
        let state = TrainerState(step: step, dataCursor: cursor, options: try options.json, payload: .object(["flops": .number(totalFlops), "learning_signal": try JSON.parse(JSONEncoder().encode(monitor), file: "learning_signal")]))
        try grpo.policy.downloadParameters()
        let dir = try Checkpoint.save(model: policy, optimizer: grpo.policy.optimizerState(), state: state, in: options.out,
                                      options: CheckpointOptions(keepLast: options.keepLast, tokenizerSources: [tokenizerDir]))
        log("saved checkpoint \(dir)")
    }
}
