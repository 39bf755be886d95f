#!/usr/bin/env python3
"""Make the bf16-autocast training references: Tests/Fixtures/models/NAME/autocast_bf16.safetensors.

For three of the tiny fixture models (made by scripts/make_model_fixtures.py), the masked mean cross-entropy of
the training batch in their reference.safetensors (train_input_ids, loss_mask) and the gradient of every
parameter, computed by PyTorch with fp32 master weights under ``torch.autocast("cpu", dtype=torch.bfloat16)``
(the forward and the loss under autocast, backward outside it: the usual mixed-precision recipe, and what
scripts/bench_pytorch_train.py times). `rpt pretrain --train-dtype bf16` is checked against these within bf16
tolerances (Tests/RPTTests/BF16TrainingTests.swift): both round the products' operands to bf16, PyTorch also
rounds the products' outputs and runs attention's products in bf16, so the two agree to bf16 precision, not
bit for bit.

Tensors: loss [1] (autocast), loss_fp32 [1] (the same model without autocast), grad.NAME (autocast) for every
parameter, all F32. Deterministic: fixed inputs, 2 CPU threads.

How to run (from the repository root)
-------------------------------------
    pip install -r scripts/requirements-reference.txt
    python scripts/make_autocast_fixtures.py
"""
import os

import torch
import torch.nn.functional as F
import transformers
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM

from make_model_fixtures import canonical_header  # sorted metadata keys: byte-for-byte reproducible files

MODELS = ["qwen3_f32", "llama_rope_llama3", "qwen2_bf16_tied"]
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "models")


def masked_loss(model, ids, mask):
    logits = model(ids, use_cache=False).logits.float()
    logp = F.log_softmax(logits[:, :-1], dim=-1)
    nll = -logp.gather(-1, ids[:, 1:, None])[..., 0]
    return (mask * nll).sum() / mask.sum()


def main():
    torch.set_num_threads(2)
    torch.manual_seed(0)
    for name in MODELS:
        d = os.path.join(ROOT, name)
        ref = load_file(os.path.join(d, "reference.safetensors"))
        ids, mask = ref["train_input_ids"], ref["loss_mask"]
        model = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32, attn_implementation="eager")
        model.train()
        with torch.no_grad():
            loss_fp32 = masked_loss(model, ids, mask)
        model.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = masked_loss(model, ids, mask)
        loss.backward()
        out = {"loss": loss.detach().float().reshape(1).clone(), "loss_fp32": loss_fp32.reshape(1).clone()}
        for n, p in model.named_parameters():
            out[f"grad.{n}"] = p.grad.detach().float().contiguous()
        path = os.path.join(d, "autocast_bf16.safetensors")
        save_file(out, path, metadata={"model": name, "torch_version": torch.__version__,
                                       "transformers_version": transformers.__version__,
                                       "autocast": "torch.autocast('cpu', dtype=torch.bfloat16), eager attention"})
        canonical_header(path)
        print(f"{name}: loss {loss.item():.6f} under autocast, {loss_fp32.item():.6f} in fp32 -> {path}")


if __name__ == "__main__":
    main()
