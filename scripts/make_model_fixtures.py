#!/usr/bin/env python3
"""Make the tiny-model reference fixtures under Tests/Fixtures/models/.

What it makes
-------------
One directory per tiny, randomly initialised decoder-only model:

    llama_f32  llama_bf16_tied  llama_rope_llama3
    qwen2_f32  qwen2_bf16_tied  qwen3_f32  qwen3_f16_tied_sharded

each holding
  * what ``save_pretrained(safe_serialization=True)`` writes: config.json,
    generation_config.json, model.safetensors (or, for the sharded model,
    model-0000X-of-00002.safetensors + model.safetensors.index.json);
  * a small byte-level BPE tokenizer (tokenizer.json + tokenizer_config.json),
    the same for every model, trained here on the first 200 KB of
    Tiny Shakespeare's input.txt (karpathy/char-rnn; Tests/Fixtures/sources/tinyshakespeare-input.txt.gz) with the Qwen2 pre-tokenizer;
  * reference.safetensors: PyTorch/transformers outputs (logits, token
    log-probs, top-16 entropies, greedy continuation, loss, gradients and an
    AdamW trajectory), F32 for floats and I64 for integers.

The exact tensor layout is documented in Tests/Fixtures/models/README.md.

Everything is deterministic (fixed seeds, 2 CPU threads, fp32 math). Half
precision models (BF16/F16) are saved in that dtype and the reference is then
computed by reloading the saved checkpoint with dtype=float32, i.e. fp32 math
over the rounded weights (which is what the Swift engine does).

Some configs are rewritten after saving into the legacy key layout used by
checkpoints on the Hub (top-level "rope_theta" / "rope_scaling" /
"torch_dtype" instead of transformers 5's "rope_parameters" / "dtype"), so a
config parser sees both layouts; each is checked to load back into the same
configuration.

How to run (from the repository root)
-------------------------------------
    pip install -r scripts/requirements-reference.txt
    python scripts/make_model_fixtures.py            # [--out DIR] [--only NAME ...]
"""

import argparse
import json
import gzip
import os
import shutil
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
import transformers
from transformers import (
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedTokenizerFast,
    Qwen2Config,
    Qwen2ForCausalLM,
    Qwen3Config,
    Qwen3ForCausalLM,
)

torch.set_num_threads(2)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHAKESPEARE = os.path.join(REPO, "Tests", "Fixtures", "sources", "tinyshakespeare-input.txt.gz")  # karpathy/char-rnn
TRAIN_BYTES = 200_000

QWEN2_PATTERN = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
VOCAB_SIZE = 384  # including the 3 added special tokens

B, T = 2, 12
LENGTHS = [12, 9]
PAD_ID = 0
N_GREEDY = 24
TOPK_ENTROPY = 16
MIN_MARGIN = 1e-2  # a seed is re-drawn when any greedy top1-top2 logit gap is below this
MIN_DISTINCT = 8  # ... or when the greedy continuation has fewer distinct tokens (degenerate loop)
ADAMW_STEPS = 10
ADAMW = dict(lr=1e-2, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
CLIP_NORM = 1.0

COMMON = dict(
    hidden_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    intermediate_size=160,
    max_position_embeddings=256,
    hidden_act="silu",
    vocab_size=VOCAB_SIZE,
)

# name: (config class, model class, config kwargs, save dtype, legacy config keys, shards, base seed)
MODELS = {
    "llama_f32": (LlamaConfig, LlamaForCausalLM,
                  dict(rms_norm_eps=1e-6, rope_theta=10000.0, tie_word_embeddings=False),
                  torch.float32, False, 1, 1000),
    "llama_bf16_tied": (LlamaConfig, LlamaForCausalLM,
                        dict(rms_norm_eps=1e-5, rope_theta=500000.0, tie_word_embeddings=True),
                        torch.bfloat16, True, 1, 2000),
    "llama_rope_llama3": (LlamaConfig, LlamaForCausalLM,
                          dict(rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False,
                               rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                             "high_freq_factor": 4.0, "original_max_position_embeddings": 64}),
                          torch.float32, True, 1, 3000),
    "qwen2_f32": (Qwen2Config, Qwen2ForCausalLM,
                  dict(rms_norm_eps=1e-6, rope_theta=1000000.0, tie_word_embeddings=False),
                  torch.float32, False, 1, 4000),
    "qwen2_bf16_tied": (Qwen2Config, Qwen2ForCausalLM,
                        dict(rms_norm_eps=1e-5, rope_theta=1000000.0, tie_word_embeddings=True),
                        torch.bfloat16, True, 1, 5000),
    "qwen3_f32": (Qwen3Config, Qwen3ForCausalLM,
                  dict(rms_norm_eps=1e-6, rope_theta=1000000.0, head_dim=32, tie_word_embeddings=False),
                  torch.float32, False, 1, 6000),
    "qwen3_f16_tied_sharded": (Qwen3Config, Qwen3ForCausalLM,
                               dict(rms_norm_eps=1e-5, rope_theta=1000000.0, head_dim=32, tie_word_embeddings=True),
                               torch.float16, True, 2, 7000),
}

