#!/usr/bin/env python3
"""llama.cpp side of the speed benchmarks, through llama-cpp-python (CPU), on a GGUF written by
`rpt export --to gguf --type f32|bf16`: the same shapes, thread count and random-token workloads as
`rpt bench` and scripts/bench_pytorch.py.

Setup: llama_cpp.Llama(model_path, n_threads=T, n_threads_batch=T, n_ctx=..., n_batch=512, logits_all=False,
verbose=False), i.e. llama-cpp-python's defaults otherwise (F16 KV cache, flash attention off; --flash-attn on
turns it on). Random token ids come from a fixed seed (numpy, --seed).

Measurements (each: one untimed warm-up, then --repeats timed runs; every run is kept in the JSON)
  decode B=1  Llama.reset(); Llama.eval(prompt of --prompt-len ids) (untimed), then --new-tokens steps of
              Llama.eval([token]) with the greedy argmax of the last logits as the next token; only the
              steps are timed. Rate = N / time.
  decode B>1  llama-cpp-python's low-level API (the Llama class decodes one sequence): a second context
              on the same model with n_seq_max = B, one KV stream per sequence (kv_unified false), n_ctx =
              B x (prompt + new tokens); the B prompts are decoded one sequence at a time (untimed), then
              --new-tokens steps of one llama_batch holding B tokens (seq_id i, logits on) and an argmax
              per row. Rate = B * N / time of the steps.
  prefill L   after a reset, L random ids in one llama_decode (L <= n_batch; longer prompts are split in
              n_batch chunks), two variants:
                prefill_last_logits: Llama.eval(ids), logits of the last position only (what a prompt costs
                                     a llama.cpp user; logits_all=False);
                prefill:             the same batch with logits requested at every position (the work of
                                     scoring a sequence, as `rpt bench` and bench_pytorch.py do).
              Rate = L / time.

Peak RSS: before each measure the kernel's peak-RSS mark is reset (writing 5 to /proc/self/clear_refs), and
VmHWM is read after it, so each measure's number is the peak during that measure (it includes the memory
the process already held: the mmapped weights it touched, earlier buffers). Decode runs first (batch 1 in a
fresh process), prefill last. The process peak (resource.getrusage) is recorded too.

Usage:
    python scripts/bench_llamacpp.py --gguf runs/bench/bench-f32.gguf [--threads 2] [--prefill-lens 128,512]
        [--batches 1,8] [--prompt-len 128] [--new-tokens 64] [--repeats 5] [--json FILE]
"""

import argparse
import ctypes
import json
import os
import platform
import resource
import statistics
import sys
import time

import numpy as np
import llama_cpp
from llama_cpp import Llama


def ints(s):
    return [int(x) for x in s.split(",") if x]


def reset_peak_rss():
    """Resets VmHWM to the current RSS (Linux >= 4.0). False where /proc/self/clear_refs is not writable."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_rss():
    """VmHWM in bytes (the peak since the last reset), or the process peak where /proc is missing."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return process_peak_rss()


def process_peak_rss():
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r if sys.platform == "darwin" else r * 1024


def ggml_build_info():
    """ggml's version and commit from the shared library llama-cpp-python loads (None where not exported)."""
    libdir = os.path.join(os.path.dirname(llama_cpp.__file__), "lib")
    for name in ("libggml-base.so", "libggml-base.dylib", "libggml.so"):
        path = os.path.join(libdir, name)
        if not os.path.exists(path):
            continue
        try:
            lib = ctypes.CDLL(path)
            out = {}
            for sym in ("ggml_version", "ggml_commit"):
                fn = getattr(lib, sym, None)
                if fn is not None:
                    fn.restype = ctypes.c_char_p
                    out[sym] = fn().decode()
            return out
        except OSError:
            pass
    return {}


