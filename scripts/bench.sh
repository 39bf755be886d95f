#!/usr/bin/env bash
# The speed benchmarks in one run, on one machine, same shapes, same random-token workloads, same thread count:
#   swift-rpt  `rpt bench` with fp32 and with bf16 inference weights (--inference-dtype bf16), fp32 weights with a bf16
#              KV cache (--kv-cache-dtype bf16: llama.cpp F32's settings), and `rpt bench --train`;
#   PyTorch    scripts/bench_pytorch.py and scripts/bench_pytorch_train.py, fp32 and bf16 autocast;
#   llama.cpp  scripts/bench_llamacpp.py (llama-cpp-python) on GGUFs from `rpt export --to gguf --type f32|bf16`.
# Model: "the bench model" (scripts/make_bench_model.py: random Qwen2, 56M) with the 32768-id tokenizer of
# scripts/make_bench_tokenizer.py (the GGUF needs one). Writes $OUT/*.json (default runs/bench) and prints the table
# of scripts/bench_table.py (BENCHMARKS.md is made from it).
#
#   PYTHON=/path/to/python LLAMACPP_PYTHON=/path/to/python bash scripts/bench.sh
#     PYTHON: an interpreter with torch + transformers + tokenizers (scripts/requirements-reference.txt);
#     LLAMACPP_PYTHON: one with llama_cpp (pip install llama-cpp-python) and numpy; they may be the same.
#   bash scripts/bench.sh
#     without them: a venv at ${BENCH_VENV:-/tmp/rpt-bench-venv}, created and reused, gets
#     scripts/requirements-reference.txt (pip options in PIP_ARGS, e.g. a CPU-only torch index) and
#     llama-cpp-python built from source for this CPU (CMAKE_ARGS, default -DGGML_NATIVE=ON; ~15 min on 2 cores).
# Knobs (defaults = the full run): REPEATS=5 (timed runs per measure after one warm-up; the table shows
# median [min..max]), TRAIN_REPEATS=$REPEATS, THREADS=2, BATCHES=1,8,32,64, PREFILL_LENS=128,512, PROMPT_LEN=128,
# NEW_TOKENS=64, TRAIN_SEQ_LEN=512, PAIRS=5 (rounds of the paired batch-1 decode comparison below), OUT=runs/bench,
# NICE= (a prefix for every measured command, e.g. "nice -n 10").
# swift-rpt's bf16 modes need AVX-512 BF16: on a CPU without it (no avx512_bf16 in /proc/cpuinfo) their columns are
# left empty and the script says so; PyTorch's bf16 autocast and llama.cpp's BF16 still run (they emulate it).
set -euo pipefail
cd "$(dirname "$0")/.."
# The load before this script's own setup (build, exports): whether other processes are running. Read later, the
# 1-minute average would also hold the setup's work, which is over before the first measure.
read -r LOAD1 LOAD5 LOAD15 _ < /proc/loadavg 2>/dev/null || { LOAD1=0; LOAD5=0; LOAD15=0; }
export BENCH_LOAD_START="$LOAD1 $LOAD5 $LOAD15"

THREADS=${THREADS:-2}
REPEATS=${REPEATS:-5}
TRAIN_REPEATS=${TRAIN_REPEATS:-$REPEATS}
BATCHES=${BATCHES:-1,8,32,64}
PREFILL_LENS=${PREFILL_LENS:-128,512}
PROMPT_LEN=${PROMPT_LEN:-128}
NEW_TOKENS=${NEW_TOKENS:-64}
TRAIN_SEQ_LEN=${TRAIN_SEQ_LEN:-512}
PAIRS=${PAIRS:-5}
OUT=${OUT:-runs/bench}
NICE=${NICE:-}
BENCH_VENV=${BENCH_VENV:-/tmp/rpt-bench-venv}
export OMP_NUM_THREADS=$THREADS
export BENCH_COMMAND="REPEATS=$REPEATS TRAIN_REPEATS=$TRAIN_REPEATS THREADS=$THREADS BATCHES=$BATCHES PREFILL_LENS=$PREFILL_LENS PROMPT_LEN=$PROMPT_LEN NEW_TOKENS=$NEW_TOKENS TRAIN_SEQ_LEN=$TRAIN_SEQ_LEN PAIRS=$PAIRS${NICE:+ NICE=\"$NICE\"} bash scripts/bench.sh"

