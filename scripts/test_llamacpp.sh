#!/usr/bin/env bash
# Checks `rpt export --to gguf` (GGUF spec: github.com/ggml-org/ggml docs/gguf.md) with llama.cpp itself, through
# llama-cpp-python from PyPI: an engine independent of both our GGUF writer and our forward pass.
#   1. exports bundled models to GGUF, F32 and BF16: the Llama / Qwen2 / Qwen3 reference fixtures (byte-level BPE,
#      Qwen2 pre-tokenizer), stories260K as an HF directory (SentencePiece-style tokenizer.json) and as llama2.c's
#      .bin + tokenizer.bin, and the quickstart's cold-start model;
#   2. scripts/llamacpp/check_gguf.py per GGUF: (a) llama.cpp's token ids = `rpt tokenize`'s, (b) llama.cpp's prompt
#      log-probs (all logits, F32 KV cache) vs `rpt score` (F32: max |diff| <= 1e-4; BF16: <= 0.25, because ggml
#      multiplies BF16 weights with BF16-rounded activations; measured ~0.13-0.2 on these models, ~1e-5 for the same
#      weights as F32), (c) llama.cpp's greedy continuation = `rpt generate --temperature 0` (F32: identical text;
#      BF16: agreement reported, >= 50% required since near-ties may flip);
#   3. `python -m llama_cpp.server` on one F32 GGUF: /v1/completions prompt log-probs (echo) and greedy text against
#      rpt, and sequential requests/s; the server is stopped on exit (trap).
# Usage: bash scripts/test_llamacpp.sh   (any directory; venv ${LLAMACPP_TEST_VENV:-/tmp/rpt-llamacpp-venv}, created and
# reused; the first run builds llama.cpp from source through pip, CPU only: ~15 min on 2 cores)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)

VENV="${LLAMACPP_TEST_VENV:-/tmp/rpt-llamacpp-venv}"
if [[ ! -x "$VENV/bin/python" ]]; then
  echo "creating $VENV"
  python3 -m venv "$VENV"
fi
PY="$VENV/bin/python"
if ! "$PY" -c 'import llama_cpp' 2>/dev/null; then
  echo "installing llama-cpp-python[server] into $VENV (builds llama.cpp from source, CPU only; this takes a while)"
  start=$(date +%s)
  # A small native CPU build: no examples, tests or curl; two compile jobs.
  CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=ON -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF}" \
  CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}" \
    nice -n 10 "$PY" -m pip install --quiet --disable-pip-version-check 'llama-cpp-python[server]'
  echo "installed in $(( $(date +%s) - start )) s"
fi
echo "llama-cpp-python $("$PY" -c 'import llama_cpp; print(llama_cpp.__version__)') in $VENV"

RPT="$ROOT/.build/release/rpt"
[[ -x "$RPT" ]] || { echo "error: $RPT is missing (swift build -c release)" >&2; exit 2; }
TMP=$(mktemp -d)
SERVER_PID=
cleanup() {
  if [[ -n "$SERVER_PID" ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT

passed=0 failed=0
tally() {   # add up the "N passed, M failed" the checker printed last (a crash counts as a failure)
  local out=$1 rc=$2
  echo "$out"
  if [[ "$(tail -n 1 <<<"$out")" =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
    passed=$((passed + BASH_REMATCH[1])) failed=$((failed + BASH_REMATCH[2]))
  else
    failed=$((failed + 1))
  fi
  if [[ $rc -ne 0 && ! "$(tail -n 1 <<<"$out")" =~ passed ]]; then failed=$((failed + 1)); fi
}

SUMMARY="$TMP/summary.jsonl"
check() {   # check LABEL TYPE TOLERANCE MIN_GREEDY MODEL [TOKENIZER] [-- extra checker args]
  local label=$1 type=$2 tol=$3 agree=$4 model=$5 tok=${6:-}
  local gguf="$TMP/$label.gguf" args=()
  [[ -n "$tok" ]] && args=(--tokenizer "$ROOT/$tok")
  if ! out=$("$RPT" export --to gguf --model "$ROOT/$model" "${args[@]}" --out "$gguf" --type "$type" 2>&1); then
    echo "$out"; failed=$((failed + 1)); return
  fi
  local rc=0
  out=$("$PY" "$ROOT/scripts/llamacpp/check_gguf.py" --rpt "$RPT" --gguf "$gguf" --model "$ROOT/$model" "${args[@]}" \
        --label "$label ($type)" --tolerance "$tol" --min-greedy-agreement "$agree" --summary "$SUMMARY" "${@:7}" 2>&1) || rc=$?
  tally "$out" $rc
}

F32=1e-4 BF16=0.25
check qwen2_f32          f32  $F32 1   Tests/Fixtures/models/qwen2_f32
check qwen3_f32          f32  $F32 1   Tests/Fixtures/models/qwen3_f32
check llama_f32          f32  $F32 1   Tests/Fixtures/models/llama_f32
check llama_rope_llama3  f32  $F32 1   Tests/Fixtures/models/llama_rope_llama3
check stories260K_hf     f32  $F32 1   Assets/stories260K/hf
check stories260K_bin    f32  $F32 1   Assets/stories260K/stories260K.bin Assets/stories260K/tok512.bin
check cold_start         f32  $F32 1   Assets/quickstart/models/cold-start
check qwen2_bf16_tied    bf16 $BF16 0.5 Tests/Fixtures/models/qwen2_bf16_tied
check qwen3_f16_sharded  bf16 $BF16 0.5 Tests/Fixtures/models/qwen3_f16_tied_sharded
check stories260K_hf     bf16 $BF16 0.5 Assets/stories260K/hf

# The OpenAI-compatible server on one F32 export.
GGUF="$TMP/server.gguf"
"$RPT" export --to gguf --model "$ROOT/Assets/stories260K/hf" --out "$GGUF" >/dev/null
PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
"$PY" -m llama_cpp.server --model "$GGUF" --host 127.0.0.1 --port "$PORT" --n_ctx 256 --n_threads 2 \
    --logits_all True --type_k 0 --type_v 0 >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 120); do
  if "$PY" -c "import urllib.request, sys; urllib.request.urlopen('http://127.0.0.1:$PORT/v1/models', timeout=1)" 2>/dev/null; then break; fi
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then break; fi
  sleep 0.5
done
rc=0
out=$("$PY" "$ROOT/scripts/llamacpp/check_gguf.py" --rpt "$RPT" --gguf "$GGUF" --model "$ROOT/Assets/stories260K/hf" \
      --label "llama_cpp.server on stories260K_hf (f32)" --tolerance $F32 --server "http://127.0.0.1:$PORT" \
      --summary "$SUMMARY" 2>&1) || rc=$?
tally "$out" $rc
if [[ $rc -ne 0 ]]; then echo "--- server log (tail)"; tail -n 20 "$TMP/server.log"; fi
kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=

echo "--- summary"
"$PY" - "$SUMMARY" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
for r in rows:
    extra = ""
    if "server_requests_per_s" in r:
        extra = f", server {r['server_requests_per_s']:.1f} req/s, {r['server_tokens_per_s']:.0f} tok/s"
    print(f"{r['label']:45s} tokens {r.get('tokenization_agreement', '?'):>4s}  logprob max|d| {r.get('logprob_max_abs_diff', float('nan')):.2g}"
          f" (mean {r.get('logprob_mean_abs_diff', float('nan')):.2g})  greedy {r.get('greedy_agreement', float('nan')):.0%}{extra}")
EOF
echo "llama.cpp checks: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