def summary(xs):
    return statistics.median(xs), min(xs), max(xs)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gguf", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--prefill-lens", type=ints, default=[128, 512])
    ap.add_argument("--batches", type=ints, default=[1, 8])
    ap.add_argument("--prompt-len", type=int, default=128)
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--flash-attn", choices=["off", "on"], default="off",
                    help="llama-cpp-python's flash_attn (its default: off)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    if args.repeats < 1 or args.new_tokens < 1:
        ap.error("--repeats and --new-tokens must be at least 1")

    rng = np.random.default_rng(args.seed)
    T = args.threads
    P, N = args.prompt_len, args.new_tokens
    n_batch = 512
    n_ctx = max([P + N] + args.prefill_lens)
    n_ctx = (n_ctx + 255) // 256 * 256
    flash = args.flash_attn == "on"
    t_load = time.perf_counter()
    llm = Llama(model_path=args.gguf, n_threads=T, n_threads_batch=T, n_ctx=n_ctx, n_batch=n_batch,
                logits_all=False, flash_attn=flash, verbose=False)
    t_load = time.perf_counter() - t_load
    model = llm._model.model
    V = llm.n_vocab()
    n_ctx_train = llm._model.n_ctx_train()
    info = {
        "llama_cpp_python_version": llama_cpp.__version__,
        "ggml": ggml_build_info(),
        "system_info": llama_cpp.llama_print_system_info().decode().strip(),
        "python": platform.python_version(),
    }
    print(f"gguf {args.gguf}: {os.path.getsize(args.gguf) / 2**20:.1f} MiB, vocab {V}, n_ctx_train {n_ctx_train}, "
          f"loaded in {t_load:.2f} s; llama-cpp-python {info['llama_cpp_python_version']}, ggml {info['ggml']}, "
          f"threads {T}, flash_attn {args.flash_attn}")
    print(f"  {info['system_info']}")

    def ids(n):
        return [int(x) for x in rng.integers(0, V, size=n)]

    def argmax_last(ctx):
        ptr = llama_cpp.llama_get_logits_ith(ctx, -1)
        return int(np.ctypeslib.as_array(ptr, shape=(V,)).argmax())

    def timed(fn, repeats):
        fn()  # warm-up
        return [fn() for _ in range(repeats)]

    result = {"engine": "llama.cpp", "gguf": os.path.abspath(args.gguf), "decode": {}, "decode_runs": {},
              "decode_s": {}, "prefill": {}, "prefill_runs": {}, "prefill_s": {}, "prefill_last_logits": {},
              "prefill_last_logits_runs": {}, "prefill_last_logits_s": {}, "peak_rss_by_measure": {},
              "notes": []}
    rss_exact = reset_peak_rss()
    if not rss_exact:
        result["notes"].append("/proc/self/clear_refs not writable: per-measure peak RSS is the process peak so far")

    # ---- decode ----
    for B in args.batches:
        reset_peak_rss()
        if B == 1:
            prompt = ids(P)

            def run():
                llm.reset()
                llm.eval(prompt)
                tok = argmax_last(llm._ctx.ctx)
                t0 = time.perf_counter()
                for _ in range(N):
                    llm.eval([tok])
                    tok = argmax_last(llm._ctx.ctx)
                return time.perf_counter() - t0
            ts = timed(run, args.repeats)
        else:
            ts = decode_batched(model, B, P, N, T, flash, ids, V, args.repeats)
        rates = [B * N / t for t in ts]
        key = str(B)
        result["decode"][key] = statistics.median(rates)
        result["decode_runs"][key] = rates
        result["decode_s"][key] = ts
        result["peak_rss_by_measure"][f"decode {B}"] = peak_rss()
        med, lo, hi = summary(rates)
        print(f"  decode  B={B:3d}: {med:9.1f} tok/s [{lo:.1f}..{hi:.1f}]  ({1000 * B / med:.2f} ms/step, "
              f"peak RSS {result['peak_rss_by_measure'][f'decode {B}'] / 2**20:.0f} MiB)")

    # ---- prefill ----
    batch = llama_cpp.llama_batch_init(n_batch, 0, 1)
    try:
        for L in args.prefill_lens:
            if L > n_ctx_train:
                print(f"note: prefill length {L} skipped (n_ctx_train {n_ctx_train})")
                continue
            toks = ids(L)

            def last():
                llm.reset()
                t0 = time.perf_counter()
                llm.eval(toks)
                return time.perf_counter() - t0

            def every():
                ctx = llm._ctx.ctx
                llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(ctx), True)
                llm.reset()
                t0 = time.perf_counter()
                for s in range(0, L, n_batch):
                    chunk = toks[s:s + n_batch]
                    fill(batch, chunk, [s + i for i in range(len(chunk))], [0] * len(chunk), True)
                    rc = llama_cpp.llama_decode(ctx, batch)
                    if rc != 0:
                        raise RuntimeError(f"llama_decode returned {rc}")
                dt = time.perf_counter() - t0
                llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(ctx), True)
                return dt

            for name, fn in (("prefill_last_logits", last), ("prefill", every)):
                reset_peak_rss()
                ts = timed(fn, args.repeats)
                rates = [L / t for t in ts]
                result[name][str(L)] = statistics.median(rates)
                result[name + "_runs"][str(L)] = rates
                result[name + "_s"][str(L)] = ts
                result["peak_rss_by_measure"][f"{name} {L}"] = peak_rss()
                med, lo, hi = summary(rates)
                what = "last logits" if name == "prefill_last_logits" else "all logits"
                print(f"  prefill L={L:4d} ({what}): {med:9.1f} tok/s [{lo:.1f}..{hi:.1f}]")
    finally:
        llama_cpp.llama_batch_free(batch)

    result.update({
        "threads": T,
        "prompt_len": P,
        "new_tokens": N,
        "repeats": args.repeats,
        "seed": args.seed,
        "n_batch": n_batch,
        "n_ctx": n_ctx,
        "flash_attn": args.flash_attn,
        "kv_cache_type": "f16 (llama.cpp default)",
        "logits_all": False,
        "peak_rss_bytes": process_peak_rss(),
        "peak_rss_per_measure_exact": rss_exact,
        "load_s": t_load,
        "machine": platform.machine(),
        "decode_rate_definition": "B*N / time of N decode steps (prompt untimed); greedy argmax per row",
        "prefill_rate_definition": "L / time of decoding L random ids after a reset (prefill: logits at all "
                                   "positions; prefill_last_logits: Llama.eval, last position only)",
        "batched_decode": "llama_batch with B seq_ids on a context with n_seq_max=B, kv_unified=false",
        **info,
    })
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
            f.write("\n")
        print(f"wrote {args.json}")
    del llm
    return 0


