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
# # 2. Embeddings: the trigram trick, positions, token types, NoNorm
#
# MobileBERT's word-embedding table is only **128** wide, yet every block expects **512**-wide input.
# The bridge is the *trigram* embedding: each token's 128-wide row is concatenated with its neighbours'
# rows (3 x 128 = 384) and a dense layer maps that to 512. Then position and token-type embeddings
# (already 512 wide) are added, and the sum goes through **NoNorm**, not LayerNorm.
#
# The paper (Sun et al., 2020, "Embedding Factorization", paraphrased): the embedding table is reduced to
# 128 dimensions, and a 1-D convolution with kernel size 3 over the raw token embeddings produces the
# 512-dimensional output.
#
# ![The trigram embedding](../docs/img/diagram-trigram.png)
#
# Everything below calls the package: `minimobilebert.model` holds one function per block of Figure 1,
# `minimobilebert.capture()` records every intermediate of a forward pass.

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
os.environ.setdefault("MINIMOBILEBERT_BACKEND", "numpy")  # step through the readable NumPy reference

import numpy as np

import minimobilebert
from minimobilebert import MobileBertConfig, MobileBertModel, capture
from minimobilebert import functional as F
from minimobilebert import model as mb  # the free functions, one per block of Figure 1
from minimobilebert import MobileBertTokenizer
from minimobilebert.exercises import check, load_mobilebert, question, solution
from minimobilebert.params import count_parameters, embedding_shapes

np.set_printoptions(precision=4, suppress=False, linewidth=110)

# MINIMOBILEBERT_CHECKPOINT (a folder or a hub id) if set, else the published shapes with 2 layers instead
# of 24 and random weights drawn as HF initialises them
net, weights = load_mobilebert()
config = net.config
tokenizer = MobileBertTokenizer()
print("MobileBERT weights:", weights, "| backend:", minimobilebert.current_backend())
print(f"embedding_size={config.embedding_size}  hidden_size={config.hidden_size}  "
      f"trigram_input={config.trigram_input}  normalization_type={config.normalization_type!r}")

# %% [markdown]
# ## The input
#
# The ids of "the capital of france is [MASK] ." in the BERT uncased vocabulary (the tokenizer notebook,
# 01, shows how text becomes these ids).

# %%
input_ids = np.array([[101, 1996, 3007, 1997, 2605, 2003, 103, 1012, 102]])
print(tokenizer.convert_ids_to_tokens(input_ids[0]))
B, T = input_ids.shape

# %% [markdown]
# ## Step 1: look up 128-wide rows
#
# `embeddings.word_embeddings.weight` is `[vocab, 128]`. Indexing it with the ids gives `[B, T, 128]`.

# %%
table = net.p["embeddings"]["word_embeddings"]["weight"]
print("word embedding table:", table.shape)
word = table[input_ids]  # [B, T] -> [B, T, 128]
print("looked-up rows:", word.shape)
print("the [PAD] row (id 0) is all zeros:", not table[0].any())

# %% [markdown]
# ## Step 2: the trigram — concatenate each token with its neighbours
#
# `model.trigram` builds, for every position, `[next token, this token, previous token]`, with zeros
# past either end. A toy input with embedding width 2 makes the order visible: token *t* has the vector
# `[t, t]`.

# %%
toy = np.arange(1, 5, dtype=np.float32)[None, :, None].repeat(2, axis=2)  # [1, 4, 2]: rows [1,1] [2,2] ...
print("toy tokens:\n", toy[0])
print("trigram(toy) = [next | this | previous]:\n", mb.trigram(toy)[0])

# %% [markdown]
# On the real input the 128-wide rows become 384 wide:

# %%
tri = mb.trigram(word)  # [B, T, 128] -> [B, T, 384]
print(word.shape, "->", tri.shape)
E = config.embedding_size
assert np.array_equal(tri[0, 3, E:2 * E], word[0, 3])  # middle third: the token itself
assert np.array_equal(tri[0, 3, :E], word[0, 4])  # first third: the next token
assert np.array_equal(tri[0, 3, 2 * E:], word[0, 2])  # last third: the previous token

# %% [markdown]
# ## Step 3: 384 -> 512, a kernel-3 convolution in disguise
#
# `embeddings.embedding_transformation` is a dense layer `[512, 384]`. Applied to the trigram it *is* a
# 1-D convolution of kernel size 3 over the sequence: split its weight into three `[512, 128]` taps, one
# per neighbour, and slide them along. We check that the two views agree.

# %%
t = net.p["embeddings"]["embedding_transformation"]
print("embedding_transformation.weight:", t["weight"].shape)
dense_view = F.linear(tri, t["weight"], t["bias"])  # [B, T, 384] -> [B, T, 512]