TORCH_DTYPE_NAMES = {torch.float32: "float32", torch.bfloat16: "bfloat16", torch.float16: "float16"}


# --------------------------------------------------------------------------- tokenizer

def build_tokenizer():
    with gzip.open(SHAKESPEARE, "rt", encoding="utf-8") as f:
        text = f.read()[:TRAIN_BYTES]
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    # Train the BPE part without the special tokens, then append them as added
    # tokens (ids 381..383), which is how Qwen2-style tokenizers lay them out:
    # they live in "added_tokens" only, not in model.vocab.
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE - len(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=[],
        show_progress=False,
    )
    tok.train_from_iterator([text], trainer)
    tok.add_special_tokens(SPECIAL_TOKENS)
    assert tok.get_vocab_size(with_added_tokens=True) == VOCAB_SIZE, tok.get_vocab_size()
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>")
    assert len(hf) == VOCAB_SIZE
    return hf


def pick_texts(hf_tok):
    """Token sequences taken from Shakespeare text beyond the tokenizer's training
    slice, chosen so that decode(ids) re-encodes to exactly ids (the texts are
    stored in the reference metadata for tokenizer tests)."""
    with gzip.open(SHAKESPEARE, "rt", encoding="utf-8") as f:
        corpus = f.read()
    lines = corpus[TRAIN_BYTES + 1000:].split("\n")[1:]  # drop the partial first line

    def take(n, start_line):
        i = start_line
        while True:
            snippet = "\n".join(lines[i:i + 4])
            ids = hf_tok.encode(snippet, add_special_tokens=False)
            if len(ids) >= n:
                ids = ids[:n]
                txt = hf_tok.decode(ids)
                if hf_tok.encode(txt, add_special_tokens=False) == ids and PAD_ID not in ids[1:]:
                    return ids, txt, i + 4
            i += 1

    out = {}
    nxt = 0
    for key, n, skip in [("input_ids.0", LENGTHS[0], 0), ("input_ids.1", LENGTHS[1], 0),
                         ("train_input_ids.0", T, 7), ("train_input_ids.1", T, 13)]:
        out[key], out["text." + key], nxt = take(n, nxt + skip)
    prompt_text = "What say you"  # 5 tokens
    out["greedy_prompt"] = hf_tok.encode(prompt_text, add_special_tokens=False)
    out["text.greedy_prompt"] = prompt_text
    assert hf_tok.decode(out["greedy_prompt"]) == prompt_text
    return out


# --------------------------------------------------------------------------- models

@torch.no_grad()
def randomize(model, seed, tied):
    g = torch.Generator().manual_seed(seed)

    def normal(shape, std, mean=0.0):
        return torch.randn(shape, generator=g) * std + mean

    for name, p in model.named_parameters():
        if name.endswith("norm.weight") or "layernorm" in name:
            p.copy_(normal(p.shape, 0.1, 1.0))
        elif name.endswith(".bias"):
            p.copy_(normal(p.shape, 0.3))
        elif name == "model.embed_tokens.weight":
            p.copy_(normal(p.shape, 0.5))
        elif name == "lm_head.weight":
            p.copy_(normal(p.shape, 0.3))
        elif p.ndim == 2:
            p.copy_(normal(p.shape, 0.15))
        else:
            raise RuntimeError(f"unhandled parameter {name}")
    if tied:
        assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()


