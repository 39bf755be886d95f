#!/usr/bin/env bash
# The development-set pilot that chose the checkpoints of Assets/reproduce/ledger-v3.json (RESULTS.md, "Ledger
# stories, v3"). v2 missed G3 because its first checkpoint (step 10) came after most of RL's gain; v3 changes only
# where (d) is checkpointed. For each v2 seed: RL from that seed's cold start with v2's settings (the same run as
# v2's (d): same seed, data and options), saving the union of the candidate schedules; every checkpoint evaluated on
# 500 fresh stories that no seed evaluates on (`rpt corpus --docs 500 --seed 424242`, positions scored by the seed's
# own base model); then the Eq. 5 fit of each candidate schedule. Decision rule, fixed before the pilot ran: the
# candidate with the highest minimum R² over seeds and splits (easy, medium, hard); a tie goes to fewer checkpoints.
# Candidates: log2 = 1,2,4,8,16,32,64,120; log2-from-2 = 2,4,8,16,32,64,120; dense = 1,2,3,4,6,8,12,16,24,32,48,64,96,120.
#
# v4 pilot (RESULTS.md, "Ledger stories, v4 pilot"): the same pilot with RL's learning rate decayed by a cosine from
# 1e-4 to 0 over the 120 steps (`--lr-schedule cosine:0:0`) instead of constant, to damp the late wandering of (d)
# that bends the v3 curves. Rule, fixed before it ran: v4 replaces v3 for held-out runs only if its development-set
# minimum R² over seeds × splits (best candidate schedule, same rule as above) is at least 0.95; otherwise v3 stays
# and the pilot is reported. Run: bash scripts/pilot_ledger_v3.sh runs/reproduce/ledger-v2 runs/pilot-v4 "3 4 5" cosine:0:0
#
# v5 pilot (RESULTS.md, "Ledger stories, v5 pilot"): the same pilot with RL's rollouts sampled at temperature 0.5
# instead of 0.8 (5th argument), from the one seed whose v3 stages survive (seed 6, runs/reproduce/ledger-v3-seed6-check2);
# (b) is evaluated on the same development positions in standard mode for G1's comparison. Rule, fixed before it ran:
# v5 replaces v3 for held-out runs only if, on the development set, its final (d) beats v3's final (d) on hard by at
# least 2 points and its minimum R² over splits (log2 schedule) is at least v3's. Run:
#   bash scripts/pilot_ledger_v3.sh runs/reproduce/ledger-v3-seed6-check2 runs/pilot-v5-t08 6 constant 0.8
#   bash scripts/pilot_ledger_v3.sh runs/reproduce/ledger-v3-seed6-check2 runs/pilot-v5-t05 6 constant 0.5
#
# v6 pilot (RESULTS.md, "Ledger stories, v6 pilot"): RL started from a cold start trained longer, so that its
# calculations are right more often: the seed's supervised control (e), which is (c) trained on for (d)'s FLOPs
# on more demonstrations (6th argument: the stage RL starts from). Rule, fixed before it ran: a configuration whose
# cold start is trained that much longer replaces v3 only if, on the development set, RL from (e) ends at least 2
# points above v3's final (d) on hard. Run:
#   bash scripts/pilot_ledger_v3.sh runs/reproduce/ledger-v3-seed6-check2 runs/pilot-v6 6 constant 0.8 e
#
# v8 pilot (scripts/pilot_ledger_v8.sh): RL's learning rate (7th argument) and where the checkpoints start.
# Usage: bash scripts/pilot_ledger_v3.sh [V2_DIR] [OUT] [SEEDS] [LR_SCHEDULE] [TEMPERATURE] [COLD_START_STAGE] [LR]
#        (defaults: runs/reproduce/ledger-v2, runs/pilot-v3, "3 4 5", constant, 0.8, c, 0.0001);
#        PILOT_NO_CHOICE=1 stops after the evaluations (the caller chooses).
set -euo pipefail
cd "$(dirname "$0")/.."
R=${RPT:-.build/release/rpt}
V2=${1:-runs/reproduce/ledger-v2}
P=${2:-runs/pilot-v3}
SEEDS=${3:-3 4 5}
SCHEDULE=${4:-constant}
TEMPERATURE=${5:-0.8}
COLD=${6:-c}
LR=${7:-0.0001}
DENSE=1,2,3,4,6,8,12,16,24,32,48,64,96,120
FMT=(--template Assets/reproduce/prompt.txt --chat raw --max-prompt-tokens 200)
mkdir -p "$P"
[ -f "$P/dev.jsonl" ] || $R corpus --docs 500 --seed 424242 --out "$P/dev.jsonl"
for s in $SEEDS; do
    S=$V2/seed-$s
    A=$(ls -d "$S"/a/step-* | tail -1)
    C=$(ls -d "$S"/$COLD/step-* | tail -1)
    D=$P/seed-$s
    mkdir -p "$D"
    [ -f "$D/prep-dev/val.jsonl" ] || $R prepare --corpus "$P/dev.jsonl" --val-docs 500 --entropy-threshold 0.5 --out "$D/prep-dev" \
        --policy "$A" --proxy "$A" --calculations --min-context 8 --max-context-tokens 192 --seed "$s"
    [ -f "$D/d/step-000120/trainer_state.json" ] || $R train --model "$C" --data "$S/rl.jsonl" --out "$D/d" --steps 120 --batch-size 16 \
        --group-size 8 --lr "$LR" --lr-schedule "$SCHEDULE" --temperature "$TEMPERATURE" --max-response-tokens 40 --kl 0.05 --dynamic-sampling-from 0 \
        --save-every 120 --save-steps "$DENSE" --keep-last 0 --seed "$s" "${FMT[@]}"
    # The same run as v2's (d)? Its per-step metrics must be identical (with v2's constant schedule).
    [ "$SCHEDULE" = constant ] && [ "$TEMPERATURE" = 0.8 ] && [ "$COLD" = c ] && [ "$LR" = 0.0001 ] && [ -f "$S/d/step-000120/trainer_state.json" ] && python3 - "$S/d/metrics.jsonl" "$D/d/metrics.jsonl" "$s" <<'EOF'
