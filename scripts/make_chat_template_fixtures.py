#!/usr/bin/env python3
"""Writes Tests/Fixtures/chat_templates/renderings.json: transformers' own `apply_chat_template` renderings of
real Hugging Face chat templates, which the Swift Jinja interpreter (Sources/RPT/Tokenizers/Jinja*.swift) must
reproduce byte for byte (Tests/RPTTests/JinjaChatTemplateTests.swift). CI reads the committed JSON; Python is
needed only to regenerate it.

Templates (each a tokenizer_config.json in this repository; see Tests/Fixtures/chat_templates/SOURCE.md):
  llama-3.1-instruct, llama-3.2-instruct, qwen2.5-instruct, qwen3, deepseek-r1-distill
      Tests/Fixtures/chat_templates/<name>/tokenizer_config.json
  qwen3-original
      Assets/qwen2-tokenizer/tokenizer_config.json (the first Qwen3 release of the template)

Every conversation is rendered with add_generation_prompt False and True, `tokenize=False`, no tools. Llama 3.2
calls `strftime_now("%d %b %Y")`; the clock is frozen at FROZEN_DATE so the renderings are reproducible (the
Swift test injects the same date).

The tokenizer is a `PreTrainedTokenizerFast` over a one-word vocabulary carrying the config's special tokens and
chat template: `apply_chat_template(tokenize=False)` renders with `{**special_tokens_map, **kwargs}` and never
touches the vocabulary, so the real tokenizer.json is not needed.

Usage: python3 scripts/make_chat_template_fixtures.py   (needs transformers>=4.45 and jinja2>=3.1; no torch)
"""

import datetime as _dt
import json
import os
import sys

import transformers
import transformers.utils.chat_template_utils as ctu
from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from transformers import PreTrainedTokenizerFast

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
OUT_DIR = os.path.join(ROOT, "Tests", "Fixtures", "chat_templates")

FROZEN_DATE = _dt.datetime(2025, 3, 7, 12, 0, 0)


class _FrozenDateTime(_dt.datetime):
    @classmethod
    def now(cls, tz=None):
        return FROZEN_DATE


# strftime_now() in transformers' template environment calls `datetime.now()` of this module.
ctu.datetime = _FrozenDateTime

TEMPLATES = [
    ("llama-3.1-instruct", "Tests/Fixtures/chat_templates/llama-3.1-instruct/tokenizer_config.json"),
    ("llama-3.2-instruct", "Tests/Fixtures/chat_templates/llama-3.2-instruct/tokenizer_config.json"),
    ("qwen2.5-instruct", "Tests/Fixtures/chat_templates/qwen2.5-instruct/tokenizer_config.json"),
    ("qwen3", "Tests/Fixtures/chat_templates/qwen3/tokenizer_config.json"),
    ("qwen3-original", "Assets/qwen2-tokenizer/tokenizer_config.json"),
    ("deepseek-r1-distill", "Tests/Fixtures/chat_templates/deepseek-r1-distill/tokenizer_config.json"),
]


def m(role, content):
    return {"role": role, "content": content}


