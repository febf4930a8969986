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
# `model.py` calls its kernel functions (`functional.KERNELS`) through `backend.ops()`. The NumPy versions in `functional.py` are the readable definition; the Numba and
# Cython backends implement the same signatures with the elementwise work fused into compiled loops
# (the matrix products stay in BLAS). Here we run one MobileBERT block under every backend that loads,
# check they agree, and time them.
#
# If only NumPy is available (no Numba installed, no C compiler at install time) the notebook still runs
# and says so.

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
import timeit

import numpy as np

import minimobilebert
from minimobilebert import MobileBertConfig, MobileBertModel, capture, use_backend
from minimobilebert import functional as F
from minimobilebert import model as mb
from minimobilebert.backend import unavailable_backends
from minimobilebert.exercises import check, load_mobilebert, question, solution

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
net, weights = load_mobilebert(num_hidden_layers=1)  # MINIMOBILEBERT_CHECKPOINT, else random weights
config = net.config
print("MobileBERT weights:", weights)
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
# The same check intermediate by intermediate: run the whole model under `capture()` with each backend
# and compare every captured activation with the NumPy reference's. Each row is one step of the block, so a
# kernel that disagrees shows exactly where.

# %%
captured = {}
for name in backends:
    with use_backend(name), capture() as backend_acts:
        net(ids)
    captured[name] = backend_acts
print(f"{'intermediate':44s}" + "".join(f"{b:>12s}" for b in backends))
for key, ref in captured["numpy"].items():
    if not key.startswith("encoder.layer.0.") or ref.dtype.kind != "f":
        continue
    row = [float(np.abs(captured[b][key] - ref).max() / max(np.abs(ref).max(), 1e-30)) for b in backends]
    print(f"{key[len('encoder.layer.0.'):]:44s}" + "".join(f"{r:12.1e}" for r in row))

# %% [markdown]
# ## Speed
#
# Median of a few repeats, one block, batch 1 x 128 tokens, after a warm-up call (Numba compiles on
# first use; its cache makes later sessions fast). The timing runs with **one BLAS thread**, fixed here
# with `threadpoolctl` (and `notebooks/build.py` starts the kernel with `OPENBLAS_NUM_THREADS=1`): on a
# shared 2-core machine, BLAS threads that spin-wait for each other made the same table swing between
# builds. These are this machine's numbers at the time of the build, not a benchmark.

# %%
def time_block(name, repeats=5, number=10):
    with use_backend(name):
        mb.layer(hidden, None, p, config)  # warm-up
        runs = timeit.repeat(lambda: mb.layer(hidden, None, p, config), number=number, repeat=repeats)
    return float(np.median(runs)) / number


try:
    from threadpoolctl import threadpool_limits
except ImportError:  # without threadpoolctl, the environment's thread count applies
    import contextlib

    threadpool_limits = lambda limits: contextlib.nullcontext()  # noqa: E731
with threadpool_limits(limits=1):
    timings = {name: time_block(name) for name in backends}
base = timings["numpy"]
print(f"BLAS threads: 1 (threadpoolctl); OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}")
for name, seconds in timings.items():
    print(f"{name:7s} {seconds * 1e3:7.2f} ms per block   ({base / seconds:4.2f}x vs numpy)")

# %% [markdown]
# ## The benchmark
#
# `kernels/benchmark.py` measures the whole model against torch eager and ONNX Runtime, several batch
# sizes and thread counts, and draws `docs/img/benchmark.png`. If that plot exists in this checkout it
# is shown here; otherwise run the script.

# %%
plot = Path.cwd().parent / "docs" / "img" / "benchmark.png"  # notebooks/ -> the repository's docs/
if plot.is_file():
    from IPython.display import Image, display

    display(Image(filename=str(plot)))
else:
    print(f"{plot} does not exist yet: run `python kernels/benchmark.py` to produce it.")

# %% [markdown]
# ## Exercises
#
# **1. One fused step by hand.** The first half of every FFN is `relu(x @ W.T + b)` — what the
# `linear_act` kernel fuses. Write it; the checker compares it with the package on captured activations.

# %%
print(question("linear_relu"))


def my_linear_relu(x, weight, bias):
    return solution("linear_relu")(x, weight, bias)  # replace with your code


check("linear_relu", my_linear_relu)

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# def my_linear_relu(x, weight, bias):
#     return np.maximum(x @ weight.T + bias, 0)      # [B, T, 128] @ [128, 512] -> [B, T, 512]
# ```
# </details>
#
# **2. gelu or relu?** MobileBERT replaced BERT's gelu with relu for latency. Time both on a `[128, 512]`
# array (min of several `timeit` repeats), then answer which is slower.

# %%
x = np.random.default_rng(0).normal(size=(128, 512)).astype(np.float32)
with threadpool_limits(limits=1):
    for act in ("relu", "gelu"):
        seconds = min(timeit.repeat(lambda: getattr(F, act)(x), number=50, repeat=5)) / 50
        print(f"{act}: {seconds * 1e6:8.1f} us")
print(question("slower_activation"))
check("slower_activation", solution("slower_activation"))  # replace with your answer, "gelu" or "relu"

# %% [markdown]
# <details><summary>Solution</summary>
#
# `"gelu"`: relu is one comparison per element; our gelu evaluates erf with a polynomial and an exp per
# element (`functional.erf`), several times the work. On a phone the paper reports gelu (with LayerNorm)
# as *"a considerable proportion of total latency"*.
# </details>
#
# ## Summary
#
# * The model calls a few kernels through `backend.ops()`; NumPy (`functional.py`) is the reference, Numba
#   and Cython fuse the elementwise work around the same BLAS matrix products.
# * Backends agree to float32 rounding (they sum in different orders), checked block by block and
#   intermediate by intermediate with `capture()`.
# * Timings depend on the machine and its BLAS threads: the table above is for one thread, on the machine
#   that built this page. `kernels/benchmark.py` is the place for real measurements.
