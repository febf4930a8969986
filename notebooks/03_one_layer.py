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
# One block (`minimobilebert.model.layer`) in order:
#
# | step | function in `model.py` | shape (published config) |
# | --- | --- | --- |
# | input bottleneck | `bottleneck` | `[B, T, 512] -> [B, T, 128]` |
# | shared key/query bottleneck | `bottleneck` | `[B, T, 512] -> [B, T, 128]` |
# | queries, keys, values; 4 heads of 32 | `self_attention` | `-> [B, T, 128]`, probs `[B, 4, T, T]` |
# | attention output + residual, NoNorm | `attention` | `[B, T, 128]` |
# | 3 stacked FFNs | `feed_forward` | `[B, T, 128] -> [B, T, 128]` each |
# | the 4th FFN's intermediate | `layer` (`ops().linear_act`) | `[B, T, 128] -> [B, T, 512]` |
# | its output, then the output bottleneck + block residual | `output` | `-> [B, T, 128] -> [B, T, 512]` |
#
# We run the model once under `capture()` and then call each function ourselves, checking that every
# intermediate matches.

# %%
import os

os.environ.setdefault("MINIMOBILEBERT_BACKEND", "numpy")  # step through the readable NumPy reference

import matplotlib.pyplot as plt
import numpy as np

import minimobilebert
from minimobilebert import MobileBertConfig, MobileBertModel, capture
from minimobilebert import functional as F
from minimobilebert import model as mb
from minimobilebert.cli import token_name
from minimobilebert.convert import config_from_bert
from minimobilebert.params import count_parameters, layer_shapes

CHECKPOINT = os.environ.get("MINIMOBILEBERT_CHECKPOINT")
if CHECKPOINT:
    net = MobileBertModel.from_pretrained(CHECKPOINT)
else:  # published shapes, 2 layers, random weights (seed 0)
    net = MobileBertModel(MobileBertConfig.published(num_hidden_layers=2), seed=0)
config = net.config
print("weights:", CHECKPOINT or "random (seed 0)", "| backend:", minimobilebert.current_backend())


def same(name, ours, captured):
    """Print the step's shape, a few values, and whether our call reproduces the captured intermediate."""
    ok = np.allclose(ours, captured, rtol=1e-5, atol=1e-6 * max(1.0, float(np.abs(captured).max())))
    print(f"{name:34s} {str(ours.shape):16s} matches capture: {ok}   first values {ours.reshape(-1)[:3]}")
    assert ok, name


# %% [markdown]
# ## The input: a padded batch of two
#
# The second sequence is three tokens shorter, padded with `[PAD]` (id 0) and masked out. Padding lets
# the attention heatmaps show the mask at work.

# %%
ids = np.array([[101, 1996, 3007, 1997, 2605, 2003, 103, 1012, 102],
                [101, 7592, 1010, 2026, 3899, 102, 0, 0, 0]])
attention_mask = (ids != 0).astype(np.int64)
tokens = [[token_name(int(i), config.vocab_size) for i in row] for row in ids]
for row in tokens:
    print(row)

with capture() as acts:
    out = net(ids, attention_mask=attention_mask)
L0 = "encoder.layer.0."
print(f"{len(acts)} intermediates captured; layer 0's:")
for k, v in acts.items():
    if k.startswith(L0):
        print(f"  {k[len(L0):]:28s} {v.shape}")

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
# Queries and keys are `128 -> 128`; values are `512 -> 128`. `ops().attention` splits 128 into 4 heads
# of 32, scales by 1/sqrt(32), adds the mask bias and takes the softmax over keys.

# %%
context, probs = mb.self_attention(query_in, key_in, value_in, mask_bias, p["attention"]["self"], config)
for part in ("query", "key", "value"):
    w = p["attention"]["self"][part]["weight"]
    print(f"attention.self.{part:6s} weight {w.shape}")
same("attention.self.context", context, acts[L0 + "attention.self.context"])
same("attention.self.probs", probs, acts[L0 + "attention.self.probs"])
print("each row of probs sums to 1:", np.allclose(probs.sum(-1), 1.0))
print("padded keys get exactly 0:", float(probs[1, :, :, 6:].max()))


# %% [markdown]
# ### The four heads
#
# Rows are queries, columns keys. With random weights (std 0.02) queries and keys are nearly
# orthogonal, so the heads attend almost uniformly — the only structure is the mask (sequence 2's
# last three columns are exactly zero). A trained checkpoint (`MINIMOBILEBERT_CHECKPOINT`) shows real
# patterns.

# %%
def heatmaps(probs, tokens, title):
    heads = probs.shape[0]
    fig, axes = plt.subplots(1, heads, figsize=(3.2 * heads, 3.4), constrained_layout=True)
    for h, ax in enumerate(np.atleast_1d(axes)):
        im = ax.imshow(probs[h], cmap="viridis", vmin=0, vmax=float(probs.max()))
        ax.set_title(f"head {h}")
        ax.set_xticks(range(len(tokens)), tokens, rotation=90, fontsize=7)
        ax.set_yticks(range(len(tokens)), tokens if h == 0 else [], fontsize=7)
    fig.colorbar(im, ax=axes, shrink=0.8)
    fig.suptitle(title)
    plt.show()


