#!/usr/bin/env python3
"""Per model (response label): the share of calculation positions where a reasoning-mode response writes exactly the
corpus's calculation as its trace, and where its boxed answer is correct (TraceUse's "calculation exactly right").
Usage: python3 scripts/calculation_right.py PREPARED_VAL_JSONL RESPONSES_JSONL   (`rpt prepare --calculations` output,
`rpt eval --dump` output). Prints one line per label; with --json, a JSON object {label: {n, right, correct}}."""
import collections, json, sys

args = [a for a in sys.argv[1:] if a != "--json"]
if len(args) != 2:
    sys.exit(__doc__)
calc = {}
for line in open(args[0]):
    r = json.loads(line)
    if r.get("calculation"):
        calc[(r["doc_id"], r["index"])] = r["calculation"]
n, right, correct = collections.Counter(), collections.Counter(), collections.Counter()
for line in open(args[1]):
    r = json.loads(line)
    c = calc.get((r["doc_id"], r["index"]))
    if c is None:
        continue
    label = r["label"]
    n[label] += 1
    right[label] += r["completion"].split("</think>")[0] == c
    correct[label] += r["reward"] == 1
if "--json" in sys.argv:
    print(json.dumps({l: {"n": n[l], "right": 100 * right[l] / n[l], "correct": 100 * correct[l] / n[l]} for l in sorted(n)}))
else:
    for label in sorted(n):
        print(f"{label}: calculation exactly right {100 * right[label] / n[label]:.1f} %, boxed answer correct "
              f"{100 * correct[label] / n[label]:.1f} % of {n[label]} calculation positions")
