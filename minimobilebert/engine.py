"""The compiled encoder engine: embeddings through the last layer in ONE call to C, without the GIL.

model.py's readable forward calls a kernel per step. This engine runs the same math as one compiled
program (kernels/engine/, bound by kernels/engine.pyx as `minimobilebert._engine`):

* the dense layers that read the same input are ONE GEMM (packing.py lays their weights side by side);
* an own GEMM micro-kernel (AVX-512, AVX2/FMA or portable C, picked at run time from the CPU's features)
  with the bias, activation, residual and NoNorm fused into the tile store; LayerNorm as a row epilogue;
* attention per head with a polynomial exp, normalising the context instead of the probabilities;
* an FFN's two GEMMs as one step, 48 rows at a time, its intermediate kept in cache;
* OpenMP threads that take chunks of the B*T rows as they go, with single-threaded GEMMs inside and
  one barrier per layer (before attention, which needs every row's keys and values).

This module turns a model's nested params `p` and its config into the engine's list of steps (a `Plan`,
built once per params dict and cached), then calls it. It computes nothing itself. `model.mobilebert`
uses it for the "cython" backend when neither hidden states nor attentions are asked for and no
capture() is active (the engine keeps no intermediate results). Equal to the NumPy reference within
1e-5 relative error (tests/test_engine.py).

    load_error()          why the compiled extension is missing, or None
    cpu_problem()         why the engine is not used on this CPU (no AVX2/FMA, no AVX-512), or None
    unsupported(config)   why the engine cannot run this config, or None
    encode(p, config, input_ids, attention_mask, token_type_ids, position_ids) -> [B, T, H] float32
    pool(p, config, sequence_output) -> [B, H]   model.pooler on the engine's GEMM (no BLAS threads woken)
    num_threads()         MINIMOBILEBERT_NUM_THREADS, else the cores this process may run on
"""

from __future__ import annotations

import os
import weakref
from typing import Any

import numpy as np

from . import backend, functional, packing
from .config import MobileBertConfig
from .params import uses_embedding_transformation

try:
    from . import _engine
except Exception as e:  # noqa: BLE001 - any import failure means "not built here", with its reason kept
    _engine = None
    _LOAD_ERROR: str | None = (f"{type(e).__name__}: {e}; reinstall with a C compiler (pip install -e . builds "
                               "kernels/engine.pyx)")
else:
    _LOAD_ERROR = None

# The C side's codes (kernels/engine/engine.h: MMB_ACT_*, 0 = none); the activations' one table.
ACTIVATION_CODES = functional.ACTIVATION_CODES
NORM_CODES = {"no_norm": 1, "layer_norm": 2}
GEMM, NORM, ATTENTION = 1, 2, 3

# Activation buffers of a forward, each [B*T, width]; the plan names them by index.
HIDDEN = 0  # the block input / output, [B*T, hidden_size]: the result
QKV_A = (1, 2)  # output of the dense layers reading the block input (by layer parity: keys and values of
QKV_B = (3, 4)  # consecutive layers never share a buffer); output of those reading a bottleneck
CONTEXT, STREAM, INNER, FFN_OUT = 5, 6, 7, 8  # attention context, FFN stream x, FFN hidden, last FFN output


def load_error() -> str | None:
    """Why the compiled engine is not available here, or None."""
    return _LOAD_ERROR


def cpu_problem() -> str | None:
    """Why the engine is not used on this CPU, or None. Its fast paths are AVX-512 and AVX2 with FMA; on
    any other CPU (ARM, x86-64 without AVX2) only its portable C kernel would run, and that is far slower
    than BLAS: on x86-64 a 1x128 forward took 582 ms on the portable path, 52 ms on AVX-512, 69-75 ms on
    the kernel-per-op path with NumPy's BLAS (measured 2026-11-26; an ARM CPU was not available to measure,
    and its BLAS, e.g. Apple's Accelerate, is tuned far beyond a plain C kernel). So there the "cython"
    backend runs its kernel-per-op path. `encode()` itself still runs on any CPU (the tests force each path
    with `_engine.set_isa`)."""
    if _engine is not None and _engine.cpu_isa() == "portable":
        return ("this CPU has neither AVX-512 nor AVX2 with FMA, so the engine would run its portable C kernel, "
                "several times slower than BLAS; the kernel-per-op path runs instead, with NumPy's BLAS")
    return None


