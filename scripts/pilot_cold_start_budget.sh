#!/usr/bin/env bash
# How long must the cold start train before its calculations are right? (RESULTS.md, "Ledger stories, v6": seed 10's
# cold start, 4,000 steps, wrote the corpus's calculation in 30 % of held-out calculation positions, against 92-97 % in
# seeds 8 and 9, and missed G1 and G3.) From a seed's base model (a), the cold start's supervised run on the same
# demonstrations with the same settings, but for STEPS steps (its cosine schedule spans them), saved every EVERY steps;
# each checkpoint answers in reasoning mode on the development set's positions (500 stories, `rpt corpus --seed 424242`,
# which no seed evaluates on), and the share of calculation positions where it writes exactly the corpus's
# calculation is printed (TraceUse's "calculation exactly right"). Informational: no configuration is chosen from it.
# Usage: bash scripts/pilot_cold_start_budget.sh [SEED_DIR] [OUT] [STEPS] [EVERY] [BATCH]
#        (defaults: runs/reproduce/ledger-v6/seed-10, runs/pilot-cold-start, 8000, 2000, 16 demonstrations per step)
set -euo pipefail
cd "$(dirname "$0")/.."
R=${RPT:-.build/release/rpt}
S=${1:-runs/reproduce/ledger-v6/seed-10}
P=${2:-runs/pilot-cold-start}
STEPS=${3:-8000}
EVERY=${4:-2000}
BATCH=${5:-16}
SEED=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["seed"])' "$S/results.json")
FMT=(--template Assets/reproduce/prompt.txt --chat raw --max-prompt-tokens 200)
A=$(ls -d "$S"/a/step-* | tail -1)
mkdir -p "$P"
[ -f "$P/dev.jsonl" ] || $R corpus --docs 500 --seed 424242 --out "$P/dev.jsonl"
[ -f "$P/prep-dev/val.jsonl" ] || $R prepare --corpus "$P/dev.jsonl" --val-docs 500 --entropy-threshold 0.5 --out "$P/prep-dev" \
    --policy "$A" --proxy "$A" --calculations --min-context 8 --max-context-tokens 192 --seed "$SEED"
[ -f "$P/c/step-$(printf %06d "$STEPS")/config.json" ] || $R pretrain --sft --model "$A" --data "$S/demos.jsonl" --out "$P/c" \
    --steps "$STEPS" --batch-size "$BATCH" --seq-len 255 --lr 0.001 --lr-schedule cosine:50:0.1 --seed "$SEED" --validation 0.01 \
    --eval-every "$EVERY" --save-every "$EVERY" --keep-last 0 --log-every 500
[ -f "$P/eval-dev.json" ] || $R eval --run "$P/c" --out "$P/eval-dev.json" --dump "$P/responses.jsonl" --mode reasoning \
    --max-response-tokens 40 --batch 64 "${FMT[@]}" --data "$P/prep-dev/val.jsonl" --resamples 200 --seed 0 --max-positions 6000
python3 scripts/calculation_right.py "$P/prep-dev/val.jsonl" "$P/responses.jsonl"
