# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 1. Tokenization: text -> normalized text -> words -> WordPiece pieces -> ids
#
# MobileBERT changes BERT's body, not its input: it is pre-trained on BERT's data, and the released
# checkpoint reads BERT's uncased WordPiece vocabulary of 30522 entries (`vocab_size` in its config;
# shipped with this package as `minimobilebert/data/vocab.txt`). So the tokenizer is BERT's:
#
# 1. **normalize**: drop control characters, make every whitespace character a space, put spaces around
#    CJK ideographs, strip accents, lower-case;
# 2. **split into words**: on whitespace, and every punctuation character is a word of its own;
# 3. **WordPiece**: *"a greedy longest-match-first algorithm"* (BERT's `tokenization.py`): each word is split into the longest
#    pieces found in the vocabulary, continuation pieces marked `##`; a word with no split becomes `[UNK]`;
# 4. **ids**: `[CLS]` first, `[SEP]` after each segment, token types 0 / 1 for the two segments.
#
# Each step is a plain function in `minimobilebert.tokenizer`; this notebook calls them one by one and then
# checks that the tokenizer, which chains them, gives the published ids.

# %% [markdown]
# **Run it yourself** (Colab, Binder, a fresh Python): run the next cell first. It installs minimobilebert
# only when it cannot be imported — from the repository checkout this notebook sits in (Binder), else from
# `MINIMOBILEBERT_INSTALL` (a pip requirement, e.g. `git+https://...` of the repository) — and does nothing
# when the package is already installed.

# %%
import importlib.util, os, subprocess, sys  # noqa: E401
from pathlib import Path

if importlib.util.find_spec("minimobilebert") is None:
    checkout = Path.cwd().parent  # notebooks/ -> the repository
    requirement = (f"{checkout}[notebooks]" if (checkout / "minimobilebert" / "__init__.py").is_file()
                   else os.environ.get("MINIMOBILEBERT_INSTALL", "minimobilebert[notebooks]"))
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", requirement])

# %%
import numpy as np

from minimobilebert.exercises import check, question, solution
from minimobilebert.tokenizer import MobileBertTokenizer, normalize, split_words, wordpiece, wordpiece_steps

tokenizer = MobileBertTokenizer()  # the shipped BERT uncased vocabulary
print(tokenizer)
print("first entries:", tokenizer.ids_to_tokens[:5], "...", "special ids:",
      {t: tokenizer.vocab[t] for t in tokenizer.all_special_tokens})

# %% [markdown]
# ## Step 1: normalize
#
# `normalize` returns the normalized text and, for every character of it, the index of the input character
# it came from. That second list is what lets the tokenizer report *character offsets in the original
# text* later (the question-answering pipeline maps answers back to the context with it).

# %%
text = "Ünïcödé  naïve café\t東京, don't!"
normalized, origin = normalize(text)
print(repr(text))
print(repr(normalized))
for i in range(len(normalized)):
    if normalized[i] != text[origin[i]]:
        print(f"  normalized[{i}] = {normalized[i]!r} came from text[{origin[i]}] = {text[origin[i]]!r}")

# %% [markdown]
# The accents went (NFD decomposition, then the combining marks dropped), the tab became a space, and each
# ideograph got spaces around it: Chinese and Japanese are written without spaces, so BERT makes every
# ideograph a word.
#
# ## Step 2: words

# %%
spans = split_words(normalized)
words = [normalized[a:b] for a, b in spans]
print(words)

# %% [markdown]
# `don't` became three words, `don`, `'` and `t`: punctuation is always split off, apostrophes included.
#
# ## Step 3: WordPiece, showing its work
#
# Greedy longest-match-first: from the start of what is left of the word, try the longest candidate, then
# one character shorter, until the vocabulary has it. `wordpiece_steps` lists every lookup.

# %%
for word in ("unaffable", "tokenization"):
    steps = wordpiece_steps(word, tokenizer.vocab)
    found = [piece for piece, ok in steps if ok]
    print(f"{word}: {len(steps)} lookups -> {found}")
    print("   tried:", ", ".join(piece + ("" if ok else "✗") for piece, ok in steps[:12]), "...")

# %%
pieces = [wordpiece(w, tokenizer.vocab) or ["[UNK]"] for w in words]
for w, p in zip(words, pieces):
    print(f"{w!r:>8} -> {p}")

# %% [markdown]
# A word that cannot be split (no first piece is in the vocabulary), or is longer than 100 characters,
# becomes `[UNK]` as a whole:

# %%
print(wordpiece("x" * 101, tokenizer.vocab), tokenizer.tokenize("x" * 101), tokenizer.tokenize("👍🏽 ok"))

# %% [markdown]
# ## All steps at once
#
# The tokenizer chains the steps; `explain` shows each intermediate result for one text.

# %%
for sample in ("Hello, my dog is cute", "The capital of France is [MASK].", "Tokenization of unaffable words"):
    print(tokenizer.explain(sample), end="\n\n")

