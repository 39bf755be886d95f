"""An example reward program for `rpt train --reward-command "python3 docs/examples/length_reward.py"`.

It reads one JSON object per line (a group of G rollouts of one position; docs/custom-rewards.md) and writes
one line back: {"rewards": [...]}. This one gives RPT's prefix-matching reward (1 when the boxed answer's
bytes are a prefix of the true continuation ending on a token boundary) and, for wrong answers, a small
credit for a well-formed but wrong box, to show how a shaped reward is written. Standard library only.
"""
import base64
import json
import sys


def reward(prediction, failure, continuation, boundaries):
    if prediction is None:
        return 0.0                       # no box (failure says why)
    data = prediction.encode("utf-8")
    if 0 < len(data) <= len(continuation) and len(data) in boundaries and continuation.startswith(data):
        return 1.0
    return 0.1                           # answered in the format, but wrong


def main():
    for line in sys.stdin:
        group = json.loads(line)
        continuation = base64.b64decode(group["continuation_b64"])
        boundaries = set(group["boundaries"])
        rewards = [reward(p, f, continuation, boundaries) for p, f in zip(group["predictions"], group["failures"])]
        print(json.dumps({"rewards": rewards}), flush=True)   # flush: rpt waits for this line


if __name__ == "__main__":
    main()
