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
# # 4. Why MobileBERT's activations are huge, and what that breaks
#
# The published checkpoint `google/mobilebert-uncased` gives, for the input
# `[101, 7110, 1005, 1056, 2023, 11333, 17413, 1029, 102]`, a last hidden state whose first entry is
# **-2.4736526e7** (Hugging Face's integration test; `shared/reference/published-values.md`). Other
# entries of the same vector are around 1e5, and other tokens' entries around 1.
#
# The reason is NoNorm (notebook 02): *"We replace the layer normalization of a n-channel hidden state h
# with an element-wise linear transformation"* (Sun et al., 2020). LayerNorm resets every token's scale
# in every block; NoNorm multiplies by a learned γ and nothing ever pulls the scale back. Where the
# trained γ are above 1 along the residual path, the scale compounds over 24 blocks.
#
# Consequences worked through below: float16 overflows (its maximum is 65504), per-tensor int8
# quantisation wipes out every ordinary value, and a padding mask of -1e4 no longer masks.

# %%
import os

os.environ.setdefault("MINIMOBILEBERT_BACKEND", "numpy")  # step through the readable NumPy reference

import matplotlib.pyplot as plt
import numpy as np

from minimobilebert import MobileBertConfig, MobileBertModel, capture
from minimobilebert import functional as F

PUBLISHED_FIRST = -2.4736526e07  # last_hidden_state[0, 0, 0] of google/mobilebert-uncased (published)
ids = np.array([[101, 7110, 1005, 1056, 2023, 11333, 17413, 1029, 102]])

CHECKPOINT = os.environ.get("MINIMOBILEBERT_CHECKPOINT")
config = MobileBertConfig.published()  # all 24 layers: the growth needs the depth
net = MobileBertModel.from_pretrained(CHECKPOINT) if CHECKPOINT else MobileBertModel(config, seed=0)
config = net.config
out = net(ids, output_hidden_states=True)
print("weights:", CHECKPOINT or "random (seed 0), published shapes, 24 layers")
print("last_hidden_state[0, :3, :3] =\n", out.last_hidden_state[0, :3, :3])
if CHECKPOINT:
    print("ratio to the published value:", out.last_hidden_state[0, 0, 0] / PUBLISHED_FIRST)

# %% [markdown]
# ## Random weights stay small
#
# With HF's initialisation every NoNorm has γ = 1 and β = 0, and the dense weights have std 0.02, so
# nothing amplifies: the random model's activations stay around 0.1 in every layer. **This is not
# what the trained model does.** To see the mechanism we give every NoNorm a γ of 1.5 — a stand-in for
# trained scales above 1 — and watch the largest activation per layer.

# %%
def with_norm_scale(model, scale):
    """A copy of `model` whose every NoNorm/LayerNorm weight (γ) is multiplied by `scale`."""
    params = {k: (v * np.float32(scale) if k.endswith("LayerNorm.weight") else v) for k, v in model.params.items()}
    return MobileBertModel(model.config, params)


def max_per_layer(model, **kwargs):
    hidden = model(ids, output_hidden_states=True, **kwargs).hidden_states  # embeddings, then each layer
    return np.array([float(np.abs(h).max()) for h in hidden])


curves = {"γ × 1 (random init)" if not CHECKPOINT else "checkpoint as is": max_per_layer(net)}
if not CHECKPOINT:
    for scale in (1.25, 1.5):
        curves[f"γ × {scale}, NoNorm"] = max_per_layer(with_norm_scale(net, scale))
    layer_norm_net = MobileBertModel(config.replace(normalization_type="layer_norm"), net.params)
    curves["γ × 1.5, LayerNorm instead"] = max_per_layer(with_norm_scale(layer_norm_net, 1.5))

fig, ax = plt.subplots(figsize=(7, 4))
for label, curve in curves.items():
    ax.semilogy(curve, marker=".", label=label)
