#!/usr/bin/env python3
"""Writes a byte-level BPE tokenizer with exactly 32768 ids for "the bench model" (vocab 32768, no tokenizer).

Vocabulary: GPT-2's (Assets/gpt2-tokenizer) cut to its first 32767 ranks: the 256 byte tokens, the first
32511 merges (GPT-2 numbers merge k's result id 256 + k, so a prefix of the merge list is a complete BPE
model), and `<|endoftext|>` moved to id 32767 as the one special token (end of text and padding; no BOS).
Cutting a real merge list instead of training one on the bundled ~200 KB of text gives English-like token
lengths, takes no training time and is deterministic.

Pipeline: Qwen2's (Assets/qwen2-tokenizer: NFC normalizer, Qwen2 split regex, byte-level), not GPT-2's, because
the bench model's config says model_type "qwen2" and transformers 5's AutoTokenizer then always builds a
Qwen2Tokenizer from the vocabulary and merges, ignoring tokenizer.json's own pre-tokenizer. With Qwen2's pipeline
in the file, AutoTokenizer, `tokenizers` and rpt all give the same ids (checked below and by
scripts/bench_grpo_trl.py --rpt). Both sides of scripts/bench_grpo.sh load this tokenizer from the model directory.
The files are rewritten only when their content changes (scripts/bench_grpo.sh re-prepares data when they do).

    python scripts/make_bench_tokenizer.py --out runs/bench-grpo/model    # writes tokenizer.json, tokenizer_config.json
"""
import argparse
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VOCAB = 32768
EOS = "<|endoftext|>"


def write_if_changed(path, text):
    if os.path.exists(path) and open(path, encoding="utf-8").read() == text:
        return
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True, help="directory to write tokenizer.json and tokenizer_config.json into")
    ap.add_argument("--source", default=os.path.join(ROOT, "Assets", "gpt2-tokenizer", "tokenizer.json"))
    ap.add_argument("--pipeline", default=os.path.join(ROOT, "Assets", "qwen2-tokenizer", "tokenizer.json"))
    args = ap.parse_args()

    t = json.load(open(args.source, encoding="utf-8"))
    qwen = json.load(open(args.pipeline, encoding="utf-8"))
    m = t["model"]
    assert m["type"] == "BPE" and t["pre_tokenizer"]["type"] == "ByteLevel"
    for k in ("normalizer", "pre_tokenizer", "post_processor", "decoder"):
        t[k] = qwen[k]
    keep = VOCAB - 1  # ids 0 … 32766 are BPE tokens, 32767 is <|endoftext|>
    n_merges = keep - 256
    merges = m["merges"][:n_merges]
    vocab = {tok: i for tok, i in m["vocab"].items() if i < keep}
    # Check that the cut is a closed BPE model: merge k makes id 256 + k from two tokens that exist.
    for k, merge in enumerate(merges):
        a, b = merge if isinstance(merge, list) else merge.split(" ")
        assert vocab.get(a + b) == 256 + k and a in vocab and b in vocab, (k, merge)
    assert len(vocab) == keep and sorted(vocab.values()) == list(range(keep))
    vocab[EOS] = keep
    m["vocab"] = vocab
    m["merges"] = merges
    t["added_tokens"] = [{"id": keep, "content": EOS, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True}]
    config = {"tokenizer_class": "Qwen2Tokenizer", "eos_token": EOS, "pad_token": EOS, "bos_token": None,
              "add_bos_token": False, "model_max_length": 4096, "clean_up_tokenization_spaces": False}
    os.makedirs(args.out, exist_ok=True)
    write_if_changed(os.path.join(args.out, "tokenizer.json"), json.dumps(t, ensure_ascii=False))
    write_if_changed(os.path.join(args.out, "tokenizer_config.json"), json.dumps(config, indent=1) + "\n")

    # The written tokenizer has exactly 32768 ids, and `tokenizers` and transformers' AutoTokenizer agree on it.
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer
    tok = Tokenizer.from_file(os.path.join(args.out, "tokenizer.json"))
    auto = AutoTokenizer.from_pretrained(args.out)
    assert tok.get_vocab_size() == VOCAB and tok.token_to_id(EOS) == keep and len(auto) == VOCAB
    assert auto.eos_token_id == keep and auto.pad_token_id == keep and auto.bos_token_id is None
    text = "Once upon a time, \\boxed{ para}).\n\n### Context\n12345 caf\u00e9 e\u0301  x\r\n<|endoftext|>"
    ids = tok.encode(text).ids
    assert ids == auto(text)["input_ids"], (ids, auto(text)["input_ids"])
    assert max(ids) == keep and tok.decode(ids, skip_special_tokens=False).endswith(EOS), ids
    print(f"wrote {args.out}/tokenizer.json ({VOCAB} ids: 256 bytes, {n_merges} GPT-2 merges, {EOS}={keep})")


if __name__ == "__main__":
    main()
