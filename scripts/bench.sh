#!/usr/bin/env bash
# The speed benchmarks, ours and PyTorch's side by side on the same machine, shapes and thread count
# (2 threads, fp32). Needs the reference Python packages (pip install -r scripts/requirements-reference.txt);
# PYTHON selects the interpreter. Writes runs/bench/*.json and prints the tables for BENCHMARKS.md.
#   bash scripts/bench.sh            # inference + training
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
OUT=runs/bench
THREADS=${THREADS:-2}
mkdir -p $OUT
bash scripts/setup.sh
RPT=.build/release/rpt
[ -f runs/bench-model-f32/model.safetensors ] || $PY scripts/make_bench_model.py --out runs/bench-model-f32
for m in bench:runs/bench-model-f32 stories260K:Assets/stories260K/hf; do
    name=${m%%:*}; dir=${m#*:}
    $RPT bench --model $dir --threads $THREADS --repeats 5 --json $OUT/rpt-$name.json
    $PY scripts/bench_pytorch.py --model $dir --threads $THREADS --repeats 5 --json $OUT/torch-$name.json 2>&1 | grep -v "Loading weights"
done
$RPT bench --model runs/bench-model-f32 --train --seq-len 512 --threads $THREADS --repeats 3 --json $OUT/rpt-train.json
$PY scripts/bench_pytorch_train.py --model runs/bench-model-f32 --seq-len 512 --threads $THREADS --repeats 3 --json $OUT/torch-train.json 2>&1 | grep -v "Loading weights"
$PY scripts/bench_table.py $OUT
