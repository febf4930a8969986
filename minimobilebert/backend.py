"""Which implementation of the kernels runs: chosen here, and only here.

The model calls `ops()` and uses the kernel functions of the module it returns (see `functional.py` for
their signatures). Three backends implement the same functions:

    numpy    functional.py               the readable reference; always there
    numba    _numba_kernels.py           JIT-compiled fused epilogues (needs `pip install numba`)
    cython   _cython_kernels (from kernels/cython_kernels.pyx, compiled by `pip install`)

    MINIMOBILEBERT_BACKEND=numpy|numba|cython|auto   environment variable, read at import (default auto)
    minimobilebert.use_backend("numpy")              context manager, e.g. to step through the readable code
    minimobilebert.available_backends()              the names that loaded, fastest first

`auto` takes the fastest that loaded. A backend that fails to load is reported by ONE warning naming why,
and the NumPy path runs instead; but under CI (environment variable CI set) asking explicitly for a
backend that cannot load is an error, so a broken build cannot hide behind the fallback.
"""

from __future__ import annotations

import importlib
import os
import types
import warnings
from contextlib import contextmanager
from typing import Iterator

from . import functional

_PREFERENCE = ("numba", "cython", "numpy")  # fastest first (kernels/benchmark.py); "auto" takes the first loaded
_MODULES = {"numba": "minimobilebert._numba_kernels", "cython": "minimobilebert._cython_kernels"}
_HINTS = {
    "numba": "pip install 'minimobilebert[fast]'",
    "cython": "reinstall with a C compiler (pip install -e . builds kernels/cython_kernels.pyx)",
}

_BACKENDS: dict[str, types.ModuleType] = {"numpy": functional}
_FAILED: dict[str, str] = {}  # name -> why it did not load
_warned: set[str] = set()


class BackendWarning(RuntimeWarning):
    """A requested kernel backend could not load; the NumPy reference runs instead."""


def _load(name: str) -> types.ModuleType | None:
    """Import a backend once; remember why it failed. Any exception counts: Numba built against another
    NumPy raises ImportError, SystemError or AttributeError depending on the version pair."""
    if name in _BACKENDS:
        return _BACKENDS[name]
    if name in _FAILED:
        return None
    try:
        module = importlib.import_module(_MODULES[name])
    except Exception as e:  # noqa: BLE001 - every failure means "not available", with its reason kept
        _FAILED[name] = f"{type(e).__name__}: {e}"
        return None
    _BACKENDS[name] = module
    return module


def available_backends() -> list[str]:
    """The backends that load here, fastest first (always ends with "numpy")."""
    return [name for name in _PREFERENCE if name == "numpy" or _load(name) is not None]


def unavailable_backends() -> dict[str, str]:
    """Backends that failed to load, with the reason."""
    available_backends()
    return dict(_FAILED)


def _resolve(name: str) -> str:
    name = name.strip().lower() or "auto"
    if name == "auto":
        return available_backends()[0]
    if name not in _PREFERENCE:
        raise ValueError(f"unknown backend {name!r}; choose one of {['auto', *_PREFERENCE]}")
    if _load(name) is not None:
        return name
    why = f"minimobilebert backend {name!r} failed to load ({_FAILED[name]}); hint: {_HINTS[name]}"
    if os.environ.get("CI"):
        raise RuntimeError(why + ". Under CI an explicitly requested backend must load.")
    if name not in _warned:
        _warned.add(name)
        warnings.warn(why + "; falling back to the NumPy reference.", BackendWarning, stacklevel=3)
    return "numpy"


_active = _resolve(os.environ.get("MINIMOBILEBERT_BACKEND", "auto"))


def current_backend() -> str:
    return _active


def ops() -> types.ModuleType:
    """The module whose kernel functions the model calls."""
    return _BACKENDS[_active]


def get_backend(name: str) -> types.ModuleType:
    """The kernel module of backend `name` (after the same resolution and fallback as use_backend)."""
    return _BACKENDS[_resolve(name)]


@contextmanager
def use_backend(name: str) -> Iterator[str]:
    """Run the block with backend `name` ("numpy", "numba", "cython" or "auto"), then restore the previous."""
    global _active
    previous, _active = _active, _resolve(name)
    try:
        yield _active
    finally:
        _active = previous
