#!/usr/bin/env bash
# RPT (arXiv 2506.08007) GRPO training with verl, on the files `rpt export --to verl` writes next to this script.
#
# Targets verl 0.9.x; the keys were validated against verl 0.9.1 (PyPI wheel) by scripts/test_verl.sh, which
# composes verl's own Hydra config with these overrides (an unknown key fails there) and reads every value back.
#
# Usage:  MODEL_PATH=/models/policy [N_GPUS=8] [N_NODES=1] [OUT=dir] bash run_rpt_grpo.sh [hydra overrides...]
#         bash run_rpt_grpo.sh --print-overrides [phase1|phase2]   (one override per line; no MODEL_PATH needed)
# Extra arguments are appended after the script's overrides, so they win (Hydra keeps the last value of a key).
# Change the run length with STEPS (default 1000) and DYNAMIC_SAMPLING_FROM, not trainer.total_training_steps.
#
# Paper hyperparameters (Table 5 / App. B) and how they map onto verl:
#   GRPO, 256 contexts per step, G = 8 rollouts each, temperature 0.8, prompt <= 4096 and response <= 8192 tokens;
#   one PPO epoch with mini-batch = batch (256), i.e. one optimizer step per rollout batch, exactly on-policy;
#   AdamW lr 1e-6 constant (no warmup), betas (0.9, 0.999), weight decay 0.01, grad-norm clip 0.2;
#   PPO clip 0.2 on both sides (no clip-higher), no KL (neither loss nor in-reward), entropy coefficient 0,
#   token-mean loss aggregation, 1,000 steps, a checkpoint every 100 steps for the scaling curve.
#
# What verl cannot express directly, and what this script does instead:
#   * Dynamic sampling from step 500: verl's algorithm.filter_groups (DAPO group filtering: drop groups whose
#     8 rewards are all equal and refill) is on or off for a whole run. The script therefore runs verl twice:
#     phase 1 trains steps 1..DYNAMIC_SAMPLING_FROM with filtering off and saves a checkpoint at its last step;
#     phase 2 resumes from that checkpoint (model, optimizer and dataloader state) and trains to STEPS with
#     filtering on. With the constant lr the schedule is unaffected by the split. DYNAMIC_SAMPLING_FROM=0 turns
#     filtering on for the whole run, =off never turns it on (one phase each). Rerunning the script resumes.
#   * Gradient clipping: verl 0.9.x reads the clip norm from actor.optim.clip_grad; actor.grad_clip is still in
#     the config but no longer used by the engine. Both are set to 0.2 so the config reads consistently.
#   * verl's PPO loss also has dual-clip (actor.clip_ratio_c=3, must be > 1). It only caps the loss where the
#     importance ratio exceeds 3 on a negative advantage, which cannot happen with one on-policy step per batch
#     (ratio = 1), so it is left at its default.
#   * verl's own validation (val.jsonl, every trainer.test_freq steps) decodes greedily, one sample per context
#     (actor_rollout_ref.rollout.val_kwargs); the paper's evaluation is done separately on the checkpoints.
#   Memory settings (micro-batching) are not hyperparameters: the script uses token-budgeted dynamic micro-batches
#   (actor.use_dynamic_bsz); tensor parallelism, GPU memory share etc. stay at verl's defaults (override them).
#
# Reward: rpt_reward.py's compute_score(data_source, solution_str, ground_truth, extra_info) via
# reward.custom_reward_function.{path,name} with verl's naive reward manager. verl 0.7.x had these at the top
# level (custom_reward_function.*, reward_model.reward_manager); in 0.9.1 those keys still compose but the
# main_ppo trainer ignores them, so they must not be used.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

PRINT=""
if [[ "${1:-}" == "--print-overrides" ]]; then
  PRINT="${2:-base}"
  case "$PRINT" in base|phase1|phase2) ;; *) echo "usage: $0 --print-overrides [phase1|phase2]" >&2; exit 2 ;; esac
  MODEL_PATH="${MODEL_PATH:-/path/to/policy-model}"   # placeholder: printing needs no model
elif [[ -z "${MODEL_PATH:-}" ]]; then
  echo "error: set MODEL_PATH to the policy model (a Hugging Face directory or hub id), e.g." >&2
  echo "  MODEL_PATH=deepseek-ai/DeepSeek-R1-Distill-Qwen-14B bash $0" >&2
  exit 2
