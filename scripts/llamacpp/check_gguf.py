#!/usr/bin/env python3
"""Checks a GGUF written by `rpt export --to gguf` against `rpt` itself, with llama.cpp (llama-cpp-python) as the
independent engine: one model, one GGUF (the GGUF spec: github.com/ggml-org/ggml docs/gguf.md).

  (a) tokenization: llama.cpp's ids for each text equal `rpt tokenize`'s (no special tokens), and with llama.cpp's
      own special-token rule (the GGUF's add_bos_token) equal the ids `rpt score` feeds the model (BOS + text);
  (b) prompt log-probabilities: llama.cpp's logits for every position (logits_all, F32 KV cache), log-softmaxed in
      float64, against `rpt score`'s logprob per predicted token; max |difference| must be <= --tolerance;
  (c) greedy continuation: llama.cpp's argmax loop (stopping at its end-of-generation tokens) for --greedy tokens,
      decoded by `rpt tokenize --decode`, against `rpt generate --temperature 0`'s text; the agreement rate is the
      share of llama.cpp's tokens before the first divergence, with the top-1/top-2 logit margin where they part;
  (server) with --server URL: a running `python -m llama_cpp.server` on the same GGUF answers /v1/completions
      with echo + logprobs (prompt log-probabilities, against `rpt score`) and with temperature 0 (greedy text,
      against `rpt generate`), then --requests timed sequential completions give requests/s.

Prints one line per check and a final "N passed, M failed" line; exit status 1 when any check failed.
Usage: check_gguf.py --rpt RPT --gguf FILE --model MODEL [--tokenizer TOK] --tolerance T [--server URL]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import urllib.request

import numpy as np

TEXTS = [
    "To be, or not to be, that is the question:",
    "Once upon a time, there was a little girl named Lily. She loved to play outside.",
    'She said: "I\'m 42 years old!"\n\nThen   she  left...',
    "Tabs\tand\nnewlines\r\n and  double  spaces, caf\u00e9, na\u00efve, \u65e5\u672c, \U0001F642.",
    "The quick brown fox jumps over the lazy dog. 3.14159 and 1,000,000; x=y+1 (ok?)",
]
PROMPTS = ["To be, or not to be", "Once upon a time"]


class Checker:
    def __init__(self, args):
        self.args = args
        self.passed = 0
        self.failed = 0
        self.summary: dict = {"label": args.label, "gguf": args.gguf}

    def result(self, ok: bool, what: str) -> None:
        print(f"  {'ok  ' if ok else 'FAIL'} {what}")
        if ok:
            self.passed += 1
        else:
            self.failed += 1

    # rpt ------------------------------------------------------------------------------------------------------
    def rpt(self, *argv: str, stdin: str | None = None) -> str:
        res = subprocess.run([self.args.rpt, *argv], input=stdin, capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"rpt {' '.join(argv[:1])} failed ({res.returncode}): {res.stderr.strip()[-500:]}")
        return res.stdout

    def model_args(self) -> list[str]:
        out = ["--model", self.args.model]
        if self.args.tokenizer:
            out += ["--tokenizer", self.args.tokenizer]
        return out

    def tokenizer_arg(self) -> str:
        return self.args.tokenizer or self.args.model

    def rpt_tokenize(self, text: str) -> list[int]:
        return [int(x) for x in self.rpt("tokenize", "--tokenizer", self.tokenizer_arg(), "--text", text).split()]

    def rpt_decode(self, ids: list[int]) -> str:
        out = self.rpt("tokenize", "--tokenizer", self.tokenizer_arg(), "--decode", stdin=" ".join(map(str, ids)))
        return out[:-1] if out.endswith("\n") else out

    def rpt_score(self, text: str) -> list[dict]:
        return [json.loads(l) for l in self.rpt("score", *self.model_args(), "--text", text).splitlines() if l.strip()]

    def rpt_generate(self, prompt: str, n: int) -> str:
        out = self.rpt("generate", *self.model_args(), "--prompt", prompt, "--max-tokens", str(n), "--temperature", "0")
        return out[:-1] if out.endswith("\n") else out

    # llama.cpp ------------------------------------------------------------------------------------------------
    def load(self):
        import llama_cpp
        self.llama_cpp = llama_cpp
        # F32 KV cache: the default F16 cache alone moves log-probs by ~1e-3.
        self.llm = llama_cpp.Llama(model_path=self.args.gguf, logits_all=True, n_ctx=self.args.n_ctx, n_threads=self.args.threads,
                                   type_k=llama_cpp.GGML_TYPE_F32, type_v=llama_cpp.GGML_TYPE_F32, seed=0, verbose=False)

    def logprobs(self, ids: list[int]) -> np.ndarray:
        self.llm.reset()
        self.llm.eval(ids)
        logits = np.array(self.llm.scores[: len(ids)], dtype=np.float64)
        top = logits.max(axis=-1, keepdims=True)
        return logits - top - np.log(np.exp(logits - top).sum(axis=-1, keepdims=True))

    def greedy(self, ids: list[int], n: int) -> tuple[list[int], list[float]]:
        self.llm.reset()
        self.llm.eval(ids)
        out, margins = [], []
        vocab = self.llm._model.vocab
        for _ in range(n):
            logits = np.array(self.llm.scores[self.llm.n_tokens - 1], dtype=np.float64)
            order = np.argsort(-logits)
            tok = int(order[0])
            margins.append(float(logits[order[0]] - logits[order[1]]))
            if self.llama_cpp.llama_vocab_is_eog(vocab, tok):
                break
            out.append(tok)
            self.llm.eval([tok])
        return out, margins

    # checks ---------------------------------------------------------------------------------------------------
    def check_tokenization(self) -> None:
        same = 0
        for text in TEXTS:
            ours = self.rpt_tokenize(text)
            theirs = self.llm.tokenize(text.encode(), add_bos=False, special=False)
            if ours == theirs:
                same += 1
            else:
                print(f"    {text!r}\n      rpt       {ours}\n      llama.cpp {theirs}")
        self.summary["tokenization_agreement"] = f"{same}/{len(TEXTS)}"
        self.result(same == len(TEXTS), f"tokenization: {same}/{len(TEXTS)} texts give identical ids")

    def check_logprobs(self) -> None:
        worst, total, count, bos_ok = 0.0, 0.0, 0, True
        for text in TEXTS:
            scored = self.rpt_score(text)
            ids = self.llm.tokenize(text.encode(), special=False)          # the GGUF's add_bos_token decides BOS
            expected_tail = [s["id"] for s in scored]
            if ids[1:] != expected_tail:
                bos_ok = False
                print(f"    {text!r}: llama.cpp input {ids} vs rpt score's predicted ids {expected_tail}")
                continue
            lp = self.logprobs(ids)
            for s in scored:
                i = s["index"]
                d = abs(lp[i - 1, ids[i]] - s["logprob"])
                worst = max(worst, d)
                total += d
                count += 1
        mean = total / count if count else float("nan")
        self.summary["logprob_max_abs_diff"] = worst
        self.summary["logprob_mean_abs_diff"] = mean
        self.summary["logprob_positions"] = count
        self.result(bos_ok, "model input: llama.cpp's ids with its BOS rule equal `rpt score`'s")
        self.result(count > 0 and worst <= self.args.tolerance,
                    f"prompt log-probs: max |llama.cpp - rpt score| = {worst:.3g} (mean {mean:.2g}) over {count} positions "
                    f"(tolerance {self.args.tolerance:g})")

    def check_greedy(self) -> None:
        agree_total, gen_total, all_same = 0, 0, True
        for prompt in PROMPTS:
            ids = self.llm.tokenize(prompt.encode(), special=False)
            gen, margins = self.greedy(ids, self.args.greedy)
            ours = self.rpt_generate(prompt, self.args.greedy)
            head = self.rpt_decode(ids)
            theirs = self.rpt_decode(ids + gen)[len(head):] if self.rpt_decode(ids + gen).startswith(head) else self.rpt_decode(gen)
            k = 0
            while k < len(gen):
                full = self.rpt_decode(ids + gen[: k + 1])
                if not (full.startswith(head) and ours.startswith(full[len(head):].rstrip("\ufffd"))):
                    break
                k += 1
            agree_total += k
            gen_total += len(gen)
            if theirs != ours:
                all_same = False
                margin = margins[k] if k < len(margins) else float("nan")
                print(f"    {prompt!r}: first divergence at token {k} of {len(gen)} (llama.cpp top-1/top-2 logit margin there {margin:.3g})\n"
                      f"      rpt       {ours!r}\n      llama.cpp {theirs!r}")
        rate = agree_total / gen_total if gen_total else 1.0
        self.summary["greedy_agreement"] = rate
        self.summary["greedy_identical"] = all_same
        ok = all_same or rate >= self.args.min_greedy_agreement
        self.result(ok, f"greedy: {len(PROMPTS)} prompts x {self.args.greedy} tokens, {'identical text' if all_same else 'differs'}; "
                        f"agreement {rate:.1%} ({agree_total}/{gen_total} tokens)")

    def check_server(self) -> None:
        url = self.args.server.rstrip("/") + "/v1/completions"

        def post(body: dict) -> dict:
            req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=120) as r:
                return json.load(r)

        # Prompt log-probs: echo the prompt with its token log-probs. The echo leaves BOS out and gives its first
        # token no log-prob, so with BOS, echoed position j is rpt's index j + 1.
        worst, count = 0.0, 0
        for text in TEXTS[:3]:
            scored = self.rpt_score(text)
            bos = len(self.llm.tokenize(text.encode(), special=False)) - len(self.llm.tokenize(text.encode(), add_bos=False, special=False))
            r = post({"prompt": text, "max_tokens": 1, "echo": True, "logprobs": 1, "temperature": 0, "repeat_penalty": 1.0})
            lp = r["choices"][0]["logprobs"]["token_logprobs"]
            for s in scored:
                j = s["index"] - bos
                if 0 <= j < len(lp) and lp[j] is not None:
                    worst = max(worst, abs(lp[j] - s["logprob"]))
                    count += 1
        self.summary["server_logprob_max_abs_diff"] = worst
        self.result(count > 0 and worst <= self.args.server_tolerance,
                    f"server /v1/completions echo logprobs: max |diff| = {worst:.3g} over {count} positions (tolerance {self.args.server_tolerance:g})")
        # Greedy text.
        same = 0
        for prompt in PROMPTS:
            r = post({"prompt": prompt, "max_tokens": self.args.greedy, "temperature": 0, "repeat_penalty": 1.0,
                      "top_k": 1, "top_p": 1.0, "min_p": 0.0})
            text = r["choices"][0]["text"]
            ours = self.rpt_generate(prompt, self.args.greedy)
            if text == ours:
                same += 1
            else:
                print(f"    server {prompt!r}: {text!r}\n      rpt {ours!r}")
        self.summary["server_greedy_identical"] = f"{same}/{len(PROMPTS)}"
        self.result(same == len(PROMPTS) or self.args.min_greedy_agreement < 1,
                    f"server greedy completions: {same}/{len(PROMPTS)} identical to `rpt generate`")
        # Throughput: sequential requests after one warm-up (the machine's other load shows in this number).
        post({"prompt": PROMPTS[0], "max_tokens": self.args.greedy, "temperature": 0, "repeat_penalty": 1.0})
        start, tokens = time.perf_counter(), 0
        for i in range(self.args.requests):
            r = post({"prompt": PROMPTS[i % len(PROMPTS)], "max_tokens": self.args.greedy, "temperature": 0, "repeat_penalty": 1.0})
            tokens += r["usage"]["completion_tokens"]
        elapsed = time.perf_counter() - start
        self.summary["server_requests_per_s"] = self.args.requests / elapsed
        self.summary["server_tokens_per_s"] = tokens / elapsed
        self.result(True, f"server throughput: {self.args.requests} sequential requests in {elapsed:.2f} s = "
                          f"{self.args.requests / elapsed:.1f} requests/s, {tokens / elapsed:.0f} generated tokens/s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rpt", required=True)
    ap.add_argument("--gguf", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--tokenizer")
    ap.add_argument("--label", default="")
    ap.add_argument("--tolerance", type=float, required=True, help="max |logprob difference| allowed")
    ap.add_argument("--server-tolerance", type=float, help="the same for the server (default: --tolerance)")
    ap.add_argument("--greedy", type=int, default=32)
    ap.add_argument("--min-greedy-agreement", type=float, default=1.0,
                    help="pass greedy when the texts differ but this share of tokens agrees (near ties)")
    ap.add_argument("--server", help="base URL of a running llama_cpp.server on the same GGUF")
    ap.add_argument("--requests", type=int, default=20)
    ap.add_argument("--n-ctx", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--summary", help="append a JSON summary line to this file")
    args = ap.parse_args()
    if args.server_tolerance is None:
        args.server_tolerance = args.tolerance
    c = Checker(args)
    print(f"{args.label or args.gguf}:")
    try:
        c.load()
        c.check_tokenization()
        c.check_logprobs()
        c.check_greedy()
        if args.server:
            c.check_server()
    except Exception as e:  # a crash is a failure, reported as such
        c.result(False, f"error: {type(e).__name__}: {e}")
    if args.summary:
        with open(args.summary, "a", encoding="utf-8") as f:
            f.write(json.dumps(c.summary) + "\n")
    print(f"{c.passed} passed, {c.failed} failed")
    sys.exit(1 if c.failed else 0)


if __name__ == "__main__":
    main()
