#!/usr/bin/env python3
"""Make Tests/Fixtures/mcq/*.json: multiple choice by log-likelihood, computed by PyTorch + transformers.

The reference for `rpt eval --mcq --mode ntp` (Sources/RPT/Evaluation/MultipleChoiceLikelihood.swift). For each
model, the first QUESTIONS questions of Assets/mmlu-pro-sample/test.jsonl in lm-eval's cloze form
(its `_encode_pair`, as the `mmlu_continuation` task): context "Question: {question}\\nAnswer:", each option the
continuation " {option}"; context ids = tokenizer(context, add_special_tokens=False), continuation ids = the ids of
context + continuation after len(context ids); the BOS token first when the tokenizer has one; the model reads
(context + continuation)[:-1], newest max_position_embeddings tokens, and the option's log-likelihood is the sum
of log_softmax(logits) (float32) at the continuation's tokens, summed in float64. The chosen option per
normalization (none: the sum; token: per continuation token; byte: per UTF-8 byte of the continuation) is
numpy-style argmax (first maximum).

Models: Assets/stories260K/hf (SentencePiece with BOS, 512 positions) and the random tiny Llama of
Tests/Fixtures/models/llama_f32 (byte-level BPE without BOS, 256 positions: long questions are truncated).

    pip install -r scripts/requirements-reference.txt
    python scripts/make_mcq_fixtures.py
"""

import json
import os

import torch
from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast

torch.set_num_threads(2)
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUESTIONS = 6
MODELS = {"stories260K": "Assets/stories260K/hf", "llama_f32": "Tests/Fixtures/models/llama_f32"}


def main():
    with open(os.path.join(REPO, "Assets/mmlu-pro-sample/test.jsonl")) as f:
        questions = [json.loads(line) for line in f if line.strip()][:QUESTIONS]
    out_dir = os.path.join(REPO, "Tests/Fixtures/mcq")
    os.makedirs(out_dir, exist_ok=True)
    for name, path in MODELS.items():
        full_path = os.path.join(REPO, path)
        # tokenizer.json itself (the fixture's tokenizer_config names transformers 5's class); BOS as its config says.
        tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(full_path, "tokenizer.json"))
        with open(os.path.join(full_path, "tokenizer_config.json")) as f:
            bos_token = json.load(f).get("bos_token")
        model = AutoModelForCausalLM.from_pretrained(full_path, torch_dtype=torch.float32).eval()
        positions = model.config.max_position_embeddings
        bos = tok.convert_tokens_to_ids(bos_token) if bos_token else None
        records = []
        for q in questions:
            context = "Question: " + q["question"] + "\nAnswer:"
            ctx_ids = tok(context, add_special_tokens=False).input_ids
            prefix = ([bos] if bos is not None and (not ctx_ids or ctx_ids[0] != bos) else []) + ctx_ids
            options = []
            for option in q["options"]:
                continuation = " " + option
                whole = tok(context + continuation, add_special_tokens=False).input_ids
                cont = whole[len(ctx_ids):]
                full = prefix + cont
                inp = full[:-1][-positions:]
                with torch.no_grad():
                    logits = model(torch.tensor([inp])).logits[0].float()
                logp = torch.log_softmax(logits, dim=-1)
                first = len(inp) - len(cont)
                ll = sum(float(logp[first + j, t]) for j, t in enumerate(cont))
                options.append({"continuation_ids": cont, "loglikelihood": ll, "tokens": len(cont),
                                "bytes": len(continuation.encode("utf-8"))})
            choices = {}
            for norm in ("none", "token", "byte"):
                def value(o):
                    return o["loglikelihood"] / {"none": 1, "token": o["tokens"], "byte": o["bytes"]}[norm]
                best = 0
                for i in range(1, len(options)):
                    if value(options[i]) > value(options[best]):
                        best = i
                choices[norm] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[best]
            records.append({"question_id": str(q["question_id"]), "context_ids": prefix, "options": options,
                            "choices": choices})
        fixture = {"model": path, "max_position_embeddings": positions, "bos_token_id": bos,
                   "transformers": __import__("transformers").__version__, "torch": torch.__version__,
                   "questions": records}
        with open(os.path.join(out_dir, name + ".json"), "w") as f:
            json.dump(fixture, f, indent=1)
            f.write("\n")
        print(name, [r["choices"] for r in records])


if __name__ == "__main__":
    main()