def legacy_config(path):
    """Rewrite config.json into the pre-transformers-5 key layout."""
    with open(path) as f:
        c = json.load(f)
    rp = dict(c.pop("rope_parameters"))
    out = {}
    for k, v in c.items():
        if k == "dtype":
            out["torch_dtype"] = v
        else:
            out[k] = v
    out["rope_theta"] = rp.pop("rope_theta")
    if rp.get("rope_type", "default") != "default":
        out["rope_scaling"] = rp
    out = dict(sorted(out.items()))
    with open(path, "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")


def full_logits(model, ids):
    return model(torch.tensor([ids], dtype=torch.long), use_cache=False).logits[0]


def greedy(model, prompt):
    """Plain argmax decoding with a full recompute per step (no KV cache)."""
    ids = list(prompt)
    new, margins = [], []
    for _ in range(N_GREEDY):
        last = full_logits(model, ids)[-1]
        top2 = torch.topk(last, 2)
        new.append(int(top2.indices[0]))
        margins.append(float(top2.values[0] - top2.values[1]))
        ids.append(new[-1])
    return new, margins


def generate_check(model, prompt, expect):
    inp = torch.tensor([prompt], dtype=torch.long)
    out = model.generate(
        inp, attention_mask=torch.ones_like(inp), do_sample=False, max_new_tokens=N_GREEDY,
        min_new_tokens=N_GREEDY, use_cache=True, eos_token_id=None, pad_token_id=PAD_ID,
    )
    got = out[0, len(prompt):].tolist()
    return got == expect, got


def masked_loss(model, ids, mask):
    logits = model(ids, use_cache=False).logits
    logp = F.log_softmax(logits[:, :-1], dim=-1)
    nll = -logp.gather(-1, ids[:, 1:, None])[..., 0]
    return (mask * nll).sum() / mask.sum()


