"""Which implementation of the kernels runs: chosen here, and only here.

The model calls `ops()` and uses the kernel functions of the module it returns (see `functional.py` for
their signatures). Three backends implement the same functions:

    numpy    functional.py               the readable reference; always there
    numba    _numba_kernels.py           JIT-compiled fused epilogues (needs `pip install numba`)
    cython   _cython_kernels (from kernels/cython_kernels.pyx, compiled by `pip install`); with the
             compiled encoder engine (engine.py) for the whole encoder when it covers the config

    MINIMOBILEBERT_BACKEND=numpy|numba|cython|auto   environment variable, read at first use (default auto)
    MINIMOBILEBERT_NUM_THREADS=n                     threads for BLAS and the engine (default: every core
                                                     this process may run on)
    minimobilebert.use_backend("numpy")              context manager, e.g. to step through the readable code
    minimobilebert.available_backends()              the names that load, fastest first
    backend.unavailable_backends(config)             the others, and the engine if it cannot run, with why
    backend.engine_status(config)                    "engine", or why the kernel-per-op path runs

Nothing is imported or checked at `import minimobilebert`: a backend module is imported the first time it is
asked for (Numba's import alone takes about a second). A backend is complete or it is not loaded: its module
must define every kernel of `functional.KERNELS` itself, with the reference's parameter names.

`auto` takes the fastest that loads. A backend that fails to load is reported by ONE warning naming why,
and the NumPy path runs instead; but under CI (environment variable CI set) asking explicitly for a
backend that cannot load is an error, so a broken build cannot hide behind the fallback. An unknown name
is always an error (`errors.BackendError`, a ConfigError), raised at first use.

The active backend is per context (a ContextVar, like `capture()`): `use_backend` changes it for the code
inside the block in this thread (or asyncio task) only. Other threads keep running the process default,
and threads entering and leaving `use_backend` in any order cannot change it. A new thread starts from the
process default, not from the block it was started in (run it in `contextvars.copy_context()` to carry it).
"""

from __future__ import annotations

import importlib
import inspect
import os
import threading
import types
import warnings
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Iterator

from . import functional
from .errors import BackendError

# Fastest first; "auto" takes the first that loads. cython first because it carries the compiled engine:
# 0.50x sentence-transformers' time at 2 threads where numba took 1.43x (kernels/bench_embed.py), and its
# latency held under a CPU hog where numba's OpenBLAS threads did not (kernels/benchmark.py, contention cell).
_PREFERENCE = ("cython", "numba", "numpy")
_MODULES = {"numba": "minimobilebert._numba_kernels", "cython": "minimobilebert._cython_kernels"}
_HINTS = {
    "numba": "pip install 'minimobilebert[fast]'",
    "cython": "reinstall with a C compiler (pip install -e . builds kernels/cython_kernels.pyx)",
}
ENGINE_BACKEND = "cython"  # the backend under which the compiled encoder engine runs

_BACKENDS: dict[str, types.ModuleType] = {"numpy": functional}
_FAILED: dict[str, str] = {}  # name -> why it did not load
_warned: set[str] = set()
_lock = threading.RLock()  # two threads asking for a backend for the first time load it once

_active: ContextVar[str | None] = ContextVar("minimobilebert_backend", default=None)  # None: the process default
_default: str | None = None  # the process default, resolved from MINIMOBILEBERT_BACKEND on first use
_threads_applied = False


class BackendWarning(RuntimeWarning):
    """A requested kernel backend could not load; the NumPy reference runs instead."""


# ------------------------------------------------------------------------------------------ loading


def incomplete(module: types.ModuleType) -> str | None:
    """Why `module` is not a complete kernel backend, or None. Each kernel must be defined by the module
    itself (a module-level __getattr__ handing missing names to the reference does not count) and take the
    reference's parameters, by name and in order."""
    missing = [k for k in functional.KERNELS if not callable(vars(module).get(k))]
    if missing:
        return f"incomplete backend {module.__name__}: it does not define {', '.join(missing)}"
    for kernel in functional.KERNELS:
        want = list(inspect.signature(getattr(functional, kernel)).parameters)
        try:
            got = list(inspect.signature(vars(module)[kernel]).parameters)
        except (TypeError, ValueError):  # a compiled function without a signature cannot be checked
            return f"incomplete backend {module.__name__}: {kernel} has no inspectable signature"
        if got != want:
            return f"incomplete backend {module.__name__}: {kernel}({', '.join(got)}), expected ({', '.join(want)})"
    return None


