#!/usr/bin/env python3
"""Writes the tokenizer reference fixtures under Tests/Fixtures/tokenizers/ (and Assets/gpt2-tokenizer/tokenizer.json).

The reference is Hugging Face `tokenizers` (and `transformers` for chat templates), never the Swift code.
Run from the repository root:

    pip install tokenizers transformers      # tokenizers 0.23.3 / transformers 5.x were used
    python scripts/make_tokenizer_fixtures.py

What it writes:
  Assets/gpt2-tokenizer/tokenizer.json      GPT-2 as an HF tokenizer.json, built from vocab.json + merges.txt with `tokenizers`
  Tests/Fixtures/tokenizers/qwen2.json      ids / decode / token-bytes cases for Assets/qwen2-tokenizer/tokenizer.json
  Tests/Fixtures/tokenizers/gpt2.json       the same for Assets/gpt2-tokenizer/tokenizer.json
  Tests/Fixtures/tokenizers/stories260K-normalizer/tokenizer.json   tok512.bin as an HF Llama-style BPE (Prepend+Replace normalizer)
  Tests/Fixtures/tokenizers/stories260K-metaspace/tokenizer.json    the same vocab/merges with a Metaspace pre-tokenizer
  Tests/Fixtures/tokenizers/stories260K.json ids from `tokenizers` for both, plus a Python port of llama2.c `encode`
  Tests/Fixtures/tokenizers/qwen2-llama3-pattern.json  the Qwen2 vocabulary with Llama 3's \p{N}{1,3} split regex
  Tests/Fixtures/tokenizers/added-tokens/tokenizer.json  a tiny byte-level BPE trained here, with lstrip/rstrip/
                                            single_word/normalized added tokens; cases in added-tokens.json
  Tests/Fixtures/tokenizers/chat_templates.json  renderings from transformers' apply_chat_template

Everything is deterministic (fixed seeds); rerunning gives identical files.
"""
import gzip
import json
import os
import random
import struct
import sys

import tokenizers
from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCES = os.path.join(ROOT, "Tests", "Fixtures", "sources")  # source texts, with SOURCE.md
STORIES = os.path.join(ROOT, "Assets", "tinystories-sample", "TinyStories-valid-sample.txt")
OUT = os.path.join(ROOT, "Tests", "Fixtures", "tokenizers")


def path(*p):
    return os.path.join(ROOT, *p)


def write_json(p, obj):
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print("wrote", os.path.relpath(p, ROOT), os.path.getsize(p), "bytes")


