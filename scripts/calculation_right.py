#!/usr/bin/env python3
"""Per model (response label), on the positions inside a calculation's result: the share where a reasoning-mode
response writes exactly the corpus's calculation as its trace ("calculation exactly right", as TraceUse), where its
boxed answer is correct, and that share split by digit: at the result's first digit (the context ends before the
result) and at a later digit (the context already ends with the result's first digit, so the box must hold only the
rest), with the most frequent boxed answer at later digits.
Usage: python3 scripts/calculation_right.py [--json] PREPARED_VAL_JSONL RESPONSES_JSONL
           (`rpt prepare --calculations` output, `rpt eval --dump` output)
       python3 scripts/calculation_right.py --later-digits PREPARED_VAL_JSONL > positions.jsonl
           (the prepared positions at a later digit of a calculation's result, on the hard split, for `rpt eval --data`)"""
import collections, json, sys


def later_digit(record):
    return record["context"][-1:].isdigit()


args = [a for a in sys.argv[1:] if not a.startswith("--")]
flags = {a for a in sys.argv[1:] if a.startswith("--")}
if "--later-digits" in flags and len(args) == 1:
    for line in open(args[0]):
        r = json.loads(line)
        if r.get("calculation") and later_digit(r) and "hard" in r.get("splits", []):
            sys.stdout.write(line)
    sys.exit(0)
if len(args) != 2 or not flags <= {"--json"}:
    sys.exit(__doc__)
calc = {}
for line in open(args[0]):
    r = json.loads(line)
    if r.get("calculation"):
        calc[(r["doc_id"], r["index"])] = r
n, right, correct = collections.Counter(), collections.Counter(), collections.Counter()
answers = collections.defaultdict(collections.Counter)   # label -> boxed answers at later digits
for line in open(args[1]):
    r = json.loads(line)
    p = calc.get((r["doc_id"], r["index"]))
    if p is None:
        continue
    label, digit = r["label"], "later" if later_digit(p) else "first"
    for key in (label, (label, digit)):
        n[key] += 1
        correct[key] += r["reward"] == 1
    right[label] += r["completion"].split("</think>")[0] == p["calculation"]
    if digit == "later":
        answers[label][r.get("prediction")] += 1
share = lambda c, k: 100 * c[k] / n[k] if n[k] else float("nan")
labels = sorted(k for k in n if isinstance(k, str))
if "--json" in flags:
    print(json.dumps({l: {"n": n[l], "right": share(right, l), "correct": share(correct, l),
                          "correct_first_digit": share(correct, (l, "first")), "correct_later_digit": share(correct, (l, "later")),
                          "later_digit_answers": dict(answers[l].most_common())}
                      for l in labels}))
else:
    for l in labels:
        print(f"{l}: calculation exactly right {share(right, l):.1f} %, boxed answer correct {share(correct, l):.1f} % of {n[l]} "
              f"calculation positions (first digit {share(correct, (l, 'first')):.1f} % of {n[(l, 'first')]}, "
              f"later digit {share(correct, (l, 'later')):.1f} % of {n[(l, 'later')]}, its most frequent answer "
              + (lambda a: f"{a[0][0]!r} in {100 * a[0][1] / n[(l, 'later')]:.1f} %" if a else "none")(answers[l].most_common(1)) + ")")
