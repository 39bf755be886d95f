#!/usr/bin/env python3
"""Write "the bench model": a random Qwen2ForCausalLM used by the speed benchmarks.

hidden 512, 8 layers, 8 attention heads (head_dim 64), 2 KV heads, intermediate
1408, vocab 32768, untied lm_head, max_position_embeddings 4096, rope_theta 1e6,
rms_norm_eps 1e-6. Weights and biases are normal(0, 0.02) drawn from a fixed seed
(0); RMSNorm weights are 1. About 56M parameters. Saved with save_pretrained
(config.json + model.safetensors), F32 unless --dtype bf16. No tokenizer.

Usage (from the repository root):
    pip install -r scripts/requirements-reference.txt
    python scripts/make_bench_model.py --out runs/bench-model [--dtype f32|bf16]
"""

import argparse
import os
import sys

import torch
from transformers import Qwen2Config, Qwen2ForCausalLM

torch.set_num_threads(2)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--dtype", choices=["f32", "bf16"], default="f32")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    cfg = Qwen2Config(
        vocab_size=32768,
        hidden_size=512,
        num_hidden_layers=8,
        num_attention_heads=8,
        num_key_value_heads=2,
        intermediate_size=1408,
        max_position_embeddings=4096,
        rope_theta=1000000.0,
        rms_norm_eps=1e-6,
        tie_word_embeddings=False,
        hidden_act="silu",
        initializer_range=0.02,
        bos_token_id=None,
        eos_token_id=None,
        pad_token_id=None,
        attn_implementation="eager",
    )
    torch.manual_seed(args.seed)
    model = Qwen2ForCausalLM(cfg).eval()
    g = torch.Generator().manual_seed(args.seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.fill_(1.0)
            else:
                p.copy_(torch.randn(p.shape, generator=g) * 0.02)
    n_params = sum(p.numel() for p in model.parameters())
    if args.dtype == "bf16":
        model.to(torch.bfloat16)
    os.makedirs(args.out, exist_ok=True)
    model.save_pretrained(args.out, safe_serialization=True)
    size = sum(os.path.getsize(os.path.join(args.out, f)) for f in os.listdir(args.out))
    print(f"bench model: Qwen2ForCausalLM, {n_params:,} parameters ({n_params / 1e6:.1f}M), "
          f"{args.dtype}, {size / 2**20:.1f} MiB written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
