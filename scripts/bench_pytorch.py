#!/usr/bin/env python3
"""PyTorch side of the speed benchmarks: prefill and greedy-decode throughput of
a Hugging Face causal LM on CPU (fp32, eager attention, torch.inference_mode).

Measurements (each: one untimed warm-up, then the median of --repeats timed runs)
  prefill  For each L in --prefill-lens: one forward pass over B=1 x L random
           token ids, use_cache=False, logits for all L positions (the work of
           scoring a sequence). Rate = L / time.
  decode   For each B in --batches, a prompt of B x --prompt-len random ids
           (no padding) and
               t_N = time of model.generate(ids, do_sample=False, max_new_tokens=N,
                                            min_new_tokens=N, use_cache=True)
               t_1 = the same with max_new_tokens=min_new_tokens=1
           (t_1 is the prefill plus the first token). The other N-1 tokens of
           each sequence are made by N-1 cached single-token steps, so
               decode rate = B * (N - 1) / (t_N - t_1)   tokens/s.
           t_N and t_1 are medians taken separately. EOS is never honoured
           (eos_token_id=None, min_new_tokens=N).

Lengths are capped to the model's max_position_embeddings (for example
prefill 512 and prompt 128 + 64 new tokens fit stories260K's 512).

Usage (from the repository root):
    python scripts/bench_pytorch.py --model DIR [--threads 2] [--prompt-len 128]
        [--new-tokens 64] [--batches 1,8] [--prefill-lens 128,512] [--repeats 5]
        [--json FILE]
"""

import argparse
import json
import platform
import statistics
import sys
import time

import torch
import transformers
from transformers import AutoConfig, AutoModelForCausalLM


def timed(fn, repeats):
    fn()  # warm-up
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), ts


def spread(ts):
    """min..max of the timed runs in ms: a wide spread means the machine was busy."""
    return f"[runs {min(ts) * 1e3:.1f}..{max(ts) * 1e3:.1f} ms]"


def ints(s):
    return [int(x) for x in s.split(",") if x]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--prompt-len", type=int, default=128)
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--batches", type=ints, default=[1, 8])
    ap.add_argument("--prefill-lens", type=ints, default=[128, 512])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    if args.repeats < 3:
        ap.error("--repeats must be at least 3")

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    cfg = AutoConfig.from_pretrained(args.model)
    model = AutoModelForCausalLM.from_pretrained(
        args.model, dtype=torch.float32, attn_implementation="eager").eval()
    V = cfg.vocab_size
    max_pos = getattr(cfg, "max_position_embeddings", None) or 1 << 30
    n_params = sum(p.numel() for p in model.parameters())

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

    print(f"model {args.model}: {cfg.model_type}, {n_params / 1e6:.2f}M params, vocab {V}, "
          f"torch {torch.__version__}, transformers {transformers.__version__}, threads {torch.get_num_threads()}")

    result = {"prefill": {}, "decode": {}, "raw": {"prefill_s": {}, "generate_N_s": {}, "generate_1_s": {}}}
    with torch.inference_mode():
        for L in prefill_lens:
            ids = torch.randint(0, V, (1, L))
            med, ts = timed(lambda: model(ids, use_cache=False), args.repeats)
            result["prefill"][str(L)] = L / med
            result["raw"]["prefill_s"][str(L)] = ts
            print(f"  prefill L={L:5d}: {med * 1e3:9.1f} ms  {L / med:9.1f} tok/s   {spread(ts)}")

        for Bsz in args.batches:
            ids = torch.randint(0, V, (Bsz, prompt_len))
            mask = torch.ones_like(ids)

            def gen(n):
                out = model.generate(ids, attention_mask=mask, do_sample=False, max_new_tokens=n,
                                     min_new_tokens=n, use_cache=True, eos_token_id=None, pad_token_id=0)
                assert out.shape == (Bsz, prompt_len + n), out.shape
                return out

            t1, ts1 = timed(lambda: gen(1), args.repeats)
            tn, tsn = timed(lambda: gen(new_tokens), args.repeats)
            rate = Bsz * (new_tokens - 1) / (tn - t1)
            result["decode"][str(Bsz)] = rate
            result["raw"]["generate_1_s"][str(Bsz)] = ts1
            result["raw"]["generate_N_s"][str(Bsz)] = tsn
            print(f"  decode  B={Bsz:5d}: generate({new_tokens}) {tn * 1e3:9.1f} ms, generate(1) {t1 * 1e3:8.1f} ms"
                  f"  -> {rate:9.1f} tok/s   generate({new_tokens}) {spread(tsn)}")

    result.update({
        "model": args.model,
        "model_type": cfg.model_type,
        "params": n_params,
        "prompt_len": prompt_len,
        "new_tokens": new_tokens,
        "repeats": args.repeats,
        "decode_rate_definition": "B*(N-1)/(median t_generate(N) - median t_generate(1))",
        "prefill_rate_definition": "L/median t_forward(1xL, use_cache=False, all-position logits)",
        "torch_version": torch.__version__,
        "transformers_version": transformers.__version__,
        "threads": torch.get_num_threads(),
        "machine": platform.machine(),
    })

    print()
    print(f"| {'measure':<16} | {'tok/s':>10} |")
    print(f"|{'-' * 18}|{'-' * 12}|")
    for L, r in result["prefill"].items():
        print(f"| prefill L={L:<6} | {r:10.1f} |")
    for Bsz, r in result["decode"].items():
        print(f"| decode B={Bsz:<7} | {r:10.1f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
