#!/usr/bin/env bash
# `rpt eval --server` and `rpt prepare --proxy-server` against a REAL OpenAI-compatible server: llama.cpp through
# llama-cpp-python's `python -m llama_cpp.server` (PyPI llama-cpp-python[server]; OpenAI Completions API,
# POST /v1/completions with echo + logprobs). docs/servers.md.
#   1. exports the quickstart's cold-start and base models to GGUF (F32; `rpt export --to gguf`);
#   2. held-out ledger positions (`rpt corpus`, `rpt prepare` with the base model);
#   3. serves the cold-start GGUF and runs `rpt eval` in reasoning mode at temperature 0 locally and through the
#      server in one call (same positions, paired): greedy accuracy of both and per-position agreement, predictions
#      compared response by response; then the server's sampled responses twice with one seed (must be identical);
#      then standard next-token accuracy (`--mode ntp`, from the server's echo log-probabilities) locally and through
#      the server on positions whose contexts are never cut (a cut context reaches an echo server as text that it
#      prefixes with its BOS: docs/servers.md): per-position outcomes;
#   4. serves the base GGUF and runs `rpt prepare` locally and with --proxy-server: proxy entropies of the common
#      positions (max |diff|), positions only one side kept, and the server's refusals;
#   5. prints requests/s. Servers are stopped on exit (trap).
# Requires: .build/release/rpt (swift build -c release) and a venv with llama-cpp-python[server], by default the one
# scripts/test_llamacpp.sh creates (${LLAMACPP_TEST_VENV:-/tmp/rpt-llamacpp-venv}); this script installs nothing.
# Usage: bash scripts/test_server.sh [POSITIONS]   (default 200 evaluated positions; exit 1 when a check fails)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
POSITIONS=${1:-200}

VENV="${LLAMACPP_TEST_VENV:-/tmp/rpt-llamacpp-venv}"
PY="$VENV/bin/python"
if ! [[ -x "$PY" ]] || ! "$PY" -c 'import llama_cpp.server' 2>/dev/null; then
  echo "error: no llama-cpp-python[server] in $VENV: run scripts/test_llamacpp.sh (it creates the venv) or set LLAMACPP_TEST_VENV" >&2
  exit 2
fi
RPT="$ROOT/.build/release/rpt"
[[ -x "$RPT" ]] || { echo "error: $RPT is missing (swift build -c release)" >&2; exit 2; }
echo "llama-cpp-python $("$PY" -c 'import llama_cpp; print(llama_cpp.__version__)') in $VENV"