CONVERSATIONS = [
    ("system+user", [m("system", "You are a concise assistant."), m("user", "What is 2 + 2?")]),
    ("user only", [m("user", "Name a prime number.")]),
    ("multi-turn", [
        m("system", "Answer briefly."),
        m("user", "Hi!"),
        m("assistant", "Hello. How can I help?"),
        m("user", "Tell me a joke."),
    ]),
    ("ends with assistant", [
        m("user", "Capital of France?"),
        m("assistant", "Paris."),
    ]),
    ("three exchanges", [
        m("user", "One?"), m("assistant", "1"),
        m("user", "Two?"), m("assistant", "2"),
        m("user", "Three?"), m("assistant", "3"),
    ]),
    ("think content", [
        m("user", "Is 91 prime?"),
        m("assistant", "<think>\n91 = 7 * 13.\n</think>\n\nNo, 91 = 7 × 13."),
        m("user", "And 97?"),
        m("assistant", "<think>No divisor up to 9.</think>Yes, 97 is prime."),
    ]),
    ("think in last turn", [
        m("system", "Reason first."),
        m("user", "2^10?"),
        m("assistant", "<think>\n2^5 = 32, squared is 1024.\n</think>\n\n1024"),
    ]),
    ("unicode", [
        m("system", "Réponds en français — s'il te plaît."),
        m("user", "Grüße 👋🏽 aus 日本, e\u0301 vs \u00e9, tab\there, \"quotes\" and 'apostrophes' \\ backslash"),
        m("assistant", "Ça va ! 🎉\u200d <｜end▁of▁sentence｜> is just text here"),
        m("user", "Ω ≈ ∑ 🚀"),
    ]),
    ("empty system", [m("system", ""), m("user", "Hello")]),
    ("padded whitespace", [
        m("system", "  leading and trailing spaces  \n"),
        m("user", "\n\tindented question?  \n"),
        m("assistant", "  spaced answer \n\n"),
        m("user", "ok"),
    ]),
    ("empty contents", [m("user", ""), m("assistant", ""), m("user", " ")]),
    ("tool result", [
        m("user", "Weather in Paris?"),
        m("assistant", "Let me check."),
        m("tool", "{\"temperature\": 21, \"unit\": \"C\"}"),
        m("assistant", "It is 21 °C."),
    ]),
    ("system only", [m("system", "Only a system turn.")]),
    ("second system", [
        m("system", "First system."),
        m("user", "Hi"),
        m("system", "Second system mid-conversation."),
        m("user", "Still there?"),
    ]),
]

# Extra template variables for some templates: Qwen3's enable_thinking switch.
EXTRA_KWARGS = {
    "qwen3": [{}, {"enable_thinking": False}],
    "qwen3-original": [{}, {"enable_thinking": False}],
}


def special_token(value):
    if isinstance(value, dict):
        return value.get("content")
    return value


def tokenizer_for(config):
    kwargs = {}
    for key in ("bos_token", "eos_token", "unk_token", "pad_token", "sep_token", "cls_token", "mask_token"):
        v = special_token(config.get(key))
        if v is not None:
            kwargs[key] = v
    vocab = {"[X]": 0}
    for v in kwargs.values():
        vocab.setdefault(v, len(vocab))
    backend = Tokenizer(WordLevel(vocab, unk_token="[X]"))
    return PreTrainedTokenizerFast(tokenizer_object=backend, chat_template=config["chat_template"], **kwargs)


def main():
    templates = {}
    cases = []
    for name, rel in TEMPLATES:
        with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
            config = json.load(f)
        tok = tokenizer_for(config)
        templates[name] = {"config": rel, "special_tokens": tok.special_tokens_map}
        for kwargs in EXTRA_KWARGS.get(name, [{}]):
            for label, messages in CONVERSATIONS:
                for gen in (False, True):
                    try:
                        text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=gen, **kwargs)
                        error = None
                    except Exception as e:  # a template's raise_exception, recorded as an expected error
                        text, error = None, f"{type(e).__name__}: {e}"
                    case = {"template": name, "conversation": label, "messages": messages,
                            "add_generation_prompt": gen, "kwargs": kwargs}
                    if error is None:
                        case["expected"] = text
                    else:
                        case["error"] = error
                    cases.append(case)
    out = {
        "generator": "scripts/make_chat_template_fixtures.py: transformers "
                     f"{transformers.__version__} apply_chat_template(tokenize=False), jinja2 "
                     f"{__import__('jinja2').__version__}, python {sys.version.split()[0]}",
        "date": FROZEN_DATE.strftime("%Y-%m-%d"),
        "templates": templates,
        "cases": cases,
    }
    path = os.path.join(OUT_DIR, "renderings.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    errors = sum(1 for c in cases if "error" in c)
    print(f"wrote {path}: {len(cases)} renderings ({errors} expected errors) of {len(templates)} templates")


if __name__ == "__main__":
    main()