ax.axhline(65504, color="red", ls="--", lw=1, label="float16 max (65504)")
ax.axhline(abs(PUBLISHED_FIRST), color="black", ls=":", lw=1, label="published |-2.47e7|")
ax.set_xlabel("hidden state (0 = embeddings, i = after layer i)")
ax.set_ylabel("max |activation|")
ax.legend(fontsize=8)
ax.set_title("Activation scale through 24 blocks")
plt.show()
for label, curve in curves.items():
    print(f"{label:28s} embeddings {curve[0]:.3g} -> last layer {curve[-1]:.3g}")

# %% [markdown]
# With γ = 1.5 each block multiplies the residual stream's scale by roughly the same factor, and after
# 24 blocks the largest value is of the order of the published -2.47e7. LayerNorm, given the same γ,
# stays flat: it divides by the standard deviation first.
#
# From here on, `big` is the model with γ × 1.5 (or the real checkpoint).

# %%
big = net if CHECKPOINT else with_norm_scale(net, 1.5)
with capture() as acts:
    big_out = big(ids)
last = big_out.last_hidden_state[0]  # [T, 512]
print("big model: max |last_hidden_state| =", f"{np.abs(last).max():.3g}")

# %% [markdown]
# ## float16: overflow
#
# float16's largest finite value is 65504. Anything larger becomes infinity, and one infinity turns an
# attention row into NaN (inf - inf in the softmax's max-shift).

# %%
with np.errstate(over="ignore"):  # the overflow is the point
    print("float16 max:", np.finfo(np.float16).max, "| np.float16(-2.47e7) =", np.float16(PUBLISHED_FIRST))
for i in range(0, config.num_hidden_layers, 3):
    value = acts[f"encoder.layer.{i}.output"]  # block i's output, [B, T, 512]
    with np.errstate(over="ignore"):
        infs = int(np.isinf(value.astype(np.float16)).sum())
    print(f"layer {i:2d} output: max {np.abs(value).max():9.3g}   entries that overflow in float16: "
          f"{infs:5d} / {value.size}")

# %% [markdown]
# The attention scores overflow even earlier than the hidden states, because a dot product sums 32
# products of large numbers. Here is the last layer's attention in float16 versus float32:

# %%
n = config.num_hidden_layers - 1
q = acts[f"encoder.layer.{n}.attention.self.query"]
k = acts[f"encoder.layer.{n}.attention.self.key"]
v = acts[f"encoder.layer.{n}.attention.self.value"]
_, probs32 = F.attention(q, k, v, None, config.num_attention_heads)
with np.errstate(all="ignore"):
    _, probs16 = F.attention(q.astype(np.float16), k.astype(np.float16), v.astype(np.float16), None,
                             config.num_attention_heads)
print(f"last layer: max |query| {np.abs(q).max():.3g}, max |key| {np.abs(k).max():.3g}")
print("float32 probabilities finite:", bool(np.isfinite(probs32).all()))
print("float16 probabilities: NaN entries", int(np.isnan(probs16).sum()), "of", probs16.size)

# %% [markdown]
# This is why minimobilebert computes in float32 only and upcasts float16 checkpoints with a warning.
# bfloat16 has float32's exponent range and would not overflow, but keeps only 8 bits of mantissa.
#
# ## int8: one outlier sets the scale for everyone
#
# Symmetric per-tensor int8 quantisation stores `round(x / s)` with `s = max|x| / 127`. Take the
# published numbers themselves: token 0's vector holds -2.47e7 and 1.65e5, token 1's holds values
# around 4.

# %%
published = np.array([[-2.4736526e07, 8.2691656e04, 1.6521838e05],
                      [-5.7541704e-01, 3.9056022e00, 4.4011507e00],
                      [2.6047359e00, 1.5677652e00, -1.7324188e-01]], dtype=np.float32)


def int8_roundtrip(x, axis=None):
    """Quantise to int8 with a symmetric scale (per tensor, or per slice along `axis`) and back."""
    scale = np.abs(x).max(axis=axis, keepdims=axis is not None) / 127
    return np.clip(np.round(x / scale), -127, 127).astype(np.int8) * scale, scale


