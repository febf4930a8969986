"""The MobileBERT forward pass: one function per block of the paper's Figure 1, plain NumPy.

Shapes are written for the published configuration: B = batch, T = sequence length, vocabulary 30522,
embedding_size E = 128, hidden_size H = 512 (between blocks), true_hidden_size D = 128 (inside a block),
4 heads of 32, intermediate_size I = 512, num_feedforward_networks = 4.

Each function takes its input arrays, `p` (the nested dict of this block's weights, with HF's names as
keys) and the config. The dense/attention steps go through `ops()`, the active kernel backend; with the
"numpy" backend they are the readable reference in `functional.py`. A dense layer's weights are a sub-dict
{"weight", "bias"} (`linear(x, **p["query"])`), and so are a norm's (`p["output"]["LayerNorm"]`).

Under the "cython" backend, when the compiled engine covers the config (`backend.engine_status(config)`),
`mobilebert()` hands the whole encoder to it in one call; it keeps no intermediates and reads token ids,
so while capture() records, per-layer hidden states / attentions are asked for or word vectors are given
(`inputs_embeds`), the functions below run instead.

Names recorded by `capture()` (prefix `encoder.layer.i.` for a block):

    embeddings.word, embeddings.trigram, embeddings.embedding_transformation, embeddings.output
    bottleneck.input, bottleneck.attention             the 128-wide block input; shared query/key input
    attention.self.query / key / value / context / probs
    attention.output                                   attention projection + residual + norm
    ffn.j.intermediate, ffn.j.output                   the first num_feedforward_networks - 1 FFNs
    intermediate, output.ffn_output                    the last FFN (its weights have HF's names
                                                       intermediate.dense, output.dense, output.LayerNorm)
    output                                             the block's output (after the output bottleneck)

HF divergence worth knowing, kept here for parity: the embedding LayerNorm and the last FFN's LayerNorm
(HF's MobileBertOutput) are built without `eps=config.layer_norm_eps` in HF, so they use PyTorch's default
1e-5 (`config.embedding_and_output_norm_eps`). It only matters for normalization_type="layer_norm".
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend
from .backend import ops
from .capture import active as capturing
from .capture import scope, tap
from .config import MobileBertConfig
from .functional import linear, mask_bias_from_attention_mask, normalize, tanh
from .params import uses_embedding_transformation

Params = dict[str, Any]


# ------------------------------------------------------------------------------------------- embeddings


def trigram(word_embeddings: np.ndarray) -> np.ndarray:
    """Concatenate each token's embedding with its right and left neighbours': the "kernel size 3
    convolution" of the paper, before its linear part. Zeros stand in beyond the sequence ends.

    Order, as in the released code and HF: [next token, this token, previous token].
    A padded batch's last real token sees the [PAD] embedding as its next neighbour, so padded and
    unpadded runs agree only when the [PAD] row of the table is zero (HF initialises it so).
    [B, T, E] -> [B, T, 3E]
    """
    B, T, E = word_embeddings.shape
    out = np.zeros((B, T, 3 * E), dtype=word_embeddings.dtype)
    out[:, :-1, :E] = word_embeddings[:, 1:]  # next token (zero after the last)
    out[:, :, E : 2 * E] = word_embeddings  # this token
    out[:, 1:, 2 * E :] = word_embeddings[:, :-1]  # previous token (zero before the first)
    return out


def embeddings(
    input_ids: np.ndarray,
    token_type_ids: np.ndarray,
    position_ids: np.ndarray,
    p: Params,
    config: MobileBertConfig,
    inputs_embeds: np.ndarray | None = None,
) -> np.ndarray:
    """Token ids -> the first hidden states.   [B, T] -> [B, T, H]
    inputs_embeds (HF's): word vectors given instead of looked up; input_ids is then None."""
    if inputs_embeds is None:
        inputs_embeds = p["word_embeddings"]["weight"][input_ids]  # [B, T] -> [B, T, 128]
    x = tap("word", inputs_embeds)  # [B, T, 128]
    if config.trigram_input:
        x = tap("trigram", trigram(x))  # [B, T, 128] -> [B, T, 384]
    if uses_embedding_transformation(config):
        x = tap("embedding_transformation", linear(x, **p["embedding_transformation"]))  # [B, T, 384] -> [B, T, 512]
    x = x + p["position_embeddings"]["weight"][position_ids]  # + [B or 1, T, 512]
    x = x + p["token_type_embeddings"]["weight"][token_type_ids]  # + [B, T, 512]
    n = p["LayerNorm"]
    x = normalize(x, n["weight"], n["bias"], config.normalization_type, config.embedding_and_output_norm_eps)
    return tap("output", x)


# ------------------------------------------------------------------------------------------- one block


def dense_norm(x: np.ndarray, p: Params, config: MobileBertConfig, residual: np.ndarray | None = None,
               eps: float | None = None) -> np.ndarray:
    """norm(dense(x) + residual) for a module with `dense` and `LayerNorm` weights.   [..., in] -> [..., out]"""
    eps = config.layer_norm_eps if eps is None else eps
    return ops().linear_norm(x, p["dense"], p["LayerNorm"], residual, config.normalization_type, eps)


def bottleneck(hidden_states: np.ndarray, p: Params, config: MobileBertConfig):
    """The input bottleneck (and the shared key/query bottleneck): project the 512-wide block input down
    to the 128-wide inside of the block. Returns (query_in, key_in, value_in, layer_input).

    key_query_shared_bottleneck (MobileBERT): queries and keys come from a second, shared 512 -> 128
    projection; values from the unprojected 512-wide input.
    use_bottleneck_attention (MobileBERT-TINY): queries, keys and values all come from the input bottleneck.
    [B, T, 512] -> 4 x [B, T, 128 or 512]
    """
    layer_input = tap("input", dense_norm(hidden_states, p["input"], config))  # [B, T, 512] -> [B, T, 128]
    if config.use_bottleneck_attention:
        return layer_input, layer_input, layer_input, layer_input
    if config.key_query_shared_bottleneck:
        shared = tap("attention", dense_norm(hidden_states, p["attention"], config))  # [B, T, 512] -> [B, T, 128]
        return shared, shared, hidden_states, layer_input
    return hidden_states, hidden_states, hidden_states, layer_input


def self_attention(query_in, key_in, value_in, mask_bias, p: Params, config: MobileBertConfig):
    """Project to queries, keys and values, then multi-head scaled dot-product attention.
    [B, T, 128] (x2), [B, T, 512 or 128] -> context [B, T, 128], probs [B, heads, T, T]"""
    q = tap("query", linear(query_in, **p["query"]))  # [B, T, 128] -> [B, T, 128]
    k = tap("key", linear(key_in, **p["key"]))  # [B, T, 128] -> [B, T, 128]
    v = tap("value", linear(value_in, **p["value"]))  # [B, T, 512] -> [B, T, 128]
    context, probs = ops().attention(q, k, v, mask_bias, config.num_attention_heads)  # -> [B, T, 128], [B, 4, T, T]
    return tap("context", context), tap("probs", probs)


def attention(query_in, key_in, value_in, layer_input, mask_bias, p: Params, config: MobileBertConfig):
    """Self-attention, then its output projection with the bottlenecked block input as residual.
    -> [B, T, 128], probs [B, heads, T, T]"""
    with scope("self"):
        context, probs = self_attention(query_in, key_in, value_in, mask_bias, p["self"], config)
    out = dense_norm(context, p["output"], config, residual=layer_input)  # [B, T, 128] -> [B, T, 128]
    return tap("output", out), probs


def feed_forward(x: np.ndarray, p: Params, config: MobileBertConfig, eps: float | None = None) -> np.ndarray:
    """One FFN with its residual: norm(W_out act(W_in x + b_in) + b_out + x), its inside tapped as
    "intermediate". p = {"intermediate": {"dense"}, "output": {"dense", "LayerNorm"}}.   [B, T, 128] -> [B, T, 128]"""
    h = tap("intermediate", ops().linear_act(x, p["intermediate"]["dense"], config.hidden_act))  # -> [B, T, 512]
    eps = config.layer_norm_eps if eps is None else eps
    return ops().linear_norm(h, p["output"]["dense"], p["output"]["LayerNorm"], x, config.normalization_type,
                             eps)  # [B, T, 512] -> [B, T, 128]


def feed_forward_networks(p: Params, config: MobileBertConfig) -> list[tuple[str, str, Params, float]]:
    """The block's num_feedforward_networks FFNs in order, as (capture scope, capture name of the output,
    weights, norm eps). The first ones' weights are under `ffn.j`; the last one's are the block's own
    `intermediate` and `output` (HF's names: `output` also holds the output bottleneck, unused here), and
    HF builds that last LayerNorm without layer_norm_eps (see the module docstring)."""
    stacked = [(f"ffn.{j}", "output", ffn_p, config.layer_norm_eps) for j, ffn_p in enumerate(p.get("ffn", []))]
    last = {"intermediate": p["intermediate"], "output": p["output"]}
    return [*stacked, ("", "output.ffn_output", last, config.embedding_and_output_norm_eps)]


def layer(hidden_states: np.ndarray, mask_bias: np.ndarray | None, p: Params, config: MobileBertConfig):
    """One MobileBERT block (Figure 1c).   [B, T, 512] -> [B, T, 512], probs [B, heads, T, T]"""
    if config.use_bottleneck:
        with scope("bottleneck"):
            query_in, key_in, value_in, layer_input = bottleneck(hidden_states, p["bottleneck"], config)
    else:
        query_in = key_in = value_in = layer_input = hidden_states
    with scope("attention"):
        x, probs = attention(query_in, key_in, value_in, layer_input, mask_bias, p["attention"], config)
    for prefix, name, ffn_p, eps in feed_forward_networks(p, config):  # 4 stacked FFNs
        with scope(prefix):
            x = tap(name, feed_forward(x, ffn_p, config, eps))  # [B, T, 128] -> [B, T, 512] -> [B, T, 128]
    if config.use_bottleneck:  # the output bottleneck, with the block's input as residual
        x = dense_norm(x, p["output"]["bottleneck"], config, residual=hidden_states)  # [B, T, 128] -> [B, T, 512]
    return tap("output", x), probs


def encoder(hidden_states, mask_bias, p: Params, config: MobileBertConfig, keep_hidden_states: bool = False,
            keep_attentions: bool = False):
    """All blocks in turn. Returns the last hidden states and, when asked to keep them, every layer's
    hidden states (HF's: the embeddings followed by each layer's output) and attention probabilities;
    otherwise each layer's are freed as soon as the next layer has run."""
    all_hidden = [hidden_states] if keep_hidden_states else None
    all_probs = [] if keep_attentions else None
    for i, layer_p in enumerate(p["layer"]):
        with scope(f"layer.{i}"):
            hidden_states, probs = layer(hidden_states, mask_bias, layer_p, config)
        if keep_hidden_states:
            all_hidden.append(hidden_states)
        if keep_attentions:
            all_probs.append(probs)
    return hidden_states, all_hidden, all_probs


def pooler(sequence_output: np.ndarray, p: Params | None, config: MobileBertConfig) -> np.ndarray:
    """The [CLS] token's vector; with classifier_activation also tanh(dense(.)).   [B, T, 512] -> [B, 512]"""
    first = sequence_output[:, 0]  # [B, T, 512] -> [B, 512]
    if not config.classifier_activation:
        return first
    return tanh(linear(first, **p["dense"]))  # [B, 512] -> [B, 512]


def mobilebert(input_ids, attention_mask, token_type_ids, position_ids, p: Params, config: MobileBertConfig,
               add_pooling_layer: bool = True, keep_hidden_states: bool = False, keep_attentions: bool = False,
               inputs_embeds: np.ndarray | None = None):
    """The whole base model on already-validated arrays. Returns (sequence_output, pooled_output or None,
    hidden_states list or None, attention probabilities list or None). With inputs_embeds [B, T, 128]
    (word vectors instead of ids), input_ids is None."""
    hidden = probs = None
    fused = not (keep_hidden_states or keep_attentions or capturing() or inputs_embeds is not None)
    if fused and backend.engine_status(config) == "engine":
        # The compiled engine (engine.py, under the cython backend): embeddings to the last block in one call.
        # It gathers word vectors from ids itself; hidden states, attentions, capture() and inputs_embeds
        # run the backend's kernels one by one below.
        compiled = backend.engine()
        sequence_output = compiled.encode(p, config, input_ids, attention_mask, token_type_ids,
                                          position_ids)  # [B, T] -> [B, T, 512]
        # the pooler on the engine's GEMM too: NumPy's would leave OpenBLAS's threads spinning into the next
        # forward (engine.pool says why)
        pooled = compiled.pool(p, config, sequence_output) if add_pooling_layer else None  # -> [B, 512]
        return sequence_output, pooled, hidden, probs
    # kernel by kernel
    with scope("embeddings"):
        x = embeddings(input_ids, token_type_ids, position_ids, p["embeddings"], config,
                       inputs_embeds)  # [B, T] -> [B, T, 512]
    mask_bias = None if attention_mask is None else mask_bias_from_attention_mask(attention_mask)  # [B, T]
    with scope("encoder"):
        sequence_output, hidden, probs = encoder(x, mask_bias, p["encoder"], config, keep_hidden_states,
                                                 keep_attentions)  # -> [B, T, 512]
    pooled = pooler(sequence_output, p.get("pooler"), config) if add_pooling_layer else None  # -> [B, 512]
    return sequence_output, pooled, hidden, probs
