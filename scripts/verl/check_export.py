#!/usr/bin/env python3
"""Check an `rpt export --to verl` directory the way verl 0.9.x will read it.

Loads DIR/{train,val}.jsonl (and .parquet where present) with datasets.load_dataset, as verl's RLHFDataset
does, and checks every row: data_source "rpt", a chat `prompt` ending in a user message,
reward_model.ground_truth (JSON text of format rpt-verl/1 with the continuation's bytes and token boundaries)
and the extra_info fields. Then it imports DIR/rpt_reward.py and calls compute_score on a sample of rows the
way verl's naive reward manager does (keyword arguments; extra_info gains num_turns and
rollout_reward_scores): the target as the boxed answer must earn 1.0 wherever the target text's UTF-8 bytes
are exactly the continuation's first token (whole-character targets), and a wrong answer must earn 0.0.
Needs only `datasets`, no torch. Exits non-zero on any failure.
"""
import argparse
import base64
import binascii
import importlib.util
import json
import re
import sys
from pathlib import Path

import datasets

EXTRA_KEYS = ("doc_id", "index", "target", "target_id", "entropy", "split")
GT_KEYS = ("format", "continuation_b64", "boundaries", "require_think_close", "tokenizer_sha256")
TRAIN_BATCH = 256   # data.train_batch_size in run_rpt_grpo.sh: verl needs at least one full batch

passed, failed = 0, 0


def check(ok, what, problems=()):
    global passed, failed
    passed, failed = passed + bool(ok), failed + (not ok)
    print(f"  {'ok   ' if ok else 'FAIL '} {what}")
    for p in list(problems)[:5]:
        print(f"          {p}")


def row_problems(row):
    """Why a row is not what run_rpt_grpo.sh's verl config expects (empty when it is), and its ground truth."""
    bad = []
    if row.get("data_source") != "rpt":
        bad.append(f"data_source {row.get('data_source')!r}")
    prompt = row.get("prompt")
    if not (isinstance(prompt, list) and prompt
            and all(isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
                    for m in prompt)
            and prompt[-1]["role"] == "user"):
        bad.append("prompt is not a list of {role, content} messages ending with a user message")
    extra = row.get("extra_info") or {}
    missing = [k for k in EXTRA_KEYS if extra.get(k) is None]
    if missing:
        bad.append(f"extra_info lacks {missing}")
    gt = None
    try:
        gt = json.loads((row.get("reward_model") or {}).get("ground_truth"))
        if not isinstance(gt, dict):
            raise ValueError("not a JSON object")
    except (TypeError, ValueError) as e:
        return bad + [f"reward_model.ground_truth is not JSON text of an object ({e})"], None
    if [k for k in GT_KEYS if k not in gt]:
        bad.append(f"ground_truth lacks {[k for k in GT_KEYS if k not in gt]}")
    if gt.get("format") != "rpt-verl/1":
        bad.append(f"ground_truth format {gt.get('format')!r}")
    try:
        cont = base64.b64decode(gt.get("continuation_b64", ""), validate=True)
    except (binascii.Error, TypeError):
        bad.append("continuation_b64 is not base64")
        cont = b""
    b = gt.get("boundaries")
    if not (isinstance(b, list) and b and all(isinstance(x, int) for x in b)
            and all(x < y for x, y in zip([0] + b, b)) and b[-1] == len(cont)):
        bad.append(f"boundaries {b!r} do not increase strictly to the {len(cont)}-byte continuation's end")
    if not isinstance(gt.get("require_think_close"), bool):
        bad.append("require_think_close is not a boolean")
    if not re.fullmatch(r"[0-9a-f]{64}", str(gt.get("tokenizer_sha256"))):
        bad.append("tokenizer_sha256 is not 64 hex digits")
    if "target_id" in gt and extra.get("target_id") is not None and gt["target_id"] != extra["target_id"]:
        bad.append(f"target_id {gt['target_id']} in ground_truth, {extra['target_id']} in extra_info")
    return bad, (gt, cont)