def unsupported(config: MobileBertConfig) -> str | None:
    """Why the engine cannot run `config`, or None. Every config MobileBertConfig accepts is supported;
    this guards against a config object with values the engine has no code for."""
    if config.hidden_act not in ACTIVATION_CODES:
        return f"hidden_act {config.hidden_act!r} has no compiled version"
    if config.normalization_type not in NORM_CODES:
        return f"normalization_type {config.normalization_type!r} has no compiled version"
    return None


def num_threads() -> int:
    """Threads the engine uses: the package's one thread setting, backend.num_threads()
    (MINIMOBILEBERT_NUM_THREADS if set, else the cores this process may run on)."""
    return backend.num_threads()


# ------------------------------------------------------------------------------------------ the plan


def _operand(weights: list[np.ndarray]) -> np.ndarray:
    """The GEMM right operand [in, N] of dense layers packed side by side (packing.is_packed holds):
    a view of their shared buffer, extended over all their columns."""
    first = weights[0].T  # [in, out_0], rows contiguous
    n = sum(w.shape[0] for w in weights)
    return np.lib.stride_tricks.as_strided(first, shape=(first.shape[0], n), strides=first.strides,
                                           writeable=False)


def _vector(parts: list[np.ndarray | None], made: list[np.ndarray]) -> np.ndarray | None:
    """Vectors of a group side by side (biases, norm scales and shifts): a view when they are (packing, or
    one vector), else a new array, added to `made`."""
    if parts[0] is None:
        return None
    if len(parts) == 1 or packing.is_packed_vector(parts):
        return np.lib.stride_tricks.as_strided(parts[0], shape=(sum(v.size for v in parts),), strides=(4,),
                                               writeable=False)
    made.append(np.concatenate(parts).astype(np.float32))
    return made[-1]


def _get(node: Any, path: str) -> Any:
    for part in path.split("."):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def _dense_step(dense: list[dict], src, dst, made: list[np.ndarray], **extra) -> dict:
    weights = [d["weight"] for d in dense]
    w = _operand(weights)
    return dict(kind=GEMM, src=src, dst=dst, w=w, K=w.shape[0], N=w.shape[1],
                bias=_vector([d.get("bias") for d in dense], made), **extra)


