"""Capture every named intermediate of one forward pass, without changing the code path.

The forward functions call `tap(name, value)` at each step of the paper's Figure 1. Outside a `capture()`
block that call returns `value` and does nothing else; inside one it also records a copy under a dotted
name that follows HF's module names:

    >>> with capture() as acts:
    ...     model(input_ids)
    >>> acts["encoder.layer.0.attention.self.probs"].shape   # [B, heads, T, T]

`scope("encoder.layer.3")` prefixes the names recorded inside it.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

import numpy as np

_recording: ContextVar[dict[str, np.ndarray] | None] = ContextVar("minimobilebert_recording", default=None)
_prefix: ContextVar[str] = ContextVar("minimobilebert_prefix", default="")


def active() -> bool:
    """Is a capture() recording in this context? (The compiled engine keeps no intermediates, so the model
    runs kernel by kernel while one is.)"""
    return _recording.get() is not None


def tap(name: str, value: np.ndarray) -> np.ndarray:
    """Record `value` under `name` when a capture is active; always return `value` unchanged."""
    recording = _recording.get()
    if recording is not None:
        recording[_prefix.get() + name] = np.array(value, copy=True)
    return value


@contextmanager
def scope(name: str) -> Iterator[None]:
    """Prefix the names tapped inside this block with `name.` (nothing for an empty name)."""
    token = _prefix.set(_prefix.get() + name + "." if name else _prefix.get())
    try:
        yield
    finally:
        _prefix.reset(token)


@contextmanager
def capture() -> Iterator[dict[str, np.ndarray]]:
    """Collect every tapped intermediate of the forward passes run inside this block, in order."""
    recording: dict[str, np.ndarray] = {}
    token = _recording.set(recording)
    try:
        yield recording
    finally:
        _recording.reset(token)
