#!/usr/bin/env bash
# The development-set pilot of Assets/reproduce/ledger-v10.json (RESULTS.md, "Ledger stories, v9: three changes per total"). v9 (three
# changes per total) met G2-G5 on its first held-out seed (17) and missed G1 (-0.8 points on hard) and the 45-minute
# budget (51 minutes). Its RL learned to box the calculation's result at the tens digit (22 -> 99 % of positions) and
# never at the units digit (14 % throughout): the base model cannot compose three operations, so its argmax units digit
# is nearly constant ('6'), the argmax demonstrations box that constant, and the cold start
# learned it (sampled at T = 0.8 it boxed the calculation's units digit in 8.1 % of samples, RESULTS.md), leaving
# GRPO no rollouts to tell apart. v10 changes two things:
#   - demos.answer `sample` (the `rpt demos` default) instead of `argmax`: the wrong answers of the demonstrations are
#     spread over the base model's distribution instead of piled on its mode, so the calculation's digit (the share q
#     = 0.3 of calculations) is the most frequent single answer;
#   - sft.steps 4,000 instead of 6,000, so that a seed fits in 45 minutes (the cold start's 5.5e13 FLOPs also set the
#     compute-matched NTP baseline's budget, and v9's seed 17 spent 22 of its 51 minutes there).
# Decision rule, fixed before the pilot ran: v10 is adopted, and run on new seeds 18, 19, 20, only if on the development
# set (c) writes the corpus's calculation exactly right in at least 80 % of calculation positions (v7's rule) and (d)
# at step 120 answers at least 80 % of calculation positions (RL connects the box to the calculation at both digits).
# Otherwise v10 is reported as piloted and not adopted.
# Result (RESULTS.md): (c) 96.2 %, (d) 46.6 %, not adopted; RL now learned the units digit (22 -> 85 %) and unlearned
# the tens digit (40 -> 11 %): it learns one copying rule, not the one that depends on whether the context already ends
# with the result's first digit. Hence ledger-v11.json, piloted by this script with the same rule
# (`bash scripts/pilot_ledger_v10.sh runs/reproduce/ledger-v9/seed-17 runs/pilot-v9 runs/pilot-v11
# Assets/reproduce/ledger-v11.json`): v10 with demos.calculation_answers 0.5 instead of 0.3, so that the cold start is
# shown the box following its calculation at both digits more often before RL; adopted (new seeds 18, 19, 20) only if
# it meets the rule above.
# Result: (c) 88.5 %, (d) 49.9 %, not adopted (RL kept the first digit and lost the later one; RESULTS.md).
# Models: seed 17's corpus, base model (a) and positions from v9 (the same commands in v10), then v10's demonstrations,
# cold start and RL (`rpt reproduce ledger-v10.json`, stopped once RL is done). Evaluation on the development set only
# (500 stories, `rpt corpus --seed 424242 --changes-per-total 3`, the v9 pilot's), never on a seed's evaluation stories.
# Usage: bash scripts/pilot_ledger_v10.sh [V9_SEED_17] [V9_PILOT] [OUT] [CONFIG]
#        (defaults: runs/reproduce/ledger-v9/seed-17, runs/pilot-v9, runs/pilot-v10, Assets/reproduce/ledger-v10.json;
#        ~17 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
R=${RPT:-.build/release/rpt}
V9=${1:-runs/reproduce/ledger-v9/seed-17}
DEV=${2:-runs/pilot-v9}
P=${3:-runs/pilot-v10}
CONFIG=${4:-Assets/reproduce/ledger-v10.json}
SEED=17
S=$P/stages/seed-$SEED
if [ ! -d "$S" ]; then
    mkdir -p "$S/.stages"
    cp -a "$V9/corpus" "$V9/a" "$V9/prep-pool" "$V9/prep-eval" "$S/"
    touch "$S/.stages/corpus" "$S/.stages/base" "$S/.stages/positions"
fi
RPT=$R bash scripts/reproduce_until.sh "$CONFIG" $SEED "$P/stages" rpt
FMT=(--template Assets/reproduce/prompt.txt --chat raw --max-prompt-tokens 200)
[ -f "$DEV/prep-dev/val.jsonl" ] || { echo "pilot: run scripts/pilot_ledger_v9.sh first (its development set)" >&2; exit 1; }
[ -f "$P/eval-dev.json" ] || $R eval --run "$S/d" --include-initial --out "$P/eval-dev.json" --dump "$P/responses.jsonl" \
    --mode reasoning --max-response-tokens 48 --batch 64 "${FMT[@]}" --data "$DEV/prep-dev/val.jsonl" --resamples 200 --seed 0 \
    --max-positions 6000
python3 scripts/calculation_right.py "$DEV/prep-dev/val.jsonl" "$P/responses.jsonl"
python3 - "$P" "$DEV" <<'PY'
import json, subprocess, sys
P, DEV = sys.argv[1:3]
results = json.load(open(f"{P}/eval-dev.json"))["results"]
for r in results:
    print(f"{r['label']}: " + ", ".join(f"{k} {100 * r['splits'][k]['accuracy']:.1f}" for k in ("easy", "medium", "hard", "calculation")) + " %")
calc = json.loads(subprocess.run(["python3", "scripts/calculation_right.py", f"{DEV}/prep-dev/val.jsonl", f"{P}/responses.jsonl", "--json"],
                                 check=True, capture_output=True, text=True).stdout)
cold = calc["initial"]["right"]
final = 100 * results[-1]["splits"]["calculation"]["accuracy"]
adopted = cold >= 80 and final >= 80
print(f"(c) calculation exactly right {cold:.1f} % (rule ≥ 80); (d) step 120 answers {final:.1f} % of calculation positions "
      f"(rule ≥ 80) → {'adopted' if adopted else 'not adopted'}")
json.dump({"cold_start_calculation_right": cold, "rpt_calculation_accuracy": final, "adopted": adopted},
          open(f"{P}/choice.json", "w"), indent=1)
PY