def _load(name: str) -> types.ModuleType | None:
    """Import a backend once; remember why it failed. Any exception counts: Numba built against another
    NumPy raises ImportError, SystemError or AttributeError depending on the version pair."""
    with _lock:
        if name in _BACKENDS:
            return _BACKENDS[name]
        if name in _FAILED:
            return None
        try:
            module = importlib.import_module(_MODULES[name])
        except Exception as e:  # noqa: BLE001 - every failure means "not available", with its reason kept
            _FAILED[name] = f"{type(e).__name__}: {e}"
            return None
        why = incomplete(module)
        if why is not None:
            _FAILED[name] = why
            return None
        _BACKENDS[name] = module
        return module


def available_backends() -> list[str]:
    """The backends that load here, fastest first (always ends with "numpy"). Imports each once."""
    return [name for name in _PREFERENCE if name == "numpy" or _load(name) is not None]


def unavailable_backends(config: Any = None) -> dict[str, str]:
    """Backends that failed to load, with the reason; with a config, also "engine" with the reason the
    compiled encoder engine cannot run that config under the cython backend (absent when it can)."""
    available_backends()
    reasons = dict(_FAILED)
    if "cython" not in reasons:
        why = _engine_problem(config)
        if why is not None:
            reasons["engine"] = why
    return reasons


def _resolve(name: str) -> str:
    """A backend name (or "auto") -> the name of a loaded backend, with the fallback rules above."""
    _apply_threads_once()
    name = str(name).strip().lower() or "auto"
    if name == "auto":  # the first that loads: the ones after it are not imported (Numba takes ~0.2 s)
        return next(n for n in _PREFERENCE if n == "numpy" or _load(n) is not None)
    if name not in _PREFERENCE:
        raise BackendError(
            f"unknown kernel backend {name!r} (from MINIMOBILEBERT_BACKEND or use_backend); "
            f"choose one of {['auto', *_PREFERENCE]}"
        )
    if _load(name) is not None:
        return name
    why = f"minimobilebert backend {name!r} failed to load ({_FAILED[name]}); hint: {_HINTS[name]}"
    if os.environ.get("CI"):
        raise BackendError(why + ". Under CI an explicitly requested backend must load.")
    with _lock:
        first = name not in _warned
        _warned.add(name)
    if first:
        warnings.warn(why + "; falling back to the NumPy reference.", BackendWarning, stacklevel=4)
    return "numpy"


def _process_default() -> str:
    """The backend outside any use_backend block: MINIMOBILEBERT_BACKEND, resolved once, on first use. A bad
    value is not cached, so every use raises the same clear error."""
    global _default
    if _default is None:
        resolved = _resolve(os.environ.get("MINIMOBILEBERT_BACKEND", "auto"))
        with _lock:
            if _default is None:
                _default = resolved
    return _default


# ------------------------------------------------------------------------------------------ choosing


def current_backend() -> str:
    """The backend that runs here: the innermost use_backend of this context, else the process default."""
    return _active.get() or _process_default()


def ops() -> types.ModuleType:
    """The module whose kernel functions the model calls."""
    return _BACKENDS[_active.get() or _process_default()]


def get_backend(name: str) -> types.ModuleType:
    """The kernel module of backend `name` (after the same resolution and fallback as use_backend)."""
    return _BACKENDS[_resolve(name)]


@contextmanager
def use_backend(name: str) -> Iterator[str]:
    """Run the block with backend `name` ("numpy", "numba", "cython" or "auto"), then restore the previous.
    Affects this context only (this thread, this asyncio task); yields the name that runs."""
    token = _active.set(_resolve(name))
    try:
        yield _active.get()
    finally:
        _active.reset(token)


# ------------------------------------------------------------------------------------------ threads


def cores_available() -> int:
    """The CPUs this process may run on (its affinity mask; os.cpu_count() where there is none)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def num_threads() -> int:
    """Threads for the compiled engine and for BLAS: MINIMOBILEBERT_NUM_THREADS, default every core this
    process may run on. On a machine where other processes keep cores busy, 1 is much faster for short
    inputs (docs/backends.md)."""
    raw = os.environ.get("MINIMOBILEBERT_NUM_THREADS", "").strip()
    if not raw:
        return cores_available()
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if n < 1:
        raise BackendError(
            f"MINIMOBILEBERT_NUM_THREADS={raw!r} is not a positive whole number; set it to e.g. 1, or unset "
            f"it to use every core this process may run on ({cores_available()})"
        )
    return n


_BLAS_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")
blas_threads: str = "not set yet (set at first use)"
"""What happened to BLAS's thread count at first use, in words (for reports and the docs)."""


