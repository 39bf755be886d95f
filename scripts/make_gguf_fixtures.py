#!/usr/bin/env python3
"""GGUF reference fixtures for Tests/RPTTests/GGUFExportTests.swift (run once; the JSON outputs are committed).

For each bundled model this converts the same Hugging Face directory with llama.cpp's own converter
(convert_hf_to_gguf.py), reads the result with llama.cpp's own GGUF reader (gguf-py `GGUFReader`), and records
what it sees in Tests/Fixtures/gguf/<case>.json: every metadata key with its type and value, and every tensor's
name, ggml shape (ne[0] first), ggml type and the SHA-256 of its bytes. It then runs `rpt export --to gguf` on the
same model, reads that file the same way, and records each place where rpt's file differs from the converter's,
with the reason (REASONS below); any other difference stops the script, so a fixture never encodes a bug.
The Swift test exports the model again and must match the converter everywhere else, tensor bytes included.

The format spec: github.com/ggml-org/ggml docs/gguf.md. The converter and gguf-py: github.com/ggml-org/llama.cpp.

Usage (from anywhere; paths are relative to the repository):
    python3 -m venv VENV && VENV/bin/pip install torch 'transformers==4.57.6' numpy sentencepiece safetensors 'protobuf<5'
    VENV/bin/python scripts/make_gguf_fixtures.py --llama-cpp PATH/TO/llama.cpp [--llama-cpp-version TEXT] [--rpt RPT]

PATH/TO/llama.cpp is a llama.cpp source tree (convert_hf_to_gguf.py, conversion/, gguf-py/; e.g. the one vendored
in the llama-cpp-python sdist). Two adaptations, both outside what the comparison checks:
  * The converter names a byte-level pre-tokenizer by hashing the token ids of a probe text and refuses hashes it
    does not know. The tiny fixture models' tokenizer is trained on Tiny Shakespeare, so its ids hash to nothing
    known, but its pre-tokenizer object is identical to Qwen2.5's (Assets/qwen2-tokenizer/tokenizer.json), which
    the converter itself recognises as "qwen2" (checked below). Unknown hashes are therefore answered with the name
    of the known tokenizer whose pre-tokenizer object is identical, and refused otherwise.
  * The fixtures' tokenizer_config.json names transformers 5's `TokenizersBackend` class, which the converter's
    pinned transformers 4.x cannot import; the copy given to the converter says `PreTrainedTokenizerFast`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# (case, model, tokenizer for rpt or None, --type, reference HF directory for the converter)
CASES = [
    ("llama_f32", "Tests/Fixtures/models/llama_f32", None, "f32", None),
    ("llama_bf16_tied", "Tests/Fixtures/models/llama_bf16_tied", None, "bf16", None),
    ("llama_rope_llama3", "Tests/Fixtures/models/llama_rope_llama3", None, "f32", None),
    ("qwen2_f32", "Tests/Fixtures/models/qwen2_f32", None, "f32", None),
    ("qwen2_bf16_tied", "Tests/Fixtures/models/qwen2_bf16_tied", None, "bf16", None),
    ("qwen3_f32", "Tests/Fixtures/models/qwen3_f32", None, "f32", None),
    ("qwen3_f16_tied_sharded", "Tests/Fixtures/models/qwen3_f16_tied_sharded", None, "bf16", None),
    ("stories260K_hf", "Assets/stories260K/hf", None, "f32", None),
    # llama2.c's .bin is not a converter input: its reference is the converter on the same weights as an HF directory.
    ("stories260K_bin", "Assets/stories260K/stories260K.bin", "Assets/stories260K/tok512.bin", "bf16", "Assets/stories260K/hf"),
]

# Real tokenizers at their real vocabulary size, compared on the tokenizer.* keys only: the converter runs with
# --vocab-only on a directory holding the committed config.json and the bundled tokenizer files; rpt exports the
# same directory with zero weights added (the Swift test builds the model from config.json in memory).
VOCAB_CASES = [
    ("vocab_qwen2", "Tests/Fixtures/gguf/vocab/qwen2", "Assets/qwen2-tokenizer"),
    ("vocab_gpt2", "Tests/Fixtures/gguf/vocab/gpt2", "Assets/gpt2-tokenizer"),
]
TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt"]

# Arrays longer than this are recorded by count and SHA-256 only.
MAX_LISTED = 1024

# Where rpt's file may differ from the converter's, and why. Keys: metadata key (or "tensor:<name>").
REASONS = {
    "general.alignment": "rpt writes the alignment explicitly; gguf.md: general.alignment, 32 when absent",
    "general.size_label": "descriptive metadata the converter derives from parameter counts; rpt does not write it",
    "general.basename": "descriptive metadata the converter derives from the directory name; rpt does not write it",
    "general.finetune": "descriptive metadata the converter derives from the directory name; rpt does not write it",
    "general.version": "descriptive metadata the converter derives from the directory name; rpt does not write it",
    "tokenizer.ggml.add_bos_token": "rpt always writes it (true exactly when rpt prepends BOS); when the converter "
                                    "leaves it out llama.cpp's default for the tokenizer model is the same value",
    "tokenizer.ggml.add_eos_token": "rpt always writes false; llama.cpp's default is false",
    "tokenizer.ggml.add_space_prefix": "rpt writes SentencePiece's dummy prefix explicitly; llama.cpp's default for "
                                       "tokenizer model 'llama' is the same (true)",
    "tokenizer.ggml.scores": "the converter's LlamaHfVocab gives every token of a tokenizer.json the placeholder score "
                             "-1000, so llama.cpp would merge leftmost-first; rpt gives each merged token -(its merge "
                             "rank group) so llama.cpp tokenizes as tokenizers does, or for llama2.c's tokenizer.bin "
                             "SentencePiece's own scores (scripts/test_llamacpp.sh checks the tokenization)",
    "tokenizer.ggml.token_type": "rpt types <unk> UNKNOWN as SentencePiece does (the converter's LlamaHfVocab: CONTROL)",
    "general.name": "the converter turns the directory name into a display name (qwen2_f32 -> Qwen2_F32); rpt writes the "
                    "directory's (or .bin file's) name as it is (--name sets another)",
}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def array_sha256(element_type: str, values: list) -> str:
    """SHA-256 of an array's elements as GGUF encodes them (strings: u64 length + UTF-8 bytes; numbers little-endian)."""
    import struct
    if element_type == "STRING":
        data = b"".join(struct.pack("<Q", len(b)) + b for b in (v.encode("utf-8") for v in values))
    else:
        fmt = {"INT32": "<i", "UINT32": "<I", "FLOAT32": "<f", "UINT8": "<B", "INT8": "<b", "BOOL": "<?",
               "INT64": "<q", "UINT64": "<Q", "FLOAT64": "<d", "INT16": "<h", "UINT16": "<H"}[element_type]
        data = b"".join(struct.pack(fmt, v) for v in values)
    return sha256(data)


