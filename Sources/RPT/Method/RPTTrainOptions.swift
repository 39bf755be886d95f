// Options of `rpt train` (paper §3.3, Table 5; docs/method.md §5.1). Defaults are the paper's values (batch 256
// contexts, G = 8, temperature 0.8, lr 1e-6 constant, Adam β (0.9, 0.999), weight decay 0.01, grad-norm
// clip 0.2, PPO ε 0.2, no KL, no entropy bonus, exactly on-policy, dynamic sampling from half-way — the
// paper's step 500 of 1000 —, prompts ≤ 4096 and responses ≤ 8192 tokens, fitted to a smaller model's
// positions by SequenceBudget); a JSON config file sets any subset and command-line flags override it.
// The options are stored in every checkpoint for --resume, which keeps them but for `safeOnResume` (ResumeOptions).

import Foundation

public struct RPTTrainOptions: StageOptions {
    public var model: String = ""
    public var tokenizer: String?
    public var data: String = ""
    public var out: String = ""
    public var steps = 1000
    public var batchSize = 256
    public var groupSize = 8
    public var temperature: Float = 0.8
    public var topP: Float = 1
    public var topK = 0
    public var maxPromptTokens = 4096
    public var maxResponseTokens = 8192
    /// v0…v6, or a path to a template file with {context}.
    public var template = "v0"
    /// "auto" (from the tokenizer's chat template), "raw", "chatml" or "deepseek-r1".
    public var chat = "auto"
    public var reward: RewardKind = .prefix
    /// A program computing the reward instead (ExternalReward, docs/custom-rewards.md), and its time limit per group.
    public var rewardCommand: String?
    public var rewardTimeout: Double = 60
    public var conditionalFallback: Float = 0
    public var lr: Float = 1e-6
    /// constant | warmup:W | cosine:W:MIN_RATIO | linear:W:MIN_RATIO, over the run's `steps` (LearningRateSchedule).
    public var lrSchedule = "constant"
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var eps: Float = 1e-8
    public var weightDecay: Float = 0.01
    /// Table 5's "actor gradient clip 0.2", read as a global gradient-norm clip (docs/method.md §5.5).
    public var gradClip: Float = 0.2
    public var clipLow: Float = 0.2
    public var clipHigh: Float = 0.2
    public var aggregation: LossAggregation = .tokenMean
    public var constantNormalizer: Float = 8192
    public var normalizeByStd = true
    public var klCoefficient: Float = 0
    public var klEstimator: KLEstimator = .k3
    /// Reference model for the KL term (default: the initial policy); loaded only when klCoefficient > 0.
    public var reference: String?
    public var epochs = 1
    public var miniBatches = 1
    public var dynamicSampling = true
    /// First step (0-based count of steps taken) with dynamic sampling: an absolute step, or a share of
    /// `steps` ("50%", the paper's 500 of 1000). Older checkpoints hold an integer, read as a step.
    public var dynamicSamplingFromStep: RelativeStep = .percent(50)
    public var maxRefillRounds = 3
    public var seed: UInt64 = 0
    public var saveEvery = 100
    /// Extra checkpoint steps besides every `saveEvery` (e.g. log-spaced steps for a scaling curve).
    public var saveSteps: [Int]?
    public var keepLast = 3
    public var completionsPerStep = 4
    /// "none", or "tensorboard": metrics also as TensorBoard event files in OUT/tensorboard.
    public var reportTo = "none"
    /// Weights the rollouts read (InferenceWeights.swift): fp32, or a bf16 copy refreshed after every update.
    /// The loss's log-probabilities (old and new) are computed in fp32 either way.
    public var inferenceDType: InferenceDType = .fp32
    /// Precision of the rollouts' KV cache (KVCacheDType): auto follows `inferenceDType`.
    public var kvCacheDType: KVCacheDType = .auto
    /// Precision of the update's products (TrainingDType.swift): fp32, or bf16 operands with fp32 sums, master
    /// weights and optimizer. Log-probabilities of the loss then carry bf16 rounding (old and new alike).
    public var trainDType: TrainingDType = .fp32
    /// The update computes each group's prompt once and its G responses as continuations of it
    /// (TrainingBatch.parents) instead of G full prompt + response sequences: the same loss and gradients up to
    /// float rounding, less compute (the FLOPs count what is computed). Off by default so published runs replay.
    public var sharePrompts = false

    public init() {}