def fill(batch, tokens, positions, seqs, logits_all):
    """Fills a llama_batch: token i at positions[i] in sequence seqs[i]; logits for all tokens or the last."""
    n = len(tokens)
    batch.n_tokens = n
    for i in range(n):
        batch.token[i] = tokens[i]
        batch.pos[i] = positions[i]
        batch.n_seq_id[i] = 1
        batch.seq_id[i][0] = seqs[i]
        batch.logits[i] = logits_all
    batch.logits[n - 1] = True


def decode_batched(model, B, P, N, T, flash, ids, V, repeats):
    """Times N decode steps of B sequences (one token each per llama_decode) after B prompts of P tokens."""
    if B > llama_cpp.llama_max_parallel_sequences():
        raise SystemExit(f"batch {B} exceeds llama_max_parallel_sequences() = {llama_cpp.llama_max_parallel_sequences()}")
    p = llama_cpp.llama_context_default_params()
    per_seq = (P + N + 1 + 255) // 256 * 256
    p.n_ctx = B * per_seq
    p.n_batch = max(512, B)
    p.n_ubatch = max(512, B)
    p.n_seq_max = B
    p.kv_unified = False
    p.n_threads = T
    p.n_threads_batch = T
    p.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED if flash else llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
    p.no_perf = True
    ctx = llama_cpp.llama_init_from_model(model, p)
    if not ctx:
        raise RuntimeError(f"llama_init_from_model failed for batch {B}")
    batch = llama_cpp.llama_batch_init(max(P, B), 0, 1)
    prompts = [ids(P) for _ in range(B)]
    try:
        def run():
            llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(ctx), True)
            toks = []
            for s in range(B):
                fill(batch, prompts[s], list(range(P)), [s] * P, False)
                if llama_cpp.llama_decode(ctx, batch) != 0:
                    raise RuntimeError("llama_decode failed (prompt)")
                toks.append(int(np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx, -1), shape=(V,)).argmax()))
            t0 = time.perf_counter()
            for step in range(N):
                fill(batch, toks, [P + step] * B, list(range(B)), True)
                if llama_cpp.llama_decode(ctx, batch) != 0:
                    raise RuntimeError("llama_decode failed (step)")
                toks = np.ctypeslib.as_array(llama_cpp.llama_get_logits(ctx), shape=(B, V)).argmax(axis=1).tolist()
            return time.perf_counter() - t0
        run()  # warm-up
        return [run() for _ in range(repeats)]
    finally:
        llama_cpp.llama_batch_free(batch)
        llama_cpp.llama_free(ctx)


if __name__ == "__main__":
    sys.exit(main())