def read_gguf(path: Path) -> dict:
    """Metadata and tensors as gguf-py's GGUFReader sees them."""
    import gguf
    r = gguf.GGUFReader(str(path))
    meta = {}
    for key, field in r.fields.items():
        if key.startswith("GGUF."):
            continue
        types = [t.name for t in field.types]
        value = field.contents()
        rec = {"type": types[0]}
        if types[0] == "ARRAY":
            rec["element_type"] = types[1] if len(types) > 1 else None
            rec["count"] = len(field.data)
            rec["sha256"] = array_sha256(rec["element_type"], value)
            if len(value) <= MAX_LISTED:
                rec["values"] = value
        else:
            rec["value"] = value
        meta[key] = rec
    tensors = {}
    for t in r.tensors:
        tensors[t.name] = {"shape": [int(n) for n in t.shape], "type": t.tensor_type.name,
                           "sha256": sha256(t.data.tobytes())}
    return {"metadata": meta, "tensors": tensors}


def without_trim_offsets(obj):
    """A pre-tokenizer object without ByteLevel's `trim_offsets`, which changes offsets, never ids."""
    if isinstance(obj, dict):
        return {k: without_trim_offsets(v) for k, v in obj.items() if k != "trim_offsets"}
    if isinstance(obj, list):
        return [without_trim_offsets(v) for v in obj]
    return obj


