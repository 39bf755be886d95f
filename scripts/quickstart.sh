#!/usr/bin/env bash
# The main job on the bundled defaults (README): install what is missing, build, and run `rpt quickstart`,
# the whole RPT workflow on bundled assets (a few minutes on 2 cores). Extra arguments go to rpt quickstart.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.build/release/rpt quickstart "$@"