TMP=$(mktemp -d)
SERVER_PID=
stop_server() {
  if [[ -n "$SERVER_PID" ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=; fi
}
cleanup() { stop_server; rm -rf "$TMP"; }
trap cleanup EXIT

# serve GGUF NAME: start llama_cpp.server on a free port (F32 KV cache, logits for every token) and wait for /v1/models.
serve() {
  local gguf=$1 name=$2
  PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
  "$PY" -m llama_cpp.server --model "$gguf" --model_alias "$name" --host 127.0.0.1 --port "$PORT" --n_ctx 256 \
      --n_threads 1 --logits_all True --type_k 0 --type_v 0 >"$TMP/server-$name.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 120); do
    if "$PY" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/v1/models', timeout=1)" 2>/dev/null; then
      URL="http://127.0.0.1:$PORT"; echo "serving $name at $URL (pid $SERVER_PID)"; return 0
    fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then break; fi
    sleep 0.5
  done
  echo "error: llama_cpp.server did not start; its log:" >&2
  tail -n 20 "$TMP/server-$name.log" >&2
  exit 1
}

MODELS="$ROOT/Assets/quickstart/models"
echo "== 1. GGUF exports"
nice "$RPT" export --to gguf --model "$MODELS/cold-start" --out "$TMP/cold-start.gguf" | head -n 1
nice "$RPT" export --to gguf --model "$MODELS/base" --out "$TMP/base.gguf" | head -n 1

echo "== 2. held-out positions"
nice "$RPT" corpus --docs 60 --seed 20261205 --out "$TMP/eval.jsonl" >/dev/null
PREP=(--policy "$MODELS/base" --calculations --min-context 8 --max-context-tokens 192 --corpus "$TMP/eval.jsonl"
      --val-docs 20 --entropy-threshold 0.5)
nice "$RPT" prepare "${PREP[@]}" --proxy "$MODELS/base" --out "$TMP/prep-local" | head -n 1
# The same documents with whole contexts (the longest story is under 256 tokens), for standard mode.
nice "$RPT" prepare --policy "$MODELS/base" --proxy "$MODELS/base" --min-context 8 --max-context-tokens 250 --corpus "$TMP/eval.jsonl" \
    --val-docs 20 --entropy-threshold 0.5 --out "$TMP/prep-whole" | head -n 1

echo "== 3. rpt eval: local vs llama.cpp server, reasoning mode, temperature 0"
serve "$TMP/cold-start.gguf" cold-start
EVAL=(--data "$TMP/prep-local/val.jsonl" --mode reasoning --template "$ROOT/Assets/reproduce/prompt.txt" --chat raw
      --max-prompt-tokens 200 --max-response-tokens 40 --max-positions "$POSITIONS" --resamples 500)
nice "$RPT" eval --model "$MODELS/cold-start" --label local --server "$URL" --served-model cold-start --server-label server \
    --server-concurrency 2 "${EVAL[@]}" --out "$TMP/eval.json" --dump "$TMP/dump.jsonl" 2>&1 | grep -v "^\s*$" | tail -n 25
# Sampled responses through the server, twice with one seed (3 samples per position: n is ignored, so 3 seeded requests).
for run in 1 2; do
  nice "$RPT" eval --server "$URL" --served-model cold-start --server-tokenizer "$MODELS/cold-start" --server-concurrency 2 \
      "${EVAL[@]}" --max-positions 40 --samples 3 --no-greedy --temperature 0.8 --seed 5 --out "$TMP/sampled-$run.json" >/dev/null 2>"$TMP/sampled-$run.log"
done
nice "$RPT" eval --model "$MODELS/cold-start" --label local --server "$URL" --served-model cold-start --server-label server \
    --server-concurrency 2 --data "$TMP/prep-whole/val.jsonl" --mode ntp --resamples 500 --out "$TMP/ntp.json" 2>&1 | grep -v "^\s*$" | tail -n 8
stop_server

echo "== 4. rpt prepare: local proxy vs --proxy-server (echo logprobs, top-16)"
serve "$TMP/base.gguf" base
nice "$RPT" prepare "${PREP[@]}" --proxy "$MODELS/base" --proxy-server "$URL" --proxy-served-model base --server-concurrency 2 \
    --out "$TMP/prep-server" 2>&1 | tail -n 3
stop_server

echo "== 5. comparison"
python3 - "$TMP" <<'EOF'
import json, sys
tmp = sys.argv[1]
failures = []

r = json.load(open(f"{tmp}/eval.json"))
local, server = r["results"]
gl, gs = local["outcomes"]["greedy"], server["outcomes"]["greedy"]
n = len(gl)
agree = sum(a == b for a, b in zip(gl, gs))
acc_l, acc_s = sum(gl) / n, sum(gs) / n
dump = [json.loads(l) for l in open(f"{tmp}/dump.jsonl")]
pl = [d["prediction"] for d in dump if d["label"] == "local"]
ps = [d["prediction"] for d in dump if d["label"] == "server"]
same_pred = sum(a == b for a, b in zip(pl, ps))
rep = server["server"]["report"]
print(f"eval (reasoning, T=0, {n} positions): accuracy local {100*acc_l:.1f}%, server {100*acc_s:.1f}%; "
      f"per-position outcomes agree on {agree}/{n} ({100*agree/n:.1f}%), predictions identical on {same_pred}/{n}")
print(f"  server: {rep['requests']} requests, {rep['requests_per_second']:.1f} requests/s at concurrency 2; "
      f"{rep['prompt_token_mismatches']} of {rep['text_prompts']} text prompts tokenized to a different length")
print(f"  capabilities: {json.dumps(server['server']['capabilities'])}")
if agree < 0.95 * n: failures.append(f"greedy outcomes agree on only {agree}/{n}")
if abs(acc_l - acc_s) > 0.05: failures.append(f"accuracies differ by {100*abs(acc_l-acc_s):.1f} points")

s1, s2 = (json.load(open(f"{tmp}/sampled-{i}.json"))["results"][0]["outcomes"]["sample_correct"] for i in (1, 2))
print(f"sampled (T=0.8, 3 per position, seed 5) twice through the server: {'identical' if s1 == s2 else 'DIFFERENT'} outcomes")
if s1 != s2: failures.append("seeded sampled outcomes differ between two runs")

r = json.load(open(f"{tmp}/ntp.json"))
local, server = r["results"]
gl, gs = local["outcomes"]["greedy"], server["outcomes"]["greedy"]
n, unscored = len(gl), server["server"]["unscored"]
agree = sum(a == b for a, b in zip(gl, gs))
print(f"eval (standard next-token, {n} positions, whole contexts): accuracy local {100*sum(gl)/n:.1f}%, server {100*sum(gs)/n:.1f}%; "
      f"per-position outcomes agree on {agree}/{n}; {unscored} positions the server could not score")
if n < 500 or agree < n - n // 100 or unscored > 0: failures.append(f"standard-mode outcomes agree on {agree}/{n}, {unscored} unscored")

def load(p):
    return {(x["doc_id"], x["index"]): x for x in map(json.loads, open(p))}
worst, compared, only_local, only_server = 0.0, 0, 0, 0
for f in ("train.jsonl", "val.jsonl"):
    a, b = load(f"{tmp}/prep-local/{f}"), load(f"{tmp}/prep-server/{f}")
    common = a.keys() & b.keys()
    compared += len(common)
    only_local += len(a.keys() - b.keys()); only_server += len(b.keys() - a.keys())
    worst = max([worst] + [abs(a[k]["proxy_entropy"] - b[k]["proxy_entropy"]) for k in common])
meta = json.load(open(f"{tmp}/prep-server/meta.json"))["proxy_server"]
pos = meta["positions"]
print(f"prepare: proxy entropy max |local - server| = {worst:.2e} nats over {compared} positions; "
      f"{only_local} kept only locally, {only_server} only through the server")
print(f"  server positions: {pos['scored']} scored, refused: {pos['refused_tokenization']} tokenization, "
      f"{pos['incomplete_top_k']} incomplete top-16 (tokens with the same text), {pos['missing']} without a distribution "
      f"(first token of each document); {meta['requests']} requests, {meta['requests_per_second']:.1f} requests/s")
if worst > 1e-3: failures.append(f"entropies differ by up to {worst}")
if compared == 0 or only_server > 0 or only_local > 0.02 * compared: failures.append("position sets differ")

if failures:
    print("FAILED: " + "; ".join(failures)); sys.exit(1)
print("all checks passed")
EOF
