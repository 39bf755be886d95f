#!/usr/bin/env python3
"""TRL side of the GRPO-step benchmark (scripts/bench_grpo.sh): TRL's GRPOTrainer with transformers
`generate` on CPU, fp32 (or bf16=True with --bf16), --threads threads, on the same model, prompts, G and lengths as `rpt train`.

One optimizer step = B contexts x G rollouts of exactly the prompts `rpt train` drew at that step:
per_device_train_batch_size = B*G, gradient_accumulation_steps = 1, steps_per_generation = 1,
num_generations = G, no dataset shuffling, the dataset rows being the contexts of the rpt run in its
order (read from the run's completions.jsonl: step, doc_id, index of every context). Exactly on-policy
(num_iterations 1, so TRL skips the old-log-prob pass), beta 0 (no reference model), loss_type "dapo"
(token mean over the batch, as rpt's token-mean), clip 0.2, temperature 0.8, top-p 1, top-k 0, AdamW lr 1e-6
betas (0.9, 0.999) weight decay 0.01, grad-norm clip 0.2, no gradient checkpointing, no bf16 unless --bf16
(GRPOConfig bf16=True: Accelerate's bf16 autocast on CPU, fp32 master weights).

Prompts are rendered as rpt renders them (template v0, raw chat, no BOS): the context text is the exact bytes
of the position's context ids with partial UTF-8 characters at the edges dropped, put into v0's text.

Timing: a TrainerCallback takes the wall time from on_step_begin to on_step_end (rollout + loss + backward +
clip + AdamW: what rpt's rollout_s + update_s cover); `_generate_and_score_completions` is wrapped for the
rollout time (tokenize, generate, decode, reward, advantages) and `_generate` for generation alone. The
update time is step - rollout. The first --warmup steps are excluded from the means.

Usage (from the repository root; see scripts/bench_grpo.sh):
    python scripts/bench_grpo_trl.py --model DIR --data train.jsonl --order RPT_OUT/completions.jsonl \
        --contexts 2 --group-size 8 --max-completion-length 128 --steps 4 --json out.json
"""

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

# v0 of Sources/RPT/Method/PromptTemplates.swift (checked against the source below when it is present).
V0 = (r"Complete the given text under '### Context' by predicting the next token, and wrap it in '\boxed{}'. "
      r"Please reason step by step to find the most probable next token as the final answer, and enclose it in "
      r"\boxed{} (note: the token may begin with a space, e.g., \boxed{ para} or \boxed{ =}; do not use \text{})."
      "\n\n### Context\n{context}")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def v0_from_swift_source():
    """The v0 text as the Swift source spells it (a raw multi-line literal, indentation stripped), or None."""
    path = os.path.join(ROOT, "Sources", "RPT", "Method", "PromptTemplates.swift")
    if not os.path.exists(path):
        return None
    src = open(path, encoding="utf-8").read()
    m = re.search(r'static let v0 = #"""\n(.*?)\n( *)"""#', src, re.S)
    if not m:
        return None
    indent = len(m.group(2))
    return "\n".join(line[indent:] for line in m.group(1).split("\n"))