def bytes_to_unicode():
    """GPT-2's byte <-> printable-character table (openai/gpt-2 encoder.py)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


BYTE_DECODER = {c: b for b, c in bytes_to_unicode().items()}


# --------------------------------------------------------------------------------------------
# Test strings
# --------------------------------------------------------------------------------------------

HANDWRITTEN = [
    "",
    " ",
    "  ",
    "   ",
    "\t",
    "\n",
    "\n\n",
    "\r\n",
    "\r\n\r\n",
    "\r",
    "Hello world",
    "Hello, world!",
    " Hello world",
    "Hello world ",
    "Hello world   ",
    "Hello  world",
    "Hello   world",
    "Hello\tworld",
    "Hello \t world",
    "Hello\n\nworld",
    "Hello \n world",
    "Hello  \n\n  world  ",
    "line one\r\nline two\r\n",
    "trailing newline\n",
    "  leading spaces",
    "\t\ttabs\tand spaces  \t mixed \t",
    "a \n\t b",
    " \n \n \n",
    "x\n \n y",
    "1234567890",
    "3.14159265358979323846",
    "The year 2024 had 366 days.",
    "12,345,678.90 and -42 and +7e10",
    "phone: 555-0123, ext. 99",
    "1st 2nd 3rd 4th 21st",
    "I'm you're he's she'll we'd they've it's",
    "I'M YOU'RE HE'S SHE'LL WE'D THEY'VE IT'S",
    "I'm You'Re He'S She'Ll We'D They'vE",
    "don't won't can't shouldn't",
    "DON'T WON'T CAN'T",
    "'s 't 're 've 'm 'll 'd",
    "'S 'T 'RE 'VE 'M 'LL 'D",
    "x'sy x'Sy x'LLy",
    "rock 'n' roll",
    "'quoted' and \"double quoted\"",
    "ſ 'ſ x'ſ",
    "中文测试",
    "你好，世界！",
    "我爱北京天安门。",
    "日本語のテキストです。",
    "ひらがな カタカナ 漢字",
    "한국어 텍스트입니다",
    "안녕하세요 세계",
    "مرحبا بالعالم",
    "النص العربي ١٢٣",
    "שלום עולם",
    "Привет, мир!",
    "Ελληνικά κείμενα",
    "हिन्दी पाठ",
    "ภาษาไทย",
    "emoji 😀",
    "😀😃😄😁",
    "👍🏽 thumbs up",
    "👨‍👩‍👧‍👦 family",
    "🏳️‍🌈 flag",
    "🇺🇸🇬🇧🇯🇵",
    "❤️ love ❤",
    "café",
    "cafe\u0301",
    "e\u0301",
    "\u0301",
    "Ame\u0301lie a\u0300 la plage",
    "n\u0303o\u0308",
    "ÀÁÂÃÄÅ àáâãäå",
    "Ærøskøbing Ångström",
    "naïve façade jalapeño",
    "Straße",
    "ﬁ ﬂ ﬀ",
    "Ⅻ ² ½ ¾",
    "$\\frac{a}{b}$",
    "$$\\int_0^\\infty e^{-x^2}\\,dx = \\frac{\\sqrt{\\pi}}{2}$$",
    "\\begin{align} x &= y + z \\\\ y &= 2 \\end{align}",
    "Let $f(x) = x^2 + 3x - 4$. Find $f'(2)$.",
    "\\boxed{42}",
    "α + β = γ, ∑_{i=1}^{n} i = n(n+1)/2",
    "x ≤ y ≥ z ≠ w ≈ v",
    "def foo(x):\n    return x + 1\n",
    "def foo(x):\n\tif x:\n\t\treturn 1\n\treturn 0\n",
    "class A:\n    def __init__(self):\n        self.x = [1, 2, 3]\n\n\n",
    "for (int i = 0; i < n; i++) {\n    sum += a[i];\n}",
    "if (a && b || !c) { return; }",
    "    indented with four spaces",
    "        eight spaces",
    "x = {'a': 1, \"b\": [2, 3]}",
    "#include <stdio.h>\nint main() { printf(\"hi\\n\"); }",
    "https://www.example.com/path/to/page?query=1&x=y#frag",
    "http://localhost:8080/api/v1/users",
    "email@example.com",
    "C:\\Users\\name\\file.txt",
    "<|endoftext|>",
    "Hello<|endoftext|>world",
    "Hello <|endoftext|> world",
    "<|endoftext|><|endoftext|>",
    "<|im_start|>user\nhi<|im_end|>",
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
    "<think>\nreasoning\n</think>\n\nanswer",
    "<|im_start|",
    "<|endoftext",
    "text <|fim_prefix|>code<|fim_suffix|>more<|fim_middle|>",
    "<tool_call>{\"name\": \"f\"}</tool_call>",
    "<|im_end|>\n",
    "...!!!???",
    "--- *** ___ ===",
    "a.b,c;d:e!f?g",
    "(parenthetical) [bracketed] {braced}",
    "!@#$%^&*()_+-=[]{}|;':\",./<>?`~",
    " ! ",
    "  !!  ",
    "end.\n",
    "end.\r\n",
    "end.\n\n\n",
    "end. \n",
    "...\n\n",
    "a\u00a0b",
    "a\u00a0\u00a0b",
    "a\u3000b\u3000\u3000c",
    "a\u2028b",
    "a\u0085b",
    "a\u200bb",
    "a\ufeffb",
    "zero\u200dwidth\u200cjoiners",
    "tab\tseparated\tvalues\t1\t2",
    "MiXeD CaSe WoRdS",
    "ALLCAPS SENTENCE HERE",
    "snake_case_identifier and camelCaseIdentifier",
    "Mr. O'Neil's dog's bone",
    "The quick brown fox jumps over the lazy dog.",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "a" * 50,
    "ab" * 40,
    " " * 20 + "x",
    "\n" * 10,
    "9" * 40,
    "Ünïcödé ŧëxŧ ŵïŧĥ ďïäçŗïŧïçš",
    "Ǆ ǅ ǆ ǈ",
    "\u0000 nul",
    "\x01\x02\x03 control",
    "mixed 中文 and English 123 😀!",
    "price: $100.00 (€85, £75, ¥11000)",
    "100% sure; 50/50 chance",
    "🙂🙃 x",
    "\U0001F9D1\U0001F3FB\u200d\U0001F4BB coder",
    "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３",
    "ｱｲｳｴｵ halfwidth",
    "ａ'ｓ 'ｓ",
    "Test\u0345",
    # canonically equivalent spellings (NFC must compose exactly as Rust's unicode-normalization does)
    "\u1100\u1161\u11a8 jamo",
    "\uac00\u11a8 LV+T",
    "\u212b \u00c5 A\u030a",
    "\u0340\u0341 tone marks",
    "\u0958\u0959 devanagari",
    "K\u212a kelvin",
]


def random_data_strings(rng):
    out = []
    with gzip.open(os.path.join(SOURCES, "wikitext-2-test.txt.gz"), "rt", encoding="utf-8") as f:
        lines = [l for l in f.read().split("\n") if l.strip()]
    for _ in range(60):
        out.append(rng.choice(lines) + ("\n" if rng.random() < 0.5 else ""))
    # a few long, multi-line wikitext passages
    for _ in range(3):
        i = rng.randrange(len(lines) - 8)
        out.append("\n".join(lines[i:i + 8]))
    with gzip.open(os.path.join(SOURCES, "omni-math-rule-test.jsonl.gz"), "rt", encoding="utf-8") as f:
        rows = [json.loads(l) for l in f if l.strip()]
    for _ in range(60):
        r = rng.choice(rows)
        field = rng.choice(["problem", "solution", "answer"])
        text = r.get(field) or r["problem"]
        if len(text) > 600:
            start = rng.randrange(len(text) - 500)
            text = text[start:start + rng.randrange(100, 500)]
        out.append(text)
    return out


FUZZ_POOL = [
    " ", " ", " ", "  ", "   ", "\t", "\n", "\n", "\r\n", "\r", " \n", "\n ", "\u00a0", "\u3000", "\u2028", "\u0085",
    "\u200b", "\u200d", "\ufeff", "a", "b", "z", "A", "Z", "the", "The", " the", "hello", "é", "e\u0301", "ß", "ſ",
    "'", "'s", "'S", "'ll", "'LL", "'Re", "'d", "'t", "'m", "'ve", "0", "1", "7", "42", "2024", "١٢٣", "²", "Ⅻ", "½",
    ".", ",", ";", ":", "!", "?", "-", "(", ")", "[", "]", "{", "}", "\"", "`", "~", "@", "#", "$", "%", "^", "&", "*",
    "_", "+", "=", "<", ">", "/", "\\", "|", "...", "中", "文", "日本", "語", "한", "국", "ㅎ", "ｱ", "Ｆ", "😀", "👍🏽",
    "👨‍👩‍👧", "🇺🇸", "\u0300", "\u0301", "🙂", "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "α", "∑", "≤",
]


def fuzz_strings(rng, n):
    out = []
    for _ in range(n):
        k = rng.randrange(1, 40)
        out.append("".join(rng.choice(FUZZ_POOL) for _ in range(k)))
    return out


UNICODE_RANGES = [(0x20, 0x7E)] * 6 + [
    (0xA0, 0x24F), (0x300, 0x36F), (0x370, 0x3FF), (0x400, 0x4FF), (0x590, 0x6FF), (0x900, 0x97F), (0xE00, 0xE7F),
    (0x1100, 0x11FF), (0x2000, 0x206F), (0x2100, 0x214F), (0x3000, 0x30FF), (0x4E00, 0x4EFF), (0xAC00, 0xACFF),
    (0xFF00, 0xFFEF), (0x1F300, 0x1F64F), (0x1F900, 0x1F9FF), (0x1D400, 0x1D4FF), (0xE000, 0xE00F), (0xFE00, 0xFE0F),
    (0x10000, 0x1007F), (0xE0020, 0xE007F), (0x0, 0x1F), (0x80, 0x9F),
]


def unicode_fuzz_strings(rng, n):
    """Random code points from many blocks (marks, jamo, compatibility characters, astral planes) mixed with
    the fuzz pool: the strings where normalization and \\p{L}/\\p{N}/\\s tables disagree if anything does."""
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randrange(1, 30)):
            if rng.random() < 0.3:
                parts.append(rng.choice(FUZZ_POOL))
            else:
                lo, hi = rng.choice(UNICODE_RANGES)
                parts.append(chr(rng.randint(lo, hi)))
        out.append("".join(parts))
    return out


def all_strings():
    rng = random.Random(20250608)
    strings = list(HANDWRITTEN) + random_data_strings(rng) + fuzz_strings(rng, 80) + unicode_fuzz_strings(rng, 80)
    seen, uniq = set(), []
    for s in strings:
        if s not in seen:
            seen.add(s)
            uniq.append(s)
    return uniq


# --------------------------------------------------------------------------------------------
# Byte-level BPE fixtures (Qwen2, GPT-2)
# --------------------------------------------------------------------------------------------

def build_gpt2_tokenizer_json():
    d = path("Assets", "gpt2-tokenizer")
    bpe = models.BPE.from_file(os.path.join(d, "vocab.json"), os.path.join(d, "merges.txt"))
    tok = Tokenizer(bpe)
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken("<|endoftext|>", special=True, normalized=False)])
    out = os.path.join(d, "tokenizer.json")
    tok.save(out)
    print("wrote", os.path.relpath(out, ROOT), os.path.getsize(out), "bytes")
    return out


def token_bytes(tok, i):
    s = tok.id_to_token(i)
    if all(c in BYTE_DECODER for c in s):
        return list(bytes(BYTE_DECODER[c] for c in s))
    return list(s.encode("utf-8"))


def byte_level_fixture(name, tok_path, strings, rng):
    tok = Tokenizer.from_file(tok_path)
    cases = [{"text": s, "ids": tok.encode(s, add_special_tokens=False).ids} for s in strings]
    # Decode: whole encodings, prefixes that cut multi-byte characters, and a few hand-picked id lists.
    decode = []
    for s in ["héllo 世界 😀", "👨‍👩‍👧 family", "日本語のテキスト", "café <|endoftext|> ok", "<|im_start|>user\nhi<|im_end|>"]:
        ids = tok.encode(s, add_special_tokens=False).ids
        for cut in sorted({len(ids), max(1, len(ids) - 1), max(1, len(ids) // 2), 1}):
            decode.append({"ids": ids[:cut], "text": tok.decode(ids[:cut], skip_special_tokens=False)})
    vocab = tok.get_vocab()
    # lone bytes that are not valid UTF-8 on their own: 0xC3 ("Ã"), 0xE4 ("ä"), 0x80 ("Ģ"), 0xFF ("ÿ")
    lone = [vocab[c] for c in ["Ã", "ä", "Ģ", "ÿ", "¸", "Ń"] if c in vocab]
    for ids in [lone, lone[:2] + [vocab["a"]], [vocab["ä"], vocab["¸"], vocab["Ń"]], [vocab["ä"], vocab["¸"]]]:
        decode.append({"ids": ids, "text": tok.decode(ids, skip_special_tokens=False)})
    for _ in range(10):
        ids = [rng.randrange(tok.get_vocab_size()) for _ in range(rng.randrange(1, 12))]
        decode.append({"ids": ids, "text": tok.decode(ids, skip_special_tokens=False)})
    # Token bytes: ids whose bytes are not valid UTF-8 on their own, plus ordinary ones and specials.
    tb_ids = []
    for c in cases:
        for i in c["ids"]:
            b = bytes(token_bytes(tok, i))
            try:
                b.decode("utf-8")
            except UnicodeDecodeError:
                if i not in tb_ids:
                    tb_ids.append(i)
    tb_ids = tb_ids[:40] + lone + [vocab["Ġthe"], vocab["Ġ"], vocab["Ċ"], vocab["ĉ"]]
    tb_ids += [t.content and tok.token_to_id(t.content) for t in tok.get_added_tokens_decoder().values()][:4]
    token_bytes_cases = [{"id": i, "bytes": token_bytes(tok, i)} for i in tb_ids]
    write_json(os.path.join(OUT, name + ".json"), {
        "tokenizer": os.path.relpath(tok_path, ROOT),
        "generator": f"tokenizers {tokenizers.__version__}: Tokenizer.from_file(...).encode(text, add_special_tokens=False).ids; "
                     "decode(ids, skip_special_tokens=False); token bytes = GPT-2 byte decoder applied to id_to_token",
        "vocab_size": tok.get_vocab_size(),
        "cases": cases,
        "decode": decode,
        "token_bytes": token_bytes_cases,
    })
    return len(cases)


def llama3_pattern_fixture(strings):
    """The Qwen2 vocabulary with the Llama 3 split regex (\\p{N}{1,3}); the Swift test makes the same substitution."""
    with open(path("Assets", "qwen2-tokenizer", "tokenizer.json"), encoding="utf-8") as f:
        d = json.load(f)
    split = d["pre_tokenizer"]["pretokenizers"][0]
    qwen_regex = split["pattern"]["Regex"]
    split["pattern"]["Regex"] = qwen_regex.replace("\\p{N}|", "\\p{N}{1,3}|")
    assert split["pattern"]["Regex"] != qwen_regex
    tok = Tokenizer.from_str(json.dumps(d))
    picked = [s for s in strings if any(c.isdigit() for c in s)][:80] + strings[:40]
    cases = [{"text": s, "ids": tok.encode(s, add_special_tokens=False).ids} for s in picked]
    write_json(os.path.join(OUT, "qwen2-llama3-pattern.json"), {
        "tokenizer": "Assets/qwen2-tokenizer/tokenizer.json with the Split regex's \\p{N} replaced by \\p{N}{1,3}",
        "regex": split["pattern"]["Regex"],
        "generator": f"tokenizers {tokenizers.__version__}",
        "cases": cases,
    })
    return len(cases)


def added_tokens_fixture():
    """A tiny byte-level BPE trained here (add_prefix_space=True, NFC) with added tokens that use lstrip, rstrip,
    single_word and normalized, to check added-token matching."""
    from tokenizers import trainers
    with open(STORIES, encoding="utf-8") as f:
        corpus = f.read().split("\n")
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(corpus, trainer=trainer)
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, special=True, normalized=False),
                            AddedToken("[END]", rstrip=True, special=True, normalized=False)])
    tok.add_tokens([AddedToken("word", single_word=True, normalized=True),
                    AddedToken("caf\u00e9", normalized=True),
                    AddedToken("<x>", lstrip=True, rstrip=True, normalized=False)])
    p = os.path.join(OUT, "added-tokens", "tokenizer.json")
    os.makedirs(os.path.dirname(p), exist_ok=True)
    tok.save(p)
    print("wrote", os.path.relpath(p, ROOT), os.path.getsize(p), "bytes")
    strings = [
        "", "hello world", "Hello world", " leading", "a <mask> b", "a    <mask> b", "<mask>", "  <mask>", "x<mask>y",
        "end [END]   next", "[END]", "[END]\n\nnext", "a word here", "a words here", "sword", "word", "wordy word",
        "_word", "word_", "é word é", "café au lait", "cafe\u0301 au lait", "CAFÉ", "a <x> b", "a   <x>   b",
        "<x><x>", "<mask><mask>", "  [END]  <mask>  ", "word<mask>word", "un café", "x\u00a0<mask>",
        "Once upon a time there was a word.", "tab\t<mask>\ttab", "new\n<x>\nline", "😀 word 😀",
    ]
    cases = [{"text": s, "ids": tok.encode(s, add_special_tokens=False).ids,
              "decoded": tok.decode(tok.encode(s, add_special_tokens=False).ids, skip_special_tokens=False)}
             for s in strings]
    write_json(os.path.join(OUT, "added-tokens.json"), {
        "tokenizer": "Tests/Fixtures/tokenizers/added-tokens/tokenizer.json",
        "generator": f"tokenizers {tokenizers.__version__}",
        "cases": cases,
    })
    return len(cases)


# --------------------------------------------------------------------------------------------
# stories260K: llama2.c tok512.bin and its HF tokenizer.json equivalent
# --------------------------------------------------------------------------------------------

def read_llama2c_tokenizer(p):
    data = open(p, "rb").read()
    (max_len,) = struct.unpack_from("<i", data, 0)
    off, vocab, scores = 4, [], []
    while off < len(data):
        score, n = struct.unpack_from("<fi", data, off)
        off += 8
        vocab.append(data[off:off + n])
        scores.append(score)
        off += n
    return max_len, vocab, scores


def llama2c_encode(vocab, scores, text):
    """A line-by-line Python port of karpathy/llama2.c run.c `encode` (bos=0, eos=0)."""
    lookup = {}
    for i, v in enumerate(vocab):
        lookup.setdefault(v, i)
    tokens = []
    raw = text.encode("utf-8")
    if raw:
        tokens.append(lookup[b" "])
    i = 0
    while i < len(raw):
        j = i + 1
        while j < len(raw) and (raw[j] & 0xC0) == 0x80 and j - i < 4:
            j += 1
        cp = raw[i:j]
        if cp in lookup:
            tokens.append(lookup[cp])
        else:
            tokens.extend(b + 3 for b in cp)
        i = j
    while True:
        best_score, best_id, best_idx = -1e10, -1, -1
        for k in range(len(tokens) - 1):
            idx = lookup.get(vocab[tokens[k]] + vocab[tokens[k + 1]], -1)
            if idx != -1 and scores[idx] > best_score:
                best_score, best_id, best_idx = scores[idx], idx, k
        if best_idx == -1:
            break
        tokens[best_idx:best_idx + 2] = [best_id]
    return tokens


def build_stories_tokenizers():
    """Builds HF tokenizer.json files equivalent to llama2.c tok512.bin.

    Vocab: the pieces with ' ' written as '▁' (SentencePiece's meta symbol) and ids 1/2 ("\\n<s>\\n", "\\n</s>\\n"
    in llama2.c's export) as "<s>" / "</s>". Merges: derived from the piece scores exactly as transformers'
    SentencePieceExtractor does: every split of a piece into two vocab pieces is a merge, ordered by the merged
    piece's score (descending, stable), splits of one piece ordered by (id(left), id(right)).
    """
    _, vocab_b, scores = read_llama2c_tokenizer(path("Assets", "stories260K", "tok512.bin"))
    pieces = []
    for i, b in enumerate(vocab_b):
        s = b.decode("utf-8")
        if i == 1:
            s = "<s>"
        elif i == 2:
            s = "</s>"
        pieces.append(s.replace(" ", "▁"))
    vocab = {p: i for i, p in enumerate(pieces)}
    assert len(vocab) == len(pieces), "duplicate pieces"
    merges = []
    for piece, score in zip(pieces, scores):
        local = []
        for k in range(1, len(piece)):
            l, r = piece[:k], piece[k:]
            if l in vocab and r in vocab:
                local.append((l, r, score))
        local.sort(key=lambda x: (vocab[x[0]], vocab[x[1]]))
        merges.extend(local)
    merges.sort(key=lambda m: m[2], reverse=True)
    merges = [(l, r) for l, r, _ in merges]
    specials = [AddedToken(t, special=True, normalized=False) for t in ["<unk>", "<s>", "</s>"]]

    def make(kind):
        bpe = models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", fuse_unk=True, byte_fallback=True)
        tok = Tokenizer(bpe)
        if kind == "normalizer":  # transformers LlamaConverter, legacy=True
            tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
            tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                             decoders.Strip(" ", 1, 0)])
        else:  # transformers LlamaConverter, legacy=False style: Metaspace pre-tokenizer, no split
            tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False)
            tok.decoder = decoders.Sequence([decoders.Metaspace(replacement="▁", prepend_scheme="first", split=False),
                                             decoders.ByteFallback(), decoders.Fuse()])
        tok.add_special_tokens(specials)
        p = os.path.join(OUT, f"stories260K-{kind}", "tokenizer.json")
        os.makedirs(os.path.dirname(p), exist_ok=True)
        tok.save(p)
        write_json(os.path.join(OUT, f"stories260K-{kind}", "tokenizer_config.json"),
                   {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
                    "tokenizer_class": "LlamaTokenizerFast", "_note": "written by scripts/make_tokenizer_fixtures.py"})
        print("wrote", os.path.relpath(p, ROOT), os.path.getsize(p), "bytes")
        return tok

    return vocab_b, scores, make("normalizer"), make("metaspace")


def stories_strings(rng):
    with open(STORIES, encoding="utf-8") as f:
        text = f.read()
    sentences = [s.strip() for s in text.replace("\n", " ").split(". ") if s.strip()]
    out = [
        "", " ", "a", "Once upon a time", "Once upon a time, there was a little girl named Lily.",
        " leading space", "trailing space ", "double  space", "three   spaces", "new\nline", "tab\there",
        "Lily's cat said, \"Hello!\"", "1234567890", "3.14", "The year 2024.", "café", "naïve", "中文", "日本語",
        "😀 smile", "👍🏽", "e\u0301", "x\u00a0y", "Straße", "€100", "™", "a\u200ab", "[brackets] {braces} ~tilde~",
        "ALL CAPS", "MiXeD", "supercalifragilistic", "!!!???...", "\n\n", "\r\n", "   ", "a b c d e f g",
        "\u212b \u00c5 A\u030a", "\u1100\u1161\u11a8", "\uac00\u11a8",
        "The end.", "Tom and Sue played in the park all day.", "\u0001\u007f", "Ω≈ç√∫", "ÀÉÎÕÜ",
    ]
    for _ in range(45):
        out.append(rng.choice(sentences) + ".")
    for _ in range(5):
        i = rng.randrange(len(text) - 600)
        out.append(text[i:i + rng.randrange(200, 600)])
    for _ in range(15):
        k = rng.randrange(1, 25)
        out.append("".join(rng.choice(FUZZ_POOL[:98]) for _ in range(k)).replace("<|", "<"))
    return out


def stories_fixture():
    rng = random.Random(260)
    vocab_b, scores, tok_norm, tok_meta = build_stories_tokenizers()
    cases = []
    for s in stories_strings(rng):
        ids = tok_norm.encode(s, add_special_tokens=False).ids
        ids_meta = tok_meta.encode(s, add_special_tokens=False).ids
        ref = llama2c_encode(vocab_b, scores, s)
        case = {"text": s, "ids": ids}
        if ids_meta != ids:
            case["metaspace_ids"] = ids_meta
        if ref != ids:
            case["llama2c_ids"] = ref
        cases.append(case)
    n_diff = sum(1 for c in cases if "llama2c_ids" in c)
    decode = []
    for s in ["Once upon a time", "café 中文 😀", " two  spaces", "a\nb"]:
        ids = tok_norm.encode(s, add_special_tokens=False).ids
        for cut in sorted({len(ids), max(1, len(ids) - 1), 1}):
            decode.append({"ids": ids[:cut], "text": tok_norm.decode(ids[:cut], skip_special_tokens=False),
                           "metaspace_text": tok_meta.decode(ids[:cut], skip_special_tokens=False)})
    for ids in [[1, 400, 2], [3 + 0xE4, 3 + 0xB8], [3 + 0xE4, 3 + 0xB8, 3 + 0xAD], [3 + 0x41, 300], [0, 1, 2]]:
        decode.append({"ids": ids, "text": tok_norm.decode(ids, skip_special_tokens=False),
                       "metaspace_text": tok_meta.decode(ids, skip_special_tokens=False)})
    write_json(os.path.join(OUT, "stories260K.json"), {
        "tokenizer_bin": "Assets/stories260K/tok512.bin",
        "tokenizer_json": ["Tests/Fixtures/tokenizers/stories260K-normalizer/tokenizer.json",
                           "Tests/Fixtures/tokenizers/stories260K-metaspace/tokenizer.json"],
        "generator": f"tokenizers {tokenizers.__version__}: ids = encode(text, add_special_tokens=False).ids with the "
                     "normalizer variant; metaspace_ids only where the Metaspace variant differs; llama2c_ids only where "
                     "a Python port of llama2.c run.c encode() differs from ids",
        "llama2c_note": "llama2.c merges the highest-scoring adjacent pair, leftmost on ties; HF BPE merges by rank, "
                        "and the SentencePiece extractor gives the different splits of one merged piece distinct ranks "
                        "ordered by (id(left), id(right)), so the two can differ when one piece is reachable from "
                        "two overlapping pairs. Cases with llama2c_ids record such differences "
                        f"({n_diff} of {len(cases)}).",
        "cases": cases,
        "decode": decode,
    })
    return len(cases), n_diff


# --------------------------------------------------------------------------------------------
# Chat templates
# --------------------------------------------------------------------------------------------

# Qwen2.5-Instruct's chat template without the tool-calling branches (the part that applies when tools=None).
QWEN25_TEMPLATE = (
    "{%- if messages[0]['role'] == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- for message in messages %}"
    "{%- if (message.role == 'user') or (message.role == 'system' and not loop.first) or (message.role == 'assistant') %}"
    "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

# DeepSeek-R1-Distill-Qwen's chat template (tokenizer_config.json chat_template, 2025-02 revision), verbatim.
R1_DISTILL_TEMPLATE = (
    "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}"
    "{% set ns = namespace(is_first=false, is_tool=false, is_output_first=true, system_prompt='') %}"
    "{%- for message in messages %}{%- if message['role'] == 'system' %}{% set ns.system_prompt = message['content'] %}"
    "{%- endif %}{%- endfor %}{{bos_token}}{{ns.system_prompt}}{%- for message in messages %}"
    "{%- if message['role'] == 'user' %}{%- set ns.is_tool = false -%}{{'<｜User｜>' + message['content']}}{%- endif %}"
    "{%- if message['role'] == 'assistant' and message['content'] is none %}{%- set ns.is_tool = false -%}"
    "{%- for tool in message['tool_calls']%}{%- if not ns.is_first %}{{'<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>' + "
    "tool['type'] + '<｜tool▁sep｜>' + tool['function']['name'] + '\\n' + '```json' + '\\n' + tool['function']['arguments'] + "
    "'\\n' + '```' + '<｜tool▁call▁end｜>'}}{%- set ns.is_first = true -%}{%- else %}{{'\\n' + '<｜tool▁call▁begin｜>' + "
    "tool['type'] + '<｜tool▁sep｜>' + tool['function']['name'] + '\\n' + '```json' + '\\n' + tool['function']['arguments'] + "
    "'\\n' + '```' + '<｜tool▁call▁end｜>'}}{{'<｜tool▁calls▁end｜><｜end▁of▁sentence｜>'}}{%- endif %}{%- endfor %}{%- endif %}"
    "{%- if message['role'] == 'assistant' and message['content'] is not none %}{%- if ns.is_tool %}"
    "{{'<｜tool▁outputs▁end｜>' + message['content'] + '<｜end▁of▁sentence｜>'}}{%- set ns.is_tool = false -%}{%- else %}"
    "{% set content = message['content'] %}{% if '</think>' in content %}{% set content = content.split('</think>')[-1] %}"
    "{% endif %}{{'<｜Assistant｜>' + content + '<｜end▁of▁sentence｜>'}}{%- endif %}{%- endif %}"
    "{%- if message['role'] == 'tool' %}{%- set ns.is_tool = true -%}{%- if ns.is_output_first %}"
    "{{'<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>' + message['content'] + '<｜tool▁output▁end｜>'}}"
    "{%- set ns.is_output_first = false %}{%- else %}{{'\\n<｜tool▁output▁begin｜>' + message['content'] + "
    "'<｜tool▁output▁end｜>'}}{%- endif %}{%- endif %}{%- endfor -%}{% if ns.is_tool %}{{'<｜tool▁outputs▁end｜>'}}{% endif %}"
    "{% if add_generation_prompt and not ns.is_tool %}{{'<｜Assistant｜><think>\\n'}}{% endif %}"
)


def chat_template_fixture():
    from transformers import PreTrainedTokenizerFast
    tok = PreTrainedTokenizerFast(tokenizer_file=path("Assets", "qwen2-tokenizer", "tokenizer.json"))
    with open(path("Assets", "qwen2-tokenizer", "tokenizer_config.json"), encoding="utf-8") as f:
        qwen3_template = json.load(f)["chat_template"]
    S = {"role": "system", "content": "You are a careful math tutor."}
    U = {"role": "user", "content": "What is 2+2?\nAnswer briefly."}
    A = {"role": "assistant", "content": "4"}
    A_THINK = {"role": "assistant", "content": "<think>\nadd them\n</think>\n\nThe answer is 4."}
    U2 = {"role": "user", "content": "And 3+3?"}
    conversations = [[U], [S, U], [S, U, A, U2], [U, A, U2]]
    cases = []

    def add(template_name, source, template, messages, gen, **kw):
        text = tok.apply_chat_template(messages, chat_template=template, tokenize=False, add_generation_prompt=gen, **kw)
        cases.append({"template": template_name, "reference": source, "messages": messages,
                      "add_generation_prompt": gen, "expected": text})

    for m in conversations:
        for gen in [True, False]:
            if not gen and m[-1]["role"] == "assistant":
                continue
            add("chatML", "Assets/qwen2-tokenizer/tokenizer_config.json chat_template (Qwen3)", qwen3_template, m, gen)
            add("chatMLQwenDefaultSystem", "Qwen2.5-Instruct chat template (no tools), in this script", QWEN25_TEMPLATE, m, gen)
    for m in conversations + [[U, A_THINK, U2]]:
        for gen in [True, False]:
            add("deepSeekR1", "DeepSeek-R1-Distill-Qwen chat template, in this script", R1_DISTILL_TEMPLATE, m, gen,
                bos_token="<｜begin▁of▁sentence｜>")
    write_json(os.path.join(OUT, "chat_templates.json"), {
        "generator": "transformers apply_chat_template(tokenize=False); "
                     "chatML = the Qwen3 template in Assets/qwen2-tokenizer/tokenizer_config.json (multi-turn cases avoid "
                     "its <think> handling of the final assistant turn)",
        "templates": {"chatML": qwen3_template, "chatMLQwenDefaultSystem": QWEN25_TEMPLATE, "deepSeekR1": R1_DISTILL_TEMPLATE},
        "cases": cases,
    })
    return len(cases)


def main():
    rng = random.Random(7)
    strings = all_strings()
    gpt2_path = build_gpt2_tokenizer_json()
    n_qwen = byte_level_fixture("qwen2", path("Assets", "qwen2-tokenizer", "tokenizer.json"), strings, rng)
    n_gpt2 = byte_level_fixture("gpt2", gpt2_path, strings, rng)
    n_llama3 = llama3_pattern_fixture(strings)
    n_added = added_tokens_fixture()
    n_stories, n_diff = stories_fixture()
    n_chat = chat_template_fixture()
    print(f"qwen2 {n_qwen} strings, gpt2 {n_gpt2} strings, llama3-pattern {n_llama3}, added-tokens {n_added}, "
          f"stories260K {n_stories} strings "
          f"({n_diff} where llama2.c differs), chat templates {n_chat} cases")


if __name__ == "__main__":
    main()