fi
# Batch, G and response budget: export.json's "launch" block (rpt export --batch-size/--group-size/
# --max-response-tokens, which its FLOPs estimate assumes), else the paper's 256 / 8 / 8192.
launch() {
  python3 -c 'import json, sys
try: print(int(json.load(open(sys.argv[1]))["launch"][sys.argv[2]]))
except Exception: print(sys.argv[3])' "$HERE/export.json" "$1" "$2" 2>/dev/null || echo "$2"
}
BATCH=$(launch batch_size 256)
GROUP=$(launch group_size 8)
MAX_RESPONSE=$(launch max_response_tokens 8192)
N_GPUS="${N_GPUS:-8}"
N_NODES="${N_NODES:-1}"
OUT="${OUT:-$HERE/checkpoints}"
STEPS="${STEPS:-1000}"
DS_FROM="${DYNAMIC_SAMPLING_FROM:-$((STEPS / 2))}"   # the paper: step 500 of 1000
[[ "$STEPS" =~ ^[0-9]+$ && ( "$DS_FROM" == off || "$DS_FROM" =~ ^[0-9]+$ ) ]] ||
  { echo "error: STEPS must be a number and DYNAMIC_SAMPLING_FROM a number or 'off'" >&2; exit 2; }

# The reward refuses rows whose token boundaries come from another tokenizer than the policy's when
# RPT_POLICY_TOKENIZER_SHA256 is set (rpt_reward.py): hash the policy's tokenizer.json when MODEL_PATH is a local
# directory, compare it with the export's now (before any GPU starts), and hand it to every Ray worker.
TOKENIZER_SHA=""
if [[ -f "$MODEL_PATH/tokenizer.json" ]]; then
  TOKENIZER_SHA=$(python3 -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' \
                  "$MODEL_PATH/tokenizer.json")
  EXPORTED_SHA=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get("tokenizer_sha256", ""))' \
                 "$HERE/export.json" 2>/dev/null || true)
  if [[ -z "$PRINT" && -n "$EXPORTED_SHA" && "$EXPORTED_SHA" != "$TOKENIZER_SHA" ]]; then
    echo "error: $MODEL_PATH/tokenizer.json (sha256 ${TOKENIZER_SHA:0:12}...) is not the tokenizer this data was" \
         "exported with (sha256 ${EXPORTED_SHA:0:12}..., export.json); export again with --tokenizer $MODEL_PATH" >&2
    exit 2
  fi
  export RPT_POLICY_TOKENIZER_SHA256="$TOKENIZER_SHA"
elif [[ -z "$PRINT" ]]; then
  echo "note: $MODEL_PATH/tokenizer.json not found (a hub id?): the reward will not check the tokenizer" >&2
fi

# Data: JSON lines as exported, or Parquet if that is what lies here (verl reads both by extension).
data_file() {
  if [[ -f "$HERE/$1.parquet" && ! -f "$HERE/$1.jsonl" ]]; then echo "$HERE/$1.parquet"; else echo "$HERE/$1.jsonl"; fi
}
TRAIN=$(data_file train)
VAL=$(data_file val)