def _layer_steps(lp: dict, config: MobileBertConfig, parity: int,
                 made: list[np.ndarray]) -> tuple[list[dict], list[int]]:
    """One block's steps (model.layer, in order) and the widths of the buffers they use; arrays the steps
    need that are not views of `lp`'s are appended to `made`."""
    c = config
    D, H, I = c.true_hidden_size, c.hidden_size, c.intermediate_size
    norm = NORM_CODES[c.normalization_type]
    act = ACTIVATION_CODES[c.hidden_act]
    steps: list[dict] = []
    where: dict[str, tuple[int, int]] = {}  # dense layer -> (buffer, first column) of its output
    groups = packing.layer_groups(c)

    def layer_norm_of(dense_name: str) -> dict:  # "bottleneck.input.dense" -> bottleneck.input.LayerNorm
        return _get(lp, dense_name.rsplit(".", 1)[0])["LayerNorm"]

    n_qkv = len(groups) - (3 + 2 * (c.num_feedforward_networks - 1) + (1 if c.use_bottleneck else 0))
    widths = {}
    for g, group in enumerate(groups[:n_qkv]):
        if group == (packing.B_ATTENTION,) and c.use_bottleneck_attention:
            continue  # built by HF, never used by the forward (model.bottleneck)
        if g == 0:
            src = (HIDDEN, 0)
        elif c.use_bottleneck_attention:
            src = where[packing.B_INPUT]  # MobileBERT-TINY: Q, K, V from the input bottleneck
        else:
            src = where[packing.B_ATTENTION]  # MobileBERT: Q, K from the shared bottleneck
        buf = (QKV_A if g == 0 else QKV_B)[parity]
        dense = [_get(lp, n) for n in group]
        normed = [n for n in group if n.startswith("bottleneck.")]
        # A norm in the tile store: any member's NoNorm (per column, the other members' columns scaled by
        # 1 and shifted by 0, which leaves every value as it is), or the LayerNorm of a one-member group.
        fuse = normed and (len(group) == 1 or c.normalization_type == "no_norm")
        extra = {}
        if fuse:
            scale = [layer_norm_of(n)["weight"] if n in normed else np.ones(d["weight"].shape[0], np.float32)
                     for n, d in zip(group, dense)]
            shift = [layer_norm_of(n)["bias"] if n in normed else np.zeros(d["weight"].shape[0], np.float32)
                     for n, d in zip(group, dense)]
            extra = dict(norm=norm, norm_w=_vector(scale, made), norm_b=_vector(shift, made), eps=c.layer_norm_eps)
        steps.append(_dense_step(dense, src, (buf, 0), made, **extra))
        widths[buf] = steps[-1]["N"]
        col = 0
        for name, d in zip(group, dense):
            where[name] = (buf, col)
            if name in normed and not fuse:
                n = layer_norm_of(name)
                steps.append(dict(kind=NORM, src=(buf, col), dst=(buf, col), N=d["weight"].shape[0], norm=norm,
                                  norm_w=n["weight"], norm_b=n["bias"], eps=c.layer_norm_eps))
            col += d["weight"].shape[0]
    layer_input = where[packing.B_INPUT] if c.use_bottleneck else (HIDDEN, 0)
    att = lp["attention"]
    steps.append(dict(kind=ATTENTION, src=where[packing.QUERY], res=where[packing.KEY], aux=where[packing.VALUE],
                      dst=(CONTEXT, 0), heads=c.num_attention_heads, head_dim=c.attention_head_size))

    def dense_norm(module: dict, src, dst, res, eps: float) -> dict:
        n = module["LayerNorm"]
        return _dense_step([module["dense"]], src, dst, made, res=res, norm=norm, norm_w=n["weight"],
                           norm_b=n["bias"], eps=eps)

    steps.append(dense_norm(att["output"], (CONTEXT, 0), (STREAM, 0), layer_input, c.layer_norm_eps))
    for ffn in lp.get("ffn", []):
        steps.append(_dense_step([ffn["intermediate"]["dense"]], (STREAM, 0), (INNER, 0), made, act=act))
        steps.append(dense_norm(ffn["output"], (INNER, 0), (STREAM, 0), (STREAM, 0), c.layer_norm_eps))
    steps.append(_dense_step([lp["intermediate"]["dense"]], (STREAM, 0), (INNER, 0), made, act=act))
    out = lp["output"]
    last = (FFN_OUT, 0) if c.use_bottleneck else (HIDDEN, 0)
    steps.append(dense_norm(out, (INNER, 0), last, (STREAM, 0), c.embedding_and_output_norm_eps))
    if c.use_bottleneck:
        steps.append(dense_norm(out["bottleneck"], (FFN_OUT, 0), (HIDDEN, 0), (HIDDEN, 0), c.layer_norm_eps))
    widths.update({HIDDEN: H, CONTEXT: D, STREAM: D, INNER: I, FFN_OUT: D})
    return steps, widths


def _config_key(config: MobileBertConfig) -> tuple:
    return tuple(getattr(config, f) for f in (
        "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "hidden_act",
        "embedding_size", "trigram_input", "use_bottleneck", "intra_bottleneck_size", "use_bottleneck_attention",
        "key_query_shared_bottleneck", "num_feedforward_networks", "normalization_type", "layer_norm_eps",
        "embedding_and_output_norm_eps"))


