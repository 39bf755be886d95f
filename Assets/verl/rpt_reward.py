"""RPT's prefix-matching reward for verl (Python standard library only).

Written by `rpt export --to verl` next to the train/val files it exports. verl's reward manager calls

    compute_score(data_source=..., solution_str=..., ground_truth=..., extra_info=...)

once per response, with the response decoded by the policy tokenizer (skip_special_tokens=True); configure it
with `reward.custom_reward_function.path=.../rpt_reward.py reward.custom_reward_function.name=compute_score`
(verl 0.9.x; 0.7.x reads a top-level `custom_reward_function.*`). See docs/verl.md.

The rules are the ones `rpt train` and `rpt eval` apply (Sources/RPT/Method/AnswerExtraction.swift and
PrefixMatchReward.swift; RPT, arXiv 2506.08007, §3.2 Eq. 3 and §3.3), on UTF-8 bytes:

  * the searched region is the text after the LAST `</think>`; without `</think>` the response fails when the
    format requires it (R1-style chat, `require_think_close`), else the whole response is searched;
  * the prediction is the content of the last top-level `\\boxed{...}` there, braces matched with nesting (every
    brace counts), kept verbatim (no trimming); an unclosed last box fails;
  * reward 1.0 when the prediction's bytes are a non-empty prefix of the true continuation's bytes AND their
    length is a true token boundary (a cumulative byte length of the continuation's tokens), else 0.0.

One difference verl cannot avoid: `rpt` scores a response cut at the length limit 0 whatever it holds, while
compute_score is not told whether verl cut the response. The boundaries come from the policy tokenizer the
export used: when RPT_POLICY_TOKENIZER_SHA256 is set (the launch script sets it from the model's
tokenizer.json), a row exported with another tokenizer is refused.
"""

import base64
import json
import os

FORMAT = "rpt-verl/1"
_THINK_CLOSE = b"</think>"
_BOXED_OPEN = b"\\boxed{"


def extract_prediction(response, require_think_close):
    """The prediction's bytes and None, or None and why there is none (AnswerFailure's names)."""
    data = response.encode("utf-8", "surrogatepass")
    close = data.rfind(_THINK_CLOSE)
    if close >= 0:
        start = close + len(_THINK_CLOSE)
    elif require_think_close:
        return None, "missingThinkClose"
    else:
        start = 0
    last = None
    i = start
    while True:
        opened = data.find(_BOXED_OPEN, i)
        if opened < 0:
            break
        content = opened + len(_BOXED_OPEN)
        end = _matching_brace(data, content)
        if end is None:
            return None, "unclosedBrace"
        last = (content, end)
        i = end + 1
    if last is None:
        return None, "noBoxed"
    return data[last[0]:last[1]], None


def _matching_brace(data, start):
    depth = 1
    for i in range(start, len(data)):
        c = data[i]
        if c == 0x7B:  # {
            depth += 1
        elif c == 0x7D:  # }
            depth -= 1
            if depth == 0:
                return i
    return None


def prefix_match(prediction, continuation, boundaries):
    """Eq. 3: a non-empty byte prefix of the continuation that ends on a token boundary."""
    n = len(prediction)
    return 0 < n <= len(continuation) and n in boundaries and continuation[:n] == prediction


def parse_ground_truth(ground_truth):
    """The exported ground truth (JSON text, or the dict it encodes), checked; ValueError names the problem."""
    truth = json.loads(ground_truth) if isinstance(ground_truth, (str, bytes)) else dict(ground_truth)
    if truth.get("format") != FORMAT:
        raise ValueError(f"rpt_reward: ground truth format {truth.get('format')!r}, expected {FORMAT!r} (re-export with `rpt export --to verl`)")
    continuation = base64.b64decode(truth["continuation_b64"], validate=True)
    boundaries = [int(b) for b in truth["boundaries"]]
    if not boundaries or any(b <= a for a, b in zip([0] + boundaries, boundaries)) or boundaries[-1] != len(continuation):
        raise ValueError("rpt_reward: boundaries must increase strictly and end at the continuation's byte length")
    expected = os.environ.get("RPT_POLICY_TOKENIZER_SHA256")
    if expected and truth.get("tokenizer_sha256") and expected.lower() != truth["tokenizer_sha256"]:
        raise ValueError(f"rpt_reward: this row's token boundaries come from tokenizer {truth.get('tokenizer')!r} "
                         f"(sha256 {truth['tokenizer_sha256'][:12]}...), but the policy's tokenizer has sha256 {expected[:12]}...; "
                         "export again with the policy's tokenizer (`rpt export --tokenizer`)")
    return continuation, set(boundaries), bool(truth.get("require_think_close", False))


def compute_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    """verl's custom reward entry point: 1.0 or 0.0 for one response."""
    if data_source != "rpt":
        raise ValueError(f"rpt_reward scores rows whose data_source is 'rpt', got {data_source!r}")
    continuation, boundaries, require_think_close = parse_ground_truth(ground_truth)
    prediction, _ = extract_prediction(solution_str, require_think_close)
    if prediction is None:
        return 0.0
    return 1.0 if prefix_match(prediction, continuation, boundaries) else 0.0