def make_model(name, spec, hf_tok, texts, out_root):
    cfg_cls, model_cls, kw, save_dtype, legacy, shards, base_seed = spec
    tied = kw["tie_word_embeddings"]
    d = os.path.join(out_root, name)
    eos = hf_tok.eos_token_id

    for attempt in range(50):
        seed = base_seed + attempt
        if os.path.exists(d):
            shutil.rmtree(d)
        os.makedirs(d)
        torch.manual_seed(seed)
        cfg = cfg_cls(**COMMON, **kw, bos_token_id=None, eos_token_id=eos, pad_token_id=None,
                      attn_implementation="eager")
        model = model_cls(cfg).eval()
        randomize(model, seed, tied)
        model.to(save_dtype)
        if shards > 1:
            total = sum(p.numel() * p.element_size() for p in model.parameters())
            max_shard = int(total * 0.6)
            model.save_pretrained(d, safe_serialization=True, max_shard_size=max_shard)
        else:
            model.save_pretrained(d, safe_serialization=True)
        hf_tok.save_pretrained(d)
        want_rope = dict(model.config.rope_parameters)
        if legacy:
            legacy_config(os.path.join(d, "config.json"))

        # ---- reload the checkpoint in fp32: the reference is fp32 math over the saved weights
        model = model_cls.from_pretrained(d, dtype=torch.float32, attn_implementation="eager").eval()
        assert model.dtype == torch.float32
        assert dict(model.config.rope_parameters) == want_rope, (model.config.rope_parameters, want_rope)
        assert model.config.tie_word_embeddings == tied
        if tied:
            assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()

        with torch.no_grad():
            prompt = texts["greedy_prompt"]
            g_ids, g_margins = greedy(model, prompt)
            if min(g_margins) < MIN_MARGIN:
                print(f"  {name}: seed {seed} min greedy margin {min(g_margins):.2e} < {MIN_MARGIN}; re-drawing")
                continue
            if len(set(g_ids)) < MIN_DISTINCT:
                print(f"  {name}: seed {seed} greedy continuation has {len(set(g_ids))} distinct tokens; re-drawing")
                continue
            ok, got = generate_check(model, prompt, g_ids)
            if not ok:
                print(f"  {name}: seed {seed} generate() {got} != argmax loop {g_ids}; re-drawing")
                continue
        break
    else:
        raise RuntimeError(f"{name}: no seed with a clear greedy margin")

    ref = {}
    V = VOCAB_SIZE
    with torch.no_grad():
        # ---- forward reference: each sequence alone at its own length
        input_ids = torch.full((B, T), PAD_ID, dtype=torch.long)
        logits = torch.zeros(B, T, V)
        token_logprobs = torch.zeros(B, T - 1)
        entropy = torch.zeros(B, T)
        for b, L in enumerate(LENGTHS):
            ids = texts[f"input_ids.{b}"]
            assert len(ids) == L
            input_ids[b, :L] = torch.tensor(ids)
            lg = full_logits(model, ids)
            logits[b, :L] = lg
            lp = F.log_softmax(lg, dim=-1)
            token_logprobs[b, :L - 1] = lp[:-1].gather(-1, torch.tensor(ids[1:])[:, None])[:, 0]
            top = torch.topk(lg, TOPK_ENTROPY, dim=-1).values
            p = F.softmax(top, dim=-1)
            entropy[b, :L] = -(p * F.log_softmax(top, dim=-1)).sum(-1)
        ref["input_ids"] = input_ids
        ref["lengths"] = torch.tensor(LENGTHS, dtype=torch.long)
        ref["logits"] = logits
        ref["token_logprobs"] = token_logprobs
        ref["entropy_top16"] = entropy
        ref["greedy_prompt"] = torch.tensor(texts["greedy_prompt"], dtype=torch.long)
        ref["greedy_ids"] = torch.tensor(g_ids, dtype=torch.long)
        ref["greedy_margin"] = torch.tensor(g_margins, dtype=torch.float32)

    # ---- training reference
    model.train()
    train_ids = torch.tensor([texts["train_input_ids.0"], texts["train_input_ids.1"]], dtype=torch.long)
    mask = torch.ones(B, T - 1)
    mask[1, :3] = 0.0
    ref["train_input_ids"] = train_ids
    ref["loss_mask"] = mask
    named = list(model.named_parameters())  # tied embedding appears once, as model.embed_tokens.weight
    names = [n for n, _ in named]
    params = [p for _, p in named]
    model.zero_grad(set_to_none=True)
    loss = masked_loss(model, train_ids, mask)
    loss.backward()
    ref["loss"] = loss.detach().reshape(1).clone()
    for n, p in named:
        ref[f"grad.{n}"] = p.grad.detach().clone()

    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": ADAMW["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}],
        lr=ADAMW["lr"], betas=ADAMW["betas"], eps=ADAMW["eps"], foreach=False,
    )
    losses, norms = [], []
    for step in range(ADAMW_STEPS):
        opt.zero_grad(set_to_none=True)
        l = masked_loss(model, train_ids, mask)
        l.backward()
        norm = torch.nn.utils.clip_grad_norm_(params, CLIP_NORM, foreach=False)
        losses.append(l.item())
        norms.append(float(norm))
        opt.step()
    assert abs(losses[0] - float(ref["loss"][0])) < 1e-6
    ref["adamw_losses"] = torch.tensor(losses, dtype=torch.float32)
    ref["adamw_grad_norms"] = torch.tensor(norms, dtype=torch.float32)
    sd = dict(named)
    for n in ["model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight", "model.norm.weight"]:
        ref[f"after10.{n}"] = sd[n].detach().clone()

    for k, v in ref.items():
        assert v.dtype in (torch.float32, torch.int64), (k, v.dtype)
        ref[k] = v.contiguous()

    meta = {
        "model": name,
        "seed": str(seed),
        "architecture": model_cls.__name__,
        "saved_dtype": TORCH_DTYPE_NAMES[save_dtype],
        "config_layout": "legacy" if legacy else "transformers5",
        "torch_version": torch.__version__,
        "transformers_version": transformers.__version__,
        "pad_id": str(PAD_ID),
        "adamw": json.dumps({**ADAMW, "clip_grad_norm": CLIP_NORM, "steps": ADAMW_STEPS,
                             "weight_decay_applies_to": "ndim>=2"}),
        "param_names": json.dumps(names),
    }
    for k in ["text.input_ids.0", "text.input_ids.1", "text.train_input_ids.0", "text.train_input_ids.1",
              "text.greedy_prompt"]:
        meta[k] = texts[k]
    save_file(ref, os.path.join(d, "reference.safetensors"), metadata=meta)
    canonical_header(os.path.join(d, "reference.safetensors"))
    check_fixture(name, d, model_cls, ref, names, tied, shards)
    return seed, min(g_margins), (losses[0], losses[-1])


