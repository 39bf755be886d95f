#!/usr/bin/env python3
"""The BENCHMARKS.md tables from the JSON files scripts/bench.sh writes (runs/bench by default).

    python scripts/bench_table.py [DIR]                 # prints the markdown
    python scripts/bench_table.py --record-env start DIR  # (bench.sh) machine, versions, load: DIR/env.json
    python scripts/bench_table.py --record-env end DIR

Reads DIR/rpt-{fp32,bf16}.json (`rpt bench`), torch-{fp32,bf16}.json (scripts/bench_pytorch.py),
llamacpp-{f32,bf16}.json (scripts/bench_llamacpp.py), rpt-train{,-bf16}.json, torch-train-{fp32,bf16}.json, env.json,
and pairs/{rpt-fp32,llamacpp-f32,rpt-bf16,llamacpp-bf16}-I.json (the paired batch-1 decode rounds I = 1, 2, ...).
Every cell is "median [min..max]" over the repeats; a ratio cell is the ratio of the medians with
[min ours / max theirs .. max ours / min theirs]. A missing file leaves its column empty (—).
Standard library only.
"""
import json
import os
import platform
import statistics
import subprocess
import sys
import time

ENGINES = [  # column, file, label
    ("rpt32", "rpt-fp32.json", "swift-rpt fp32"),
    ("rpt16", "rpt-bf16.json", "swift-rpt bf16"),
    ("rpt32kv", "rpt-fp32-kvbf16.json", "swift-rpt fp32, bf16 KV cache"),
    ("pt32", "torch-fp32.json", "PyTorch fp32"),
    ("pt16", "torch-bf16.json", "PyTorch bf16 autocast"),
    ("ll32", "llamacpp-f32.json", "llama.cpp F32"),
    ("ll16", "llamacpp-bf16.json", "llama.cpp BF16"),
]
TRAIN = {"rpt32": "rpt-train.json", "rpt16": "rpt-train-bf16.json", "pt32": "torch-train-fp32.json", "pt16": "torch-train-bf16.json"}


def load(d, name):
    p = os.path.join(d, name)
    if not os.path.exists(p):
        return None
    with open(p) as f:
        return json.load(f)


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=60).stdout.strip()
    except Exception:
        return ""


def record_env(phase, d):
    path = os.path.join(d, "env.json")
    env = {}
    if phase == "end" and os.path.exists(path):
        with open(path) as f:
            env = json.load(f)
    now = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load_avg = " ".join(f"{x:.2f}" for x in os.getloadavg())
    if phase == "start":
        # bench.sh reads the load before its setup (BENCH_LOAD_START): the setup's own work is not another process.
        load_avg = os.environ.get("BENCH_LOAD_START") or load_avg
        mem = sh("awk '/MemTotal/ {printf \"%.0f GiB\", $2/1048576}' /proc/meminfo")
        env = {
            "start": now, "load_start": load_avg,
            "command": os.environ.get("BENCH_COMMAND", ""),
            "cpu": sh("lscpu | sed -n 's/^Model name: *//p' | head -1") or platform.processor(),
            "cores": os.cpu_count(),
            "cpu_flags_bf16": "avx512_bf16" in sh("grep -m1 -o 'avx512_bf16' /proc/cpuinfo"),
            "memory": mem,
            "os": sh(". /etc/os-release 2>/dev/null && echo \"$PRETTY_NAME\"") or platform.platform(),
            "kernel": platform.release(),
            "swift": sh("swift --version 2>&1 | head -1"),
            "rpt": sh(os.environ.get("RPT", ".build/release/rpt") + " --version"),
            "git_commit": sh("git rev-parse --short HEAD") + (" (+ uncommitted changes)" if sh("git status --porcelain --untracked-files=no") else ""),
            "openblas": sh("pkg-config --modversion openblas"),
        }
    else:
        env.update({"end": now, "load_end": load_avg})
    with open(path, "w") as f:
        json.dump(env, f, indent=1)
        f.write("\n")


def stats(runs):
    return statistics.median(runs), min(runs), max(runs)


def fmt_rate(runs):
    if not runs:
        return "—"
    m, lo, hi = stats(runs)
    return f"{m:.1f} [{lo:.1f}..{hi:.1f}]"


