"""Which implementation of the kernels runs: chosen here, and only here.

The model calls `ops()` and uses the kernel functions of the module it returns (see `functional.py` for
their signatures). Today the NumPy reference is the only backend; Numba and Cython register here.

    MINIMOBILEBERT_BACKEND=numpy|auto         environment variable, read at import
    minimobilebert.use_backend("numpy")       context manager, e.g. to step through the readable code
    minimobilebert.available_backends()       the names that loaded
"""

from __future__ import annotations

import os
import types
from contextlib import contextmanager
from typing import Iterator

from . import functional

_BACKENDS: dict[str, types.ModuleType] = {"numpy": functional}
_PREFERENCE = ("numpy",)  # fastest first; "auto" takes the first that loaded


def available_backends() -> list[str]:
    return [name for name in _PREFERENCE if name in _BACKENDS]


def _resolve(name: str) -> str:
    name = name.strip().lower()
    if name == "auto":
        return available_backends()[0]
    if name not in _PREFERENCE:
        raise ValueError(f"unknown backend {name!r}; choose one of {['auto', *_PREFERENCE]}")
    if name not in _BACKENDS:
        raise RuntimeError(f"backend {name!r} is not available here; available: {available_backends()}")
    return name


_active = _resolve(os.environ.get("MINIMOBILEBERT_BACKEND", "auto"))


def current_backend() -> str:
    return _active


def ops() -> types.ModuleType:
    """The module whose kernel functions the model calls."""
    return _BACKENDS[_active]


@contextmanager
def use_backend(name: str) -> Iterator[str]:
    """Run the block with backend `name` ("numpy", ... or "auto"), then restore the previous one."""
    global _active
    previous, _active = _active, _resolve(name)
    try:
        yield _active
    finally:
        _active = previous
