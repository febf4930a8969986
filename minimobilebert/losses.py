"""The losses HF's heads compute when labels are given, in NumPy (evaluation only: no gradients)."""

from __future__ import annotations

import numpy as np

from .errors import InputError

IGNORE_INDEX = -100


def class_ids(name: str, value) -> np.ndarray:
    """`value` as an array of integer class ids, or an InputError naming `name` and the fix (float or string
    labels, ids too large for int64, ragged lists)."""
    try:
        labels = np.asarray(value)
    except (ValueError, TypeError, OverflowError):
        labels = np.empty(0, dtype=object)
    if labels.dtype == np.bool_ or not np.issubdtype(labels.dtype, np.integer):
        kind = f"dtype {labels.dtype}" if labels.dtype != object else "values that are not int64 integers"
        raise InputError(f"{name} must hold integer class ids (positions), got {kind}; convert with "
                         f"np.asarray({name}).astype(np.int64), and use {IGNORE_INDEX} where there is no label")
    return labels


def _float_targets(name: str, value) -> np.ndarray:
    try:
        targets = np.asarray(value, dtype=np.float64)
    except (ValueError, TypeError, OverflowError):
        raise InputError(f"{name} must be numbers (float targets for a regression or multi-label loss), got "
                         f"{type(value).__name__}") from None
    return targets


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def cross_entropy(logits: np.ndarray, labels: np.ndarray, ignore_index: int = IGNORE_INDEX) -> np.float32:
    """Mean negative log-likelihood of `labels` under softmax(`logits`), skipping `ignore_index`.
    logits [N, C], labels [N]. Like PyTorch, the mean over zero kept labels is NaN."""
    logits = logits.reshape(-1, logits.shape[-1]).astype(np.float64)
    labels = class_ids("labels", labels).reshape(-1)
    if labels.size != logits.shape[0]:
        raise InputError(f"{labels.size} labels for {logits.shape[0]} predictions; give one label per prediction")
    keep = labels != ignore_index
    if np.any(keep & ((labels < 0) | (labels >= logits.shape[-1]))):
        bad = labels[keep & ((labels < 0) | (labels >= logits.shape[-1]))][0]
        raise InputError(
            f"label {bad} is outside [0, {logits.shape[-1]}); use {ignore_index} for positions without a label"
        )
    if not keep.any():
        return np.float32(np.nan)
    picked = log_softmax(logits[keep])[np.arange(keep.sum()), labels[keep]]
    return np.float32(-picked.mean())


def mse(predictions: np.ndarray, targets: np.ndarray) -> np.float32:
    targets = _float_targets("labels", targets)
    if targets.size != predictions.size:
        raise InputError(f"{targets.size} regression targets for {predictions.size} predictions")
    diff = predictions.astype(np.float64) - targets.reshape(predictions.shape)
    return np.float32(np.mean(diff * diff))


def binary_cross_entropy_with_logits(logits: np.ndarray, targets: np.ndarray) -> np.float32:
    """Mean of -[t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))], written to never overflow."""
    x = logits.astype(np.float64)
    t = _float_targets("labels", targets)
    if t.shape != x.shape:
        raise InputError(f"multi-label targets have shape {t.shape}; expected {x.shape} (one 0/1 per label)")
    return np.float32(np.mean(np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))))