def score(fn, row, answer):
    """compute_score called as verl 0.9.x's naive reward manager calls it."""
    extra = dict(row["extra_info"], num_turns=None, rollout_reward_scores={})
    r = fn(data_source=row["data_source"], solution_str="<think>x</think>\\boxed{" + answer + "}",
           ground_truth=row["reward_model"]["ground_truth"], extra_info=extra)
    return float(r["score"] if isinstance(r, dict) else r)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir", type=Path)
    ap.add_argument("--sample", type=int, default=200, help="rows per file to score with rpt_reward.py")
    args = ap.parse_args()
    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()

    reward = args.dir / "rpt_reward.py"
    compute_score = None
    if reward.is_file():
        spec = importlib.util.spec_from_file_location("rpt_reward", reward)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        compute_score = getattr(module, "compute_score", None)
    check(callable(compute_score), f"{reward.name} defines compute_score")

    export_json = args.dir / "export.json"
    exported_sha = json.loads(export_json.read_text()).get("tokenizer_sha256") if export_json.is_file() else None
    shas = set()

    for split in ("train", "val"):
        files = [args.dir / f"{split}.{ext}" for ext in ("jsonl", "parquet") if (args.dir / f"{split}.{ext}").is_file()]
        check(bool(files), f"{split}: {split}.jsonl or {split}.parquet exists")
        for path in files:
            kind = "json" if path.suffix == ".jsonl" else "parquet"
            ds = datasets.load_dataset(kind, data_files=str(path))["train"]   # as verl's RLHFDataset
            problems, truths = [], []
            for i, row in enumerate(ds):
                bad, truth = row_problems(row)
                problems += [f"row {i}: {p}" for p in bad]
                truths.append(truth)
                if truth:
                    shas.add(truth[0].get("tokenizer_sha256"))
            check(len(ds) > 0 and not problems, f"{path.name}: {len(ds)} rows well-formed", problems)
            if split == "train" and len(ds) < TRAIN_BATCH:
                print(f"  note  {path.name} has fewer than {TRAIN_BATCH} rows: too few for one verl training step")
            if not callable(compute_score) or problems or not len(ds):
                continue
            step = max(1, len(ds) // args.sample)
            sample = range(0, len(ds), step)[:args.sample]
            pos_bad, neg_bad, whole = [], [], 0
            for i in sample:
                row, (_, cont) = ds[i], truths[i]
                first = cont[:json.loads(row["reward_model"]["ground_truth"])["boundaries"][0]]
                target = row["extra_info"]["target"]
                # Scorable: whole characters (the target text is the first token exactly) with balanced braces
                # (`rpt` matches every brace, so `\boxed{{}` holds no answer, in rpt as here).
                if target.encode() == first and target.count("{") == target.count("}"):
                    whole += 1
                    if (s := score(compute_score, row, target)) != 1.0:
                        pos_bad.append(f"row {i}: target {target!r} scored {s}")
                wrong = ("@" if cont[:1] == b"#" else "#") + "wrong"   # differs from the continuation's first byte
                if (s := score(compute_score, row, wrong)) != 0.0:
                    neg_bad.append(f"row {i}: wrong answer {wrong!r} scored {s}")
            check(not pos_bad, f"{path.name}: the target scores 1.0 on {whole - len(pos_bad)}/{whole} sampled rows "
                  f"(of {len(sample)}; {len(sample) - whole} split a character or a brace pair and are not scored)", pos_bad)
            check(not neg_bad, f"{path.name}: a wrong answer scores 0.0 on "
                  f"{len(sample) - len(neg_bad)}/{len(sample)} sampled rows", neg_bad)

    # The reward refuses rows from another tokenizer than the policy's: one export, one tokenizer.
    check(len(shas) == 1 and exported_sha in (None, *shas),
          f"one tokenizer_sha256 in all rows{' and export.json' if exported_sha else ''}: "
          + ", ".join(sorted(str(x)[:12] + "..." for x in shas | ({exported_sha} if exported_sha else set()))))

    print(f"check_export: {args.dir}: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