def build_plan(p: dict, config: MobileBertConfig):
    """The engine's steps for params `p` (nested, as model.mobilebert takes) and `config`, as a Plan. The
    Plan holds raw pointers into `p`'s arrays (or into views of them), which whoever runs it must keep
    alive until the call returns, and into arrays made here (copies of tables that were not contiguous,
    biases of a group that are not packed side by side), which the Plan owns (`plan.keep`). Packs `p` in
    place first if it is not (packing.pack_nested)."""
    c = config
    packing.pack_nested(c, p)
    e = p["embeddings"]
    steps: list[dict] = []
    widths = {}
    made: list[np.ndarray] = []  # arrays the plan points into that are not `p`'s (kept alive by the caller)
    for i, lp in enumerate(p["encoder"]["layer"]):
        s, w = _layer_steps(lp, c, i % 2, made)
        steps += s
        widths.update(w)
    t = e.get("embedding_transformation") if uses_embedding_transformation(c) else None
    emb = dict(word=e["word_embeddings"]["weight"], trigram=c.trigram_input,
               tw=None if t is None else t["weight"].T, tb=None if t is None else t.get("bias"),
               pos=e["position_embeddings"]["weight"], types=e["token_type_embeddings"]["weight"],
               norm=NORM_CODES[c.normalization_type], norm_w=e["LayerNorm"]["weight"],
               norm_b=e["LayerNorm"]["bias"], eps=c.embedding_and_output_norm_eps)
    for a in [v for v in emb.values() if isinstance(v, np.ndarray)] + [
            v for s in steps for v in s.values() if isinstance(v, np.ndarray)]:
        if a.dtype != np.float32:
            raise TypeError(f"the engine needs float32 weights, got {a.dtype}")
    for name in ("word", "pos", "types"):
        if not emb[name].flags.c_contiguous:
            emb[name] = np.ascontiguousarray(emb[name])  # a table someone sliced: the engine indexes rows
            made.append(emb[name])
    if t is not None and t["weight"].strides[0] != 4:
        emb["tw"] = np.ascontiguousarray(t["weight"].T)
        made.append(emb["tw"])
    n_bufs = max(widths) + 1
    return _engine.Plan(emb, steps, [widths.get(i, 1) for i in range(n_bufs)], c.hidden_size, keep=made)


_PLANS: dict[int, tuple] = {}  # id(p) -> (Plan, config key, weakrefs to p's arrays)


def _arrays_of(p: Any) -> list[np.ndarray]:
    """Every array inside the nested params `p` (the weights whose memory a plan of `p` reads)."""
    if isinstance(p, np.ndarray):
        return [p]
    values = p.values() if isinstance(p, dict) else p if isinstance(p, (list, tuple)) else ()
    return [a for v in values for a in _arrays_of(v)]


def _plan(p: dict, config: MobileBertConfig) -> tuple:
    """The cached plan of `p` and `p`'s arrays: (Plan, list of arrays). The caller holds that list until its
    call returns, so that the memory the plan reads cannot be freed meanwhile (another thread may rebind a
    weight, or drop the model). The plan is rebuilt when the config changed, when any array of `p` was
    freed, or when `p`'s word embeddings are not the array the plan was built from (a new model whose params
    dict got the id of a freed one). Arrays changed IN PLACE are seen; rebinding some other weight inside `p`
    to a new array, while the old one lives on elsewhere, is not: call `forget(p)` after doing that."""
    key = _config_key(config)
    word = p["embeddings"]["word_embeddings"]["weight"]
    hit = _PLANS.get(id(p))
    if hit is not None and hit[1] == key and hit[2][0]() is word:
        arrays = [r() for r in hit[2]]
        if all(a is not None for a in arrays):
            return hit[0], arrays
    plan = build_plan(p, config)  # packs p first if it is not: read its arrays after
    word = p["embeddings"]["word_embeddings"]["weight"]
    for k in [k for k, entry in _PLANS.items() if any(r() is None for r in entry[2])]:
        del _PLANS[k]  # plans of params that no longer exist
    arrays = [word] + [a for a in _arrays_of(p) if a is not word]
    _PLANS[id(p)] = (plan, key, [weakref.ref(a) for a in arrays])
    return plan, arrays


