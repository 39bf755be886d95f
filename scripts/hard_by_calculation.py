#!/usr/bin/env python3
"""Splits a reproduction seed's hard positions into those inside a calculation's result and the rest, and prints
each model's accuracy on both (standard mode for (a), (b), (c); reasoning mode for (c), the final (d), (e)), from the
per-position outcomes `rpt reproduce` wrote (eval-ntp.json, eval-reasoning.json, eval-control.json; EvalFile.swift).
Usage: python3 scripts/hard_by_calculation.py runs/reproduce/ledger-v8/seed-14 [more seed directories]"""
import json
import sys


def outcomes(path, label):
    e = json.load(open(path))
    r = next(r for r in e["results"] if r["label"] == label)
    return [(p["doc_id"], p["index"]) for p in e["positions"]], [p["splits"] for p in e["positions"]], r["outcomes"]["greedy"]


print("seed directory | model | mode | hard, inside a calculation | hard, elsewhere | n inside / elsewhere")
for d in sys.argv[1:]:
    final = max((r for r in json.load(open(f"{d}/eval-reasoning.json"))["results"] if r.get("step")), key=lambda r: r["step"])["label"]
    rows = [("(a) base", "standard", "eval-ntp.json", "base"), ("(b) compute-matched NTP", "standard", "eval-ntp.json", "ntp-matched"),
            ("(c) cold start", "standard", "eval-ntp.json", "cold-start"), ("(c) cold start", "reasoning", "eval-reasoning.json", "initial"),
            ("(d) RPT", "reasoning", "eval-reasoning.json", final), ("(e) supervised control", "reasoning", "eval-control.json", "sft-control")]
    keys = None
    for name, mode, file, label in rows:
        k, splits, greedy = outcomes(f"{d}/{file}", label)
        assert keys is None or keys == k, "the evaluations must cover the same positions"
        keys = k
        inside = [g for s, g in zip(splits, greedy) if "hard" in s and "calculation" in s]
        rest = [g for s, g in zip(splits, greedy) if "hard" in s and "calculation" not in s]
        print(f"{d} | {name} | {mode} | {100 * sum(inside) / len(inside):.1f} | {100 * sum(rest) / len(rest):.1f} | {len(inside)} / {len(rest)}")