def byte_decoder():
    """GPT-2 byte-level alphabet: printable character -> byte."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


def context_text(raw: bytes) -> str:
    """NextTokenPrompt.contextText: drop a character cut at the left (<= 3 continuation bytes) and an
    incomplete final character."""
    start = 0
    while start < len(raw) and start < 3 and raw[start] & 0xC0 == 0x80:
        start += 1
    end = len(raw)
    lead = end - 1
    while lead >= start and lead > end - 4 and raw[lead] & 0xC0 == 0x80:
        lead -= 1
    if lead >= start:
        b = raw[lead]
        length = 1 if b < 0x80 else 2 if b & 0xE0 == 0xC0 else 3 if b & 0xF0 == 0xE0 else 4 if b & 0xF8 == 0xF0 else 1
        if end - lead < length:
            end = lead
    return raw[start:max(start, end)].decode("utf-8", errors="replace")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="HF model directory with tokenizer.json")
    ap.add_argument("--data", required=True, help="train.jsonl from rpt prepare")
    ap.add_argument("--order", default=None, help="completions.jsonl of the rpt run: use its contexts in its order")
    ap.add_argument("--contexts", type=int, default=2, help="contexts per step (rpt --batch-size)")
    ap.add_argument("--group-size", type=int, default=8)
    ap.add_argument("--max-completion-length", type=int, default=128)
    ap.add_argument("--max-prompt-tokens", type=int, default=1024, help="prompts must fit (no truncation)")
    ap.add_argument("--temperature", type=float, default=0.8)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--attn", default="sdpa", help="attn_implementation: sdpa (transformers' default) or eager")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bf16", action="store_true", help="GRPOConfig(bf16=True): bf16 autocast, fp32 master weights")
    ap.add_argument("--rpt", default=None, help="rpt binary: check that rpt's tokenizer gives the same prompt ids")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()

    import torch
    torch.set_num_threads(args.threads)
    import transformers
    import trl
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    B, G, T = args.contexts, args.group_size, args.max_completion_length
    swift_v0 = v0_from_swift_source()
    if swift_v0 is not None and swift_v0 != V0:
        sys.exit("bench_grpo_trl: template v0 differs from Sources/RPT/Method/PromptTemplates.swift")

    # Contexts, in the rpt run's order.
    records = [json.loads(line) for line in open(args.data, encoding="utf-8") if line.strip()]
    by_key = {(r["doc_id"], r["index"]): r for r in records}
    if args.order:
        rows = [json.loads(line) for line in open(args.order, encoding="utf-8") if line.strip()]
        chosen = []
        for s in range(1, args.steps + 1):
            step_rows = [r for r in rows if r["step"] == s]
            if len(step_rows) != B:
                sys.exit(f"bench_grpo_trl: {args.order} has {len(step_rows)} contexts for step {s}, expected {B} "
                         "(run rpt with completionsPerStep >= batch size)")
            chosen += [by_key[(r["doc_id"], r["index"])] for r in step_rows]
    else:
        if len(records) < B * args.steps:
            sys.exit("bench_grpo_trl: not enough positions")
        chosen = records[:B * args.steps]

    tok = AutoTokenizer.from_pretrained(args.model)
    vocab = tok.backend_tokenizer.get_vocab() if hasattr(tok, "backend_tokenizer") else tok.get_vocab()
    id_to_token = {i: t for t, i in vocab.items()}
    dec = byte_decoder()

    def token_bytes(i):
        return bytes(dec[c] for c in id_to_token[i])

    prompts, prompt_ids = [], []
    for r in chosen:
        text = V0.replace("{context}", context_text(b"".join(token_bytes(i) for i in r["context_ids"])))
        ids = tok(text)["input_ids"]
        if len(ids) > args.max_prompt_tokens:
            sys.exit(f"bench_grpo_trl: a prompt has {len(ids)} tokens > {args.max_prompt_tokens} (rpt would truncate it)")
        prompts.append(text)
        prompt_ids.append(ids)

    rpt_check = None
    if args.rpt:
        mismatches = 0
        for text, ids in zip(prompts, prompt_ids):
            out = subprocess.run([args.rpt, "tokenize", "--tokenizer", args.model], input=text.encode(),
                                 capture_output=True, check=True).stdout.decode()  # stdin: exact bytes
            ours = [int(x) for x in re.findall(r"-?\d+", out.strip().splitlines()[0])] if out.strip() else []
            mismatches += ours != ids
        rpt_check = {"prompts": len(prompts), "mismatches": mismatches}
        print(f"bench_grpo_trl: rpt tokenize vs transformers on {len(prompts)} prompts: {mismatches} mismatches",
              file=sys.stderr)
        if mismatches:
            sys.exit("bench_grpo_trl: prompt ids differ between rpt and transformers")

    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32, attn_implementation=args.attn)
    dataset = Dataset.from_list([{"prompt": p} for p in prompts])

    # The reward rpt computes through --reward-command (scripts/bench_grpo_reward.py): same definition, both sides.
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from bench_grpo_reward import reward

    def shared_reward(completions, **kwargs):
        return [reward(c) for c in completions]

    out_dir = tempfile.mkdtemp(prefix="trl-grpo-bench-")
    config = GRPOConfig(
        output_dir=out_dir, use_cpu=True, report_to="none", seed=args.seed, data_seed=args.seed,
        per_device_train_batch_size=B * G, gradient_accumulation_steps=1, steps_per_generation=1,
        num_generations=G, max_completion_length=T, temperature=args.temperature, top_p=1.0, top_k=0,
        beta=0.0, num_iterations=1, epsilon=0.2, loss_type="dapo", scale_rewards="group",
        learning_rate=1e-6, lr_scheduler_type="constant", warmup_steps=0, adam_beta1=0.9, adam_beta2=0.999,
        adam_epsilon=1e-8, weight_decay=0.01, max_grad_norm=0.2,
        max_steps=args.steps, logging_steps=1, save_strategy="no", shuffle_dataset=False,
        bf16=args.bf16, fp16=False, gradient_checkpointing=False, dataloader_num_workers=0, disable_tqdm=True,
        log_completions=False,
    )
    trainer = GRPOTrainer(model=model, reward_funcs=shared_reward, args=config, train_dataset=dataset,
                          processing_class=tok)

    cur = {}
    steps = []
    prompts_seen = []

    orig_gs = trainer._generate_and_score_completions
    orig_gen = trainer._generate

    def timed_gs(*a, **k):
        t0 = time.perf_counter()
        r = orig_gs(*a, **k)
        cur["rollout_s"] = time.perf_counter() - t0
        return r

    def timed_gen(*a, **k):
        t0 = time.perf_counter()
        r = orig_gen(*a, **k)
        cur["generate_s"] = time.perf_counter() - t0
        p_ids, c_ids = r[0], r[1]
        cur["generated_tokens"] = sum(len(c) for c in c_ids)
        cur["completion_lengths"] = sorted({len(c) for c in c_ids})
        cur["prompt_tokens"] = sum(len(p) for p in p_ids)
        prompts_seen.extend(list(p) for p in p_ids[::G])
        return r

    trainer._generate_and_score_completions = timed_gs
    trainer._generate = timed_gen

    class Timer(TrainerCallback):
        def on_step_begin(self, a, state, control, **kw):
            cur.clear()
            cur["t0"] = time.perf_counter()

        def on_step_end(self, a, state, control, **kw):
            step_s = time.perf_counter() - cur.pop("t0")
            rec = dict(cur, step=state.global_step, step_s=step_s, update_s=step_s - cur["rollout_s"])
            rec["rollout_tokens_per_s"] = rec["generated_tokens"] / rec["rollout_s"]
            steps.append(rec)
            print(f"trl step {state.global_step}: step {step_s:.2f} s, rollout {rec['rollout_s']:.2f} s "
                  f"(generate {rec['generate_s']:.2f} s, {rec['generated_tokens']} tokens), "
                  f"update {rec['update_s']:.2f} s", file=sys.stderr, flush=True)

    trainer.add_callback(Timer())
    try:
        trainer.train()
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)

    # Parity: TRL tokenized the same prompts to the same ids, in rpt's order.
    assert [list(p) for p in prompts_seen] == [list(p) for p in prompt_ids][:len(prompts_seen)], "prompt ids differ"
    measured = steps[args.warmup:]

    def mean(k):
        return statistics.mean(s[k] for s in measured)

    result = {
        "side": "trl", "bf16": args.bf16, "trl": trl.__version__, "transformers": transformers.__version__, "torch": torch.__version__,
        "threads": args.threads, "attn": args.attn, "contexts": B, "group_size": G, "max_completion_length": T,
        "temperature": args.temperature, "warmup_steps": args.warmup, "measured_steps": len(measured),
        "step_s": mean("step_s"), "rollout_s": mean("rollout_s"), "generate_s": mean("generate_s"),
        "update_s": mean("update_s"), "generated_tokens": mean("generated_tokens"),
        "rollout_tokens_per_s": mean("generated_tokens") / mean("rollout_s"),
        "update_tokens_per_s": (mean("prompt_tokens") + mean("generated_tokens")) / mean("update_s"),
        "prompt_tokens_per_context": [len(p) for p in prompt_ids], "rpt_tokenize_check": rpt_check,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,   # whole run, loading included
        "steps": steps,
    }
    print(json.dumps({k: v for k, v in result.items() if k != "steps"}))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