per_tensor, s = int8_roundtrip(published)
print(f"per-tensor scale s = {float(s):.4g}: every |x| < s/2 = {float(s) / 2:.3g} rounds to 0")
print("dequantised:\n", per_tensor)
per_token, s_tok = int8_roundtrip(published, axis=1)
print("per-token scales:", s_tok.ravel(), "\ndequantised:\n", per_token)

# %% [markdown]
# Per tensor, tokens 1 and 2 vanish entirely; per token (one scale per row) they survive, but token
# 0's own 8.3e4 is still only kept to about ±1e5. The same on a whole hidden state of the big model:

# %%
def relative_error(x, x_hat):
    typical = np.median(np.abs(x))
    return float(np.median(np.abs(x - x_hat)) / typical)


for label, axis in (("per tensor", None), ("per token", 1), ("per channel", 0)):
    x_hat, _ = int8_roundtrip(last, axis=axis)
    zeroed = float(((x_hat == 0) & (last != 0)).mean())
    print(f"{label:12s} median relative error {relative_error(last, x_hat):8.3g}   values zeroed {zeroed:6.1%}")
print(f"max / median |x|: this model {np.abs(last).max() / np.median(np.abs(last)):.3g}, "
      f"published token 0 vs token 1 {abs(published[0, 0]) / np.median(np.abs(published[1:])):.3g}")

# %% [markdown]
# Our γ × 1.5 model grows *uniformly*: every entry is large, the largest is only a few dozen times the
# median, and int8 copes. The trained model concentrates its scale in a few entries (the published
# -2.47e7 sits next to values around 4), a ratio of about 1e7 : 1 that no single 8-bit scale can span.
# That outlier structure, not the scale itself, is what breaks per-tensor int8; with a real checkpoint
# (`MINIMOBILEBERT_CHECKPOINT`) the table above shows it.

# %% [markdown]
# ## Masks need the dtype minimum
#
# Padding is removed from attention by adding a large negative number to the padded keys' scores.
# BERT code used -1e4 (or -10000.0). That is only "minus infinity" if real scores are much smaller than
# 1e4 — not true here. `functional.mask_bias_from_attention_mask` uses the float32 minimum instead.
# We append three padded positions to the last layer's queries, keys and values (padded positions are
# computed by the same layers as real ones, so their keys are as large) and compare.

# %%
T = q.shape[1]
rng = np.random.default_rng(0)
pad = 3
scale_of_keys = np.abs(k).max()
k_pad = np.concatenate([k, rng.normal(0, scale_of_keys, (1, pad, k.shape[2])).astype(np.float32)], axis=1)
v_pad = np.concatenate([v, rng.normal(0, 1, (1, pad, v.shape[2])).astype(np.float32)], axis=1)
q_pad = np.concatenate([q, np.zeros((1, pad, q.shape[2]), np.float32)], axis=1)
mask = np.array([[1] * T + [0] * pad])

scores = (q[0, :, :32] @ k[0, :, :32].T) / np.sqrt(32)  # head 0's raw scores, real tokens only
print(f"head 0 raw scores span {scores.min():.3g} .. {scores.max():.3g}")

context_ref, _ = F.attention(q, k, v, None, config.num_attention_heads)  # no padding at all
for label, bias in (("-1e4", np.where(mask, 0.0, -1e4).astype(np.float32)),
                    ("float32 min", F.mask_bias_from_attention_mask(mask))):
    context, probs = F.attention(q_pad, k_pad, v_pad, bias, config.num_attention_heads)
    leaked = float(probs[0, :, :T, T:].sum(-1).max())
    err = float(np.abs(context[:, :T] - context_ref).max() / np.abs(context_ref).max())
    print(f"mask {label:12s} max probability on padded keys {leaked:.3g}   change of real outputs {err:.3g}")
print("mask_bias_from_attention_mask gives:", F.mask_bias_from_attention_mask(mask)[0, -1])

# %% [markdown]
# With -1e4 the padded keys still take attention — a padded batch would give different answers from
# the same sentences run one by one. The float32 minimum stays finite (so `scores - max` cannot become
# NaN) and silences the padding at any activation scale.
