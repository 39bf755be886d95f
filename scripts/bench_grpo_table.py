#!/usr/bin/env python3
"""Markdown table of scripts/bench_grpo.sh: `rpt train` (RUN/metrics.jsonl) against TRL (bench_grpo_trl.py's JSON).

Per side, the means over the steps after --warmup of: step time (rpt: rollout_s + update_s; TRL: on_step_begin to
on_step_end), rollout time (generation + reward), update time (forward + backward + clip + AdamW), rollout
throughput (generated tokens / rollout time) and update throughput (prompt + completion tokens of all B·G sequences /
update time); with --rpt-shared, the same for the `rpt train --share-prompts` run (the update computes each
prompt once); each run's process peak RSS (RUN.peak_rss, from scripts/peak_rss.py; TRL's from its JSON). Also
checks parity: the prompt tokens of every step (rpt: recovered from its FLOP count,
2N·(prompts + generated) + 6N·(G·prompts + generated)) equal TRL's, and both sides' generated token counts.

    python scripts/bench_grpo_table.py --rpt runs/bench-grpo/rpt --trl runs/bench-grpo/trl.json [--warmup 1]
"""
import argparse
import json
import os
import re
import statistics
import struct
import sys


def parameter_count(run_dir, model_dir):
    log = os.path.join(os.path.dirname(run_dir.rstrip("/")), "rpt.log")
    if os.path.exists(log):
        m = re.search(r"train: (\d+) parameters", open(log).read())
        if m:
            return int(m.group(1))
    with open(os.path.join(model_dir, "model.safetensors"), "rb") as f:
        header = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
    n = 0
    for k, v in header.items():
        if k != "__metadata__":
            p = 1
            for d in v["shape"]:
                p *= d
            n += p
    return n


def peak_rss(run_dir):
    """Bytes in RUN_DIR.peak_rss, written by scripts/peak_rss.py around `rpt train`; None without it."""
    try:
        with open(run_dir.rstrip("/") + ".peak_rss") as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