# Interpreters: given, or a venv of our own.
if [[ -z "${PYTHON:-}" || -z "${LLAMACPP_PYTHON:-}" ]]; then
    if [[ ! -x "$BENCH_VENV/bin/python" ]]; then
        echo "bench: creating $BENCH_VENV"
        python3 -m venv "$BENCH_VENV"
    fi
    VPY="$BENCH_VENV/bin/python"
    if [[ -z "${PYTHON:-}" ]]; then
        if ! "$VPY" -c 'import torch, transformers, tokenizers' 2>/dev/null; then
            echo "bench: installing scripts/requirements-reference.txt into $BENCH_VENV"
            # shellcheck disable=SC2086
            "$VPY" -m pip install --quiet --disable-pip-version-check ${PIP_ARGS:-} -r scripts/requirements-reference.txt
        fi
        PYTHON="$VPY"
    fi
    if [[ -z "${LLAMACPP_PYTHON:-}" ]]; then
        if ! "$VPY" -c 'import llama_cpp, numpy' 2>/dev/null; then
            echo "bench: installing llama-cpp-python into $BENCH_VENV (builds llama.cpp from source for this CPU)"
            CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=ON -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF}" \
            CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}" \
                "$VPY" -m pip install --quiet --disable-pip-version-check "${LLAMACPP_PYTHON_SPEC:-llama-cpp-python}" numpy
        fi
        LLAMACPP_PYTHON="$VPY"
    fi
fi
"$PYTHON" -c 'import torch, transformers, tokenizers' || { echo "bench: $PYTHON lacks torch/transformers/tokenizers" >&2; exit 2; }
"$LLAMACPP_PYTHON" -c 'import llama_cpp, numpy' || { echo "bench: $LLAMACPP_PYTHON lacks llama_cpp/numpy" >&2; exit 2; }

mkdir -p "$OUT"
bash scripts/setup.sh
export RPT=${RPT:-.build/release/rpt}
quiet() { grep -v "Loading weights" || true; }

# The bench model, its tokenizer, and its GGUFs (re-exported every run: cheap, and follows the exporter).
[[ -f runs/bench-model-f32/model.safetensors ]] || "$PYTHON" scripts/make_bench_model.py --out runs/bench-model-f32
M=$OUT/model
mkdir -p "$M"
for f in config.json generation_config.json model.safetensors; do cp -u runs/bench-model-f32/$f "$M/$f"; done
"$PYTHON" scripts/make_bench_tokenizer.py --out "$M"
for t in f32 bf16; do $RPT export --to gguf --model "$M" --out "$OUT/bench-$t.gguf" --type $t; done

rm -rf "$OUT"/rpt-*.json "$OUT"/torch-*.json "$OUT"/llamacpp-*.json "$OUT/pairs"
"$PYTHON" scripts/bench_table.py --record-env start "$OUT"
if awk -v l="$LOAD1" -v c="$(nproc 2>/dev/null || echo 1)" 'BEGIN { exit !(l > 0.25 * c) }'; then
    echo "bench: WARNING: load average $LOAD1 on $(nproc) cores: other processes are running; PyTorch's and llama.cpp's" \
         "OpenMP threads stall on a busy machine, so this run's numbers are not representative (the table says so)" >&2
fi
SHAPES=(--threads "$THREADS" --prefill-lens "$PREFILL_LENS" --batches "$BATCHES" --prompt-len "$PROMPT_LEN"
        --new-tokens "$NEW_TOKENS" --repeats "$REPEATS")

# swift-rpt's bf16 modes (--inference-dtype bf16, --train-dtype bf16) need AVX-512 BF16.
RPT_DTYPES=(fp32 bf16)
if ! grep -qw avx512_bf16 /proc/cpuinfo 2>/dev/null; then
    RPT_DTYPES=(fp32)
    echo "bench: this CPU has no AVX-512 BF16 (avx512_bf16): swift-rpt's bf16 columns stay empty" >&2
fi
has_dtype() { [[ " ${RPT_DTYPES[*]} " == *" $1 "* ]]; }

