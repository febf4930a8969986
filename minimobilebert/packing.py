"""The weights' memory layout: each dense weight as a column block of one buffer per shared input.

A dense layer computes `y = x @ W.T + b` with HF's weight W of shape [out, in]. A GEMM reads its right
operand fastest as rows of `W.T`, a row-major [in, out] matrix; and several dense layers of a block read
the SAME input, so their `W.T`s side by side form one wider right operand, and one GEMM does all of them:

    the 512-wide block input  -> bottleneck.input | bottleneck.attention | attention.self.value
                                 [512, 128 + 128 + 128] = [512, 384]
    the shared bottleneck     -> attention.self.query | attention.self.key          [128, 256]
    everything else           -> its own [in, out] buffer (the pooler's dense layer too)

`pack_params` builds those buffers, copies each weight in (transposed), and puts back into the params dict
the VIEW `buffer[:, a:b].T`: HF's shape [out, in], HF's values, no second copy. So the NumPy reference,
`state_dict()`, `save_pretrained` and the notebooks see exactly the weights they saw before, and the
compiled engine (engine.py) finds its GEMM operands by following the views to their buffer. Biases of a
group are packed the same way into one [N] vector.

A buffer whose rows would be a multiple of 1 KB long (N a multiple of 256) gets ROW_PAD more floats (one
64-byte cache line) at the end of each row; the views and the engine's operand skip that tail. With rows
of exactly N floats, the FFN's [128, 512] buffer has a row stride of 2 KB, and a 16-column panel of it
(what the engine's AVX2 kernel reads, one cache line per row) falls entirely in two sets of the L1 cache,
which hold 16 lines, so the panel is fetched again for every row panel of the left operand. Measured
2026-11-26, models with and without padding alternating in one process, one thread: padding every
buffer, the AVX2 path's forward took 0.94x the time (8x128 and 1x128) and the AVX-512 path's 0.996-1.003x,
but the weights 5% more memory (peak RSS of load + forward 1.44x -> 1.49x the weights); padding only
these buffers (1.2% more memory, peak 1.45x): 1x128 on AVX2 0.943x, 8x128 0.98-1.01x in a noisy hour,
AVX-512 0.99-1.00x.

Nothing is folded (folding NoNorm into the next weight is not exact in float32); LayerNorm/NoNorm weights
and the embedding tables are left as they are.

Which layers share an input depends on the config (see `layer_groups`); packing handles every config the
reference runs. It goes layer by layer, so while loading, memory peaks at the weights plus one layer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .config import MobileBertConfig
from .files import release_pages
from .params import uses_embedding_transformation

# Dense layers of one block (names relative to "encoder.layer.{i}."), grouped by the input they read.
QUERY, KEY, VALUE = "attention.self.query", "attention.self.key", "attention.self.value"
B_INPUT, B_ATTENTION = "bottleneck.input.dense", "bottleneck.attention.dense"
ROW_PAD = 16  # floats after each row of a packed buffer whose rows are a multiple of 1 KB (module docstring)


def row_pad(n: int) -> int:
    """Floats of padding after each row of a packed [in, n] buffer: ROW_PAD when n floats are a multiple of
    1 KB (rows that fall into few cache sets), else none."""
    return ROW_PAD if n % 256 == 0 else 0


def layer_groups(config: MobileBertConfig) -> list[tuple[str, ...]]:
    """The dense layers of a block, in groups that read the same input, each group in column order.

    The first group reads the block input; with bottlenecks the Q/K/V projections read a bottleneck's
    output instead (model.bottleneck decides which):
        MobileBERT (key_query_shared_bottleneck): [input, attention, value], [query, key]
        MobileBERT-TINY (use_bottleneck_attention): [input], [query, key, value]   (both reading the input
            bottleneck; a shared-bottleneck weight, if the config also asks for it, is never used and
            packed alone)
        bottleneck, neither switch (hidden_size == intra_bottleneck_size): [input, query, key, value]
        no bottleneck: [query, key, value]
    """
    c = config
    if c.use_bottleneck:
        if c.use_bottleneck_attention:
            qkv = [(B_INPUT,), (QUERY, KEY, VALUE)]
            if c.key_query_shared_bottleneck:
                qkv.append((B_ATTENTION,))
        elif c.key_query_shared_bottleneck:
            qkv = [(B_INPUT, B_ATTENTION, VALUE), (QUERY, KEY)]
        else:
            qkv = [(B_INPUT, QUERY, KEY, VALUE)]
    else:
        qkv = [(QUERY, KEY, VALUE)]
    rest: list[tuple[str, ...]] = [("attention.output.dense",)]
    for j in range(c.num_feedforward_networks - 1):
        rest += [(f"ffn.{j}.intermediate.dense",), (f"ffn.{j}.output.dense",)]
    rest += [("intermediate.dense",), ("output.dense",)]
    if c.use_bottleneck:
        rest.append(("output.bottleneck.dense",))
    return qkv + rest


def base_prefix(params: dict[str, Any]) -> str | None:
    """"" for a base model's params, "mobilebert." for a head model's; None if there is no encoder."""
    for prefix in ("", "mobilebert."):
        if f"{prefix}embeddings.word_embeddings.weight" in params:
            return prefix
    return None


def packed_group(weights: list[np.ndarray], biases: list[np.ndarray | None]):
    """Copy dense layers that read the same input into one buffer. weights: [out_i, in] each.
    Returns (views [out_i, in] of a [in, sum out_i] buffer, bias views of one [sum out_i] vector or None)."""
    n_in = weights[0].shape[1]
    widths = [w.shape[0] for w in weights]
    n = sum(widths)
    buffer = np.empty((n_in, n + row_pad(n)), dtype=np.float32)[:, :n]  # [in, N]: the GEMM's right operand
    bias_buffer = np.empty(n, dtype=np.float32) if all(b is not None for b in biases) else None
    views, bias_views, a = [], [], 0
    for w, b, width in zip(weights, biases, widths):
        buffer[:, a : a + width] = w.T  # [out, in] -> columns a..a+width of [in, N]
        views.append(buffer[:, a : a + width].T)  # [out, in] again: HF's shape and values, no copy
        if bias_buffer is not None:
            bias_buffer[a : a + width] = b
            bias_views.append(bias_buffer[a : a + width])
        else:
            bias_views.append(b)
        a += width
    return views, bias_views


def is_packed(weights: list[np.ndarray]) -> bool:
    """True when these [out, in] weights are adjacent column blocks, in order, of one row-major [in, N]
    buffer (what packed_group leaves): then one GEMM on the buffer computes them all."""
    first = weights[0]
    if first.dtype != np.float32 or first.strides[0] != 4 or first.base is None:
        return False
    n_in, ld = first.shape[1], first.strides[1]
    a = first.__array_interface__["data"][0]
    for w in weights:
        if (w.dtype != np.float32 or w.base is not first.base or w.shape[1] != n_in or w.strides[0] != 4
                or (n_in > 1 and w.strides[1] != ld) or w.__array_interface__["data"][0] != a):
            return False
        a += 4 * w.shape[0]
    return True


def _pack_names(params: dict[str, Any], names: list[str]) -> None:
    weights = [params[f"{n}.weight"] for n in names]
    biases = [params.get(f"{n}.bias") for n in names]
    if is_packed(weights) and (biases[0] is None or is_packed_vector(biases)):
        return  # already packed (e.g. a second model built on the same dict)
    views, bias_views = packed_group(weights, biases)
    for n, w, b in zip(names, views, bias_views):
        params[f"{n}.weight"] = w  # the original array is freed here if nothing else holds it
        if b is not None:
            params[f"{n}.bias"] = b
    for original in weights:  # read from a mapped checkpoint (a deferred load): hand its pages back
        release_pages(original)


def is_packed_vector(vectors: list[np.ndarray | None]) -> bool:
    """True when these 1-D vectors are adjacent, in order, in one buffer."""
    if any(v is None or v.ndim != 1 or (v.size > 1 and v.strides[0] != 4) for v in vectors):
        return False
    a = vectors[0].__array_interface__["data"][0]
    for v in vectors:
        if v.__array_interface__["data"][0] != a or (len(vectors) > 1 and v.base is not vectors[0].base):
            return False
        a += 4 * v.size
    return True


def pack_params(config: MobileBertConfig, params: dict[str, Any]) -> dict[str, Any]:
    """Lay out the encoder's dense weights and the pooler's for the engine, IN PLACE in the flat
    {hf_name: array} dict (see the module docstring); returns the same dict. Other weights (embedding
    tables, norms, task heads) are untouched. Safe to call twice, and on params that are not complete
    (missing names are skipped)."""
    prefix = base_prefix(params)
    if prefix is None:
        return params
    if uses_embedding_transformation(config):
        name = f"{prefix}embeddings.embedding_transformation"
        if f"{name}.weight" in params:
            _pack_names(params, [name])
    for i in range(config.num_hidden_layers):
        layer = f"{prefix}encoder.layer.{i}."
        for group in layer_groups(config):
            names = [layer + n for n in group]
            if all(f"{n}.weight" in params for n in names):
                _pack_names(params, names)
    if f"{prefix}pooler.dense.weight" in params:  # engine.pool runs it on the engine's GEMM too
        _pack_names(params, [f"{prefix}pooler.dense"])
    return params


def pack_nested(config: MobileBertConfig, p: dict[str, Any]) -> None:
    """The same layout for a NESTED params dict (`nest(params)`, as model.mobilebert takes), in place.
    For callers that built `p` themselves: models built by MobileBertPreTrainedModel are packed at load."""
    def get(path: str):
        node = p
        for part in path.split("."):
            node = node[int(part)] if isinstance(node, list) else node[part]
        return node

    def pack(names: list[str]) -> None:
        denses = [get(n) for n in names]
        weights = [d["weight"] for d in denses]
        biases = [d.get("bias") for d in denses]
        if is_packed(weights) and (biases[0] is None or is_packed_vector(biases)):
            return
        views, bias_views = packed_group(weights, biases)
        for d, w, b in zip(denses, views, bias_views):
            d["weight"] = w
            if b is not None:
                d["bias"] = b

    if uses_embedding_transformation(config) and "embedding_transformation" in p["embeddings"]:
        pack(["embeddings.embedding_transformation"])
    for i in range(len(p["encoder"]["layer"])):
        for group in layer_groups(config):
            pack([f"encoder.layer.{i}.{n}" for n in group])
    if "dense" in (p.get("pooler") or {}):
        pack(["pooler.dense"])


def buffers(params: dict[str, Any]) -> list[np.ndarray]:
    """The distinct memory blocks the params' arrays live in (a packed weight's buffer counted once)."""
    seen: dict[int, np.ndarray] = {}
    for value in params.values():
        owner = value if value.base is None else value.base
        seen.setdefault(id(owner), owner)
    return list(seen.values())