heatmaps(probs[0], tokens[0], "layer 0, sequence 1")
heatmaps(probs[1], tokens[1], "layer 0, sequence 2 (last 3 keys are padding)")

# %% [markdown]
# To see that the four heads *can* differ, scale layer 0's query and key weights in a copy of the model
# until the raw scores spread by about 3 (they spread by ~1e-5 now): the softmax sharpens, and each
# head's random projection picks different keys. (A toy, not a trained pattern.)

# %%
if not CHECKPOINT:
    q, k = acts[L0 + "attention.self.query"], acts[L0 + "attention.self.key"]
    spread = float((q[0] @ k[0].T).std() / np.sqrt(config.attention_head_size))
    factor = np.float32(np.sqrt(3.0 / spread))
    print(f"score spread {spread:.2g}; scaling query and key weights by {factor:.0f}")
    sharp_params = dict(net.params)
    for part in ("query", "key"):
        name = f"encoder.layer.0.attention.self.{part}.weight"
        sharp_params[name] = net.params[name] * factor
    sharp = MobileBertModel(config, sharp_params)
    sharp_out = sharp(ids, attention_mask=attention_mask, output_attentions=True)
    heatmaps(sharp_out.attentions[0][0], tokens[0], "layer 0 with scaled query/key weights (toy)")

# %% [markdown]
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
# The published config has `num_feedforward_networks = 4`: three full FFNs (`ffn.0..2`, each
# 128 -> 512 -> 128 with residual and NoNorm), then a fourth whose intermediate is
# `encoder.layer.i.intermediate` and whose output projection lives in `output`.

# %%
x = attn_out
for j, ffn_p in enumerate(p["ffn"]):
    x = mb.feed_forward(x, ffn_p, config)
    same(f"ffn.{j}.output", x, acts[L0 + f"ffn.{j}.output"])
i = p["intermediate"]["dense"]
intermediate = F.linear_act(x, i["weight"], i["bias"], config.hidden_act)  # [B, T, 128] -> [B, T, 512]
same("intermediate (relu)", intermediate, acts[L0 + "intermediate"])
print("fraction of zeros after relu:", float((intermediate == 0).mean()))

# %% [markdown]
# ## 5. Output: last FFN projection, then the output bottleneck back to 512
#
# `output` computes NoNorm(dense(intermediate) + x) at width 128 (`output.ffn_output`), then the output
# bottleneck NoNorm(dense(.) + block input) at width 512 — the residual around the whole block.

# %%
# the two halves, each a `dense_norm` (dense, residual add, NoNorm); HF's norm here uses eps 1e-5 (see model.py)
ffn_output = mb.dense_norm(intermediate, p["output"], config, residual=x, eps=config.embedding_and_output_norm_eps)
same("output.ffn_output", ffn_output, acts[L0 + "output.ffn_output"])
bottlenecked = mb.dense_norm(ffn_output, p["output"]["bottleneck"], config, residual=hidden)  # 128 -> 512
same("output.bottleneck (block output)", bottlenecked, acts[L0 + "output"])

block_out = mb.output(intermediate, x, hidden, p["output"], config)  # both halves in one call
same("model.output", block_out, acts[L0 + "output"])

full, _ = mb.layer(hidden, mask_bias, p, config)
same("model.layer in one call", full, acts[L0 + "output"])

# %% [markdown]
# ## Where the block's parameters are
#
# `params.layer_shapes(config, 0)` lists every weight of the block. Grouping them shows the point of
# the stacked FFNs: per the paper, in BERT the attention : FFN parameter ratio is 1 : 2; the bottleneck
# makes attention relatively expensive (its values read 512-wide input), and stacking FFNs restores the
# balance.

# %%
def group(name):
    rest = name.split(".", 3)[3]  # drop "encoder.layer.0."
    if rest.startswith(("bottleneck.", "output.bottleneck.")):
        return "bottlenecks (in, shared q/k, out)"
    if rest.startswith("attention."):
        return "attention (MHA)"
    return "FFNs"  # ffn.j.*, intermediate.*, output.dense / output.LayerNorm


def budget(cfg):
    totals = {}
    for name, shape in layer_shapes(cfg, 0).items():
        totals[group(name)] = totals.get(group(name), 0) + int(np.prod(shape))
    return totals


bert_base = config_from_bert(dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                                  intermediate_size=3072, vocab_size=30522, hidden_act="gelu"))
totals = budget(bert_base)
print(f"BERT-base layer: attention {totals['attention (MHA)']:,}, FFN {totals['FFNs']:,}  "
      f"| MHA:FFN = 1:{totals['FFNs'] / totals['attention (MHA)']:.2f}")
for n_ffn in (1, 4):
    cfg = config.replace(num_feedforward_networks=n_ffn)
    totals = budget(cfg)
    ratio = totals["attention (MHA)"] / totals["FFNs"]
    print(f"num_feedforward_networks={n_ffn}: " + ", ".join(f"{k} {v:,}" for k, v in totals.items())
          + f"  | MHA:FFN = 1:{1 / ratio:.2f}   total {count_parameters(layer_shapes(cfg, 0)):,}")
