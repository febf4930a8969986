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
# # 6. Kernels: the NumPy reference vs Numba vs Cython
#
# `model.py` calls four kernel functions through `backend.ops()`: `linear_act`, `linear_norm`, `ffn`
# and `attention`. The NumPy versions in `functional.py` are the readable definition; the Numba and
# Cython backends implement the same signatures with the elementwise work fused into compiled loops
# (the matrix products stay in BLAS). Here we run one MobileBERT block under every backend that loads,
# check they agree, and time them.
#
# If only NumPy is available (no Numba installed, no C compiler at install time) the notebook still runs
# and says so.

# %%
import os
import timeit
from pathlib import Path

import numpy as np

import minimobilebert
from minimobilebert import MobileBertConfig, MobileBertModel, capture, use_backend
from minimobilebert import functional as F
from minimobilebert import model as mb
from minimobilebert.backend import get_backend, unavailable_backends

backends = minimobilebert.available_backends()
print("available (fastest first):", backends)
print("not available:", unavailable_backends() or "none")
print("active by default:", minimobilebert.current_backend())
if backends == ["numpy"]:
    print("Only the NumPy reference is available: the comparisons below have one row.")

# %% [markdown]
# ## One block, the published shapes
#
# A 128-token input to layer 0 of a published-shape model (random weights; the speed does not depend
# on the values). We take the block's input from a captured forward pass.

# %%
CHECKPOINT = os.environ.get("MINIMOBILEBERT_CHECKPOINT")
net = (MobileBertModel.from_pretrained(CHECKPOINT) if CHECKPOINT
       else MobileBertModel(MobileBertConfig.published(num_hidden_layers=1), seed=0))
config = net.config
rng = np.random.default_rng(0)
T = 128
ids = rng.integers(1000, 30000, size=(1, T))
with use_backend("numpy"), capture() as acts:
    net(ids)
hidden = acts["embeddings.output"]  # [1, 128, 512]
p = net.p["encoder"]["layer"][0]
print("block input", hidden.shape)

# %% [markdown]
# ## Agreement
#
# Every backend runs `model.layer` on the same input; we compare with the NumPy reference. The
# compiled backends sum in a different order (fused loops, `fastmath` reassociation), so agreement is
# to float32 rounding, not bit for bit.

# %%
outputs = {}
for name in backends:
    with use_backend(name):
        outputs[name], _ = mb.layer(hidden, None, p, config)
reference = outputs["numpy"]
for name, out in outputs.items():
    rel = float(np.abs(out - reference).max() / np.abs(reference).max())
    print(f"{name:7s} max |difference| / max |reference| = {rel:.2e}")
    assert rel < 1e-4, name

# %% [markdown]
# The same check kernel by kernel, calling each backend's module directly (`backend.get_backend`):

# %%
D, H = config.true_hidden_size, config.hidden_size
x128 = acts["encoder.layer.0.attention.output"]
ffn_p = p["ffn"][0]
q, k, v = (acts[f"encoder.layer.0.attention.self.{n}"] for n in ("query", "key", "value"))
i, o = ffn_p["intermediate"]["dense"], ffn_p["output"]["dense"]
n = ffn_p["output"]["LayerNorm"]
cases = {
    "linear_act": lambda m: m.linear_act(x128, i["weight"], i["bias"], "relu"),
    "linear_norm": lambda m: m.linear_norm(hidden, p["bottleneck"]["input"]["dense"]["weight"],
                                           p["bottleneck"]["input"]["dense"]["bias"],
                                           p["bottleneck"]["input"]["LayerNorm"]["weight"],
                                           p["bottleneck"]["input"]["LayerNorm"]["bias"], None, "no_norm", 1e-12),
    "ffn": lambda m: m.ffn(x128, i["weight"], i["bias"], o["weight"], o["bias"], n["weight"], n["bias"],
                           "relu", "no_norm", 1e-12),
    "attention": lambda m: m.attention(q, k, v, None, config.num_attention_heads)[0],
}
print(f"{'kernel':12s}" + "".join(f"{b:>14s}" for b in backends))
for kernel, call in cases.items():
    ref = call(F)
    row = [float(np.abs(call(get_backend(b)) - ref).max() / np.abs(ref).max()) for b in backends]
    print(f"{kernel:12s}" + "".join(f"{r:14.1e}" for r in row))

# %% [markdown]
# ## Speed
#
# Median of a few repeats, one block, batch 1 x 128 tokens, after a warm-up call (Numba compiles on
# first use; its cache makes later sessions fast). These are this machine's numbers, with whatever
# BLAS thread count the environment sets — the notebook test runs with one thread.

# %%
def time_block(name, repeats=5, number=10):
    with use_backend(name):
        mb.layer(hidden, None, p, config)  # warm-up
        runs = timeit.repeat(lambda: mb.layer(hidden, None, p, config), number=number, repeat=repeats)
    return float(np.median(runs)) / number


timings = {name: time_block(name) for name in backends}
base = timings["numpy"]
print(f"threads: OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}")
for name, seconds in timings.items():
    print(f"{name:7s} {seconds * 1e3:7.2f} ms per block   ({base / seconds:4.2f}x vs numpy)")

# %% [markdown]
# ## The benchmark
#
# `kernels/benchmark.py` measures the whole model against torch eager and ONNX Runtime, several batch
# sizes and thread counts, and draws `docs/img/benchmark.png`. If that plot exists in this checkout it
# is shown here; otherwise run the script.

# %%
plot = Path(minimobilebert.__file__).resolve().parents[1] / "docs" / "img" / "benchmark.png"
if plot.is_file():
    from IPython.display import Image, display

    display(Image(filename=str(plot)))
else:
    print(f"{plot} does not exist yet: run `python kernels/benchmark.py` to produce it.")