def converter_pre_name(tokenizer_json: Path, known: dict[str, dict]) -> str | None:
    """The converter's name for an identical known pre-tokenizer object (trim_offsets aside), else None."""
    pre = without_trim_offsets(json.loads(tokenizer_json.read_text(encoding="utf-8")).get("pre_tokenizer"))
    for name, obj in known.items():
        if without_trim_offsets(obj) == pre:
            return name
    return None


def known_pre_tokenizers(llama_cpp: Path, python: str) -> dict[str, dict]:
    """Pre-tokenizer objects of real tokenizers bundled here, each with the name the converter gives it by hash."""
    out = {}
    for tok_dir in ["Assets/qwen2-tokenizer", "Assets/gpt2-tokenizer"]:
        code = f"""
import sys; sys.path.insert(0, {str(llama_cpp)!r}); sys.path.insert(1, {str(llama_cpp / 'gguf-py')!r})
from transformers import AutoTokenizer
from conversion.base import TextModel
tok = AutoTokenizer.from_pretrained({str(REPO / tok_dir)!r})
print(TextModel.get_vocab_base_pre(None, tok))
"""
        res = subprocess.run([python, "-c", code], capture_output=True, text=True)
        if res.returncode != 0:
            print(f"note: the converter does not name {tok_dir}'s pre-tokenizer:\n{res.stderr[-800:]}", file=sys.stderr)
            continue
        name = res.stdout.strip().splitlines()[-1]
        obj = json.loads((REPO / tok_dir / "tokenizer.json").read_text(encoding="utf-8"))["pre_tokenizer"]
        out[name] = obj
        print(f"converter recognises {tok_dir} as pre-tokenizer {name!r}")
    return out


def run_converter(llama_cpp: Path, python: str, model_dir: Path, outtype: str, out: Path, pre_name: str | None,
                  vocab_only: bool = False) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / model_dir.name
        shutil.copytree(model_dir, src)
        cfg = src / "tokenizer_config.json"
        if cfg.exists():
            c = json.loads(cfg.read_text(encoding="utf-8"))
            if c.get("tokenizer_class") == "TokenizersBackend":
                c["tokenizer_class"] = "PreTrainedTokenizerFast"
                cfg.write_text(json.dumps(c, indent=1), encoding="utf-8")
        code = f"""
import sys, runpy
sys.path.insert(0, {str(llama_cpp)!r}); sys.path.insert(1, {str(llama_cpp / 'gguf-py')!r})
import conversion.base as base
original = base.TextModel.get_vocab_base_pre
def get_vocab_base_pre(self, tokenizer):
    try:
        return original(self, tokenizer)
    except NotImplementedError:
        if {pre_name!r} is None:
            raise
        return {pre_name!r}
base.TextModel.get_vocab_base_pre = get_vocab_base_pre
sys.argv = ["convert_hf_to_gguf.py", {str(src)!r}, "--outfile", {str(out)!r}, "--outtype", {outtype!r}] + {["--vocab-only"] if vocab_only else []!r}
runpy.run_path({str(llama_cpp / 'convert_hf_to_gguf.py')!r}, run_name="__main__")
"""
        res = subprocess.run([python, "-c", code], capture_output=True, text=True)
        if res.returncode != 0:
            sys.exit(f"convert_hf_to_gguf.py failed on {model_dir}:\n{res.stderr[-3000:]}")


def differences(ref: dict, ours: dict) -> dict:
    diff = {}
    for key in sorted(set(ref["metadata"]) | set(ours["metadata"])):
        a, b = ref["metadata"].get(key), ours["metadata"].get(key)
        if a != b:
            diff[key] = b
    for name in sorted(set(ref["tensors"]) | set(ours["tensors"])):
        a, b = ref["tensors"].get(name), ours["tensors"].get(name)
        if a != b:
            diff["tensor:" + name] = b
    return diff