    /// The TRL GRPOConfig / verl keys that mean the same as an option.
    public static let aliases: [String: String] = [
        // TRL GRPOConfig
        "learning_rate": "lr", "num_generations": "groupSize", "max_completion_length": "maxResponseTokens",
        "max_prompt_length": "maxPromptTokens", "beta": "klCoefficient", "epsilon_high": "clipHigh",
        "num_iterations": "epochs", "max_steps": "steps", "adam_beta1": "beta1", "adam_beta2": "beta2",
        "adam_epsilon": "eps", "max_grad_norm": "gradClip", "save_steps": "saveEvery", "save_total_limit": "keepLast",
        "scale_rewards": "normalizeByStd", "model_name_or_path": "model", "output_dir": "out",
        // verl (dotted Hydra paths)
        "data.train_batch_size": "batchSize", "data.max_prompt_length": "maxPromptTokens",
        "data.max_response_length": "maxResponseTokens", "actor_rollout_ref.rollout.n": "groupSize",
        "actor_rollout_ref.rollout.temperature": "temperature", "actor_rollout_ref.rollout.top_p": "topP",
        "actor_rollout_ref.rollout.top_k": "topK", "actor_rollout_ref.actor.optim.lr": "lr",
        "actor_rollout_ref.actor.optim.weight_decay": "weightDecay", "actor_rollout_ref.actor.optim.clip_grad": "gradClip",
        "actor_rollout_ref.actor.clip_ratio_low": "clipLow", "actor_rollout_ref.actor.clip_ratio_high": "clipHigh",
        "actor_rollout_ref.actor.kl_loss_coef": "klCoefficient", "actor_rollout_ref.actor.ppo_epochs": "epochs",
        "actor_rollout_ref.actor.loss_agg_mode": "aggregation", "algorithm.filter_groups.enable": "dynamicSampling",
        "algorithm.norm_adv_by_std_in_grpo": "normalizeByStd", "trainer.total_training_steps": "steps",
        "trainer.save_freq": "saveEvery", "report_to": "reportTo", "actor_rollout_ref.model.path": "model", "trainer.default_local_dir": "out",
    ]

    public func validate() throws {
        func bad(_ m: String) -> RPTError { RPTError(m, file: "rpt train") }
        guard steps >= 0, batchSize >= 1, groupSize >= 2 else { throw bad("steps ≥ 0, batch size ≥ 1 and group size ≥ 2 are required") }
        guard temperature > 0, topP > 0, topP <= 1, topK >= 0 else { throw bad("temperature must be > 0, top-p in (0, 1], top-k ≥ 0") }
        guard maxPromptTokens >= 8, maxResponseTokens >= 1 else { throw bad("max prompt tokens ≥ 8 and max response tokens ≥ 1") }
        guard ["none", "tensorboard"].contains(reportTo) else { throw bad("--report-to must be none or tensorboard") }
        guard lr > 0, lr <= 1, epochs >= 1, miniBatches >= 1, miniBatches <= batchSize * groupSize else { throw bad("0 < lr ≤ 1, epochs ≥ 1, 1 ≤ mini-batches ≤ rollouts") }
        guard clipLow >= 0, clipLow < 1, clipHigh >= 0, klCoefficient >= 0 else { throw bad("clip bounds in [0, 1) and KL ≥ 0") }
        guard saveEvery >= 1 else { throw bad("save-every must be ≥ 1") }
        guard (saveSteps ?? []).allSatisfy({ $0 >= 1 }) else { throw bad("save-steps must be ≥ 1") }
        _ = try LearningRateSchedule(parsing: lrSchedule, totalSteps: steps)
    }

    /// The step from which dynamic sampling is on in this run (0-based count of steps taken).
    public var dynamicSamplingStart: Int { dynamicSamplingFromStep.resolve(totalSteps: steps) }

    /// What `--resume` may change (ResumeOptions): the run length, the learning rate, checkpoint and sample cadence.
    public static let safeOnResume: Set<String> = ["steps", "lr", "saveEvery", "saveSteps", "keepLast", "completionsPerStep", "reportTo"]

    /// The options stored in the latest checkpoint under `out`, nil when there is none.
    public static func stored(in out: String) throws -> RPTTrainOptions? {
        guard let dir = Checkpoint.latest(in: out) else { return nil }
        let path = dir + "/" + Checkpoint.stateFile
        let state = try TrainerState.load(path: path)
        do {
            return try RPTTrainOptions.stored(state.options)
        } catch {
            throw RPTError("these are not `rpt train` options (a `rpt pretrain` run?): \(CheckpointJSON.describe(error))", file: path)
        }
    }

    var lossOptions: GRPOLossOptions {
        var o = GRPOLossOptions()
        o.clipLow = clipLow; o.clipHigh = clipHigh; o.aggregation = aggregation
        o.constantNormalizer = constantNormalizer; o.klCoefficient = klCoefficient; o.klEstimator = klEstimator
        return o
    }
}
