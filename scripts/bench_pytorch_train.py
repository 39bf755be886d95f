#!/usr/bin/env python3
"""PyTorch side of the training benchmark: one optimizer step = forward + backward + AdamW on a
batch of B x L random tokens (next-token cross-entropy over all positions), fp32, eager attention,
on CPU with --threads threads. Reports tokens/s = B*L / median step time (one warm-up step first).

Same work as `rpt bench --train`: mean cross-entropy, gradient-norm clipping at 1.0, AdamW
(lr 1e-4, betas 0.9/0.95, weight decay 0.1). Optimizer state is created by the warm-up step.

Usage (from the repository root):
    python scripts/bench_pytorch_train.py --model DIR [--threads 2] [--seq-len 512] [--batch 1] [--repeats 5] [--json FILE]
"""

import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F
import transformers
from transformers import AutoConfig, AutoModelForCausalLM


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seq-len", type=int, default=512)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()

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

    def step():
        opt.zero_grad(set_to_none=True)
        logits = model(ids[:, :-1]).logits
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()

    step()  # warm-up, creates the optimizer state
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    rate = args.batch * args.seq_len / med
    n = sum(p.numel() for p in model.parameters())
    print(f"model {args.model}: {n / 1e6:.2f}M params, torch {torch.__version__}, threads {torch.get_num_threads()}")
    print(f"  train B={args.batch} L={args.seq_len}: {med * 1e3:.1f} ms/step, {rate:.1f} tokens/s "
          f"[runs {min(times) * 1e3:.1f}..{max(times) * 1e3:.1f} ms]")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"train_tokens_per_s": rate, "step_s": times, "batch": args.batch, "seq_len": args.seq_len,
                       "threads": args.threads, "torch_version": torch.__version__,
                       "transformers_version": transformers.__version__}, f, indent=1)


if __name__ == "__main__":
    main()