echo "== swift-rpt inference (${RPT_DTYPES[*]}; fp32 weights with a bf16 KV cache, as llama.cpp's F32 with its f16 cache)"
for d in "${RPT_DTYPES[@]}"; do
    $NICE $RPT bench --model runs/bench-model-f32 --inference-dtype $d --prefill-logits all,last "${SHAPES[@]}" \
        --json "$OUT/rpt-$d.json"
done
$NICE $RPT bench --model runs/bench-model-f32 --inference-dtype fp32 --kv-cache-dtype bf16 --prefill-logits all,last \
    "${SHAPES[@]}" --json "$OUT/rpt-fp32-kvbf16.json"
echo "== PyTorch inference (fp32, bf16 autocast)"
for a in none bf16; do
    d=$([[ $a == none ]] && echo fp32 || echo bf16)
    $NICE "$PYTHON" scripts/bench_pytorch.py --model runs/bench-model-f32 --autocast $a "${SHAPES[@]}" \
        --json "$OUT/torch-$d.json" 2>&1 | quiet
done
echo "== llama.cpp inference (F32, BF16 GGUF)"
for t in f32 bf16; do
    $NICE "$LLAMACPP_PYTHON" scripts/bench_llamacpp.py --gguf "$OUT/bench-$t.gguf" "${SHAPES[@]}" --json "$OUT/llamacpp-$t.json"
done
# Decode at batch 1 is bound by memory bandwidth, which the other tenants of a shared machine move by up to 2x within
# minutes, more than the gap being measured. PAIRS rounds therefore measure swift-rpt and llama.cpp back to back
# (fp32 against F32, bf16 against BF16; which goes first alternates by round), so that each round's ratio compares
# two measures taken seconds apart; the table reports the median ratio over the rounds.
if (( PAIRS > 0 )); then
    echo "== decode batch 1: $PAIRS paired rounds of swift-rpt and llama.cpp"
    mkdir -p "$OUT/pairs"
    P=(--threads "$THREADS" --prefill-lens 16 --batches 1 --prompt-len "$PROMPT_LEN" --new-tokens "$NEW_TOKENS" --repeats 3)
    for ((i = 1; i <= PAIRS; i++)); do
        for t in f32 bf16; do
            d=$([[ $t == f32 ]] && echo fp32 || echo bf16)
            ours=($NICE $RPT bench --model runs/bench-model-f32 --inference-dtype $d "${P[@]}" --json "$OUT/pairs/rpt-$d-$i.json")
            theirs=($NICE "$LLAMACPP_PYTHON" scripts/bench_llamacpp.py --gguf "$OUT/bench-$t.gguf" "${P[@]}"
                    --json "$OUT/pairs/llamacpp-$t-$i.json")
            has_dtype $d || ours=(true)
            if (( i % 2 )); then "${ours[@]}" > /dev/null; "${theirs[@]}" > /dev/null
            else "${theirs[@]}" > /dev/null; "${ours[@]}" > /dev/null; fi
        done
    done
fi
echo "== training step: swift-rpt (fp32, bf16), PyTorch (fp32, bf16 autocast)"
$NICE $RPT bench --model runs/bench-model-f32 --train --seq-len "$TRAIN_SEQ_LEN" --threads "$THREADS" --repeats "$TRAIN_REPEATS" \
    --json "$OUT/rpt-train.json"
if has_dtype bf16; then
    $NICE $RPT bench --model runs/bench-model-f32 --train --train-dtype bf16 --seq-len "$TRAIN_SEQ_LEN" --threads "$THREADS" \
        --repeats "$TRAIN_REPEATS" --json "$OUT/rpt-train-bf16.json"
fi
for a in none bf16; do
    d=$([[ $a == none ]] && echo fp32 || echo bf16)
    $NICE "$PYTHON" scripts/bench_pytorch_train.py --model runs/bench-model-f32 --autocast $a --seq-len "$TRAIN_SEQ_LEN" \
        --threads "$THREADS" --repeats "$TRAIN_REPEATS" --json "$OUT/torch-train-$d.json" 2>&1 | quiet
done

"$PYTHON" scripts/bench_table.py --record-env end "$OUT"
echo
"$PYTHON" scripts/bench_table.py "$OUT" | tee "$OUT/table.md"
