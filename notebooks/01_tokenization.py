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
# # 1. Tokenization: text -> basic tokens -> WordPiece pieces -> ids
#
# MobileBERT reads the same input as BERT: the uncased BERT vocabulary of 30522 WordPiece tokens
# (shipped with the package as `minimobilebert/data/vocab.txt`). Text becomes ids in three steps:
#
# 1. **basic tokenisation**: clean the text, lower-case it, strip accents, split on whitespace and
#    punctuation (and around CJK characters);
# 2. **WordPiece**: split each word greedily into the longest pieces found in the vocabulary, later
#    pieces marked `##`; a word with no split (or longer than the per-word character limit) becomes
#    `[UNK]`;
# 3. **ids**: look the pieces up, add `[CLS]` at the start and `[SEP]` after each segment; a second
#    segment gets token type 1.
#
# `minimobilebert.tokenizer.MobileBertTokenizer` implements this, and its `explain(text)` shows the
# intermediate results. The tokenizer is being written in parallel with these notebooks: when it is not
# installed, this notebook shows the vocabulary side and the published ids only, and says so.

# %%
import importlib.util

import numpy as np

from minimobilebert.cli import token_name

HAVE_TOKENIZER = importlib.util.find_spec("minimobilebert.tokenizer") is not None
print("minimobilebert.tokenizer available:", HAVE_TOKENIZER)

# %% [markdown]
# ## Published ids to check against
#
# From Hugging Face's tests and model cards (`shared/reference/published-values.md`), with the
# `bert-base-uncased` vocabulary:

# %%
PUBLISHED = {
    "Hello, my dog is cute": [101, 7592, 1010, 2026, 3899, 2003, 10140, 102],
    "The capital of France is [MASK].": [101, 1996, 3007, 1997, 2605, 2003, 103, 1012, 102],
    ("Who was Jim Henson?", "Jim Henson was a nice puppet"):
        [101, 2040, 2001, 3958, 27227, 1029, 102, 3958, 27227, 2001, 1037, 3835, 13997, 102],
}
for text, ids in PUBLISHED.items():
    print(f"{text!r}\n   ids    {ids}\n   pieces {[token_name(i, 30522) for i in ids]}")

# %% [markdown]
# Reading the pieces back already shows the three steps: `Hello,` became `hello` and `,` (lower-case,
# punctuation split); `The` became `the`; `[MASK]` stayed one special token; `henson` is a single piece
# of this vocabulary. The special tokens have fixed ids:

# %%
for i in (0, 100, 101, 102, 103):
    print(i, token_name(i, 30522))

# %% [markdown]
# ## The tokenizer, showing its work

# %%
if HAVE_TOKENIZER:
    from minimobilebert.tokenizer import MobileBertTokenizer

    tokenizer = MobileBertTokenizer()  # the shipped BERT uncased vocabulary
    for text in ("Hello, my dog is cute", "The capital of France is [MASK].", "Tokenization of unaffable words"):
        print(f"--- {text!r}")
        print(tokenizer.explain(text))
else:
    print("minimobilebert.tokenizer has not landed yet; rerun this notebook once it has.")

# %% [markdown]
# ## Checking against the published ids, single texts and a pair
#
# The tokenizer has Hugging Face's calling convention (the pipelines rely on it): call it with a text,
# or a text and a second segment, and get `input_ids`, `token_type_ids` and `attention_mask`.

# %%
if HAVE_TOKENIZER:
    for text, expected in PUBLISHED.items():
        first, second = (text, None) if isinstance(text, str) else text
        encoded = tokenizer([first], None if second is None else [second])
        ids = [int(i) for i in np.asarray(encoded["input_ids"])[0]]
        print(f"{'OK ' if ids == expected else 'DIFF'} {text!r}: {ids}")
        if second is not None:
            print("     token types:", [int(t) for t in np.asarray(encoded["token_type_ids"])[0]])
        assert ids == expected, (text, ids, expected)
    print(tokenizer.convert_ids_to_tokens(PUBLISHED["Hello, my dog is cute"]))
    print(repr(tokenizer.decode(PUBLISHED["Hello, my dog is cute"], skip_special_tokens=True)))
else:
    print("skipped: no tokenizer yet")

# %% [markdown]
# ## From ids to the model
#
# The ids index the 128-wide word-embedding table; notebook 02 takes it from there.
