#!/usr/bin/env bash
# Ledger v3 for seeds that v2 already ran, without recomputing what v3 does not change (RESULTS.md, "Ledger
# stories, v3"). Assets/reproduce/ledger-v3.json is ledger-v2.json with other RL checkpoints, so for the same seed
# every stage but the checkpoint list is the same computation: the corpus, (a), the positions, the demonstrations,
# (c), and — since saving a checkpoint does not change the run — (d)'s trajectory and FLOPs, hence (b) and (e),
# which are matched to those FLOPs. This copies those stages from the v2 seed, takes (d) from the v3 pilot (the
# same RL run, saved at the pilot's checkpoints: scripts/pilot_ledger_v3.sh checks its per-step metrics equal v2's),
# keeps the checkpoints v3 names, marks the copied stages done, and lets `rpt reproduce` do the rest: evaluation on
# the held-out positions, comparisons, the fit, patterns, report, gates and the summary. A fresh
# `rpt reproduce Assets/reproduce/ledger-v3.json --seeds 3,4,5` computes the same files from scratch (in ~45 min a seed).
# Usage: bash scripts/ledger_v3_from_v2.sh [SEEDS] (default "3 4 5"); needs runs/reproduce/ledger-v2 and runs/pilot-v3.
set -euo pipefail
cd "$(dirname "$0")/.."
R=${RPT:-.build/release/rpt}
SEEDS=${1:-3 4 5}
V2=runs/reproduce/ledger-v2
PILOT=runs/pilot-v3
V3=runs/reproduce/ledger-v3
KEEP=$(python3 -c 'import json; print(" ".join("step-%06d" % s for s in json.load(open("Assets/reproduce/ledger-v3.json"))["rl"]["checkpoints"]))')
for s in $SEEDS; do
    src=$V2/seed-$s dst=$V3/seed-$s
    if [ -f "$dst/.stages/sft-control" ]; then echo "seed $s: already set up"; continue; fi
    [ -f "$src/.stages/results" ] || { echo "error: $src is not a finished v2 seed" >&2; exit 1; }
    [ -f "$PILOT/seed-$s/d/step-000120/trainer_state.json" ] || { echo "error: run scripts/pilot_ledger_v3.sh first" >&2; exit 1; }
    rm -rf "$dst"; mkdir -p "$dst/.stages"
    for f in corpus a prep-pool prep-eval demos.jsonl rl.jsonl c b e demos-control.jsonl stage-seconds.json; do cp -a "$src/$f" "$dst/"; done
    cp -a "$PILOT/seed-$s/d" "$dst/d"
    for ck in "$dst"/d/step-*; do [[ " $KEEP " == *" $(basename "$ck") "* ]] || rm -rf "$ck"; done
    for stage in corpus base positions demos cold-start rpt ntp-baseline sft-control; do touch "$dst/.stages/$stage"; done
    echo "seed $s: copied from $src; (d) from $PILOT/seed-$s/d with $(ls -d "$dst"/d/step-* | wc -l) checkpoints"
done
$R reproduce Assets/reproduce/ledger-v3.json --seeds "$(echo $SEEDS | tr ' ' ',')"
