#!/usr/bin/env bash
# Checks `rpt tensorboard` (TensorBoard event files written in Swift) with tensorboard's own reader from PyPI
# (scripts/tensorboard/check_events.py: CRC32C-checked records, EventAccumulator, the server's plugin loader):
#   1. a short `rpt pretrain` run converted: every step's loss (and every other metric) equals metrics.jsonl's;
#   2. a hand-written metrics.jsonl with a "warning" text, null and "NaN" values (gaps);
#   3. --follow on a live file: growth, an incomplete last line, a file replaced by a resumed run (steps cut
#      back and rewritten: TensorBoard drops the old values), then Ctrl-C;
#   4. errors: no run, an --out holding event files written another way.
# Usage: bash scripts/test_tensorboard.sh    (venv: ${TB_TEST_VENV:-/tmp/rpt-tb-venv}, reused; tensorboard only,
# no torch or tensorflow: tensorboard then reads with its own pure-Python record reader)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

VENV="${TB_TEST_VENV:-/tmp/rpt-tb-venv}"
if [[ ! -x "$VENV/bin/python" ]]; then
  echo "creating $VENV"
  python3 -m venv "$VENV"
fi
PY="$VENV/bin/python"
if ! "$PY" -c 'import tensorboard' 2>/dev/null; then
  echo "installing tensorboard into $VENV"
  "$PY" -m pip install --quiet --disable-pip-version-check tensorboard
fi
if "$PY" -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("tensorflow") is None)'; then
  echo "note: tensorflow is installed in $VENV; tensorboard reads records with it instead of its own reader"
fi