# Path values are single-quoted for Hydra so that spaces or commas in a directory name stay one string.
OVERRIDES=(
  # data: the exported rows; the chat-templated prompt must fit 4096 tokens (longer rows are dropped, logged)
  "data.train_files='$TRAIN'"
  "data.val_files='$VAL'"
  "data.prompt_key=prompt"
  "data.max_prompt_length=4096"
  "data.max_response_length=$MAX_RESPONSE"
  "data.filter_overlong_prompts=True"
  "data.train_batch_size=$BATCH"
  # algorithm: GRPO, no KL in the reward, dynamic sampling per phase (see header)
  "algorithm.adv_estimator=grpo"
  "algorithm.use_kl_in_reward=False"
  "algorithm.filter_groups.enable=False"
  # policy
  "actor_rollout_ref.model.path='$MODEL_PATH'"
  "actor_rollout_ref.actor.ppo_mini_batch_size=$BATCH"
  "actor_rollout_ref.actor.ppo_epochs=1"
  "actor_rollout_ref.actor.use_dynamic_bsz=True"
  "actor_rollout_ref.actor.optim.lr=1e-6"
  "actor_rollout_ref.actor.optim.lr_scheduler_type=constant"
  "actor_rollout_ref.actor.optim.lr_warmup_steps_ratio=0.0"
  "actor_rollout_ref.actor.optim.betas=[0.9,0.999]"
  "actor_rollout_ref.actor.optim.weight_decay=0.01"
  "actor_rollout_ref.actor.optim.clip_grad=0.2"
  "actor_rollout_ref.actor.grad_clip=0.2"
  "actor_rollout_ref.actor.clip_ratio=0.2"
  "actor_rollout_ref.actor.clip_ratio_low=0.2"
  "actor_rollout_ref.actor.clip_ratio_high=0.2"
  "actor_rollout_ref.actor.use_kl_loss=False"
  "actor_rollout_ref.actor.entropy_coeff=0"
  "actor_rollout_ref.actor.loss_agg_mode=token-mean"
  # rollout: vLLM, G = 8 samples per context at temperature 0.8
  "actor_rollout_ref.rollout.name=vllm"
  "actor_rollout_ref.rollout.n=$GROUP"
  "actor_rollout_ref.rollout.temperature=0.8"
  # reward: the exported rule-based reward
  "reward.reward_manager.name=naive"
  "reward.custom_reward_function.path='$HERE/rpt_reward.py'"
  "reward.custom_reward_function.name=compute_score"
  # trainer: the step count governs (many epochs allowed); checkpoints every 100 steps for the scaling curve
  "trainer.total_training_steps=$STEPS"
  "trainer.total_epochs=1000"
  "trainer.save_freq=100"
  "trainer.test_freq=100"
  "trainer.n_gpus_per_node=$N_GPUS"
  "trainer.nnodes=$N_NODES"
  "trainer.default_local_dir='$OUT'"
  "trainer.project_name=rpt"
  "trainer.experiment_name=rpt-grpo"
  "trainer.logger=[console]"
)
# ++ adds the key (verl's runtime_env has no env_vars entry) and merges it into the Ray runtime environment.
[[ -z "$TOKENIZER_SHA" ]] ||
  OVERRIDES+=("++ray_kwargs.ray_init.runtime_env.env_vars.RPT_POLICY_TOKENIZER_SHA256='$TOKENIZER_SHA'")
# Phase 1 stops where dynamic sampling starts; phase 2 resumes there with group filtering on and does not
# validate again on start (phase 1 validated at its last step).
PHASE1=("trainer.total_training_steps=$DS_FROM")
PHASE2=("algorithm.filter_groups.enable=True" "trainer.val_before_train=False")

if [[ -n "$PRINT" ]]; then
  printf '%s\n' "${OVERRIDES[@]}"
  [[ "$PRINT" == phase1 ]] && printf '%s\n' "${PHASE1[@]}"
  [[ "$PRINT" == phase2 ]] && printf '%s\n' "${PHASE2[@]}"
  exit 0
fi

for f in "$TRAIN" "$VAL" "$HERE/rpt_reward.py"; do
  [[ -f "$f" ]] || { echo "error: $f is missing (run_rpt_grpo.sh belongs next to rpt export's output)" >&2; exit 2; }
done

train() { echo "+ python3 -m verl.trainer.main_ppo $*" >&2; python3 -m verl.trainer.main_ppo "$@"; }

if [[ "$DS_FROM" == off ]] || (( DS_FROM >= STEPS )); then
  train "${OVERRIDES[@]}" "$@"
elif (( DS_FROM <= 0 )); then
  train "${OVERRIDES[@]}" "${PHASE2[@]}" "$@"
else
  done_steps() { cat "$OUT/latest_checkpointed_iteration.txt" 2>/dev/null || echo 0; }   # verl's tracker file
  # Phase 1, unless a rerun finds it done already.
  (( $(done_steps) >= DS_FROM )) || train "${OVERRIDES[@]}" "${PHASE1[@]}" "$@"
  # Phase 2 must start from phase 1's last checkpoint, or dynamic sampling would start from the base model.
  if (( $(done_steps) < DS_FROM )); then
    echo "error: phase 1 left no checkpoint at step $DS_FROM in $OUT (keep trainer.save_freq > 0 and" \
         "trainer.default_local_dir = OUT)" >&2
    exit 1
  fi
  # resume_mode=auto comes last so that phase 2 always continues from phase 1's checkpoint.
  train "${OVERRIDES[@]}" "${PHASE2[@]}" "$@" "trainer.resume_mode=auto"
fi
