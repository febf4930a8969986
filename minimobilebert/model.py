"""The MobileBERT forward pass: one function per block of the paper's Figure 1, plain NumPy.

Shapes are written for the published configuration: B = batch, T = sequence length, vocabulary 30522,
embedding_size E = 128, hidden_size H = 512 (between blocks), true_hidden_size D = 128 (inside a block),
4 heads of 32, intermediate_size I = 512.

Each function takes its input arrays, `p` (the nested dict of this block's weights, with HF's names as
keys) and the config. The dense/attention steps go through `ops()`, the active kernel backend; with the
"numpy" backend they are the readable reference in `functional.py`.

HF divergence worth knowing, kept here for parity: the embedding LayerNorm and the block's output
LayerNorm are built without `eps=config.layer_norm_eps` in HF, so they use PyTorch's default 1e-5
(`config.embedding_and_output_norm_eps`). It only matters for normalization_type="layer_norm".
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .backend import ops
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
) -> np.ndarray:
    """Token ids -> the first hidden states.   [B, T] -> [B, T, H]"""
    x = tap("word", p["word_embeddings"]["weight"][input_ids])  # [B, T] -> [B, T, 128]
    if config.trigram_input:
        x = tap("trigram", trigram(x))  # [B, T, 128] -> [B, T, 384]
    if uses_embedding_transformation(config):
        t = p["embedding_transformation"]
        x = tap("embedding_transformation", linear(x, t["weight"], t["bias"]))  # [B, T, 384] -> [B, T, 512]
    x = x + p["position_embeddings"]["weight"][position_ids]  # + [B or 1, T, 512]
    x = x + p["token_type_embeddings"]["weight"][token_type_ids]  # + [B, T, 512]
    n = p["LayerNorm"]
    x = normalize(x, n["weight"], n["bias"], config.normalization_type, config.embedding_and_output_norm_eps)
    return tap("output", x)


# ------------------------------------------------------------------------------------------- one block


def dense_norm(x: np.ndarray, p: Params, config: MobileBertConfig, residual: np.ndarray | None = None,
               eps: float | None = None) -> np.ndarray:
    """norm(dense(x) + residual) for a module with `dense` and `LayerNorm` weights."""
    return ops().linear_norm(
        x, p["dense"]["weight"], p["dense"]["bias"], p["LayerNorm"]["weight"], p["LayerNorm"]["bias"],
        residual, config.normalization_type, config.layer_norm_eps if eps is None else eps,
    )


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
    q = tap("query", linear(query_in, p["query"]["weight"], p["query"]["bias"]))  # [B, T, 128] -> [B, T, 128]
    k = tap("key", linear(key_in, p["key"]["weight"], p["key"]["bias"]))  # [B, T, 128] -> [B, T, 128]
    v = tap("value", linear(value_in, p["value"]["weight"], p["value"]["bias"]))  # [B, T, 512] -> [B, T, 128]
    context, probs = ops().attention(q, k, v, mask_bias, config.num_attention_heads)
    return tap("context", context), tap("probs", probs)


def attention(query_in, key_in, value_in, layer_input, mask_bias, p: Params, config: MobileBertConfig):
    """Self-attention, then its output projection with the bottlenecked block input as residual.
    -> [B, T, 128], probs [B, heads, T, T]"""
    with scope("self"):
        context, probs = self_attention(query_in, key_in, value_in, mask_bias, p["self"], config)
    out = dense_norm(context, p["output"], config, residual=layer_input)  # [B, T, 128] -> [B, T, 128]
    return tap("output", out), probs


def feed_forward(x: np.ndarray, p: Params, config: MobileBertConfig) -> np.ndarray:
    """One of the stacked FFNs: norm(W2 act(W1 x + b1) + b2 + x).   [B, T, 128] -> [B, T, 128]"""
    i, o = p["intermediate"]["dense"], p["output"]["dense"]
    n = p["output"]["LayerNorm"]
    return ops().ffn(x, i["weight"], i["bias"], o["weight"], o["bias"], n["weight"], n["bias"],
                     config.hidden_act, config.normalization_type, config.layer_norm_eps)


def output(intermediate_states, attention_output, hidden_states, p: Params, config: MobileBertConfig):
    """The last FFN's output projection, then the output bottleneck back to the block width.
    [B, T, 512] -> [B, T, 128] -> [B, T, 512] (with bottlenecks; [B, T, H] -> [B, T, H] without)"""
    # HF builds this LayerNorm without eps=layer_norm_eps: PyTorch's default 1e-5 unless configured.
    out = dense_norm(intermediate_states, p, config, residual=attention_output,
                     eps=config.embedding_and_output_norm_eps)
    if not config.use_bottleneck:
        return out
    tap("ffn_output", out)  # [B, T, 128]
    return dense_norm(out, p["bottleneck"], config, residual=hidden_states)  # [B, T, 128] -> [B, T, 512]


def layer(hidden_states: np.ndarray, mask_bias: np.ndarray | None, p: Params, config: MobileBertConfig):
    """One MobileBERT block (Figure 1c).   [B, T, 512] -> [B, T, 512], probs [B, heads, T, T]"""
    if config.use_bottleneck:
        with scope("bottleneck"):
            query_in, key_in, value_in, layer_input = bottleneck(hidden_states, p["bottleneck"], config)
    else:
        query_in = key_in = value_in = layer_input = hidden_states
    with scope("attention"):
        x, probs = attention(query_in, key_in, value_in, layer_input, mask_bias, p["attention"], config)
    for j, ffn_p in enumerate(p.get("ffn", [])):  # num_feedforward_networks - 1 stacked FFNs
        x = tap(f"ffn.{j}.output", feed_forward(x, ffn_p, config))  # [B, T, 128] -> [B, T, 128]
    i = p["intermediate"]["dense"]
    h = tap("intermediate", ops().linear_act(x, i["weight"], i["bias"], config.hidden_act))  # -> [B, T, 512]
    with scope("output"):
        out = output(h, x, hidden_states, p["output"], config)  # [B, T, 512] -> [B, T, 512]
    return tap("output", out), probs


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
    return tanh(linear(first, p["dense"]["weight"], p["dense"]["bias"]))  # [B, 512] -> [B, 512]


def mobilebert(input_ids, attention_mask, token_type_ids, position_ids, p: Params, config: MobileBertConfig,
               add_pooling_layer: bool = True, keep_hidden_states: bool = False, keep_attentions: bool = False):
    """The whole base model on already-validated arrays. Returns (sequence_output, pooled_output or None,
    hidden_states list or None, attention probabilities list or None)."""
    with scope("embeddings"):
        x = embeddings(input_ids, token_type_ids, position_ids, p["embeddings"], config)  # [B, T] -> [B, T, 512]
    mask_bias = None if attention_mask is None else mask_bias_from_attention_mask(attention_mask)  # [B, T]
    with scope("encoder"):
        sequence_output, hidden, probs = encoder(x, mask_bias, p["encoder"], config, keep_hidden_states,
                                                 keep_attentions)  # -> [B, T, 512]
    pooled = pooler(sequence_output, p.get("pooler"), config) if add_pooling_layer else None  # -> [B, 512]
    return sequence_output, pooled, hidden, probs
