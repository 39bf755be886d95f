#!/usr/bin/env bash
# Checks the verl side of `rpt export --to verl` against the real verl wheel, without torch or a GPU:
#   1. scripts/verl/check_verl_config.py: Assets/verl/run_rpt_grpo.sh's overrides compose with verl's own
#      Hydra config (unknown keys fail), read back, and keep the paper's invariants;
#   2. scripts/verl/check_export.py loads an `rpt export --to verl` output (the directory given, else one made
#      here from a bundled corpus and model) as verl's dataset does and scores a sample with its rpt_reward.py.
# Usage: bash scripts/test_verl.sh [EXPORT_DIR]    (venv: ${VERL_TEST_VENV:-/tmp/rpt-verl-venv}, reused)
# verl is installed with --no-deps: its yaml config is all the checks read, so torch, vLLM and Ray stay out.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

VERL_VERSION=0.9.1   # the version run_rpt_grpo.sh was validated against
VENV="${VERL_TEST_VENV:-/tmp/rpt-verl-venv}"
EXPORT_DIR="${1:-}"
[[ -z "$EXPORT_DIR" || -d "$EXPORT_DIR" ]] || { echo "error: $EXPORT_DIR is not a directory" >&2; exit 2; }

if [[ ! -x "$VENV/bin/python" ]]; then
  echo "creating $VENV"
  python3 -m venv "$VENV"
fi
PY="$VENV/bin/python"
installed=$("$PY" -c 'import importlib.metadata as m; print(m.version("verl"))' 2>/dev/null || true)
if [[ "$installed" != "$VERL_VERSION" ]] || ! "$PY" -c 'import datasets, hydra, omegaconf' 2>/dev/null; then
  echo "installing datasets, hydra-core, omegaconf and verl==$VERL_VERSION (no deps) into $VENV"
  "$PY" -m pip install --quiet --disable-pip-version-check datasets hydra-core omegaconf
  "$PY" -m pip install --quiet --disable-pip-version-check --no-deps "verl==$VERL_VERSION"
fi
if "$PY" -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("torch") is None)'; then
  echo "note: torch is installed in $VENV; the checks do not import it"
fi

passed=0 failed=0
run() {   # run one checker, add up the "N passed, M failed" it prints last (a crash counts as a failure)
  local out rc=0
  out=$("$PY" "$@" 2>&1) || rc=$?
  echo "$out"
  if [[ "$(tail -n 1 <<<"$out")" =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
    passed=$((passed + BASH_REMATCH[1])) failed=$((failed + BASH_REMATCH[2]))
  fi
  if (( rc != 0 )) && ! [[ "$(tail -n 1 <<<"$out")" =~ [1-9][0-9]*\ failed ]]; then failed=$((failed + 1)); fi
}

run scripts/verl/check_verl_config.py --script Assets/verl/run_rpt_grpo.sh
if [[ -z "$EXPORT_DIR" ]]; then
  # No export given: make one with the rpt binary from a bundled corpus and model (positions → verl rows).
  RPT=.build/release/rpt
  [[ -x "$RPT" ]] || { echo "error: $RPT is missing (swift build -c release)" >&2; exit 2; }
  WORK=$(mktemp -d)
  trap 'rm -rf "$WORK"' EXIT
  "$RPT" prepare --corpus Tests/Fixtures/prepare/omni_tiny.jsonl --text-template $'{problem}\n\n{solution}' --policy Assets/stories260K/hf --proxy Assets/stories260K/hf \
    --val-docs 2 --entropy-threshold 0.5 --out "$WORK/prep" >/dev/null
  "$RPT" export --to verl --data "$WORK/prep" --chat raw --max-prompt-tokens 400 --out "$WORK/export"
  EXPORT_DIR="$WORK/export"
fi
run scripts/verl/check_export.py "$EXPORT_DIR"

echo "verl: $passed passed, $failed failed"
(( failed == 0 ))
