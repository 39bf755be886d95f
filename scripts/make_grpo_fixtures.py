#!/usr/bin/env python3
"""Reference gradients of the GRPO policy loss (PyTorch autograd), for the Swift GRPO tests.

For the tiny Qwen2 fixture model (Tests/Fixtures/models/qwen2_f32) and a fixed batch of 4 sequences
(prompt + sampled response; only response tokens are trained), with fixed rewards of two groups of 2,
fixed "old" (rollout-time) log-probs perturbed away from the current ones so that the importance ratio
leaves the clip range for some tokens, and fixed reference log-probs, it writes the loss and the
gradient of every parameter for each case:

  advantages   A_i = (r_i - mean_g r) / (std_g r + 1e-6)   (std unbiased, as torch.std), or r_i - mean (dr_grpo)
  ratio        rho = exp(logp - logp_old)
  token loss   l = -min(rho*A, clip(rho, 1-eps_low, 1+eps_high)*A) + beta * kl
  kl           k1: logp - logp_ref;  k3: exp(logp_ref - logp) - (logp_ref - logp) - 1
  aggregation  token-mean:          sum(l*mask) / sum(mask)
               seq-mean-token-mean: mean_i( sum_k l*mask / sum_k mask )
               constant:            sum(l*mask) / (n_seq * C), C = 16

Run (from the repository root): pip install -r scripts/requirements-reference.txt; python scripts/make_grpo_fixtures.py
Output: Tests/Fixtures/grpo/qwen2_f32.safetensors
"""
import torch
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM

torch.manual_seed(0)
torch.set_num_threads(2)
MODEL = "Tests/Fixtures/models/qwen2_f32"
model = AutoModelForCausalLM.from_pretrained(MODEL, dtype=torch.float32, attn_implementation="eager")
V = model.config.vocab_size

# 4 sequences of 14 tokens: 5 prompt tokens + 9 response tokens (the last response tokens of seq 1, 3 are padding: mask 0).
T, P = 14, 5
ids = torch.randint(0, V - 3, (4, T))
mask = torch.zeros(4, T - 1)            # mask over predicted positions t -> token t+1
mask[:, P - 1:] = 1
mask[1, -3:] = 0
mask[3, -5:] = 0
rewards = torch.tensor([1.0, 0.0, 0.0, 1.0 / 3])  # groups: (0, 1), (2, 3)
G = 2

with torch.no_grad():
    logits0 = model(ids).logits[:, :-1]
    lp0 = torch.log_softmax(logits0, -1).gather(-1, ids[:, 1:, None])[..., 0]
old = lp0 + 0.3 * torch.randn_like(lp0)   # rollout-time log-probs: ratios spread over [~0.5, ~2]
ref = lp0 + 0.2 * torch.randn_like(lp0)


def advantages(r, std_norm):
    g = r.view(-1, G)
    a = g - g.mean(1, keepdim=True)
    if std_norm:
        a = a / (g.std(1, keepdim=True) + 1e-6)
    return a.reshape(-1)


cases = [
    # name, aggregation, std_norm, eps_low, eps_high, beta, kl
    ("token_mean", "token-mean", True, 0.2, 0.28, 0.0, "k1"),
    ("seq_mean_token_mean", "seq-mean-token-mean", True, 0.2, 0.2, 0.0, "k1"),
    ("constant_drgrpo", "constant", False, 0.2, 0.28, 0.0, "k1"),
    ("token_mean_k3", "token-mean", True, 0.2, 0.28, 0.05, "k3"),
    ("token_mean_k1", "token-mean", True, 0.2, 0.28, 0.05, "k1"),
]
out = {"input_ids": ids, "loss_mask": mask, "rewards": rewards, "old_logprobs": old, "ref_logprobs": ref,
       "group_size": torch.tensor([G])}
for name, agg, std_norm, el, eh, beta, kl in cases:
    model.zero_grad(set_to_none=True)
    lp = torch.log_softmax(model(ids).logits[:, :-1], -1).gather(-1, ids[:, 1:, None])[..., 0]
    A = advantages(rewards, std_norm)[:, None]
    rho = torch.exp(lp - old)
    obj = torch.minimum(rho * A, torch.clamp(rho, 1 - el, 1 + eh) * A)
    d = ref - lp
    klv = (lp - ref) if kl == "k1" else (torch.exp(d) - d - 1)
    l = -obj + beta * klv
    if agg == "token-mean":
        loss = (l * mask).sum() / mask.sum()
    elif agg == "seq-mean-token-mean":
        loss = ((l * mask).sum(1) / mask.sum(1)).mean()
    else:
        loss = (l * mask).sum() / (4 * 16)
    loss.backward()
    clipped = ((rho < 1 - el) | (rho > 1 + eh)).float() * mask
    print(f"{name}: loss {loss.item():.6f}, clipped tokens {int(clipped.sum())} of {int(mask.sum())}")
    out[f"{name}.loss"] = loss.detach().reshape(1)
    out[f"{name}.advantages"] = A[:, 0].detach()
    for pname, p in model.named_parameters():
        out[f"{name}.grad.{pname}"] = p.grad.detach().clone()
save_file({k: v.contiguous() for k, v in out.items()}, "Tests/Fixtures/grpo/qwen2_f32.safetensors")
