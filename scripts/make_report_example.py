#!/usr/bin/env python3
"""Writes a synthetic but realistic RPT run directory for `rpt report` (no model needed).

    python3 scripts/make_report_example.py OUT_DIR [--steps 60] [--seed 0]

OUT_DIR gets what `rpt train` writes (metrics.jsonl with noisy rising reward, completions.jsonl,
latest + step-*/trainer_state.json with the training options) plus the inputs of the other sections:
eval-ntp.json and eval-reasoning.json (rpt-eval/1), fit.json (rpt-fit/1; C in units of 1e15 FLOPs,
as a fitter that rescales compute writes it) and patterns.json (rpt-patterns/1). Then:

    .build/release/rpt report --run OUT_DIR --out OUT_DIR/report.html
    bash scripts/render_report.sh OUT_DIR/report.html OUT_DIR/report.png
"""
import argparse
import json
import math
import os
import random


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    os.makedirs(a.out, exist_ok=True)
    steps = a.steps
    flops_per_step = 2.4e14

    # metrics.jsonl: reward rising from ~0.08 towards ~0.45, with batch noise.
    flops = 0.0
    with open(os.path.join(a.out, "metrics.jsonl"), "w") as f:
        for s in range(1, steps + 1):
            t = s / steps
            p = 0.08 + 0.37 * (1 - math.exp(-3 * t))
            reward = min(max(p + rng.gauss(0, 0.045), 0), 1)
            flops += flops_per_step * (1 + rng.gauss(0, 0.03))
            rollout_s = 38 + rng.gauss(0, 2.5)
            rec = {
                "step": s, "reward_mean": reward, "accuracy": max(reward - abs(rng.gauss(0, 0.01)), 0),
                "groups_dropped_fraction": max(0.0, min(1.0, 0.55 - 0.3 * t + rng.gauss(0, 0.06))),
                "response_length": 620 - 260 * t + rng.gauss(0, 30), "clip_fraction": abs(rng.gauss(0.012, 0.006)),
                "kl": 0.0, "entropy": 1.9 - 0.5 * t + rng.gauss(0, 0.05),
                "grad_norm": abs(rng.gauss(0.35, 0.08)) if s != 17 else None,
                "loss": rng.gauss(0, 0.02), "lr": 1e-6, "flops": flops,
                "rollout_tokens_per_s": 900 + rng.gauss(0, 40), "rollout_s": rollout_s, "update_s": 11 + rng.gauss(0, 1),
                "format_failures": max(0, round(9 * (1 - t) + rng.gauss(0, 1.5))),
                "answers_boxed": 32 - max(0, round(9 * (1 - t))), "answers_missing": max(0, round(9 * (1 - t))),
            }
            f.write(json.dumps(rec) + "\n")

    # completions.jsonl: 4 per step.
    samples = [
        (" the", "We need the next token after \"...is equal to\". The statement continues a definition, so "
         "the article comes next. Check: a < b & b < c implies a < c, nothing else fits.\n\n\\boxed{ the}"),
        (" 2", "The sum 1 + 1 appears just before. Hmm, wait: is the text using x^2 or 2x? "
         "Looking back, the expression is x^{2} so after \"x^\" the next token is the exponent.\n\n\\boxed{ 2}"),
        (" prime", "Alternatively the sentence may say \"p is a prime\"; the context mentions divisors of p, "
         "so <prime> is probably right.\n\n\\boxed{ prime}"),
        ("\\frac", "The previous line ends with \"=\" inside $...$, a fraction follows (the pattern \\frac{a}{b} "
         "repeats three times above).\n\n\\boxed{\\frac}"),
    ]
    wrong = [" a", " 3", " number", "\\dfrac"]
    with open(os.path.join(a.out, "completions.jsonl"), "w") as f:
        for s in range(1, steps + 1):
            for g in range(4):
                target, text = samples[(s + g) % 4]
                ok = rng.random() < 0.1 + 0.4 * s / steps
                pred = target if ok else wrong[(s + g) % 4]
                if not ok:
                    text = text.rsplit("\\boxed{", 1)[0] + "\\boxed{" + pred + "}"
                f.write(json.dumps({"step": s, "doc_id": "omni_math.jsonl:%d" % (100 + 7 * g + s % 5), "index": 40 + 3 * s + g,
                                    "target": target, "completion": text, "prediction": pred, "reward": 1.0 if ok else 0.0}) + "\n")

    # A checkpoint's trainer state with the run's options (for the header).
    ck = os.path.join(a.out, "step-%06d" % steps)
    os.makedirs(ck, exist_ok=True)
    with open(os.path.join(ck, "trainer_state.json"), "w") as f:
        json.dump({"format_version": 1, "step": steps, "adamw_step": steps, "rng_states": {}, "data_cursor": None,
                   "training_options": {"model": "models/Qwen2.5-0.5B-Instruct", "data": "runs/prep/train.jsonl",
                                        "batchSize": 4, "groupSize": 8, "lr": 1e-6, "temperature": 0.8,
                                        "reward": "prefix", "template": "v0", "maxResponseTokens": 1024, "klCoefficient": 0},
                   "last_step_metrics": {}, "payload": {"flops": flops}}, f)
    with open(os.path.join(a.out, "latest"), "w") as f:
        f.write("step-%06d\n" % steps)

    # Evaluation files.
    def entry(acc, n, greedy=None, sampled=None):
        half = 1.96 * math.sqrt(acc * (1 - acc) / n)
        e = {"n": n, "accuracy": acc, "ci95": [max(acc - half, 0), min(acc + half, 1)]}
        if greedy is not None:
            e["greedy"] = {"accuracy": greedy, "ci95": [max(greedy - half, 0), min(greedy + half, 1)]}
        if sampled is not None:
            e["sampled"] = {"mean_accuracy": sampled, "ci95": [max(sampled - half, 0), min(sampled + half, 1)],
                            "pass_at_k": min(sampled * 1.6, 1), "k": 4}
        return e

    def splits(base, reasoning):
        out = {}
        for name, scale, n in [("easy", 1.35, 100), ("medium", 1.0, 100), ("hard", 0.68, 100)]:
            acc = base * scale
            out[name] = entry(acc, n, acc if reasoning else None, acc * 0.93 if reasoning else None)
        mean = sum(v["accuracy"] for v in out.values()) / 3
        out["all"] = entry(mean, 300, mean if reasoning else None, mean * 0.93 if reasoning else None)
        return out

    with open(os.path.join(a.out, "eval-ntp.json"), "w") as f:
        json.dump({"format": "rpt-eval/1", "data": "runs/prep/val.jsonl", "mode": "ntp", "samples": 1, "temperature": 0,
                   "results": [{"model": "models/Qwen2.5-0.5B-Instruct", "label": "initial", "step": None, "flops": None,
                                "splits": splits(0.30, False)}]}, f, indent=1)
    with open(os.path.join(a.out, "eval-reasoning.json"), "w") as f:
        json.dump({"format": "rpt-eval/1", "data": "runs/prep/val.jsonl", "mode": "reasoning", "samples": 4, "temperature": 0.8,
                   "results": [
                       {"model": "models/Qwen2.5-0.5B-Instruct", "label": "initial", "step": None, "flops": None, "splits": splits(0.06, True)},
                       {"model": "runs/x/step-000030", "label": "step-000030", "step": 30, "flops": 30 * flops_per_step, "splits": splits(0.27, True)},
                       {"model": "runs/x/step-%06d" % steps, "label": "step-%06d" % steps, "step": steps, "flops": flops,
                        "splits": splits(0.33, True)},
                   ]}, f, indent=1)

    # Scaling fit, C in units of 1e15 FLOPs.
    fits = {}
    for name, (A, alpha, pstar, r2) in {"easy": (-0.09, 0.55, 0.47, 0.995), "medium": (-0.075, 0.5, 0.35, 0.997),
                                        "hard": (-0.06, 0.45, 0.245, 0.989), "all": (-0.075, 0.5, 0.355, 0.996)}.items():
        pts = []
        for k in [1, 2, 4, 8, 10, 12]:
            c = k * 5 * flops_per_step
            pred = A / (c / 1e15) ** alpha + pstar
            acc = pred + rng.gauss(0, 0.003)
            pts.append({"compute": c, "accuracy": acc, "predicted": pred, "residual": acc - pred})
        fits[name] = {"A": A, "alpha": alpha, "p_star": pstar, "r2": r2, "n": len(pts), "points": pts}
    with open(os.path.join(a.out, "fit.json"), "w") as f:
        json.dump({"format": "rpt-fit/1", "fits": fits}, f, indent=1)

    # Pattern comparison.
    groups = ["Transition", "Reflection", "Breakdown", "Hypothesis", "Divergent Thinking", "Deduction"]
    before = [0.09, 0.41, 0.12, 0.20, 0.30, 0.62]
    after = [0.13, 0.33, 0.07, 0.36, 0.41, 0.58]
    sets = []
    for name, props in [("R1-Distill (problem solving)", before), ("RPT (next-token reasoning)", after)]:
        sets.append({"name": name, "n": 200, "groups": {g: {"count": round(p * 200), "proportion": round(p * 200) / 200}
                                                        for g, p in zip(groups, props)}})
    change = {g: (a2 - b) / b * 100 for g, b, a2 in zip(groups, before, after)}
    with open(os.path.join(a.out, "patterns.json"), "w") as f:
        json.dump({"format": "rpt-patterns/1", "sets": sets, "relative_change": change}, f, indent=1)


if __name__ == "__main__":
    main()
