#!/usr/bin/env bash
# The development-set pilot that chose Assets/reproduce/ledger-v2.json (RESULTS.md, "Ledger stories, v2"):
# RL from a finished v1 seed's cold start with dynamic sampling from step 0 (and, with LR=0.0002, twice the
# learning rate), every checkpoint evaluated on 500 fresh stories no seed evaluates on, then the Eq. 5 fit.
# Usage: bash scripts/pilot_ledger_v2.sh [SEED_DIR] [OUT]   (defaults: runs/reproduce/ledger/seed-1, runs/pilot-v2)
# Variables: LR (default 0.0001), DS (dynamic sampling from, default 0), V (variant name, default ds0).
set -euo pipefail
cd "$(dirname "$0")/.."
R=.build/release/rpt
S=${1:-runs/reproduce/ledger/seed-1}
P=${2:-runs/pilot-v2}
V=${V:-ds0}; DS=${DS:-0}; LR=${LR:-0.0001}
A=$(ls -d "$S"/a/step-* | tail -1)
C=$(ls -d "$S"/c/step-* | tail -1)
mkdir -p "$P"
[ -f "$P/dev.jsonl" ] || $R corpus --docs 500 --seed 424242 --out "$P/dev.jsonl"
[ -d "$P/prep-dev" ] || $R prepare --corpus "$P/dev.jsonl" --val-docs 500 --entropy-threshold 0.5 --out "$P/prep-dev" \
    --policy "$A" --proxy "$A" --calculations --min-context 8 --max-context-tokens 192 --seed 1
FMT=(--template Assets/reproduce/prompt.txt --chat raw --max-prompt-tokens 200)
[ -d "$P/$V" ] || $R train --model "$C" --data "$S/rl.jsonl" --out "$P/$V" --steps 120 --batch-size 16 --group-size 8 --lr "$LR" \
    --lr-schedule constant --temperature 0.8 --max-response-tokens 40 --kl 0.05 --dynamic-sampling-from "$DS" --save-every 120 \
    --save-steps 5,10,15,20,30,40,60,80,100 --keep-last 0 --seed 1 "${FMT[@]}"
$R eval --run "$P/$V" --include-initial --baseline initial --out "$P/$V-eval.json" --mode reasoning --max-response-tokens 40 \
    --batch 64 "${FMT[@]}" --data "$P/prep-dev/val.jsonl" --resamples 200 --seed 0 --max-positions 6000
$R fit --points "$P/$V-eval.json" --out "$P/$V-fit.json"
