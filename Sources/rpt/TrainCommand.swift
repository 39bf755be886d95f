// `rpt train`: Reinforcement Pre-Training with GRPO on a dataset made by `rpt prepare`. With --resume the
// run continues in --out with the options stored in its checkpoint; --steps, --lr and the save cadence may
// change them, any other differing option is refused (ResumeOptions).

import ArgumentParser
import Foundation
import RPT
import RPTKernels

/// The defaults every help text shows: RPTTrainOptions' own (one source).
private let d = RPTTrainOptions()

/// The flags that set RPTTrainOptions, each property named as the option it sets (StageFlags).
struct TrainFlags: StageFlags {
    @Option(help: "Policy: HF directory, or llama2.c .bin with --tokenizer.") var model: String?
    @Option(help: "Tokenizer (default: the model directory's).") var tokenizer: String?
    @Option(help: "Positions JSONL from `rpt prepare` (train.jsonl).") var data: String?
    @Option(help: "Output directory.") var out: String?
    @Option(help: "Optimizer steps (default \(d.steps)).") var steps: Int?
    @Option(name: .customLong("group-size"), help: "Rollouts per context, G (default \(d.groupSize)).") var groupSize: Int?
    @Option(name: .customLong("batch-size"), help: "Contexts per step (default \(d.batchSize)).") var batchSize: Int?
    @Option(help: "Random seed (default \(d.seed)).") var seed: UInt64?
    @Option(help: "Sampling temperature (default \(d.temperature)).") var temperature: Float?
    @Option(name: .customLong("max-response-tokens"), help: "Response budget (default \(d.maxResponseTokens), shrunk to fit a smaller model; a value set here is kept).")
    var maxResponseTokens: Int?
    @Option(name: .customLong("max-prompt-tokens"), help: "Prompt budget, oldest context cut first (default \(d.maxPromptTokens); cut to the positions the response leaves).")
    var maxPromptTokens: Int?
    @Option(help: "Learning rate, the peak of --lr-schedule (default \(d.lr)).") var lr: Float?
    @Option(name: .customLong("lr-schedule"), help: "constant | warmup:N | cosine:N:minRatio | linear:N:minRatio, over --steps (default \(d.lrSchedule), the paper's).")
    var lrSchedule: String?
    @Option(help: "Prompt template: v0…v6 or a file with {context} (default \(d.template)).") var template: String?
    @Option(help: "auto | raw | chatml | deepseek-r1 (default \(d.chat)).") var chat: String?
    @Option(help: "The reward (default \(d.reward.rawValue)); or a program: --reward-command.") var reward: RewardKind?
    @Option(name: .customLong("reward-command"), help: "A program that computes the reward: JSON lines on stdin/stdout, one group per line (docs/custom-rewards.md).")
    var rewardCommand: String?
    @Option(name: .customLong("reward-timeout"), help: "Seconds the reward command may take per group (default \(d.rewardTimeout)).") var rewardTimeout: Double?
    @Option(name: .customLong("kl"), help: "KL coefficient β, loading the reference model when > 0 (default \(d.klCoefficient)).") var klCoefficient: Float?
    @Option(help: "PPO epochs per rollout batch (default \(d.epochs)).") var epochs: Int?
    @Option(name: .customLong("mini-batches"), help: "Optimizer steps per epoch (default \(d.miniBatches)).") var miniBatches: Int?
    @Option(name: .customLong("dynamic-sampling-from"),
            help: "Dynamic sampling after this many steps: a step N, or a share of --steps such as 30% (default \(d.dynamicSamplingFromStep): the paper's 500 of 1000).")
    var dynamicSamplingFromStep: RelativeStep?
    @Option(name: .customLong("save-every"), help: "Checkpoint every N steps (default \(d.saveEvery)).") var saveEvery: Int?
    @Option(name: .customLong("save-steps"), help: "Also save at these steps, comma-separated (e.g. log-spaced for a scaling curve).") var saveSteps: StepList?
    @Option(name: .customLong("report-to"), help: "none | tensorboard: metrics also as TensorBoard events in OUT/tensorboard (default \(d.reportTo)).")
    var reportTo: String?
    @Option(name: .customLong("inference-dtype"), help: "Weights rollouts read: fp32 | bf16 (AVX-512 BF16 CPUs; the KV cache in bf16 too; the loss stays fp32) (default \(d.inferenceDType.rawValue)).")
    var inferenceDType: InferenceDType?
    @Option(name: .customLong("kv-cache-dtype"), help: "The rollouts' KV cache: auto (as --inference-dtype) | fp32 | bf16 (half the memory and the bytes attention reads; queries rounded to bf16 too) (default \(d.kvCacheDType.rawValue)).")
    var kvCacheDType: KVCacheDType?
    @Option(name: .customLong("train-dtype"), help: "Precision of the update's matrix products: fp32 | bf16 (bf16 operands, fp32 sums and weights, as PyTorch's bf16 autocast; AVX-512 BF16 CPUs) (default \(d.trainDType.rawValue)).")
    var trainDType: TrainingDType?
    @Option(name: .customLong("keep-last"), help: "Checkpoints kept, 0 = all (default \(d.keepLast)).") var keepLast: Int?
    @Flag(name: .customLong("share-prompts"), help: "Update: each group's prompt computed once, its responses continuing it (same loss, less compute).")
    var sharePrompts = false
}

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "train",
        abstract: "Reinforcement Pre-Training: next-token reasoning rollouts, prefix-matching reward, GRPO.",
        discussion: "Every option has its default in RPTTrainOptions; --config sets any of them (docs/config.md), and flags override the config.")

    @OptionGroup var configFlags: ConfigFlags
    @OptionGroup var options: TrainFlags
    @Option(name: .customLong("stop-after"), help: "Stop (with a checkpoint) after this step; --resume continues.") var stopAfter: Int?
    @Flag(help: "Continue from the latest checkpoint in --out.") var resume = false
    @Option(help: "Threads (default: all cores).") var threads: Int?

    func run() throws {
        if let t = threads { Parallel.setThreads(t) }
        var flags = try options.given()
        var o = try RPTTrainOptions.layered(config: configFlags.config, flags: flags)
        if resume, flags["steps"] == nil, let stored = try RPTTrainOptions.stored(in: o.out),
           try configFlags.config.map({ try RPTTrainOptions.configKeys.canonical(JSON.load(path: $0).object ?? [:], file: $0)["steps"] == nil }) ?? true {
            // Resuming without --steps (or a config's steps): the run's own length.
            flags["steps"] = String(stored.steps)
            o = try RPTTrainOptions.layered(config: configFlags.config, flags: flags)
        }
        if configFlags.printOptions {
            print(try o.prettyPrinted())
            return
        }
        guard !o.model.isEmpty, !o.data.isEmpty, !o.out.isEmpty else {
            throw ValidationError("--model, --data and --out are required (as flags or in --config)")
        }
        try RPTTrainer(options: o, resume: resume).run(stopAfter: stopAfter)
    }
}