def zero_weights(directory: Path) -> None:
    """model.safetensors of zeros (norms 1) for the config.json in `directory` (tied embeddings, no biases but Qwen2's)."""
    import numpy as np
    from safetensors.numpy import save_file
    c = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    h, i, v = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    d = c.get("head_dim", h // c["num_attention_heads"])
    q, kv = c["num_attention_heads"] * d, c["num_key_value_heads"] * d
    t = {"model.embed_tokens.weight": np.zeros((v, h), np.float32), "model.norm.weight": np.ones(h, np.float32)}
    for l in range(c["num_hidden_layers"]):
        p = f"model.layers.{l}."
        t.update({p + "input_layernorm.weight": np.ones(h, np.float32), p + "post_attention_layernorm.weight": np.ones(h, np.float32),
                  p + "self_attn.q_proj.weight": np.zeros((q, h), np.float32), p + "self_attn.k_proj.weight": np.zeros((kv, h), np.float32),
                  p + "self_attn.v_proj.weight": np.zeros((kv, h), np.float32), p + "self_attn.o_proj.weight": np.zeros((h, q), np.float32),
                  p + "mlp.gate_proj.weight": np.zeros((i, h), np.float32), p + "mlp.up_proj.weight": np.zeros((i, h), np.float32),
                  p + "mlp.down_proj.weight": np.zeros((h, i), np.float32)})
        if c["model_type"] == "qwen2":
            t.update({p + "self_attn.q_proj.bias": np.zeros(q, np.float32), p + "self_attn.k_proj.bias": np.zeros(kv, np.float32),
                      p + "self_attn.v_proj.bias": np.zeros(kv, np.float32)})
    save_file(t, str(directory / "model.safetensors"))


def vocab_case(args, llama_cpp: Path, python: str, known: dict, env: dict, case: str, config_dir: str, tokenizer_dir: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / case
        src.mkdir()
        shutil.copy(REPO / config_dir / "config.json", src / "config.json")
        for name in TOKENIZER_FILES:
            if (REPO / tokenizer_dir / name).exists():
                shutil.copy(REPO / tokenizer_dir / name, src / name)
        for extra in (REPO / config_dir).iterdir():    # e.g. a tokenizer_config.json naming the tokenizer class
            shutil.copy(extra, src / extra.name)
        pre = converter_pre_name(src / "tokenizer.json", known)
        ref_file, our_file = Path(tmp) / "reference.gguf", Path(tmp) / "rpt.gguf"
        run_converter(llama_cpp, python, src, "f32", ref_file, pre, vocab_only=True)
        zero_weights(src)
        res = subprocess.run([args.rpt, "export", "--to", "gguf", "--model", str(src), "--out", str(our_file)], capture_output=True, text=True)
        if res.returncode != 0:
            sys.exit(f"rpt export failed on {case}:\n{res.stderr}")
        ref, ours = read_gguf(ref_file), read_gguf(our_file)
    for r in (ref, ours):
        r["metadata"] = {k: v for k, v in r["metadata"].items() if k.startswith("tokenizer.")}
        r["tensors"] = {}
    diff = differences(ref, ours)
    unexplained = [k for k in diff if k not in REASONS]
    if unexplained:
        for k in unexplained:
            print(f"{case}: {k}: converter {str(ref['metadata'].get(k))[:300]}\n    rpt {str(diff[k])[:300]}", file=sys.stderr)
        sys.exit(f"{case}: rpt's tokenizer metadata differs from the converter's in {unexplained}")
    fixture = {
        "case": case, "config": config_dir + "/config.json", "tokenizer": tokenizer_dir, "scope": "tokenizer",
        "reference": {"tool": "llama.cpp convert_hf_to_gguf.py --vocab-only, read with gguf-py GGUFReader",
                      "input": f"{config_dir}/config.json + {tokenizer_dir}", "pre_tokenizer_by_identity": pre, **env},
        "metadata": ref["metadata"], "tensors": {},
        "rpt_differences": {k: {"rpt": v, "reason": REASONS[k]} for k, v in diff.items()},
    }
    path = Path(args.out) / f"{case}.json"
    path.write_text(json.dumps(fixture, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{case}: {len(ref['metadata'])} tokenizer keys; rpt differs in {sorted(diff) or 'nothing'} -> {path.relative_to(REPO)}")


def versions(llama_cpp: Path, python: str, described: str | None) -> dict:
    code = "import torch, transformers, numpy; print(torch.__version__, transformers.__version__, numpy.__version__)"
    torch_v, tf_v, np_v = subprocess.run([python, "-c", code], capture_output=True, text=True).stdout.split()
    commit = subprocess.run(["git", "-C", str(llama_cpp), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    import gguf
    gguf_v = getattr(gguf, "__version__", None)
    if gguf_v is None:
        pyproject = (llama_cpp / "gguf-py" / "pyproject.toml").read_text(encoding="utf-8")
        gguf_v = next((l.split("=")[1].strip().strip('"') for l in pyproject.splitlines() if l.startswith("version")), "?")
    return {"llama_cpp": described or commit or "unknown", "gguf_py": gguf_v, "torch": torch_v, "transformers": tf_v, "numpy": np_v}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--llama-cpp", required=True, type=Path, help="llama.cpp source tree (convert_hf_to_gguf.py, gguf-py/)")
    ap.add_argument("--rpt", default=str(REPO / ".build/release/rpt"))
    ap.add_argument("--out", default=str(REPO / "Tests/Fixtures/gguf"))
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--llama-cpp-version", help="what the llama.cpp tree is, when it is not a git checkout "
                                                "(e.g. 'vendored in llama-cpp-python 0.3.36')")
    args = ap.parse_args()
    llama_cpp = args.llama_cpp.resolve()
    sys.path.insert(0, str(llama_cpp / "gguf-py"))   # the reader that matches the converter
    python = sys.executable
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    known = known_pre_tokenizers(llama_cpp, python)
    env = versions(llama_cpp, python, args.llama_cpp_version)

    for case, model, tokenizer, outtype, reference in CASES:
        if args.only and case not in args.only:
            continue
        ref_dir = REPO / (reference or model)
        with tempfile.TemporaryDirectory() as tmp:
            ref_file, our_file = Path(tmp) / "reference.gguf", Path(tmp) / "rpt.gguf"
            tok_json = ref_dir / "tokenizer.json"
            pre = converter_pre_name(tok_json, known) if tok_json.exists() else None
            run_converter(llama_cpp, python, ref_dir, outtype, ref_file, pre)
            cmd = [args.rpt, "export", "--to", "gguf", "--model", str(REPO / model), "--out", str(our_file), "--type", outtype]
            if tokenizer:
                cmd += ["--tokenizer", str(REPO / tokenizer)]
            res = subprocess.run(cmd, capture_output=True, text=True)
            if res.returncode != 0:
                sys.exit(f"rpt export failed on {model}:\n{res.stderr}")
            ref, ours = read_gguf(ref_file), read_gguf(our_file)
        diff = differences(ref, ours)
        unexplained = [k for k in diff if k not in REASONS]
        if unexplained:
            for k in unexplained:
                print(f"{case}: {k}: converter {ref['metadata'].get(k) or ref['tensors'].get(k[7:])!r:.300}\n"
                      f"    rpt {diff[k]!r:.300}", file=sys.stderr)
            sys.exit(f"{case}: rpt's GGUF differs from the converter's in {unexplained}")
        fixture = {
            "case": case, "model": model, "tokenizer": tokenizer, "type": outtype,
            "reference": {"tool": "llama.cpp convert_hf_to_gguf.py, read with gguf-py GGUFReader",
                          "input": reference or model, "pre_tokenizer_by_identity": pre, **env},
            "metadata": ref["metadata"], "tensors": ref["tensors"],
            "rpt_differences": {k: {"rpt": v, "reason": REASONS[k]} for k, v in diff.items()},
        }
        path = out_dir / f"{case}.json"
        path.write_text(json.dumps(fixture, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"{case}: {len(ref['metadata'])} keys, {len(ref['tensors'])} tensors; rpt differs in {sorted(diff) or 'nothing'} -> {path.relative_to(REPO)}")

    for case, config_dir, tokenizer_dir in VOCAB_CASES:
        if args.only and case not in args.only:
            continue
        vocab_case(args, llama_cpp, python, known, env, case, config_dir, tokenizer_dir)


if __name__ == "__main__":
    main()
