// `rpt pretrain`: next-token training (or SFT with --sft) with checkpoints and bit-exact --resume.

import ArgumentParser
import Foundation
import RPT
import RPTKernels

/// The defaults every help text shows: PretrainOptions' own (one source).
private let d = PretrainOptions()

/// The flags that set PretrainOptions, each property named as the option it sets (StageFlags).
struct PretrainFlags: StageFlags {
    @Option(help: "HF checkpoint directory, llama2.c .bin (with --tokenizer), or a config.json to initialise from.")
    var model: String?
    @Option(help: "Tokenizer: a directory or file with tokenizer.json, vocab.json + merges.txt (GPT-2), or llama2.c tokenizer.bin (default: the model directory's, or the config.json's directory).")
    var tokenizer: String?
    @Option(help: "Text file, directory of .txt files, or JSONL.")
    var data: String?
    @Option(help: "Output directory (metrics.jsonl, step-* checkpoints).")
    var out: String?
    @Option(help: "Total optimizer steps (default \(d.steps)).") var steps: Int?
    @Option(name: .customLong("seq-len"), help: "Sequence length (default \(d.seqLen)).") var seqLen: Int?
    @Option(name: .customLong("batch-size"), help: "Sequences per micro-batch (default \(d.batchSize)).") var batchSize: Int?
    @Option(name: .customLong("grad-accumulation"), help: "Micro-batches per optimizer step (default \(d.gradAccumulation)).") var gradAccumulation: Int?
    @Option(help: "Peak learning rate (default \(d.lr)).") var lr: Float?
    @Option(name: .customLong("lr-schedule"), help: "constant | warmup:N | cosine:N:minRatio | linear:N:minRatio (default \(d.schedule)).") var schedule: String?
    @Option(name: .customLong("weight-decay"), help: "AdamW weight decay (default \(d.weightDecay)).") var weightDecay: Float?
    @Option(name: .customLong("grad-clip"), help: "Global gradient-norm clip, 0 = off (default \(d.gradClip)).") var gradClip: Float?
    @Option(help: "Random seed: initialisation, data order, split (default \(d.seed)).") var seed: UInt64?
    @Option(help: ArgumentHelp("Held out for validation: a fraction when < 1, else a count of documents (default \(d.validation)).",
                               discussion: "A fraction holds out that share of the documents, drawn with --seed, when it amounts to at least one document (e.g. 0.05 of 20 or more); otherwise (a single text file, a few files) the last tokens of the corpus: that share of its tokens, at least one window."))
    var validation: Double?
    @Option(name: .customLong("eval-every"), help: "Validation loss every N steps (default \(d.evalEvery)).") var evalEvery: Int?
    @Option(name: .customLong("eval-batches"), help: "Validation batches per evaluation (default \(d.evalBatches)).") var evalBatches: Int?
    @Option(name: .customLong("save-every"), help: "Checkpoint every N steps (default \(d.saveEvery)).") var saveEvery: Int?
    @Option(name: .customLong("keep-last"), help: "Checkpoints kept, 0 = all (default \(d.keepLast)).") var keepLast: Int?
    @Flag(name: .customLong("save-bf16"), help: "Write model weights as BF16.") var saveBF16 = false
    @Option(name: .customLong("train-dtype"), help: "Precision of the matrix products: fp32 | bf16 (bf16 operands, fp32 sums and weights, as PyTorch's bf16 autocast; AVX-512 BF16 CPUs) (default \(d.trainDType.rawValue)).")
    var trainDType: TrainingDType?
    @Option(name: .customLong("log-every"), help: "A metrics line every N steps (default \(d.logEvery)).") var logEvery: Int?
    @Option(name: .customLong("report-to"), help: "none | tensorboard: metrics also as TensorBoard events in OUT/tensorboard (default \(d.reportTo)).") var reportTo: String?
    @Option(name: .customLong("text-field"), help: "JSONL field holding the text (default \(d.textField)).") var textField: String?
    @Option(name: [.customLong("text-template"), .customLong("template")],
            help: "JSONL: the document text as a template over fields, e.g. '{problem}\\n\\n{solution}' (\\n and \\t are unescaped). (--template is the old name; in train/eval --template is the prompt template.)")
    var template: EscapedText?
    @Option(help: "Document delimiter in plain text files (\\n and \\t are unescaped).") var delimiter: EscapedText?
    @Flag(help: "Supervised fine-tuning on prompt/completion JSONL (loss on completion tokens only).") var sft = false
    @Option(name: .customLong("prompt-field"), help: "SFT: the prompt's JSONL field (default \(d.promptField)).") var promptField: String?
    @Option(name: .customLong("completion-field"), help: "SFT: the completion's JSONL field (default \(d.completionField)).") var completionField: String?
    @Flag(help: "Strip GSM8K-style <<expr=result>> calculator annotations from the corpus text.") var calculations = false
    @Option(name: .customLong("flops"), help: "Stop once training FLOPs (6N per trained token) reach this budget; --steps stays the schedule's horizon.") var flopsBudget: Double?
}

struct PretrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pretrain",
        abstract: "Next-token training or SFT of a model on text/JSONL, with checkpoints and --resume.",
        discussion: "Every option has its default in PretrainOptions; --config sets any of them (option, flag, snake-case, nanoGPT or HF Trainer names; docs/config.md), and flags override the config.")

    @OptionGroup var configFlags: ConfigFlags
    @OptionGroup var options: PretrainFlags
    @Flag(help: "Continue from the latest checkpoint in --out.") var resume = false
    @Option(name: .customLong("stop-after"), help: "Stop (with a checkpoint) after this step, as an interruption would; --resume continues.")
    var stopAfter: Int?
    @Option(help: "Threads (default: all cores).") var threads: Int?

    func run() throws {
        if let t = threads { Parallel.setThreads(t) }
        let o = try PretrainOptions.layered(config: configFlags.config, flags: try options.given())
        if configFlags.printOptions {
            print(try o.prettyPrinted())
            return
        }
        guard !o.model.isEmpty, !o.data.isEmpty, !o.out.isEmpty else {
            throw ValidationError("--model, --data and --out are required (as flags or in --config)")
        }
        let trainer = try Pretrainer(options: o, resume: resume)
        if let d = ProcessInfo.processInfo.environment["RPT_PRETRAIN_STEP_DELAY"].flatMap(Double.init) { trainer.delayPerStep = d }
        try trainer.run(stopAfter: stopAfter)
    }
}
