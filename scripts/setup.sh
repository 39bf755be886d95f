#!/usr/bin/env bash
# Installs what the build needs on a fresh Debian 12 machine (OpenBLAS from Debian) and builds the
# release binary. Safe to run repeatedly: it installs nothing that is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! pkg-config --exists openblas 2>/dev/null; then
    echo "setup: installing libopenblas-dev and pkg-config (Debian)" >&2
    export DEBIAN_FRONTEND=noninteractive
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq libopenblas-dev pkg-config >/dev/null
fi
if ! command -v python3 >/dev/null || ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    # The verl reward module's parity test runs python3 (standard library only); scripts/test.sh's verl and
    # tensorboard checks make virtual environments, which Debian's python3 can do only with python3-venv.
    echo "setup: installing python3 and python3-venv (Debian)" >&2
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3 python3-venv >/dev/null
fi
if ! command -v swift >/dev/null; then
    echo "setup: the Swift toolchain (6.0 or newer) is required on PATH" >&2
    exit 1
fi
# RPT_SETUP_BUILD_FLAGS: extra build flags (scripts/test.sh passes its own, so the test build reuses this one).
swift build -c release --product rpt ${RPT_SETUP_BUILD_FLAGS:-} 2>&1 | { grep -Ev '^\[[0-9]+/[0-9]+\]' || true; }   # a failed build fails the script (pipefail)
test -x .build/release/rpt
