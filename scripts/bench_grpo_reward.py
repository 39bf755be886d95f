#!/usr/bin/env python3
"""The reward both sides of the GRPO-step benchmark compute (scripts/bench_grpo.sh): one deterministic function
of a response's text, so that the comparison does the same work on both sides. It is non-constant within a group
(unlike RPT's prefix-matching reward on a random model, which gives every rollout 0, every advantage 0, and lets
rpt's update skip the LM-head backward of every row), so both updates backpropagate through every completion row.

As `rpt train --reward-command "python3 scripts/bench_grpo_reward.py"` it reads one group per line on stdin and
answers {"rewards": [...]} (docs/custom-rewards.md); scripts/bench_grpo_trl.py imports `reward` for TRL.
"""
import json
import sys


def reward(text: str) -> float:
    """The byte sum of the text modulo 101, scaled to [0, 1]."""
    return (sum(text.encode("utf-8")) % 101) / 100.0


def main():
    for line in sys.stdin:
        group = json.loads(line)
        print(json.dumps({"rewards": [reward(r) for r in group["responses"]]}), flush=True)


if __name__ == "__main__":
    main()
