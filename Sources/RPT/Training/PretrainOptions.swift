// Options of `rpt pretrain` (continual next-token training, or SFT on prompt/completion JSONL). They
// are stored in every checkpoint's trainer_state.json, and `--resume` continues with the stored ones. The property
// initialisers are the defaults; a config file (`--config`) and the command line are layers over them (StageOptions).

import Foundation

public struct PretrainOptions: StageOptions {
    /// HF directory, llama2.c .bin, or a config.json to initialise from.
    public var model = ""
    public var tokenizer: String?
    public var data = ""
    public var out = ""
    public var steps: Int = 100
    public var seqLen: Int = 256
    public var batchSize: Int = 4
    public var gradAccumulation: Int = 1
    public var lr: Float = 3e-4
    /// "constant", "warmup:N", "cosine:N:minRatio", "linear:N:minRatio".
    public var schedule: String = "cosine:0:0.1"
    public var beta1: Float = 0.9
    public var beta2: Float = 0.95
    public var eps: Float = 1e-8
    public var weightDecay: Float = 0.1
    public var gradClip: Float = 1.0
    public var seed: UInt64 = 0
    /// Documents (or SFT examples) held out for validation: a count, or a fraction when < 1.
    public var validation: Double = 0.05
    public var evalEvery: Int = 50
    public var evalBatches: Int = 8
    public var saveEvery: Int = 100
    public var keepLast: Int = 3
    public var saveBF16: Bool = false
    public var logEvery: Int = 1
    /// "none", or "tensorboard": metrics also as TensorBoard event files in OUT/tensorboard.
    public var reportTo: String = "none"
    // Corpus format.
    public var textField: String = "text"
    public var template: String?
    public var delimiter: String?
    /// Supervised fine-tuning: JSONL with prompt/completion fields, loss on completion tokens only.
    public var sft: Bool = false
    public var promptField: String = "prompt"
    public var completionField: String = "completion"
    /// Strip GSM8K-style `<<expr=result>>` calculator annotations from the corpus text (CalculatorAnnotations).
    public var calculations: Bool?
    /// Stop once the run's training FLOPs (6N per trained token) reach this budget; `steps` stays the
    /// schedule's horizon (compute-matched baselines, `rpt reproduce`).
    public var flopsBudget: Double?
    /// Precision of the training products (TrainingDType.swift): fp32, or bf16 operands with fp32 sums, master
    /// weights and optimizer (PyTorch's bf16 autocast for the products of the linear layers, LM head and attention).
    public var trainDType: TrainingDType = .fp32

    /// What `--resume` may change (ResumeOptions): the run length and budget, the learning rate, logging,
    /// evaluation and checkpoint cadence.
    public static let safeOnResume: Set<String> = ["steps", "lr", "flopsBudget", "logEvery", "evalEvery", "evalBatches", "saveEvery", "keepLast", "saveBF16", "reportTo"]

    /// nanoGPT's and the HF Trainer's names for the same options.
    public static let aliases: [String: String] = [
        // nanoGPT (train.py / config/*.py)
        "max_iters": "steps", "block_size": "seqLen", "gradient_accumulation_steps": "gradAccumulation", "learning_rate": "lr",
        "eval_interval": "evalEvery", "eval_iters": "evalBatches", "log_interval": "logEvery", "out_dir": "out",
        // HF TrainingArguments
        "max_steps": "steps", "adam_beta1": "beta1", "adam_beta2": "beta2", "adam_epsilon": "eps", "max_grad_norm": "gradClip",
        "eval_steps": "evalEvery", "logging_steps": "logEvery", "save_steps": "saveEvery", "save_total_limit": "keepLast",
        "model_name_or_path": "model", "output_dir": "out", "report_to": "reportTo",
        // The CLI's flag names where they differ from the option's.
        "lr-schedule": "schedule", "lr_schedule": "schedule", "flops": "flopsBudget",
    ]

    public init() {}

    public init(model: String, tokenizer: String? = nil, data: String, out: String) {
        self.model = model
        self.tokenizer = tokenizer
        self.data = data
        self.out = out
    }

    public func validate() throws {
        func bad(_ m: String) -> RPTError { RPTError(m, file: "rpt pretrain") }
        guard steps >= 0 else { throw bad("--steps must be ≥ 0") }
        guard seqLen >= 2 else { throw bad("--seq-len must be ≥ 2") }
        guard batchSize >= 1, gradAccumulation >= 1 else { throw bad("--batch-size and --grad-accumulation must be ≥ 1") }
        guard lr > 0, lr <= 1 else { throw bad("--lr must be in (0, 1]: an AdamW step larger than 1 per weight only diverges") }
        guard gradClip >= 0, weightDecay >= 0 else { throw bad("--grad-clip and --weight-decay must be ≥ 0") }
        guard validation >= 0 else { throw bad("--validation must be ≥ 0") }
        guard ["none", "tensorboard"].contains(reportTo) else { throw bad("--report-to must be none or tensorboard") }
        guard saveEvery >= 1, evalEvery >= 1, logEvery >= 1 else { throw bad("--save-every, --eval-every and --log-every must be ≥ 1") }
        if let f = flopsBudget { guard f > 0, f.isFinite else { throw bad("--flops must be a positive number") } }
    }

    var validationSize: ValidationSize {
        validation == 0 ? .none : validation < 1 ? .fraction(validation) : .count(Int(validation))
    }
}
