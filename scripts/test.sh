#!/usr/bin/env bash
# Runs the whole test suite, optimised (numeric code in a debug build is 10-100x slower);
# -enable-testing keeps `@testable import` working in release builds.
set -euo pipefail
cd "$(dirname "$0")/.."
RPT_SETUP_BUILD_FLAGS="-Xswiftc -enable-testing" bash scripts/setup.sh   # the same flags as the test build below: one build, not two
swift build -c release --build-tests -Xswiftc -enable-testing 2>&1 | { grep -Ev '^\[[0-9]+/[0-9]+\]' || true; }   # a failed build fails the script (pipefail)
swift test -c release -Xswiftc -enable-testing --skip-build "$@"
# The verl path against the real verl wheel's config and the datasets library (PyPI; RPT_SKIP_VERL=1 skips it).
if [[ "${RPT_SKIP_VERL:-0}" != 1 && $# -eq 0 ]]; then bash scripts/test_verl.sh; fi
# `rpt tensorboard` event files read back with tensorboard's own reader (PyPI; RPT_SKIP_TENSORBOARD=1 skips it).
if [[ "${RPT_SKIP_TENSORBOARD:-0}" != 1 && $# -eq 0 ]]; then bash scripts/test_tensorboard.sh; fi
if [[ "${RPT_SKIP_LLAMACPP:-0}" != 1 && $# -eq 0 ]] && "${LLAMACPP_TEST_VENV:-/tmp/rpt-llamacpp-venv}/bin/python" -c 'import llama_cpp' 2>/dev/null; then bash scripts/test_llamacpp.sh; fi   # `rpt export --to gguf` in llama.cpp, when its venv is already installed (scripts/test_llamacpp.sh installs it; RPT_SKIP_LLAMACPP=1 skips it)
if [[ "${RPT_SKIP_LLAMACPP:-0}" != 1 && $# -eq 0 ]] && "${LLAMACPP_TEST_VENV:-/tmp/rpt-llamacpp-venv}/bin/python" -c 'import llama_cpp' 2>/dev/null; then bash scripts/test_server.sh; fi   # `rpt eval --server` and `rpt prepare --proxy-server` against a real llama.cpp server, same condition (docs/servers.md)
if [[ "${RPT_SKIP_FUZZ:-0}" != 1 && $# -eq 0 ]]; then bash scripts/fuzz.sh 10000 1; fi   # seeded fuzzing of every loader, 10,000 cases each (docs/reliability.md; RPT_SKIP_FUZZ=1 skips it)
