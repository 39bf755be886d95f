#!/usr/bin/env bash
# Seeded mutation fuzzing of every loader (docs/reliability.md, "Fuzzing"):
#
#   bash scripts/fuzz.sh [CASES_PER_TARGET] [SEED] [rpt-fuzz options, e.g. --targets safetensors,corpus]
#
# Builds rpt-fuzz, runs CASES_PER_TARGET mutated cases (default 10000) of each target from SEED (default 1; the same
# seed gives the same cases) on RPT_FUZZ_JOBS processes (default 2), and prints a table of outcomes per target.
# Exits non-zero when any case crashed, hung (over 10 s) or exhausted the 4 GiB address-space limit; each such case is
# saved as Tests/Fixtures/fuzz/<target>/<kind>-<seed>-<hash>.<ext>, which FuzzRegressionTests replays from then on.
# Reproduce one by hand: .build/release/rpt-fuzz replay --target TARGET FILE
set -euo pipefail
cd "$(dirname "$0")/.."
cases="${1:-10000}"
seed="${2:-1}"
shift $(( $# < 2 ? $# : 2 ))
# The same flags as scripts/test.sh, so neither build invalidates the other.
swift build -c release -Xswiftc -enable-testing --product rpt-fuzz 2>&1 | { grep -Ev '^\[[0-9]+/[0-9]+\]' || true; }
.build/release/rpt-fuzz --cases "$cases" --seed "$seed" --jobs "${RPT_FUZZ_JOBS:-2}" "$@"
