#!/usr/bin/env python3
"""PyTorch side of the speed benchmarks: greedy-decode and prefill throughput of a Hugging Face causal LM on
CPU (eager attention, torch.inference_mode), fp32 or under bf16 autocast.

Modes (--autocast)
  none  fp32 weights and activations (the default).
  bf16  fp32 weights, the forward under torch.autocast("cpu", dtype=torch.bfloat16) (matmuls in bf16, as a
        PyTorch user on a bf16-capable CPU would run it); prefill and model.generate both run inside it.

Measurements (each: one untimed warm-up, then --repeats timed runs; every run is kept in the JSON, the
median and min..max are printed)
  decode   For each B in --batches, a prompt of B x --prompt-len random ids (no padding); per repeat
               t_N = time of model.generate(ids, do_sample=False, max_new_tokens=N, min_new_tokens=N,
                                            use_cache=True)
               t_1 = the same with max_new_tokens=min_new_tokens=1, run right before it
           (t_1 is the prefill plus the first token). The other N-1 tokens of each sequence are made by
           N-1 cached single-token steps, so per repeat
               decode rate = B * (N - 1) / (t_N - t_1)   tokens/s.
           EOS is never honoured (eos_token_id=None, min_new_tokens=N). Decode runs first (batch 1 in a
           fresh process), so its peak RSS is what decoding one sequence needs.
  prefill  For each L in --prefill-lens: one forward pass over B=1 x L random token ids, use_cache=False,
               prefill:             logits for all L positions (the work of scoring a sequence);
               prefill_last_logits: logits_to_keep=1 (the last position only, what a prompt needs).
           Rate = L / time.

Peak RSS: the kernel's peak mark is reset before each measure (5 into /proc/self/clear_refs) and VmHWM is
read after it: that measure's peak, including what the process already held (weights, earlier buffers).
The process peak (resource.getrusage) is recorded too.

Lengths are capped to the model's max_position_embeddings (for example prefill 512 and prompt 128 + 64 new
tokens fit stories260K's 512).

Usage (from the repository root):
    python scripts/bench_pytorch.py --model DIR [--autocast none|bf16] [--threads 2] [--prompt-len 128]
        [--new-tokens 64] [--batches 1,8] [--prefill-lens 128,512] [--repeats 5] [--json FILE]
"""

import argparse
import contextlib
import json
import platform
import resource
import statistics
import sys
import time

import torch
import transformers
from transformers import AutoConfig, AutoModelForCausalLM


def ints(s):
    return [int(x) for x in s.split(",") if x]


