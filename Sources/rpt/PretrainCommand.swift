// `rpt pretrain`: next-token training (or SFT with --sft) with checkpoints and bit-exact --resume.

import ArgumentParser
import Foundation
import RPT
import RPTKernels

struct PretrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pretrain",
        abstract: "Next-token training or SFT of a model on text/JSONL, with checkpoints and --resume.")

    @Option(help: "HF checkpoint directory, llama2.c .bin (with --tokenizer), or a config.json to initialise from.")
    var model: String
    @Option(help: "Tokenizer: a directory or file with tokenizer.json, vocab.json + merges.txt (GPT-2), or llama2.c tokenizer.bin (default: the model directory's, or the config.json's directory).")
    var tokenizer: String?
    @Option(help: "Text file, directory of .txt files, or JSONL.")
    var data: String
    @Option(help: "Output directory (metrics.jsonl, step-* checkpoints).")
    var out: String
    @Option(help: "Total optimizer steps.") var steps: Int = 100
    @Option(name: .customLong("seq-len"), help: "Sequence length.") var seqLen: Int = 256
    @Option(name: .customLong("batch-size"), help: "Sequences per micro-batch.") var batchSize: Int = 4
    @Option(name: .customLong("grad-accumulation"), help: "Micro-batches per optimizer step.") var gradAccumulation: Int = 1
    @Option(help: "Peak learning rate.") var lr: Float = 3e-4
    @Option(name: .customLong("lr-schedule"), help: "constant | warmup:N | cosine:N:minRatio | linear:N:minRatio") var schedule: String = "cosine:0:0.1"
    @Option(name: .customLong("weight-decay")) var weightDecay: Float = 0.1
    @Option(name: .customLong("grad-clip"), help: "Global gradient-norm clip (0 = off).") var gradClip: Float = 1.0
    @Option(help: "Random seed (initialisation, data order, split).") var seed: UInt64 = 0
    @Option(help: ArgumentHelp("Held out for validation: a fraction when < 1, else a count of documents.",
                               discussion: "A fraction holds out that share of the documents, drawn with --seed, when it amounts to at least one document (e.g. 0.05 of 20 or more); otherwise (a single text file, a few files) the last tokens of the corpus: that share of its tokens, at least one window."))
    var validation: Double = 0.05
    @Option(name: .customLong("eval-every")) var evalEvery: Int = 50
    @Option(name: .customLong("eval-batches")) var evalBatches: Int = 8
    @Option(name: .customLong("save-every")) var saveEvery: Int = 100
    @Option(name: .customLong("keep-last"), help: "Checkpoints kept (0 = all).") var keepLast: Int = 3
    @Flag(name: .customLong("save-bf16"), help: "Write model weights as BF16.") var saveBF16 = false
    @Option(name: .customLong("log-every")) var logEvery: Int = 1
    @Option(name: .customLong("report-to"), help: "none | tensorboard: metrics also as TensorBoard events in OUT/tensorboard.") var reportTo: String = "none"
    @Option(name: .customLong("text-field"), help: "JSONL field holding the text.") var textField: String = "text"
    @Option(name: [.customLong("text-template"), .customLong("template")],
            help: "JSONL: the document text as a template over fields, e.g. '{problem}\\n\\n{solution}'. (--template is the old name; in train/eval --template is the prompt template.)")
    var template: String?
    @Option(help: "Document delimiter in plain text files.") var delimiter: String?
    @Flag(help: "Supervised fine-tuning on prompt/completion JSONL (loss on completion tokens only).") var sft = false
    @Option(name: .customLong("prompt-field")) var promptField: String = "prompt"
    @Option(name: .customLong("completion-field")) var completionField: String = "completion"
    @Flag(help: "Strip GSM8K-style <<expr=result>> calculator annotations from the corpus text.") var calculations = false
    @Option(help: "Stop once training FLOPs (6N per trained token) reach this budget; --steps stays the schedule's horizon.") var flops: Double?
    @Flag(help: "Continue from the latest checkpoint in --out.") var resume = false
    @Option(name: .customLong("stop-after"), help: "Stop (with a checkpoint) after this step, as an interruption would; --resume continues.")
    var stopAfter: Int?
    @Option(help: "Threads (default: all cores).") var threads: Int?

    func run() throws {
        if let t = threads { Parallel.setThreads(t) }
        var o = PretrainOptions(model: model, tokenizer: tokenizer, data: data, out: out)
        o.steps = steps; o.seqLen = seqLen; o.batchSize = batchSize; o.gradAccumulation = gradAccumulation
        o.lr = lr; o.schedule = schedule; o.weightDecay = weightDecay; o.gradClip = gradClip; o.seed = seed
        o.validation = validation; o.evalEvery = evalEvery; o.evalBatches = evalBatches; o.saveEvery = saveEvery
        o.keepLast = keepLast; o.saveBF16 = saveBF16; o.logEvery = logEvery; o.reportTo = reportTo; o.textField = textField
        o.template = template.map { $0.replacingOccurrences(of: "\\n", with: "\n") }
        o.delimiter = delimiter.map { $0.replacingOccurrences(of: "\\n", with: "\n") }
        o.sft = sft; o.promptField = promptField; o.completionField = completionField
        o.calculations = calculations ? true : nil; o.flopsBudget = flops
        let trainer = try Pretrainer(options: o, resume: resume)
        if let d = ProcessInfo.processInfo.environment["RPT_PRETRAIN_STEP_DELAY"].flatMap(Double.init) { trainer.delayPerStep = d }
        try trainer.run(stopAfter: stopAfter)
    }
}