# %% [markdown]
# `[MASK]` written in the text stays one token: special tokens are found *before* normalization (else
# lower-casing would turn it into `[`, `mask`, `]`).
#
# ## Checking against the published ids
#
# The ids of Hugging Face's documentation examples in the `bert-base-uncased` vocabulary (listed with their
# sources on the docs site's [Published facts](../docs/facts.md) page). A second segment gets token type 1.

# %%
PUBLISHED = {
    "Hello, my dog is cute": [101, 7592, 1010, 2026, 3899, 2003, 10140, 102],
    "The capital of France is [MASK].": [101, 1996, 3007, 1997, 2605, 2003, 103, 1012, 102],
    ("Who was Jim Henson?", "Jim Henson was a nice puppet"):
        [101, 2040, 2001, 3958, 27227, 1029, 102, 3958, 27227, 2001, 1037, 3835, 13997, 102],
}
for text_or_pair, expected in PUBLISHED.items():
    first, second = (text_or_pair, None) if isinstance(text_or_pair, str) else text_or_pair
    encoded = tokenizer(first, second)
    print(f"{'OK ' if encoded['input_ids'] == expected else 'DIFF'} {text_or_pair!r}")
    print("     tokens:", tokenizer.convert_ids_to_tokens(encoded["input_ids"]))
    if second is not None:
        print("     token types:", encoded["token_type_ids"])
    assert encoded["input_ids"] == expected, (text_or_pair, encoded["input_ids"], expected)

# %% [markdown]
# ## Offsets: from tokens back to characters

# %%
text = "Jim Henson was a nice puppeteer"
encoded = tokenizer(text, return_offsets_mapping=True)
for token, (start, end) in zip(tokenizer.convert_ids_to_tokens(encoded["input_ids"]), encoded["offset_mapping"]):
    print(f"{token:>10}  {start:>2}..{end:<2} {text[start:end]!r}")

# %% [markdown]
# ## Batches for the model: padding, masks, NumPy arrays
#
# `padding=True` pads every row to the longest with `[PAD]` (id 0) and marks real tokens in
# `attention_mask`; `return_tensors="np"` gives the int64 arrays the model takes.

# %%
batch = tokenizer(["a short text", "and a somewhat longer one, with punctuation"], padding=True, return_tensors="np")
for key, value in batch.items():
    print(f"{key:>15} {value.shape}\n{value}")

# %% [markdown]
# ## Long contexts: overflowing windows
#
# A question-answering context longer than `max_length` is cut into windows that overlap by `stride`
# tokens; every window repeats the question. `overflow_to_sample_mapping` says which input each row is from.

# %%
context = "Jim Henson was a nice puppeteer from Mississippi. He created the Muppets in 1955. " * 3
windows = tokenizer("Who was Jim Henson?", context, truncation="only_second", max_length=32, stride=8,
                    return_overflowing_tokens=True)
for row, ids in enumerate(windows["input_ids"]):
    print(row, windows["overflow_to_sample_mapping"][row], tokenizer.decode(ids))

# %% [markdown]
# ## And back: decode
#
# Decoding joins `##` pieces to the piece before and puts spaces elsewhere. What normalization removed
# (case, accents) does not come back.

# %%
ids = tokenizer("Ünïcödé naïve café, [MASK]!")["input_ids"]
print(tokenizer.decode(ids))
print(tokenizer.decode(ids, skip_special_tokens=True))

# %% [markdown]
# ## Exercise: WordPiece by hand
#
# Write `my_wordpiece(word, vocab)`: greedy longest-match-first, continuation pieces prefixed with `##`,
# `None` when some part of the word matches nothing (the tokenizer then emits `[UNK]` for the whole word)
# or the word is longer than 100 characters. The checker compares it with `tokenizer.wordpiece` on a dozen
# words.

# %%
print(question("wordpiece"))


def my_wordpiece(word, vocab):
    return solution("wordpiece")(word, vocab)  # replace with your code


check("wordpiece", my_wordpiece)

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# def my_wordpiece(word, vocab):
#     if len(word) > 100:
#         return None
#     pieces, start = [], 0
#     while start < len(word):
#         end = len(word)
#         while end > start:                                  # longest candidate first
#             piece = ("##" if start else "") + word[start:end]
#             if piece in vocab:
#                 break
#             end -= 1
#         if end == start:                                    # nothing matched: the word is unknown
#             return None
#         pieces.append(piece)
#         start = end
#     return pieces
# ```
# </details>
#
# ## Summary
#
# * MobileBERT reads BERT's uncased WordPiece vocabulary (30522 entries) with BERT's tokenizer.
# * normalize (drop controls, whitespace to spaces, split CJK, strip accents, lower-case) -> split words
#   (whitespace, every punctuation character alone) -> WordPiece (greedy longest match, `##` continuations,
#   `[UNK]` for words that cannot be split) -> ids with `[CLS]`, `[SEP]` and token types.
# * Special tokens like `[MASK]` are found before normalization; offsets map tokens back to characters.
# * Padding, masks, overflowing windows and decode complete what the model and the pipelines need.
#
# The ids index the 128-wide word-embedding table; notebook 02 takes it from there.
