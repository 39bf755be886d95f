#!/usr/bin/env bash
# Runs `rpt reproduce CONFIG --seeds SEED --out OUT` until STAGE is marked done in OUT/seed-SEED/.stages, then stops
# it (the pilots' way of making a seed's models up to one stage with a configuration's own commands). Does nothing when
# STAGE is already done; fails when the run ends without it.
# Usage: bash scripts/reproduce_until.sh CONFIG SEED OUT STAGE   (RPT: the rpt binary, default .build/release/rpt)
set -euo pipefail
cd "$(dirname "$0")/.."
R=${RPT:-.build/release/rpt}
CONFIG=$1 SEED=$2 OUT=$3 STAGE=$4
MARK=$OUT/seed-$SEED/.stages/$STAGE
[ -f "$MARK" ] && exit 0
$R reproduce "$CONFIG" --seeds "$SEED" --out "$OUT" &
pid=$!
while kill -0 $pid 2>/dev/null && [ ! -f "$MARK" ]; do sleep 5; done
kill $pid 2>/dev/null || true; wait $pid || true
[ -f "$MARK" ] || { echo "reproduce_until: stage $STAGE of seed $SEED ($CONFIG) did not finish" >&2; exit 1; }
