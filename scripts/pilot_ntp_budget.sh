#!/usr/bin/env bash
# Informational (no configuration is chosen from it): would a cheaper cold start keep the compute-matched NTP model (b)
# away from the two-step sums? In v8's seeds (b), trained for the cold start's 5.5e13 FLOPs plus RL's 8.8e12, answered
# 91-97 % of the held-out calculation positions, and RPT's margin (G1) vanished (RESULTS.md, "Ledger stories, v8"). A
# 4,000-step cold start (v6's: 3.68e13 FLOPs) would set (b)'s budget near 4.56e13. This trains (b) from a v8 seed's base
# model with exactly (b)'s command but that budget, and evaluates it and the seed's own (b) in standard mode on v8's
# development set (the v8 pilot's positions of `rpt corpus --seed 424242`, which no seed evaluates on).
# Usage: bash scripts/pilot_ntp_budget.sh [SEED_DIR] [FLOPS] [DEV_POSITIONS] [OUT]
#        (defaults: runs/reproduce/ledger-v8/seed-15, 4.56e13, runs/pilot-v8/lr-0.0001/seed-14/prep-dev/val.jsonl,
#        runs/pilot-ntp-budget; ~12 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
R=${RPT:-.build/release/rpt}
S=${1:-runs/reproduce/ledger-v8/seed-15}
FLOPS=${2:-4.56e13}
DEV=${3:-runs/pilot-v8/lr-0.0001/seed-14/prep-dev/val.jsonl}
P=${4:-runs/pilot-ntp-budget}
SEED=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["seed"])' "$S/results.json")
A=$(ls -d "$S"/a/step-* | tail -1)
B=$(ls -d "$S"/b/step-* | tail -1)
mkdir -p "$P"
# (b)'s own command (ReproduceCommand's ntp-baseline stage) with another budget: as there, --steps (the cosine
# schedule's horizon) is the budget in steps, from the FLOPs per step of the seed's own (b).
STEPS=$(python3 -c 'import json, math, sys; r = json.load(open(sys.argv[1])); per = r["flops"]["ntp_baseline"] / int(sys.argv[2].rsplit("-", 1)[1])
print(math.ceil(float(sys.argv[3]) / per))' "$S/results.json" "$B" "$FLOPS")
[ -n "$(ls -d "$P"/b/step-* 2>/dev/null)" ] || $R pretrain --model "$A" --data "$S/corpus/pretrain.jsonl" --calculations --out "$P/b" \
    --steps "$STEPS" --flops "$FLOPS" --batch-size 16 --seq-len 255 --lr 0.001 --lr-schedule cosine:50:0.1 --seed $((SEED + 1)) \
    --validation 0.01 --eval-every "$STEPS" --save-every "$STEPS" --keep-last 1 --log-every 500
SMALL=$(ls -d "$P"/b/step-* | tail -1)
[ -f "$P/eval-dev.json" ] || $R eval --model "$B" --label "b-seed-budget" --model "$SMALL" --label "b-$FLOPS" --mode ntp \
    --data "$DEV" --resamples 200 --seed 0 --out "$P/eval-dev.json"
python3 - "$P/eval-dev.json" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f"{r['label']} ({r['flops']:.3g} FLOPs): " + ", ".join(f"{k} {100 * r['splits'][k]['accuracy']:.1f}" for k in ("easy", "medium", "hard", "calculation")) + " %")
PY