def mib(n):
    return "—" if n is None else f"{n / 2**20:.0f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rpt", required=True, help="rpt train --out directory")
    ap.add_argument("--trl", required=True, help="bench_grpo_trl.py --json file")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--rpt-shared", help="the same rpt train run with --share-prompts")
    ap.add_argument("--model", default="runs/bench-grpo/model")
    args = ap.parse_args()

    trl = json.load(open(args.trl))
    G, B, T = trl["group_size"], trl["contexts"], trl["max_completion_length"]
    metrics = [json.loads(l) for l in open(os.path.join(args.rpt, "metrics.jsonl")) if l.strip()]
    n = parameter_count(args.rpt, args.model)

    ours = []
    prev_flops = 0.0
    for m in metrics:
        flops, prev_flops = m["flops"] - prev_flops, m["flops"]
        generated = round(m["response_length"] * B * G)
        prompts = (flops / n - 8 * generated) / (2 + 6 * G)  # sum of the B prompt lengths
        ours.append({"step": int(m["step"]), "step_s": m["rollout_s"] + m["update_s"], "rollout_s": m["rollout_s"],
                     "update_s": m["update_s"], "generated_tokens": generated, "prompt_tokens": G * prompts})
    theirs = trl["steps"]
    if len(ours) != len(theirs):
        sys.exit(f"bench_grpo_table: {len(ours)} rpt steps but {len(theirs)} TRL steps")

    # Parity per step.
    prompt_ok = all(abs(o["prompt_tokens"] - t["prompt_tokens"]) < 0.5 for o, t in zip(ours, theirs))
    gen = [(o["generated_tokens"], t["generated_tokens"]) for o, t in zip(ours, theirs)]

    def mean(rows, k):
        return statistics.mean(r[k] for r in rows[args.warmup:])

    def side(rows):
        d = {k: mean(rows, k) for k in ("step_s", "rollout_s", "update_s", "generated_tokens", "prompt_tokens")}
        d["rollout_tps"] = d["generated_tokens"] / d["rollout_s"]
        d["update_tps"] = (d["prompt_tokens"] + d["generated_tokens"]) / d["update_s"]
        d["ms_per_decode_step"] = 1000 * d["rollout_s"] / T
        steps = [r["step_s"] for r in rows[args.warmup:]]
        d["spread"] = (min(steps), max(steps))
        return d

    o, t = side(ours), side(theirs)
    plen = trl["prompt_tokens_per_context"]
    measured = len(ours) - args.warmup
    print(f"\nGRPO step on the bench model: {B} contexts x G={G} rollouts, prompts {min(plen)}-{max(plen)} tokens, "
          f"{T} generated tokens per rollout, temperature {trl['temperature']}, "
          f"{'bf16 (rpt --train-dtype bf16 --inference-dtype bf16; TRL bf16=True)' if trl.get('bf16') else 'fp32'}, {trl['threads']} threads; "
          f"means of {measured} steps after {args.warmup} warm-up step(s). TRL {trl['trl']}, transformers "
          f"{trl['transformers']}, torch {trl['torch']}, attention {trl['attn']}.\n")
    print("| measure | swift-rpt | TRL GRPOTrainer | speedup |")
    print("|---|---:|---:|---:|")
    print(f"| full GRPO step, s | {o['step_s']:.2f} | {t['step_s']:.2f} | **{t['step_s'] / o['step_s']:.2f}×** |")
    print(f"| rollout (prefill + sampling + reward), s | {o['rollout_s']:.2f} | {t['rollout_s']:.2f} | "
          f"{t['rollout_s'] / o['rollout_s']:.2f}× |")
    print(f"| update (forward + backward + clip + AdamW), s | {o['update_s']:.2f} | {t['update_s']:.2f} | "
          f"{t['update_s'] / o['update_s']:.2f}× |")
    print(f"| rollout throughput, generated tokens/s | {o['rollout_tps']:.1f} | {t['rollout_tps']:.1f} | "
          f"{o['rollout_tps'] / t['rollout_tps']:.2f}× |")
    print(f"| update throughput, trained tokens/s (prompt + completion, all {B * G} sequences) | "
          f"{o['update_tps']:.1f} | {t['update_tps']:.1f} | {o['update_tps'] / t['update_tps']:.2f}× |")
    print(f"| rollout time per generated position ({B * G} sequences in a batch, prefill included), ms | "
          f"{o['ms_per_decode_step']:.1f} | "
          f"{t['ms_per_decode_step']:.1f} | |")
    print(f"| share of the step in rollout / update | {100 * o['rollout_s'] / o['step_s']:.0f} % / "
          f"{100 * o['update_s'] / o['step_s']:.0f} % | {100 * t['rollout_s'] / t['step_s']:.0f} % / "
          f"{100 * t['update_s'] / t['step_s']:.0f} % | |")
    print(f"| step time spread (min–max), s | {o['spread'][0]:.2f}–{o['spread'][1]:.2f} | "
          f"{t['spread'][0]:.2f}–{t['spread'][1]:.2f} | |")
    print(f"| process peak RSS over the run (loading included), MiB | {mib(peak_rss(args.rpt))} | "
          f"{mib(trl.get('peak_rss_bytes'))} | |")
    print(f"\nTRL's rollout includes generate {mean(theirs, 'generate_s'):.2f} s. Parity: prompt tokens per step "
          f"{'identical' if prompt_ok else 'DIFFERENT'} on both sides "
          f"({', '.join(str(round(r['prompt_tokens'])) for r in theirs)} = G × the step's prompt lengths); "
          f"generated tokens per step rpt / TRL: {', '.join(f'{a}/{b}' for a, b in gen)} (max {B * G * T}); "
          f"rpt tokenize vs transformers prompt ids: {trl.get('rpt_tokenize_check')}.")
    if args.rpt_shared:
        shared = [json.loads(l) for l in open(os.path.join(args.rpt_shared, "metrics.jsonl")) if l.strip()]
        rows = [{"step_s": m["rollout_s"] + m["update_s"], "rollout_s": m["rollout_s"], "update_s": m["update_s"]}
                for m in shared]
        s = {k: mean(rows, k) for k in ("step_s", "rollout_s", "update_s")}
        steps = [r["step_s"] for r in rows[args.warmup:]]
        print(f"\nWith `rpt train --share-prompts` (each group's prompt computed once in the update; TRL has no such "
              f"option, so its column is the run above):\n")
        print("| measure | swift-rpt --share-prompts | TRL GRPOTrainer | speedup |")
        print("|---|---:|---:|---:|")
        print(f"| full GRPO step, s | {s['step_s']:.2f} | {t['step_s']:.2f} | **{t['step_s'] / s['step_s']:.2f}×** |")
        print(f"| rollout, s | {s['rollout_s']:.2f} | {t['rollout_s']:.2f} | {t['rollout_s'] / s['rollout_s']:.2f}× |")
        print(f"| update, s | {s['update_s']:.2f} | {t['update_s']:.2f} | {t['update_s'] / s['update_s']:.2f}× |")
        print(f"| share of the step in rollout / update | {100 * s['rollout_s'] / s['step_s']:.0f} % / "
              f"{100 * s['update_s'] / s['step_s']:.0f} % | | |")
        print(f"| step time spread (min–max), s | {min(steps):.2f}–{max(steps):.2f} | | |")
        print(f"| process peak RSS over the run (loading included), MiB | {mib(peak_rss(args.rpt_shared))} | "
              f"{mib(trl.get('peak_rss_bytes'))} | |")
        same_gen = [round(m["response_length"] * B * G) for m in shared] == [o_["generated_tokens"] for o_ in ours]
        print(f"\nGenerated tokens per step, --share-prompts run vs the run above: {'identical' if same_gen else 'DIFFERENT'}.")
    if not prompt_ok:
        sys.exit("bench_grpo_table: prompt token counts differ between the sides")


if __name__ == "__main__":
    main()
