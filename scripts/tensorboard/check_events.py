#!/usr/bin/env python3
"""Reads the event files `rpt tensorboard` (or `--report-to tensorboard`) wrote with tensorboard's own code and
compares them with the run's metrics.jsonl.

  check_events.py LOGDIR METRICS_JSONL [--text TAG=STEP:TEXT ...]

Checks: every record of every event file passes the CRC32C checks of tensorboard's record reader (which raises
DataLossError on a mismatch, where EventAccumulator would silently stop reading) and parses as an Event, the
first one saying file_version "brain.Event:2"; EventAccumulator (the classic loader, with restart purging)
holds for every finite numeric key of metrics.jsonl but "step" the tag `val/x` (for `val_x`) or `train/x`, with
exactly the steps that have the key and the values as float32; the plugin loader that the TensorBoard server uses
sees train/loss as a time series of the scalars plugin; each --text expectation is a text-plugin tensor.
Prints "ok:"/"FAIL:" lines and last "N passed, M failed"; exits 1 on a failure.
"""
import glob
import json
import math
import os
import sys

import numpy as np
from tensorboard.backend.event_processing import event_accumulator, plugin_event_accumulator
from tensorboard.compat.proto import event_pb2
from tensorboard.compat.tensorflow_stub import errors, pywrap_tensorflow
from tensorboard.util import tensor_util

passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok: {what}")
    else:
        failed += 1
        print(f"FAIL: {what}")


def tag_of(key):
    return "val/" + key[4:] if key.startswith("val_") and len(key) > 4 else "train/" + key


def read_records(path):
    """Every record of an event file through tensorboard's CRC-checking reader."""
    reader = pywrap_tensorflow.PyRecordReader_New(path.encode(), 0, b"", None)
    out = []
    while True:
        try:
            reader.GetNext()
        except errors.OutOfRangeError:
            return out
        out.append(reader.record())


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        print(__doc__)
        sys.exit(2)
    logdir, metrics_path = args[0], args[1]
    texts = []
    rest = args[2:]
    while rest:
        if rest[0] != "--text" or len(rest) < 2:
            print(f"unknown argument {rest[0]}")
            sys.exit(2)
        tag, spec = rest[1].split("=", 1)
        step, text = spec.split(":", 1)
        texts.append((tag, int(step), text))
        rest = rest[2:]

    files = sorted(glob.glob(os.path.join(logdir, "*tfevents*")))
    check(len(files) >= 1, f"event files in {logdir}: {[os.path.basename(f) for f in files]}")
    for path in files:
        name = os.path.basename(path)
        try:
            records = read_records(path)
        except errors.DataLossError as e:
            check(False, f"{name}: CRC or framing error: {e}")
            continue
        events = []
        for r in records:
            e = event_pb2.Event()
            e.ParseFromString(r)
            events.append(e)
        check(len(events) >= 1 and events[0].file_version == "brain.Event:2",
              f"{name}: {len(records)} records, CRCs verified, first event file_version {events[0].file_version if events else None!r}")

    # What the metrics say: tag -> {step: value}, the last record of a step winning (as after a resume).
    expected = {}
    with open(metrics_path) as f:
        for line in f:
            if not line.strip():
                continue
            record = json.loads(line)
            step = int(record["step"])
            for k, v in record.items():
                if k == "step" or isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                    continue
                expected.setdefault(tag_of(k), {})[step] = v

    acc = event_accumulator.EventAccumulator(logdir, size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    tags = {t for t in acc.Tags()["scalars"] if acc.Scalars(t)}   # a tag whose values were all purged keeps its key
    check(set(expected) == tags, f"scalar tags: {sorted(tags)} (expected {sorted(expected)})")
    for tag, by_step in sorted(expected.items()):
        if tag not in tags:
            continue
        got = {e.step: e.value for e in acc.Scalars(tag)}
        steps_ok = sorted(got) == sorted(by_step)
        bad = [(s, got[s], v) for s, v in by_step.items()
               if s in got and not math.isclose(got[s], float(np.float32(v)), rel_tol=1e-6, abs_tol=1e-30)]
        check(steps_ok and not bad, f"{tag}: steps {sorted(got)}" + ("" if steps_ok else f" (expected {sorted(by_step)})")
              + (f"; mismatches (step, event, metrics): {bad[:3]}" if bad else "; values equal metrics.jsonl's as float32"))
    if "train/loss" in expected:
        losses = {e.step: e.value for e in acc.Scalars("train/loss")} if "train/loss" in tags else {}
        check(len(losses) == len(expected["train/loss"]) and all(
            math.isclose(losses.get(s, math.nan), float(np.float32(v)), rel_tol=1e-6) for s, v in expected["train/loss"].items()),
            f"every step's loss equals metrics.jsonl's ({len(losses)} steps)")

    # The server's path: simple_value migrated to a scalars-plugin tensor.
    pacc = plugin_event_accumulator.EventAccumulator(logdir, size_guidance={"tensors": 0})
    pacc.Reload()
    if "train/loss" in expected:
        try:
            scalar_tags = pacc.PluginTagToContent("scalars")
        except KeyError:
            scalar_tags = {}
        series = {e.step: float(tensor_util.make_ndarray(e.tensor_proto)) for e in pacc.Tensors("train/loss")} \
            if "train/loss" in scalar_tags else {}
        check(sorted(series) == sorted(expected["train/loss"]),
              f"server loader: train/loss is a scalars-plugin series over steps {sorted(series)}")

    for tag, step, text in texts:
        try:
            content = acc.PluginTagToContent("text")
        except KeyError:
            content = {}
        values = {e.step: tensor_util.make_ndarray(e.tensor_proto) for e in acc.Tensors(tag)} if tag in acc.Tags()["tensors"] else {}
        got = values.get(step)
        got_text = got.item().decode() if got is not None else None
        check(tag in content and got_text == text, f"text {tag} at step {step}: {got_text!r} (text plugin: {tag in content})")

    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
