#!/usr/bin/env python3
"""PyTorch side of the training benchmark: one optimizer step = forward + backward + AdamW on a batch of
B x L random tokens (next-token cross-entropy over all positions), eager attention, on CPU with --threads
threads. Reports tokens/s = B*L / step time: the median over --repeats steps after one warm-up step, and
every step's time in the JSON (min..max printed).

Modes (--autocast)
  none  fp32 throughout (the default).
  bf16  forward and loss under torch.autocast("cpu", dtype=torch.bfloat16) (mixed precision as a PyTorch user
        would run it on a bf16-capable CPU); fp32 master weights, fp32 gradients, backward outside the
        autocast region, fp32 AdamW.

Same work as `rpt bench --train`: mean cross-entropy, gradient-norm clipping at 1.0, AdamW (lr 1e-4, betas
0.9/0.95, weight decay 0.1 on matrices). Optimizer state is created by the warm-up step.

Peak RSS: the process peak (resource.getrusage) and the peak during the timed steps (VmHWM after a reset through
/proc/self/clear_refs before them; it includes the weights, gradients and optimizer state already held).

Usage (from the repository root):
    python scripts/bench_pytorch_train.py --model DIR [--autocast none|bf16] [--threads 2] [--seq-len 512]
        [--batch 1] [--repeats 5] [--json FILE]
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
import torch.nn.functional as F
import transformers
from transformers import AutoConfig, AutoModelForCausalLM


def reset_peak_rss():
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
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return process_peak_rss()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--autocast", choices=["none", "bf16"], default="none")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seq-len", type=int, default=512)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    if args.repeats < 1:
        ap.error("--repeats must be at least 1")

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = AutoConfig.from_pretrained(args.model)
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32, attn_implementation="eager")
    model.train()
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-4, betas=(0.9, 0.95), eps=1e-8)
    ids = torch.randint(0, cfg.vocab_size, (args.batch, args.seq_len + 1))

    def amp():
        if args.autocast == "bf16":
            return torch.autocast("cpu", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def step():
        opt.zero_grad(set_to_none=True)
        with amp():
            logits = model(ids[:, :-1]).logits
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), ids[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()

    step()  # warm-up, creates the optimizer state
    rss_exact = reset_peak_rss()
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    peak_steps = peak_rss()
    med = statistics.median(times)
    tokens = args.batch * args.seq_len
    rate = tokens / med
    runs = [tokens / t for t in times]
    n = sum(p.numel() for p in model.parameters())
    mode = "fp32" if args.autocast == "none" else "bf16 autocast (fp32 master weights, fp32 AdamW)"
    print(f"model {args.model}: {n / 1e6:.2f}M params, {mode}, torch {torch.__version__}, threads {torch.get_num_threads()}")
    print(f"  train B={args.batch} L={args.seq_len}: {med * 1e3:.1f} ms/step, {rate:.1f} tokens/s "
          f"[{min(runs):.1f}..{max(runs):.1f}], peak RSS {peak_steps / 2**30:.2f} GiB during the steps, "
          f"{process_peak_rss() / 2**30:.2f} GiB process")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"engine": "pytorch", "dtype": "fp32" if args.autocast == "none" else "bf16-autocast",
                       "autocast": args.autocast, "dtype_mode": mode,
                       "train_tokens_per_s": rate, "train_runs": runs, "step_s": times, "batch": args.batch,
                       "seq_len": args.seq_len, "repeats": args.repeats, "threads": args.threads,
                       "peak_rss_bytes": process_peak_rss(), "peak_rss_step_bytes": peak_steps,
                       "peak_rss_per_measure_exact": rss_exact,
                       "torch_version": torch.__version__, "transformers_version": transformers.__version__,
                       "python": platform.python_version(), "machine": platform.machine()}, f, indent=1)
            f.write("\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
