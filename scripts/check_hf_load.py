#!/usr/bin/env python3
"""Check that a checkpoint written by swift-rpt loads in Hugging Face transformers and computes the same logits.

Loads CKPT_DIR with transformers.AutoModelForCausalLM.from_pretrained(..., dtype=torch.float32) (and
AutoTokenizer when the directory holds a tokenizer), runs a fixed input through it and compares the logits with

  --logits FILE.safetensors   a probe our engine wrote (Sources/RPT/Training/LogitsProbe.swift:
                              `input_ids` I64 [1, T], `logits` F32 [1, T, V]); its input_ids are the input;
  --reference DIR_OR_FILE     a probe file as above, or another Hugging Face model directory (e.g. the model
                              the checkpoint was saved from), run on the same input.

Prints the max abs difference of each comparison and exits 1 when one exceeds --tol (default 1e-4).
Without a comparison it only loads the model and prints the logits' shape.

Usage (PyPI torch + transformers, e.g. a virtual environment's python):
  python scripts/check_hf_load.py OUT/step-000100 --logits OUT/logits.safetensors
"""

import argparse
import os
import sys

import torch
import transformers
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model")
FALLBACK_TEXT = "The quick brown fox jumps over the lazy dog."


def load_model(path):
    # transformers ≥ 4.56 names the argument `dtype`; older versions `torch_dtype`.
    version = tuple(int(x) for x in transformers.__version__.split(".")[:2])
    dtype_arg = "dtype" if version >= (4, 56) else "torch_dtype"
    model = AutoModelForCausalLM.from_pretrained(path, attn_implementation="eager", **{dtype_arg: torch.float32})
    model.eval()
    return model


def run(model, input_ids):
    with torch.no_grad():
        return model(input_ids=input_ids).logits.float()


def read_probe(path):
    tensors = load_file(path)
    for name in ("input_ids", "logits"):
        if name not in tensors:
            sys.exit(f"{path}: missing tensor '{name}' (expected a logits probe: input_ids I64 [1,T], logits F32 [1,T,V])")
    ids, logits = tensors["input_ids"], tensors["logits"]
    if ids.dtype != torch.int64 or ids.dim() != 2 or ids.shape[0] != 1:
        sys.exit(f"{path}: input_ids must be I64 [1, T], got {ids.dtype} {list(ids.shape)}")
    if logits.dtype != torch.float32 or logits.dim() != 3 or list(logits.shape[:2]) != list(ids.shape):
        sys.exit(f"{path}: logits must be F32 [1, T, V] matching input_ids, got {logits.dtype} {list(logits.shape)}")
    return ids, logits


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", help="checkpoint directory (HF layout: config.json + model.safetensors)")
    ap.add_argument("--logits", help="logits probe written by swift-rpt")
    ap.add_argument("--reference", help="logits probe file, or HF model directory to compare with")
    ap.add_argument("--tol", type=float, default=1e-4, help="max abs difference allowed (default 1e-4)")
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))

    if not os.path.isdir(args.checkpoint):
        sys.exit(f"{args.checkpoint}: not a directory")
    model = load_model(args.checkpoint)
    cfg = model.config
    print(f"loaded {args.checkpoint}: {type(model).__name__}, vocab {cfg.vocab_size}, "
          f"tied {cfg.tie_word_embeddings}, params {sum(p.numel() for p in model.parameters())}")

    probes = []
    if args.logits:
        probes.append(args.logits)
    if args.reference and os.path.isfile(args.reference):
        probes.append(args.reference)
    reference_dir = args.reference if args.reference and os.path.isdir(args.reference) else None

    tokenizer = None
    if any(os.path.exists(os.path.join(args.checkpoint, f)) for f in TOKENIZER_FILES):
        tokenizer = AutoTokenizer.from_pretrained(args.checkpoint)
        print(f"tokenizer: {type(tokenizer).__name__}, {len(tokenizer)} tokens")

    # The fixed input: the probe's ids, else the tokenizer's encoding of a fixed text, else a fixed id ramp.
    if probes:
        input_ids, _ = read_probe(probes[0])
    elif tokenizer is not None:
        input_ids = tokenizer(FALLBACK_TEXT, return_tensors="pt", add_special_tokens=False)["input_ids"]
    else:
        input_ids = (torch.arange(16, dtype=torch.int64) * 7 % cfg.vocab_size).unsqueeze(0)
    if tokenizer is not None:
        print(f"input ({input_ids.shape[1]} tokens): {tokenizer.decode(input_ids[0].tolist())!r}")

    logits = run(model, input_ids)
    print(f"logits {list(logits.shape)}")
    worst = 0.0
    for path in probes:
        ids, expected = read_probe(path)
        if not torch.equal(ids, input_ids):
            sys.exit(f"{path}: input_ids differ from the first probe's")
        if expected.shape != logits.shape:
            sys.exit(f"{path}: logits shape {list(expected.shape)} differs from transformers' {list(logits.shape)}")
        diff = (logits - expected).abs().max().item()
        print(f"max abs diff vs {path}: {diff:.3e}")
        worst = max(worst, diff)
    if reference_dir:
        ref_logits = run(load_model(reference_dir), input_ids)
        if ref_logits.shape != logits.shape:
            sys.exit(f"{reference_dir}: logits shape {list(ref_logits.shape)} differs from {list(logits.shape)}")
        diff = (logits - ref_logits).abs().max().item()
        print(f"max abs diff vs transformers on {reference_dir}: {diff:.3e}")
        worst = max(worst, diff)
    if probes or reference_dir:
        ok = worst <= args.tol
        print(f"{'OK' if ok else 'FAIL'}: max abs diff {worst:.3e} (tolerance {args.tol:g})")
        sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
