"""The task heads that sit on the encoder's output, as free functions (weights as nested dicts)."""

from __future__ import annotations

import numpy as np

from .config import MobileBertConfig
from .functional import activate, layer_norm, linear
from .model import Params


def lm_prediction_head(sequence_output: np.ndarray, p: Params, word_embeddings: np.ndarray,
                       config: MobileBertConfig) -> np.ndarray:
    """Masked-LM logits.   [B, T, 512] -> [B, T, vocab]

    transform: dense 512 -> 512, activation, LayerNorm (always a true LayerNorm, even in no_norm models).
    Output matrix: 512 x vocab, made of the 128-wide word-embedding table (tied; used transposed) stacked on
    `cls.predictions.dense.weight` [384, vocab]. We multiply by the two parts separately instead of
    concatenating a 512 x 30522 copy: h[:, :128] @ E.T + h[:, 128:] @ dense.
    """
    t = p["transform"]
    h = linear(sequence_output, t["dense"]["weight"], t["dense"]["bias"])  # [B, T, 512] -> [B, T, 512]
    h = activate(h, config.hidden_act)
    h = layer_norm(h, t["LayerNorm"]["weight"], t["LayerNorm"]["bias"], config.layer_norm_eps)
    decoder = word_embeddings if config.tie_word_embeddings else p["decoder"]["weight"]  # [vocab, 128]
    E = config.embedding_size
    logits = h[..., :E] @ decoder.T  # [B, T, 128] @ [128, vocab] -> [B, T, vocab]
    logits += h[..., E:] @ p["dense"]["weight"]  # [B, T, 384] @ [384, vocab] -> [B, T, vocab]
    logits += p["bias"]
    return logits


def lm_logits_at(sequence_output: np.ndarray, rows: np.ndarray, positions: np.ndarray, p: Params,
                 word_embeddings: np.ndarray, config: MobileBertConfig) -> np.ndarray:
    """Masked-LM logits at chosen tokens only.   [B, T, 512], N rows and positions -> [N, vocab]

    The head works token by token, so its logits at (rows[i], positions[i]) are exactly those of
    lm_prediction_head at that token. Fill-mask reads them at the [MASK] tokens alone: the vocabulary
    projection (512 x 30522, 41% of a 1 x 128 forward) then runs on a few rows instead of B x T.
    """
    picked = sequence_output[rows, positions]  # [B, T, 512] -> [N, 512]
    return lm_prediction_head(picked, p, word_embeddings, config)  # [N, 512] -> [N, vocab]


def seq_relationship(pooled_output: np.ndarray, p: Params) -> np.ndarray:
    """Next-sentence prediction: is segment B the continuation of segment A?   [B, 512] -> [B, 2]"""
    return linear(pooled_output, p["weight"], p["bias"])


def classifier(x: np.ndarray, p: Params) -> np.ndarray:
    """A dense layer to the label logits (dropout is a no-op at inference).   [..., 512] -> [..., labels]"""
    return linear(x, p["weight"], p["bias"])


def qa_outputs(sequence_output: np.ndarray, p: Params) -> tuple[np.ndarray, np.ndarray]:
    """Span start and end logits per token.   [B, T, 512] -> [B, T], [B, T]"""
    logits = linear(sequence_output, p["weight"], p["bias"])  # [B, T, 512] -> [B, T, 2]
    return np.ascontiguousarray(logits[..., 0]), np.ascontiguousarray(logits[..., 1])