def forget(p: dict) -> None:
    """Drop the cached plan of `p` (after rebinding arrays inside it)."""
    _PLANS.pop(id(p), None)


def encode(p: dict, config: MobileBertConfig, input_ids: np.ndarray, attention_mask: np.ndarray | None,
           token_type_ids: np.ndarray | None, position_ids: np.ndarray | None) -> np.ndarray:
    """The base model's sequence output (embeddings through the last layer), float32 [B, T, hidden_size], for
    already-validated int64 arrays: input_ids / token_type_ids / attention_mask [B, T] (mask may be None),
    position_ids [1, T] or [B, T]. `p` is the nested params dict (model.p, or model.p["mobilebert"])."""
    if _engine is None:
        raise RuntimeError(f"the compiled engine is not available: {_LOAD_ERROR}")
    why = unsupported(config)
    if why is not None:
        raise RuntimeError(f"the compiled engine cannot run this config: {why}")
    ids = np.ascontiguousarray(input_ids, dtype=np.int64)
    B, T = ids.shape
    types = np.zeros_like(ids) if token_type_ids is None else np.ascontiguousarray(token_type_ids, dtype=np.int64)
    positions = (np.arange(T, dtype=np.int64)[None] if position_ids is None
                 else np.ascontiguousarray(position_ids, dtype=np.int64))
    mask = None if attention_mask is None else np.ascontiguousarray(attention_mask, dtype=np.int64)
    if types.shape != (B, T) or positions.shape not in ((1, T), (B, T)) or (mask is not None and mask.shape != (B, T)):
        raise ValueError(f"engine inputs disagree in shape: ids {ids.shape}, token types {types.shape}, positions "
                         f"{positions.shape}, mask {None if mask is None else mask.shape}")
    e = p["embeddings"]
    for name, index, table in (("input_ids", ids, e["word_embeddings"]["weight"]),
                               ("token_type_ids", types, e["token_type_embeddings"]["weight"]),
                               ("position_ids", positions, e["position_embeddings"]["weight"])):
        if index.size and (index.min() < 0 or index.max() >= table.shape[0]):  # the C side indexes rows
            raise ValueError(f"{name} holds values outside [0, {table.shape[0]}), the rows of its embedding table")
    plan, arrays = _plan(p, config)  # `arrays` keeps p's weights alive until the call returns
    return _engine.forward(plan, ids, types, positions, mask, num_threads())


def pool(p: dict, config: MobileBertConfig, sequence_output: np.ndarray) -> np.ndarray:
    """model.pooler, the [CLS] vector (tanh(dense(.)) with classifier_activation), on the engine's own GEMM.
    [B, T, H] -> [B, H]

    Why not NumPy's `@`: the pooler is the first matrix product after the engine, and for a batch OpenBLAS
    runs it on all its threads; its worker thread then spins, waiting for more work, while the next forward's
    engine threads want both cores (measured: 8 x 128 at 2 threads, 208 -> 278 ms a forward). The engine's
    GEMM is single-threaded and leaves nothing running. The weight is packed (packing.py), so `weight.T` is
    the right operand the GEMM reads, rows contiguous and row stride that of the padded buffer; an
    unpacked one is copied."""
    first = sequence_output[:, 0]  # [B, T, H] -> [B, H], rows T*H apart
    if not config.classifier_activation:
        return first
    if _engine is None:
        raise RuntimeError(f"the compiled engine is not available: {_LOAD_ERROR}")
    dense = p["pooler"]["dense"]
    right = dense["weight"].T  # [in, out]: rows of the packed buffer (padded: packing.ROW_PAD), read in place
    if right.dtype != np.float32 or (right.strides[1] != 4 and right.shape[1] > 1):
        right = np.ascontiguousarray(right, dtype=np.float32)  # a weight that was not packed: copied
    bias = np.ascontiguousarray(dense["bias"], dtype=np.float32)
    return _engine.gemm(np.asarray(first, dtype=np.float32), right, bias=bias,
                        act=functional.ACTIVATION_CODES["tanh"])  # [B, H] -> [B, H]