taps = t["weight"].reshape(config.hidden_size, 3, E)  # [512, 3 taps (next, this, prev), 128]
padded = np.pad(word, ((0, 0), (1, 1), (0, 0)))  # zeros beyond both ends: [B, T + 2, 128]
conv_view = np.zeros_like(dense_view)
for tap_index, shift in enumerate((+1, 0, -1)):  # next, this, previous
    neighbour = padded[:, 1 + shift: 1 + shift + T]  # [B, T, 128]
    conv_view += neighbour @ taps[:, tap_index].T
conv_view += t["bias"]
print("dense view == convolution view:", np.allclose(dense_view, conv_view, rtol=1e-5, atol=1e-6))

# %% [markdown]
# ### Why bother: the parameter count
#
# A 512-wide table would cost `vocab x 512`. The factorised one costs `vocab x 128 + 384 x 512`.
# `params.embedding_shapes` lists every embedding weight; we compare with the same model whose table is
# 512 wide and has no trigram.

# %%
factorised = embedding_shapes(config)
full_width = embedding_shapes(config.replace(embedding_size=config.hidden_size, trigram_input=False))
for name, shapes in (("trigram, 128-wide table", factorised), ("no trigram, 512-wide table", full_width)):
    print(f"{name:28s} {count_parameters(shapes) / 1e6:6.2f}M")
    for weight, shape in shapes.items():
        print(f"    {weight:50s} {shape}")

# %% [markdown]
# ## Step 4: add positions and token types
#
# Both tables are 512 wide, so they are added *after* the transformation. Positions default to
# `0..T-1`; token types mark segment A (0) and segment B (1) of a sentence pair.

# %%
p_emb = net.p["embeddings"]
position_ids = np.arange(T)[None, :]
token_type_ids = np.zeros_like(input_ids)
summed = (dense_view
          + p_emb["position_embeddings"]["weight"][position_ids]  # [1, T, 512]
          + p_emb["token_type_embeddings"]["weight"][token_type_ids])  # [B, T, 512]
print("position table:", p_emb["position_embeddings"]["weight"].shape,
      "| token-type table:", p_emb["token_type_embeddings"]["weight"].shape)

# %% [markdown]
# ## Step 5: NoNorm, and the whole embedding block at once
#
# `model.embeddings` does steps 1-5. We run the full model under `capture()` and check that our
# step-by-step result equals what the package computed.

# %%
n = p_emb["LayerNorm"]  # NoNorm keeps HF's attribute name "LayerNorm"
ours = F.normalize(summed, n["weight"], n["bias"], config.normalization_type, config.embedding_and_output_norm_eps)

with capture() as acts:
    net(input_ids)
print([k for k in acts if k.startswith("embeddings.")])
direct = mb.embeddings(input_ids, token_type_ids, position_ids, p_emb, config)
print("steps == model.embeddings:", np.allclose(ours, direct, rtol=1e-6, atol=1e-7))
print("steps == captured embeddings.output:", np.allclose(ours, acts["embeddings.output"], rtol=1e-6, atol=1e-7))
print("trigram == captured embeddings.trigram:", np.array_equal(tri, acts["embeddings.trigram"]))

# %% [markdown]
# ## Token types in action: a sentence pair
#
# Changing a token's type only adds a different 512-wide row; nothing else moves.

# %%
pair_types = np.array([[0, 0, 0, 0, 0, 1, 1, 1, 1]])
with capture() as acts_pair:
    net(input_ids, token_type_ids=pair_types)
diff = acts_pair["embeddings.output"] - acts["embeddings.output"]
type_row_diff = p_emb["token_type_embeddings"]["weight"][1] - p_emb["token_type_embeddings"]["weight"][0]
print("positions that changed:", np.flatnonzero(np.abs(diff[0]).max(-1) > 0))
if config.normalization_type == "no_norm":  # NoNorm is elementwise: the change is the row difference x gamma
    print("change == (type-1 row - type-0 row) * NoNorm weight:",
          np.allclose(diff[0, 5:], type_row_diff * n["weight"], rtol=1e-4, atol=1e-6))

# %% [markdown]
# ## NoNorm vs LayerNorm
#
# > "We replace the layer normalization of a n-channel hidden state h with an element-wise linear
# > transformation" — Sun et al., 2020, *Operational Optimizations*: NoNorm(h) = γ ∘ h + β.
#
# The paper's reason is latency: *"layer normalization and gelu activation accounted for a considerable
# proportion of total latency"* (Sun et al., 2020, Operational Optimizations). *Our reading* of why
# LayerNorm is slow on a phone: it needs a mean and a variance per token (two reductions over the 512
# channels) before it can scale anything, while NoNorm is one multiply-add per element — the paper does
# not break the latency down. The price is that NoNorm does not *normalise*: whatever scale comes in goes
# out. We feed both the same vector at three scales.

