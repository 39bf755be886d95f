#!/usr/bin/env python3
"""Prints the BENCHMARKS.md tables from the JSON files scripts/bench.sh writes (runs/bench by default)."""
import json
import os
import sys

d = sys.argv[1] if len(sys.argv) > 1 else "runs/bench"


def load(name):
    p = os.path.join(d, name)
    return json.load(open(p)) if os.path.exists(p) else None


print("| model | measure | swift-rpt | PyTorch | ratio |")
print("|---|---|---:|---:|---:|")
for model in ["bench", "stories260K"]:
    ours, theirs = load(f"rpt-{model}.json"), load(f"torch-{model}.json")
    if not ours or not theirs:
        continue
    for kind, label in [("prefill", "prefill {} tokens, tokens/s"), ("decode", "decode batch {}, tokens/s")]:
        for k in sorted(ours[kind], key=int):
            if k in theirs[kind]:
                a, b = ours[kind][k], theirs[kind][k]
                print(f"| {model} | {label.format(k)} | {a:.1f} | {b:.1f} | {a / b:.2f}x |")
    bound = ours.get("decode_bound_ms")
    if bound:
        step = 1000 / ours["decode"]["1"]
        print(f"| {model} | decode batch 1 vs bandwidth bound ({bound:.2f} ms/token at {ours['bandwidth_gbs']:.1f} GB/s) "
              f"| {step:.2f} ms | | {step / bound:.2f}x bound |")
ours, theirs = load("rpt-train.json"), load("torch-train.json")
if ours and theirs:
    a, b = ours["train_tokens_per_s"], theirs["train_tokens_per_s"]
    print(f"| bench | train step (fwd+bwd+AdamW), {ours['batch_size']}x{ours['seq_len']} tokens, tokens/s | {a:.1f} | {b:.1f} | {a / b:.2f}x |")
    print(f"| bench | large matmuls, GFLOP/s (share of 220 peak) | {ours['large_matmul_gflops']:.1f} "
          f"({ours['large_matmul_gflops'] / 220 * 100:.0f}%) | | |")
    print(f"| bench | peak resident memory, train step | {ours['peak_rss_bytes'] / 2**30:.2f} GiB | | |")