def canonical_header(path):
    """safetensors writes __metadata__ in hash-map order, which changes from run
    to run; rewrite the JSON header with sorted keys (same length, same data
    offsets) so the fixture files are byte-for-byte reproducible."""
    with open(path, "r+b") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
        new = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        assert len(new) <= n, (len(new), n)
        f.seek(8)
        f.write(new + b" " * (n - len(new)))


def check_fixture(name, d, model_cls, ref, names, tied, shards):
    """Load the files back and check they are what the README promises."""
    files = sorted(os.listdir(d))
    if shards > 1:
        want = [f"model-{i:05d}-of-{shards:05d}.safetensors" for i in range(1, shards + 1)]
        assert all(w in files for w in want) and "model.safetensors.index.json" in files, files
        with open(os.path.join(d, "model.safetensors.index.json")) as f:
            wmap = json.load(f)["weight_map"]
        keys = set(wmap)
        assert set(wmap.values()) == set(want)
        weights = {}
        for w in want:
            weights.update(load_file(os.path.join(d, w)))
    else:
        assert "model.safetensors" in files, files
        weights = load_file(os.path.join(d, "model.safetensors"))
        keys = set(weights)
    assert keys == set(names), (sorted(keys ^ set(names)))
    if tied:
        assert "lm_head.weight" not in keys
    for f in ["config.json", "tokenizer.json", "tokenizer_config.json", "reference.safetensors"]:
        assert f in files, (f, files)
    back = load_file(os.path.join(d, "reference.safetensors"))
    assert set(back) == set(ref)
    for k in ref:
        assert back[k].dtype == ref[k].dtype and torch.equal(back[k], ref[k]), k
    for n in names:
        assert back[f"grad.{n}"].shape == weights[n].shape, n
    tok = PreTrainedTokenizerFast.from_pretrained(d)
    assert len(tok) == VOCAB_SIZE


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(REPO, "Tests", "Fixtures", "models"))
    ap.add_argument("--only", nargs="*", default=None, help="subset of model names")
    args = ap.parse_args()
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.out, exist_ok=True)

    hf_tok = build_tokenizer()
    texts = pick_texts(hf_tok)
    print(f"torch {torch.__version__}  transformers {transformers.__version__}  vocab {len(hf_tok)}")
    for k in sorted(t for t in texts if t.startswith("text.")):
        print(f"  {k}: {texts[k]!r}")

    for name, spec in MODELS.items():
        if args.only and name not in args.only:
            continue
        seed, margin, (l0, l9) = make_model(name, spec, hf_tok, texts, args.out)
        size = sum(os.path.getsize(os.path.join(args.out, name, f)) for f in os.listdir(os.path.join(args.out, name)))
        print(f"{name:24s} seed {seed:5d}  min greedy margin {margin:8.4f}  loss {l0:.4f} -> {l9:.4f} "
              f"(10 AdamW steps)  {size / 1024:7.1f} KiB")
    total = 0
    for root, _, fs in os.walk(args.out):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in fs)
    print(f"total {total / 1024:.1f} KiB in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
