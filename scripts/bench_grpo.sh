#!/usr/bin/env bash
# One full GRPO step of `rpt train` side by side with TRL's GRPOTrainer (transformers generate), on the bench
# model, CPU, fp32, the same thread count on both sides. Same tokenizer (scripts/make_bench_tokenizer.py),
# same prompts (token-identical, in the same order: TRL replays the contexts rpt drew), same G, same
# completion length, temperature 0.8, exactly on-policy (1 epoch, 1 mini-batch), no KL/reference model, and the
# same reward (scripts/bench_grpo_reward.py: rpt's --reward-command, TRL's reward function), non-constant, so both
# updates do the same work (non-zero advantages: every completion row goes through the LM-head backward).
# Needs the reference Python packages plus TRL (pip install -r scripts/requirements-reference.txt);
# PYTHON selects the interpreter. Writes runs/bench-grpo/ and prints the table for BENCHMARKS.md.
#   bash scripts/bench_grpo.sh
#   CONTEXTS=2 GROUP=8 COMPLETION=128 CONTEXT_TOKENS=128 STEPS=4 bash scripts/bench_grpo.sh   # the defaults
#   DTYPE=bf16 bash scripts/bench_grpo.sh   # both sides in bf16: rpt --train-dtype bf16 --inference-dtype bf16
#     (AVX-512 BF16 CPUs), TRL bf16=True (PyTorch bf16 autocast, fp32 master weights); writes runs/bench-grpo-bf16/
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
THREADS=${THREADS:-2}
B=${CONTEXTS:-2}            # contexts per step
G=${GROUP:-8}               # rollouts per context
T=${COMPLETION:-128}        # generated tokens per rollout (max; a random model rarely stops early)
C=${CONTEXT_TOKENS:-128}    # context tokens per prompt (the v0 instruction adds ~75)
STEPS=${STEPS:-4}           # optimizer steps per side; the first is warm-up and not counted
ATTN=${ATTN:-sdpa}          # TRL side attention implementation (transformers' default)
DTYPE=${DTYPE:-fp32}        # fp32, or bf16 on both sides
case $DTYPE in
    fp32) OUT=runs/bench-grpo; RPT_DTYPE=(); TRL_DTYPE=() ;;
    bf16) OUT=runs/bench-grpo-bf16; RPT_DTYPE=(--train-dtype bf16 --inference-dtype bf16); TRL_DTYPE=(--bf16) ;;
    *) echo "bench_grpo: DTYPE must be fp32 or bf16, not $DTYPE" >&2; exit 2 ;;
esac
export OMP_NUM_THREADS=$THREADS
mkdir -p $OUT
# RPT=path/to/rpt: a build of your own; otherwise setup.sh builds .build/release/rpt.
if [ -z "${RPT:-}" ]; then bash scripts/setup.sh; RPT=.build/release/rpt; fi

# The bench model (random Qwen2, 56M) with a 32768-id byte-level BPE tokenizer next to it.
[ -f runs/bench-model-f32/model.safetensors ] || $PY scripts/make_bench_model.py --out runs/bench-model-f32
M=$OUT/model
mkdir -p $M
for f in config.json generation_config.json model.safetensors; do cp -u runs/bench-model-f32/$f $M/$f; done
$PY scripts/make_bench_tokenizer.py --out $M

# Positions: Omni-MATH documents, every context exactly C tokens (min-context = max-context-tokens = C).
if [ ! -f $OUT/prep-$C/train.jsonl ] || [ $M/tokenizer.json -nt $OUT/prep-$C/train.jsonl ]; then
    head -3 Assets/omni-math-sample/omni_math.jsonl > $OUT/omni3.jsonl
    rm -rf $OUT/prep-$C
    $RPT prepare --policy $M --proxy $M --corpus $OUT/omni3.jsonl --text-template '{problem}\n\n{solution}' \
        --val-docs 1 --min-context $C --max-context-tokens $C --max-positions-per-doc 16 --threads $THREADS \
        --out $OUT/prep-$C
fi

# Our side. completionsPerStep = B records every context of every step (TRL replays them in this order).
echo "{\"completionsPerStep\": $B}" > $OUT/rpt-config.json
rm -rf $OUT/rpt
$PY scripts/peak_rss.py $OUT/rpt.peak_rss -- $RPT train --model $M --data $OUT/prep-$C/train.jsonl --out $OUT/rpt --config $OUT/rpt-config.json \
    --steps $STEPS --batch-size $B --group-size $G --max-response-tokens $T --max-prompt-tokens 1024 \
    --temperature 0.8 --template v0 --chat raw --kl 0 --epochs 1 --mini-batches 1 --threads $THREADS --seed 0 \
    --reward-command "$PY scripts/bench_grpo_reward.py" --save-every 1000000 ${RPT_DTYPE[@]+"${RPT_DTYPE[@]}"} | tee $OUT/rpt.log
rm -rf $OUT/rpt/step-*   # the final checkpoint is not part of the benchmark
# The same run with each group's prompt computed once in the update (--share-prompts).
rm -rf $OUT/rpt-shared
$PY scripts/peak_rss.py $OUT/rpt-shared.peak_rss -- $RPT train --model $M --data $OUT/prep-$C/train.jsonl --out $OUT/rpt-shared --config $OUT/rpt-config.json \
    --steps $STEPS --batch-size $B --group-size $G --max-response-tokens $T --max-prompt-tokens 1024 \
    --temperature 0.8 --template v0 --chat raw --kl 0 --epochs 1 --mini-batches 1 --threads $THREADS --seed 0 \
    --reward-command "$PY scripts/bench_grpo_reward.py" --save-every 1000000 --share-prompts ${RPT_DTYPE[@]+"${RPT_DTYPE[@]}"} \
    | tee $OUT/rpt-shared.log
rm -rf $OUT/rpt-shared/step-*

# TRL side: the same contexts in the same order; checks prompt ids against `rpt tokenize`.
$PY scripts/bench_grpo_trl.py --model $M --data $OUT/prep-$C/train.jsonl --order $OUT/rpt/completions.jsonl \
    --contexts $B --group-size $G --max-completion-length $T --temperature 0.8 --steps $STEPS --warmup 1 \
    --threads $THREADS --attn $ATTN --rpt $RPT --json $OUT/trl.json ${TRL_DTYPE[@]+"${TRL_DTYPE[@]}"} 2>&1 | grep -Ev "Loading weights|^\{"

$PY scripts/bench_grpo_table.py --rpt $OUT/rpt --trl $OUT/trl.json --warmup 1 --rpt-shared $OUT/rpt-shared