RPT=.build/release/rpt
[[ -x "$RPT" ]] || { echo "error: $RPT is missing (swift build -c release)" >&2; exit 2; }
TMP=$(mktemp -d)
FOLLOW_PID=
cleanup() { [[ -n "$FOLLOW_PID" ]] && kill "$FOLLOW_PID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT

passed=0 failed=0
tally() {   # add up the "N passed, M failed" a checker printed last (a crash counts as a failure)
  local out=$1 rc=$2
  echo "$out"
  if [[ "$(tail -n 1 <<<"$out")" =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
    passed=$((passed + BASH_REMATCH[1])) failed=$((failed + BASH_REMATCH[2]))
  fi
  if (( rc != 0 )) && ! [[ "$(tail -n 1 <<<"$out")" =~ [1-9][0-9]*\ failed ]]; then failed=$((failed + 1)); fi
}
checker() { local out rc=0; out=$("$PY" scripts/tensorboard/check_events.py "$@" 2>&1) || rc=$?; tally "$out" "$rc"; }
expect() {  # expect DESCRIPTION COMMAND...: the command succeeds
  local what=$1; shift
  if "$@"; then echo "ok: $what"; passed=$((passed + 1)); else echo "FAIL: $what"; failed=$((failed + 1)); fi
}

# 1. A real run.
echo "== rpt pretrain → rpt tensorboard"
"$RPT" pretrain --model Tests/Fixtures/models/qwen2_f32 --data Tests/Fixtures/data/short_stories.txt --delimiter '\n\n\n' \
  --steps 6 --seq-len 16 --batch-size 1 --validation 1 --out "$TMP/run" >"$TMP/pretrain.log" 2>&1 \
  || { cat "$TMP/pretrain.log"; echo "error: rpt pretrain failed" >&2; exit 1; }
"$RPT" tensorboard --run "$TMP/run"
checker "$TMP/run/tensorboard" "$TMP/run/metrics.jsonl"
# Converting again replaces the earlier conversion (one event file, not two).
"$RPT" tensorboard --run "$TMP/run" >/dev/null
expect "a second conversion replaces the first" test "$(ls "$TMP/run/tensorboard" | wc -l)" -eq 1

# 2. Texts and gaps.
echo "== texts, null and NaN"
mkdir -p "$TMP/hand"
# (the last line has no newline: a hand-written file's last record still counts when it parses)
printf '%s\n%s\n%s' '{"step":1,"loss":1.5,"val_loss":2.25,"reward_mean":0,"warning":"reward flat for 4 steps","warning_kind":"flat"}' \
  '{"step":2,"loss":"NaN","reward_mean":0.125,"kl":null}' '{"step":3,"loss":1.25,"reward_mean":1e-3,"grad_norm":"Infinity"}' \
  >"$TMP/hand/metrics.jsonl"
"$RPT" tensorboard --run "$TMP/hand/metrics.jsonl" --out "$TMP/hand/tb"
checker "$TMP/hand/tb" "$TMP/hand/metrics.jsonl" --text "train/warning=1:reward flat for 4 steps" --text "train/warning_kind=1:flat"

# 3. --follow on a live file.
echo "== --follow"
mkdir -p "$TMP/live"
M="$TMP/run/metrics.jsonl"
head -n 3 "$M" >"$TMP/live/metrics.jsonl"
sed -n 4p "$M" | head -c 20 >>"$TMP/live/metrics.jsonl"                   # an incomplete line: a run mid-write
"$RPT" tensorboard --run "$TMP/live" --follow >"$TMP/follow.log" 2>&1 &
FOLLOW_PID=$!
sleep 2.5
sed -n 4p "$M" | tail -c +21 >>"$TMP/live/metrics.jsonl"                  # the rest of line 4, then 5 and 6
sed -n '5,6p' "$M" >>"$TMP/live/metrics.jsonl"
sleep 2.5
# A resume from a step-2 checkpoint: the file is replaced (as MetricsLog does) by its first 2 lines and the
# resumed run's step 3 (loss 4.5): TensorBoard is told to drop steps 3-6 before the new step 3 ...
{ head -n 2 "$M"; sed -n 3p "$M" | sed -E 's/"loss":[^,}]*/"loss":4.5/'; } >"$TMP/live/cut" && mv "$TMP/live/cut" "$TMP/live/metrics.jsonl"
sleep 2.5
# ... and again, the replacement seen before the resumed run logs anything (cut back to step 2), then step 3 (loss 5.5).
head -n 2 "$M" >"$TMP/live/cut" && mv "$TMP/live/cut" "$TMP/live/metrics.jsonl"
sleep 2.5
sed -n 3p "$M" | sed -E 's/"loss":[^,}]*/"loss":5.5/' >>"$TMP/live/metrics.jsonl"
sleep 2.5
kill -INT "$FOLLOW_PID"
rc=0; wait "$FOLLOW_PID" || rc=$?
FOLLOW_PID=
cat "$TMP/follow.log"
expect "--follow ends with status 0 on SIGINT (was $rc)" test "$rc" -eq 0
checker "$TMP/live/tensorboard" "$TMP/live/metrics.jsonl"
expect "the cut-back steps 4-6 are gone and step 3 has the last resumed run's loss" \
  "$PY" -c 'import sys; from tensorboard.backend.event_processing import event_accumulator as ea
a = ea.EventAccumulator(sys.argv[1]); a.Reload()
s = {e.step: e.value for e in a.Scalars("train/loss")}
sys.exit(0 if sorted(s) == [1, 2, 3] and s[3] == 5.5 else 1)' "$TMP/live/tensorboard"

# 4. Errors name the path.
echo "== errors"
out=$("$RPT" tensorboard --run "$TMP/missing" 2>&1) && rc=0 || rc=$?
expect "a missing run is an error naming it: $out" test "$rc" -ne 0 -a -n "$(grep -F "$TMP/missing" <<<"$out")"
printf '{"step":1,"loss":1}\n{"step":2,"loss":\n{"step":3,"loss":1}\n' >"$TMP/bad.jsonl"
out=$("$RPT" tensorboard --run "$TMP/bad.jsonl" --out "$TMP/bad-tb" 2>&1) && rc=0 || rc=$?
expect "a malformed line is an error naming the file and line: $out" test "$rc" -ne 0 -a -n "$(grep -F "$TMP/bad.jsonl: line 2" <<<"$out")"
mkdir -p "$TMP/foreign" && : >"$TMP/foreign/events.out.tfevents.1.host"
out=$("$RPT" tensorboard --run "$TMP/run" --out "$TMP/foreign" 2>&1) && rc=0 || rc=$?
expect "an --out with other event files is refused: $out" test "$rc" -ne 0 -a -e "$TMP/foreign/events.out.tfevents.1.host"

echo "tensorboard: $passed passed, $failed failed"
(( failed == 0 ))