def _apply_threads_once() -> None:
    """At the first use of any backend, once per process: give BLAS num_threads() threads with threadpoolctl,
    unless the user already chose (a BLAS variable such as OPENBLAS_NUM_THREADS is set and ours is not).
    Without threadpoolctl BLAS keeps its own default (all cores for OpenBLAS). A later threadpool_limits()
    of the user's wins: we never set it again."""
    global _threads_applied, blas_threads
    if _threads_applied:
        return
    with _lock:
        if _threads_applied:
            return
        n = num_threads()  # raises BackendError for a bad value, before anything is marked done
        _threads_applied = True
        if not os.environ.get("MINIMOBILEBERT_NUM_THREADS"):
            chosen = [v for v in _BLAS_VARIABLES if os.environ.get(v)]
            if chosen:
                blas_threads = f"left as the environment sets it ({', '.join(chosen)})"
                return
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            blas_threads = "left at BLAS's own default (threadpoolctl is not installed: pip install threadpoolctl)"
            return
        threadpool_limits(limits=n, user_api="blas")  # process-wide, not restored
        blas_threads = f"{n} (threadpoolctl)"


_blas_controller: Any = None  # threadpoolctl's ThreadpoolController, made at the first one_blas_thread()


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """NumPy's matrix products on ONE BLAS thread inside the block, process-wide while it lasts.

    For the few-row products right after the compiled engine (the fill-mask head at the [MASK] rows):
    OpenBLAS runs such a product on all its threads, and its worker thread then spins for tens of
    milliseconds waiting for more work while the next forward's engine threads want every core (measured,
    fill-mask on 8 texts at 2 threads: 250-348 ms with the head on 2 BLAS threads, 192-195 ms on one).
    Entering and leaving costs ~4 us. Without threadpoolctl, nothing changes. (threadpoolctl lets only one
    Python thread set OpenBLAS's process-wide thread count; in another thread the block changes nothing.)"""
    global _blas_controller
    if _blas_controller is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            yield
            return
        _blas_controller = ThreadpoolController()
    with _blas_controller.limit(limits=1, user_api="blas"):
        yield


# ------------------------------------------------------------------------------------------ the engine

_engine_module: types.ModuleType | None = None
_engine_import_error: str | None = None


def engine() -> types.ModuleType | None:
    """The compiled encoder engine's Python module (engine.py), or None if it is not there."""
    global _engine_module, _engine_import_error
    if _engine_module is None and _engine_import_error is None:
        with _lock:
            try:
                _engine_module = importlib.import_module("minimobilebert.engine")
            except ImportError as e:
                _engine_import_error = f"engine not built ({e})"
    return _engine_module


def _engine_problem(config: Any = None) -> str | None:
    """Why the engine cannot run (this config), or None. Independent of the active backend."""
    module = engine()
    if module is None:
        return _engine_import_error
    why = module.load_error() or module.cpu_problem()
    if why is None and config is not None:
        why = module.unsupported(config)
    return why


def engine_status(config: Any) -> str:
    """"engine" when a forward of `config` here (active backend, this context) runs the encoder in the
    compiled engine; otherwise the reason the kernel-per-op path runs instead. A forward also takes the
    kernel-per-op path while capture() records or when per-layer hidden states or attentions are asked for
    (model.mobilebert), since the engine keeps no intermediates."""
    active = current_backend()
    if active != ENGINE_BACKEND:
        return f"the active backend is {active!r}; the engine runs under {ENGINE_BACKEND!r} only"
    return _engine_problem(config) or "engine"


def describe(config: Any = None) -> dict[str, Any]:
    """Everything above in one dict: active, available, unavailable (with reasons), engine, threads."""
    return {
        "active": current_backend(),
        "available": available_backends(),
        "unavailable": unavailable_backends(config),
        "engine": engine_status(config) if config is not None else (_engine_problem() or "engine"),
        "num_threads": num_threads(),
        "blas_threads": blas_threads,
    }