def reset_peak_rss():
    """Resets VmHWM to the current RSS (Linux >= 4.0); False where /proc/self/clear_refs is not writable."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def process_peak_rss():
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r if sys.platform == "darwin" else r * 1024


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


def spread(xs):
    return f"{statistics.median(xs):9.1f} tok/s [{min(xs):.1f}..{max(xs):.1f}]"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--autocast", choices=["none", "bf16"], default="none")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--prompt-len", type=int, default=128)
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--batches", type=ints, default=[1, 8])
    ap.add_argument("--prefill-lens", type=ints, default=[128, 512])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    if args.repeats < 1:
        ap.error("--repeats must be at least 1")

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    cfg = AutoConfig.from_pretrained(args.model)
    model = AutoModelForCausalLM.from_pretrained(
        args.model, dtype=torch.float32, attn_implementation="eager").eval()
    V = cfg.vocab_size
    max_pos = getattr(cfg, "max_position_embeddings", None) or 1 << 30
    n_params = sum(p.numel() for p in model.parameters())

    def amp():
        if args.autocast == "bf16":
            return torch.autocast("cpu", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    prefill_lens = []
    for L in args.prefill_lens:
        if L > max_pos:
            print(f"note: prefill length {L} capped to max_position_embeddings {max_pos}")
            L = max_pos
        prefill_lens.append(L)
    prompt_len, new_tokens = args.prompt_len, args.new_tokens
    if prompt_len + new_tokens > max_pos:
        prompt_len = max(1, max_pos - new_tokens)
        print(f"note: prompt length capped to {prompt_len} (max_position_embeddings {max_pos})")
    if new_tokens < 2:
        ap.error("--new-tokens must be at least 2")

    dtype_mode = "fp32" if args.autocast == "none" else "bf16 autocast (fp32 weights)"
    print(f"model {args.model}: {cfg.model_type}, {n_params / 1e6:.2f}M params, vocab {V}, {dtype_mode}, "
          f"torch {torch.__version__}, transformers {transformers.__version__}, threads {torch.get_num_threads()}")

    def timed(fn):
        fn()  # warm-up
        ts = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        return ts

    result = {"engine": "pytorch", "dtype": "fp32" if args.autocast == "none" else "bf16-autocast",
              "decode": {}, "decode_runs": {}, "prefill": {}, "prefill_runs": {}, "prefill_last_logits": {},
              "prefill_last_logits_runs": {}, "peak_rss_by_measure": {},
              "raw": {"prefill_s": {}, "prefill_last_logits_s": {}, "generate_N_s": {}, "generate_1_s": {}}}
    rss_exact = reset_peak_rss()
    with torch.inference_mode(), amp():
        for Bsz in args.batches:
            reset_peak_rss()
            ids = torch.randint(0, V, (Bsz, prompt_len))
            mask = torch.ones_like(ids)

            def gen(n):
                out = model.generate(ids, attention_mask=mask, do_sample=False, max_new_tokens=n,
                                     min_new_tokens=n, use_cache=True, eos_token_id=None, pad_token_id=0)
                assert out.shape == (Bsz, prompt_len + n), out.shape
                return out

            def once(n):
                t0 = time.perf_counter()
                gen(n)
                return time.perf_counter() - t0

            once(1), once(new_tokens)  # warm-up
            ts1, tsn = [], []
            for _ in range(args.repeats):  # t_1 and t_N side by side, so that each pair saw the same machine
                ts1.append(once(1))
                tsn.append(once(new_tokens))
            rates = [Bsz * (new_tokens - 1) / max(tn - t1, 1e-9) for tn, t1 in zip(tsn, ts1)]
            result["decode"][str(Bsz)] = statistics.median(rates)
            result["decode_runs"][str(Bsz)] = rates
            result["raw"]["generate_1_s"][str(Bsz)] = ts1
            result["raw"]["generate_N_s"][str(Bsz)] = tsn
            result["peak_rss_by_measure"][f"decode {Bsz}"] = peak_rss()
            print(f"  decode  B={Bsz:4d}: {spread(rates)}   generate({new_tokens}) median "
                  f"{statistics.median(tsn) * 1e3:.1f} ms, generate(1) {statistics.median(ts1) * 1e3:.1f} ms, "
                  f"peak RSS {result['peak_rss_by_measure'][f'decode {Bsz}'] / 2**20:.0f} MiB")

        for L in prefill_lens:
            ids = torch.randint(0, V, (1, L))
            for key, kw in (("prefill", {}), ("prefill_last_logits", {"logits_to_keep": 1})):
                reset_peak_rss()
                ts = timed(lambda: model(ids, use_cache=False, **kw))
                rates = [L / t for t in ts]
                result[key][str(L)] = statistics.median(rates)
                result[key + "_runs"][str(L)] = rates
                result["raw"][key + "_s"][str(L)] = ts
                result["peak_rss_by_measure"][f"{key} {L}"] = peak_rss()
                what = "all" if key == "prefill" else "last"
                print(f"  prefill L={L:5d} ({what} logits): {spread(rates)}")

    result.update({
        "model": args.model,
        "model_type": cfg.model_type,
        "params": n_params,
        "autocast": args.autocast,
        "dtype_mode": dtype_mode,
        "prompt_len": prompt_len,
        "new_tokens": new_tokens,
        "repeats": args.repeats,
        "seed": args.seed,
        "decode_rate_definition": "per repeat B*(N-1)/(t_generate(N) - t_generate(1)); median over repeats",
        "prefill_rate_definition": "L/t_forward(1xL, use_cache=False); prefill: all-position logits, "
                                   "prefill_last_logits: logits_to_keep=1",
        "torch_version": torch.__version__,
        "transformers_version": transformers.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "machine": platform.machine(),
        "peak_rss_bytes": process_peak_rss(),
        "peak_rss_per_measure_exact": rss_exact,
    })
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
            f.write("\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