def fmt_ratio(ours, theirs, target=None):
    if not ours or not theirs:
        return "—"
    (a, alo, ahi), (b, blo, bhi) = stats(ours), stats(theirs)
    r = a / b
    cell = f"{r:.2f}× [{alo / bhi:.2f}..{ahi / blo:.2f}]"
    if target is not None:
        cell = f"**{cell}** ≥ {target:.1f}: {'met' if r >= target else 'NOT met'}"
    return cell


def paired_decode(d):
    """The paired rounds of batch-1 decode (bench.sh PAIRS): per round, swift-rpt's and llama.cpp's median tokens/s and
    their ratio; then the median ratio over the rounds [min..max] against the target (≥ 1.0)."""
    rounds = []
    i = 1
    while True:
        files = {k: load(d, f"pairs/{k}-{i}.json") for k in ("rpt-fp32", "llamacpp-f32", "rpt-bf16", "llamacpp-bf16")}
        if not any(files.values()):
            break
        rate = {k: (statistics.median(j["decode_runs"]["1"]) if j else None) for k, j in files.items()}
        rounds.append(rate)
        i += 1
    if not rounds:
        return

    def ratio(r, ours, theirs):
        return r[ours] / r[theirs] if r[ours] and r[theirs] else None

    def cell(x):
        return f"{x:.1f}" if x else "—"

    print()
    print(f"Decode at batch 1 in {len(rounds)} paired rounds (swift-rpt and llama.cpp measured back to back, seconds apart, "
          "the order alternating by round; each cell the median of 3 repeats, tokens/s):")
    print()
    print("| round | swift-rpt fp32 | llama.cpp F32 | fp32 / F32 | swift-rpt bf16 | llama.cpp BF16 | bf16 / BF16 |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n, r in enumerate(rounds, 1):
        a, b = ratio(r, "rpt-fp32", "llamacpp-f32"), ratio(r, "rpt-bf16", "llamacpp-bf16")
        print(f"| {n} | {cell(r['rpt-fp32'])} | {cell(r['llamacpp-f32'])} | {f'{a:.2f}×' if a else '—'} | "
              f"{cell(r['rpt-bf16'])} | {cell(r['llamacpp-bf16'])} | {f'{b:.2f}×' if b else '—'} |")
    for label, ours, theirs in (("fp32 / llama.cpp F32", "rpt-fp32", "llamacpp-f32"),
                                ("bf16 / llama.cpp BF16", "rpt-bf16", "llamacpp-bf16")):
        xs = [x for x in (ratio(r, ours, theirs) for r in rounds) if x]
        if xs:
            m = statistics.median(xs)
            print(f"- decode batch 1, swift-rpt {label}: median of the rounds' ratios **{m:.2f}×** [{min(xs):.2f}..{max(xs):.2f}] "
                  f"≥ 1.0: {'met' if m >= 1.0 else 'NOT met'}")


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "--record-env":
        record_env(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "runs/bench")
        return 0
    d = sys.argv[1] if len(sys.argv) > 1 else "runs/bench"
    res = {k: load(d, f) for k, f, _ in ENGINES}
    train = {k: load(d, f) for k, f in TRAIN.items()}
    env = load(d, "env.json") or {}

    def runs(eng, key, size):
        r = res.get(eng)
        if not r:
            return None
        xs = r.get(key + "_runs", {}).get(str(size))
        if xs:
            return xs
        x = r.get(key, {}).get(str(size))  # an older JSON without the per-repeat lists
        return [x] if x is not None else None

    def sizes(key):
        return sorted({int(s) for r in res.values() if r for s in r.get(key, {})})

    rows = []  # (label, {engine: runs}, rss key, targets {ratio column: target})
    for L in sizes("prefill"):
        rows.append((f"prefill {L} tokens, logits at every position", {e: runs(e, "prefill", L) for e in res},
                     f"prefill {L}", {"bf16": 1.0, "fp32": 1.0}))
    for L in sizes("prefill_last_logits"):
        rows.append((f"prefill {L} tokens, logits at the last position", {e: runs(e, "prefill_last_logits", L) for e in res},
                     f"prefill_last_logits {L}", {"bf16": 1.0, "fp32": 1.0}))
    for B in sizes("decode"):
        t = {"bf16": 1.0, "fp32": 1.0} if B == 1 else {}
        rows.append((f"decode batch {B}", {e: runs(e, "decode", B) for e in res}, f"decode {B}", t))
    tr = {e: (j.get("train_runs") or [j["train_tokens_per_s"]]) for e, j in train.items() if j}
    if tr:
        j = next(j for j in train.values() if j)
        B, L = j.get("batch_size", j.get("batch", 1)), j.get("seq_len")
        rows.append((f"train step (fwd + bwd + AdamW), {B} × {L} tokens", tr, "train", {"train": 1.2}))

    # Warnings first: a run that cannot be quoted says so at the top.
    few = sorted({j.get("repeats", 0) for j in list(res.values()) + list(train.values()) if j})
    if few and few[0] < 3:
        print(f"**Not a measurement: {few[0]} repeat(s) per measure (quote runs with at least 3).**")
        print()
    # Only the load at the start says whether others were running: at the end the 1-minute average holds the
    # benchmark's own threads (about 2 on 2 cores), so every run would fail a check on it.
    start = env.get("load_start")
    cores = env.get("cores") or os.cpu_count() or 1
    if start and float(start.split()[0]) > 0.25 * cores:
        print(f"**Not an idle machine: load average {env.get('load_start', '?')} at the start, {env.get('load_end', '?')} at the "
              f"end ({cores} cores).** OpenMP engines (PyTorch, llama.cpp) stall when another process holds a core, far "
              f"more than a 2-thread share would explain; do not quote this run.")
        print()
    heads = [label for _, _, label in ENGINES]
    ratio_heads = ["swift-rpt bf16 / llama.cpp BF16", "swift-rpt fp32 / llama.cpp F32",
                   "swift-rpt fp32, bf16 KV cache / llama.cpp F32", "swift-rpt / PyTorch bf16 autocast"]
    print("Throughput, tokens/s, median [min..max] of the repeats; ratios: median ratio [worst..best].")
    print()
    print("| measure | " + " | ".join(heads + ratio_heads) + " |")
    print("|---|" + "---:|" * (len(heads) + len(ratio_heads)))
    for label, cells, _, targets in rows:
        is_train = label.startswith("train")
        line = [fmt_rate(cells.get(k)) for k, _, _ in ENGINES]
        if is_train:
            ours = "rpt16" if cells.get("rpt16") else "rpt32"
            ratios = ["—", "—", "—", fmt_ratio(cells.get(ours), cells.get("pt16"), targets.get("train"))]
        else:
            ratios = [fmt_ratio(cells.get("rpt16"), cells.get("ll16"), targets.get("bf16")),
                      fmt_ratio(cells.get("rpt32"), cells.get("ll32"), targets.get("fp32")),
                      fmt_ratio(cells.get("rpt32kv"), cells.get("ll32")),
                      fmt_ratio(cells.get("rpt16"), cells.get("pt16"))]
        print(f"| {label} | " + " | ".join(line + ratios) + " |")
    print()
    t16 = train.get("rpt16")
    if t16:
        print("The train step's bf16 column is `--train-dtype bf16` (bf16 operands and fp32 sums in the matrix products of "
              f"the linear layers, the LM head and attention{', on AMX tiles' if t16.get('amx') else ''}; fp32 master weights, "
              "AdamW, norms, softmax); its "
              "ratio is swift-rpt bf16 / PyTorch bf16 autocast. The inference ratio against PyTorch is swift-rpt bf16 / "
              "PyTorch bf16 autocast.")
    else:
        print("Training runs in fp32 in swift-rpt (its row is in the fp32 column; the ratio is swift-rpt fp32 / PyTorch bf16 "
              "autocast); the inference ratio against PyTorch is swift-rpt bf16 / PyTorch bf16 autocast.")

    if res.get("rpt32kv"):
        print()
        print("The column \"swift-rpt fp32, bf16 KV cache\" is `rpt bench --kv-cache-dtype bf16` with fp32 weights: the "
              "settings of llama.cpp's F32 column, whose KV cache is f16 by default; \"swift-rpt fp32\" keeps an fp32 cache.")

    paired_decode(d)

    # Peak RSS of each measure (the peak mark reset before it), MiB.
    print()
    print("Peak resident memory during each measure, MiB (the process's peak mark is reset before the measure; it "
          "includes what the process already held: weights, earlier buffers):")
    print()
    print("| measure | " + " | ".join(heads) + " |")
    print("|---|" + "---:|" * len(heads))
    for label, _, key, _ in rows:
        cells = []
        for k, _, _ in ENGINES:
            if key == "train":
                j = train.get(k)
                v = j and (j.get("peak_rss_step_bytes") or j.get("peak_rss_bytes"))
            else:
                j = res.get(k)
                v = j and j.get("peak_rss_by_measure", {}).get(key)
            cells.append(f"{v / 2**20:.0f}" if v else "—")
        print(f"| {label} | " + " | ".join(cells) + " |")
    procs = [f"{label} {res[k]['peak_rss_bytes'] / 2**20:.0f}" for k, _, label in ENGINES
             if res.get(k) and res[k].get("peak_rss_bytes")]
    if procs:
        print()
        print("Process peak RSS over the whole inference run (loading included), MiB: " + ", ".join(procs) + ".")

    # swift-rpt's own figures from the same run.
    extra = []
    for k in ("rpt32", "rpt16"):
        r = res.get(k)
        if r and r.get("decode_bound_ms") and runs(k, "decode", 1):
            step = 1000 / statistics.median(runs(k, "decode", 1))
            extra.append(f"- swift-rpt {r.get('inference_dtype', '?')} decode batch 1: {step:.2f} ms/token = "
                         f"{step / r['decode_bound_ms']:.2f}× the memory-bandwidth bound ({r['decode_bound_ms']:.2f} ms: "
                         f"weights streamed per step at the {r['bandwidth_gbs']:.1f} GB/s read bandwidth measured in the same run)")
    for k in ("rpt32", "rpt16"):
        t = train.get(k)
        if t and t.get("large_matmul_gflops"):
            extra.append(f"- swift-rpt {t.get('dtype', 'fp32')} train step: large matmuls at {t['large_matmul_gflops']:.1f} GFLOP/s, "
                         f"matmuls {100 * t.get('matmul_fraction_of_step', 0):.0f}% of the step")
    if extra:
        print()
        print("\n".join(extra))

    # Setup and versions.
    print()
    any_inf = next((r for r in res.values() if r), {})
    print(f"Settings: {any_inf.get('threads', '?')} threads everywhere; decode: prompt {any_inf.get('prompt_len', '?')} random "
          f"tokens, {any_inf.get('new_tokens', '?')} greedy steps timed; repeats: "
          + ", ".join(f"{label} {res[k].get('repeats', '?')}" for k, _, label in ENGINES if res.get(k))
          + (f"; train {next(j for j in train.values() if j).get('repeats', '?')}" if any(train.values()) else "") + ".")
    ll = res.get("ll32") or res.get("ll16")
    pt = res.get("pt32") or res.get("pt16") or next((j for j in train.values() if j), None)
    rpt = res.get("rpt32") or res.get("rpt16")
    print()
    print("Versions and machine:")
    if env:
        print(f"- machine: {env.get('cpu', '?')}, {env.get('cores', '?')} cores, {env.get('memory', '?')}, "
              f"{env.get('os', '?')} (kernel {env.get('kernel', '?')}); AVX-512 BF16: {'yes' if env.get('cpu_flags_bf16') else 'no'}")
        print(f"- run: {env.get('start', '?')} to {env.get('end', '?')}, load average (1/5/15 min) at start "
              f"{env.get('load_start', '?')}, at end {env.get('load_end', '?')}")
        if env.get("command"):
            print(f"- command: `{env['command']}`")
        print(f"- swift-rpt: {env.get('rpt') or (rpt or {}).get('version', '?')}, git {env.get('git_commit', '?')}, "
              f"{env.get('swift', '?')}, OpenBLAS {env.get('openblas', '?')}")
    elif rpt:
        print(f"- swift-rpt: {rpt.get('version', '?')}")
    if pt:
        print(f"- PyTorch {pt.get('torch_version', '?')}, transformers {pt.get('transformers_version', '?')}, "
              f"Python {pt.get('python', '?')}; eager attention, torch.inference_mode; bf16: torch.autocast(\"cpu\", bfloat16)")
    if ll:
        g = ll.get("ggml", {})
        print(f"- llama.cpp through llama-cpp-python {ll.get('llama_cpp_python_version', '?')} (ggml {g.get('ggml_version', '?')}, "
              f"commit {g.get('ggml_commit', '?')}), Python {ll.get('python', '?')}; n_batch {ll.get('n_batch', '?')}, "
              f"KV cache {ll.get('kv_cache_type', '?')}, flash attention {ll.get('flash_attn', '?')}; batched decode: "
              f"{ll.get('batched_decode', '?')}; GGUF from `rpt export --to gguf --type f32|bf16`")
        print(f"- llama.cpp CPU features: {ll.get('system_info', '?')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