# %%
rng = np.random.default_rng(0)
h = rng.normal(size=(1, 512)).astype(np.float32)
gamma, beta = np.ones(512, np.float32), np.zeros(512, np.float32)
print(f"{'input scale':>12} | {'NoNorm std':>12} | {'LayerNorm std':>13}")
for scale in (1.0, 1e3, 1e6):
    x = h * np.float32(scale)
    print(f"{scale:12.0e} | {F.no_norm(x, gamma, beta).std():12.4g} | {F.layer_norm(x, gamma, beta, 1e-12).std():13.4g}")

# %% [markdown]
# A rough timing on this machine (NumPy, one `[128, 512]` activation). The ratio on a phone's
# accelerator is the paper's concern; this NumPy timing says nothing about it, and only shows that the
# normalising version does more work per element here.

# %%
import timeit

x = rng.normal(size=(128, 512)).astype(np.float32)
t_no = min(timeit.repeat(lambda: F.no_norm(x, gamma, beta), number=200, repeat=3)) / 200
t_ln = min(timeit.repeat(lambda: F.layer_norm(x, gamma, beta, 1e-12), number=200, repeat=3)) / 200
print(f"NoNorm {t_no * 1e6:.1f} us, LayerNorm {t_ln * 1e6:.1f} us ({t_ln / t_no:.1f}x)")

# %% [markdown]
# ## Exercises
#
# **1. Implement the trigram.** `my_trigram(word_embeddings)` takes `[B, T, 128]` and returns `[B, T, 384]`:
# at each position `[next token | this token | previous token]`, zeros past either end. The checker feeds
# it the looked-up rows of a padded batch and compares with the captured `embeddings.trigram`.

# %%
print(question("trigram"))


def my_trigram(x):
    return solution("trigram")(x)  # replace with your code


check("trigram", my_trigram)

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# def my_trigram(x):
#     zeros = np.zeros_like(x[:, :1])                            # [B, 1, E]
#     nxt = np.concatenate([x[:, 1:], zeros], axis=1)            # token t+1 at position t
#     prev = np.concatenate([zeros, x[:, :-1]], axis=1)          # token t-1 at position t
#     return np.concatenate([nxt, x, prev], axis=-1)             # [B, T, 3E]
# ```
# </details>
#
# **2. Flip the order, watch parity break, then repair it.** Build the trigram the other way round,
# `[previous | this | next]`, and compare the embedding output with the model's: it differs. The order is
# only a convention shared by the code and the trained weight `embedding_transformation.weight [512, 384]`,
# whose columns come in three blocks of 128, one per neighbour. Write `flip_taps(weight)` returning the
# weight that makes the flipped input give the model's output again.

# %%
flipped = np.concatenate([tri[..., 2 * E:], tri[..., E:2 * E], tri[..., :E]], axis=-1)  # [previous | this | next]
broken = F.linear(flipped, t["weight"], t["bias"])
print("flipped order, same weight: max difference from the model's projection",
      float(np.abs(broken - dense_view).max()), "(parity broken)" if not np.allclose(broken, dense_view) else "")
print(question("trigram_flip_taps"))


def flip_taps(weight):
    return solution("trigram_flip_taps")(weight)  # replace with your code


check("trigram_flip_taps", flip_taps)

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# def flip_taps(weight):
#     E = weight.shape[1] // 3
#     return np.concatenate([weight[:, 2 * E:], weight[:, E:2 * E], weight[:, :E]], axis=1)
# ```
# Swapping the first and last 128-column blocks moves each tap to the neighbour it was trained for.
# </details>
#
# ## Summary
#
# * The word-embedding table is 128 wide; each token's row is concatenated with its next and previous
#   neighbours' (`[next | this | previous]`, zeros past the ends) and a dense 384 -> 512 layer — a kernel-3
#   convolution — brings it to the block width.
# * This saves parameters: the factorised embedding is much smaller than a 512-wide table (printed above).
# * Position and token-type embeddings (512 wide) are added after the transformation; then NoNorm,
#   γ ∘ h + β, which does not normalise: the scale that comes in goes out.
# * The trigram order is a convention tied to the trained weights: flip it and you must permute the weight.
#
# Notebook 04 follows the consequence of NoNorm: the trained model's activations reach 1e7.