import json, sys
keys = ("reward_mean", "loss", "grad_norm", "kl", "flops", "groups_dropped_fraction")
a, b = ([{k: json.loads(l).get(k) for k in keys} for l in open(f)] for f in sys.argv[1:3])
print(f"seed {sys.argv[3]}: RL " + ("identical to" if a == b else "DIFFERENT from") + " v2's (d) in " + ", ".join(keys) + f" over {len(b)} steps")
EOF
    [ -f "$D/eval-dev.json" ] || $R eval --run "$D/d" --include-initial --baseline initial --out "$D/eval-dev.json" --mode reasoning \
        --max-response-tokens 40 --batch 64 "${FMT[@]}" --data "$D/prep-dev/val.jsonl" --resamples 200 --seed 0 --max-positions 6000
    B=$(ls -d "$S"/b/step-* 2>/dev/null | tail -1 || true)
    [ -z "$B" ] || [ -f "$D/eval-dev-b.json" ] || $R eval --model "$B" --label ntp-matched --out "$D/eval-dev-b.json" --mode ntp \
        "${FMT[@]}" --data "$D/prep-dev/val.jsonl" --resamples 200 --seed 0 --max-positions 6000
done
[ "${PILOT_NO_CHOICE:-0}" = 1 ] && exit 0
python3 - "$R" "$P" $SEEDS <<'EOF'
import json, subprocess, sys
R, P, seeds = sys.argv[1], sys.argv[2], sys.argv[3:]
candidates = {"log2": [1, 2, 4, 8, 16, 32, 64, 120], "log2-from-2": [2, 4, 8, 16, 32, 64, 120],
              "dense": [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 120]}
rows, summary = [], {}
for name, steps in candidates.items():
    r2s = []
    for s in seeds:
        e = json.load(open(f"{P}/seed-{s}/eval-dev.json"))
        points = [json.dumps({"split": split, "compute": r["flops"], "accuracy": r["splits"][split]["accuracy"]})
                  for r in e["results"] if r.get("step") in steps for split in ("easy", "medium", "hard")]
        path = f"{P}/seed-{s}/points-{name}.jsonl"
        open(path, "w").write("\n".join(points) + "\n")
        subprocess.run([R, "fit", "--points", path, "--out", f"{P}/seed-{s}/fit-{name}.json"],
                       check=True, stdout=subprocess.DEVNULL)
        fits = json.load(open(f"{P}/seed-{s}/fit-{name}.json"))["fits"]
        r2 = {split: fits[split]["r2"] for split in ("easy", "medium", "hard")}
        r2s += list(r2.values())
        rows.append((name, s, r2))
    summary[name] = min(r2s)
for name, s, r2 in rows:
    print(f"{name:12s} seed {s}: " + ", ".join(f"{k} {v:.3f}" for k, v in r2.items()))
best = max(summary, key=lambda n: (summary[n], -len(candidates[n])))
print("minimum R² per candidate:", {k: round(v, 3) for k, v in summary.items()})
print("chosen:", best, candidates[best])
json.dump({"minimum_r2": summary, "chosen": best, "checkpoints": candidates[best]}, open(f"{P}/choice.json", "w"), indent=1)
EOF
