"""The losses HF's heads compute when labels are given, in NumPy (evaluation only: no gradients)."""

from __future__ import annotations

import numpy as np

IGNORE_INDEX = -100


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def cross_entropy(logits: np.ndarray, labels: np.ndarray, ignore_index: int = IGNORE_INDEX) -> np.float32:
    """Mean negative log-likelihood of `labels` under softmax(`logits`), skipping `ignore_index`.
    logits [N, C], labels [N]. Like PyTorch, the mean over zero kept labels is NaN."""
    logits = logits.reshape(-1, logits.shape[-1]).astype(np.float64)
    labels = np.asarray(labels).reshape(-1)
    keep = labels != ignore_index
    if np.any(keep & ((labels < 0) | (labels >= logits.shape[-1]))):
        bad = labels[keep & ((labels < 0) | (labels >= logits.shape[-1]))][0]
        raise ValueError(
            f"label {bad} is outside [0, {logits.shape[-1]}); use {ignore_index} for positions without a label"
        )
    if not keep.any():
        return np.float32(np.nan)
    picked = log_softmax(logits[keep])[np.arange(keep.sum()), labels[keep]]
    return np.float32(-picked.mean())


def mse(predictions: np.ndarray, targets: np.ndarray) -> np.float32:
    diff = predictions.astype(np.float64) - np.asarray(targets, dtype=np.float64)
    return np.float32(np.mean(diff * diff))


def binary_cross_entropy_with_logits(logits: np.ndarray, targets: np.ndarray) -> np.float32:
    """Mean of -[t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))], written to never overflow."""
    x = logits.astype(np.float64)
    t = np.asarray(targets, dtype=np.float64)
    return np.float32(np.mean(np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))))
