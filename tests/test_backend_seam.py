"""The kernel seam (backend.py): lazy loading, complete-or-refused backends, the per-context active backend,
the thread setting, the shared activation codes, and the choice between the compiled engine and the
kernel-per-op path.

Imports are checked in fresh interpreters (subprocess), since this test process has long since loaded
every backend.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import types
import warnings

import numpy as np
import pytest

import minimobilebert as mm
from minimobilebert import backend, functional, model as model_module
from minimobilebert.config import MobileBertConfig
from minimobilebert.errors import BackendError, ConfigError, MiniMobileBertError
from conftest import CONFIG_GRID, RELATIVE_TOLERANCE, assert_close, random_batch, relative_error

FAST = [name for name in mm.available_backends() if name != "numpy"]


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MINIMOBILEBERT_")}
    environment.update(env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment,
                          timeout=300)


# ------------------------------------------------------------------------------------------ lazy loading


def test_import_loads_no_backend():
    proc = run_python(
        "import sys, minimobilebert\n"
        "loaded = [m for m in sys.modules if m == 'numba' or m.startswith(('numba.', 'minimobilebert._'))]\n"
        "print(loaded)"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]", f"import minimobilebert loaded {proc.stdout.strip()}"


# One forward of a small model in a fresh process; prints the backend that ran it and whether Numba is loaded.
FIRST_FORWARD = (
    "import sys, numpy as np, minimobilebert as mm\n"
    "m = mm.MobileBertModel(mm.MobileBertConfig(vocab_size=50, hidden_size=32, intra_bottleneck_size=16,"
    " embedding_size=8, intermediate_size=24, num_attention_heads=2, num_hidden_layers=1))\n"
    "m(np.array([[1, 2, 3]]))\n"
    "print(mm.current_backend(), 'numba' in sys.modules)"
)


def test_first_use_loads_only_what_it_needs():
    proc = run_python(FIRST_FORWARD, MINIMOBILEBERT_BACKEND="numpy")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["numpy", "False"]


def test_auto_loads_the_first_backend_that_loads_and_no_other():
    """MINIMOBILEBERT_BACKEND unset ("auto") takes the first backend of the preference order that loads,
    without importing the ones after it: with cython built, a forward never imports Numba (it took ~0.2 s
    and ~60 MB of every command's start before)."""
    if "cython" not in mm.available_backends():
        pytest.skip("the cython backend is not built")
    proc = run_python(FIRST_FORWARD)  # run_python leaves out every MINIMOBILEBERT_ variable: the default, "auto"
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["cython", "False"]


def test_unknown_backend_name_fails_at_first_use_not_at_import():
    proc = run_python(
        "import minimobilebert as mm\n"
        "print('imported')\n"
        "try:\n"
        "    mm.current_backend()\n"
        "except mm.ConfigError as e:\n"
        "    print(type(e).__name__, e)\n",
        MINIMOBILEBERT_BACKEND="bogus",
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "imported"
    assert lines[1].startswith("BackendError") and "'bogus'" in lines[1]
    for choice in ("auto", "numba", "cython", "numpy"):
        assert choice in lines[1]


def test_unknown_backend_is_one_line_from_the_cli(tmp_path):
    folder = str(tmp_path / "model")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MINIMOBILEBERT_")}
    init = subprocess.run([sys.executable, "-m", "minimobilebert", "init", folder, "--layers", "1"],
                          capture_output=True, text=True, env=environment, timeout=300)
    assert init.returncode == 0, init.stderr
    run = subprocess.run([sys.executable, "-m", "minimobilebert", "run", "--model", folder, "--offline", "--ids",
                          "101", "102"], capture_output=True, text=True, timeout=300,
                         env={**environment, "MINIMOBILEBERT_BACKEND": "bogus"})
    assert run.returncode == 2, (run.returncode, run.stderr)
    assert len(run.stderr.strip().splitlines()) == 1 and "bogus" in run.stderr and "numpy" in run.stderr


def test_backend_errors_are_in_the_error_family():
    assert issubclass(BackendError, ConfigError) and issubclass(BackendError, MiniMobileBertError)
    with pytest.raises(BackendError, match="choose one of"):
        with mm.use_backend("fortran"):
            pass


# ------------------------------------------------------------------------------------------ complete or refused


@pytest.fixture
def fresh_loader(monkeypatch):
    """A loader that has loaded nothing yet, whose "numba" backend is the module named `fake_kernels`."""
    monkeypatch.setattr(backend, "_BACKENDS", {"numpy": functional})
    monkeypatch.setattr(backend, "_FAILED", {})
    monkeypatch.setattr(backend, "_warned", set())
    monkeypatch.setattr(backend, "_active", backend.ContextVar("test_backend", default=None))
    monkeypatch.setitem(backend._MODULES, "numba", "fake_kernels")

    def install(module: types.ModuleType) -> None:
        monkeypatch.setitem(sys.modules, "fake_kernels", module)

    return install


def kernel_module(**overrides) -> types.ModuleType:
    """A module with the reference's kernels, some replaced (None: removed)."""
    module = types.ModuleType("fake_kernels")
    for name in functional.KERNELS:
        setattr(module, name, getattr(functional, name))
    for name, value in overrides.items():
        if value is None:
            delattr(module, name)
        else:
            setattr(module, name, value)
    return module


def test_a_complete_module_loads(fresh_loader):
    fresh_loader(kernel_module())
    assert "numba" in mm.available_backends()


@pytest.mark.parametrize("kernel", functional.KERNELS)
def test_a_module_missing_a_kernel_is_refused_with_the_reason(fresh_loader, monkeypatch, kernel):
    fresh_loader(kernel_module(**{kernel: None}))
    assert "numba" not in mm.available_backends()
    reason = backend.unavailable_backends()["numba"]
    assert "incomplete" in reason and kernel in reason
    monkeypatch.setenv("CI", "1")
    with pytest.raises(BackendError, match=f"incomplete.*{kernel}"):
        with mm.use_backend("numba"):
            pass
    monkeypatch.delenv("CI")
    with pytest.warns(backend.BackendWarning, match=kernel):
        with mm.use_backend("numba") as active:
            assert active == "numpy"


def test_a_module_getattr_fallback_does_not_count(fresh_loader):
    module = kernel_module(attention=None)
    module.__getattr__ = lambda name: getattr(functional, name)  # what both compiled modules used to do
    assert callable(module.attention)  # the old check, callable(getattr(...)), could not fail
    fresh_loader(module)
    assert "numba" not in mm.available_backends()
    assert "attention" in backend.unavailable_backends()["numba"]


def test_a_kernel_with_other_parameters_is_refused(fresh_loader):
    def linear_act(x, weight, bias, activation):  # the old positional signature
        return functional.linear(x, weight, bias)

    fresh_loader(kernel_module(linear_act=linear_act))
    assert "numba" not in mm.available_backends()
    assert "linear_act(x, weight, bias, activation)" in backend.unavailable_backends()["numba"]


def test_a_module_that_fails_to_import_is_refused(fresh_loader, monkeypatch):
    monkeypatch.setitem(backend._MODULES, "numba", "minimobilebert._no_such_module")
    assert "numba" not in mm.available_backends()
    assert "No module named" in backend.unavailable_backends()["numba"]


# ------------------------------------------------------------------------------------------ threads and contexts


def small_model():
    kwargs = CONFIG_GRID["mobilebert"]
    model = mm.MobileBertModel(MobileBertConfig(**kwargs), seed=4)
    rng = np.random.default_rng(0)
    for name, a in model.params.items():  # exercise every weight
        if "LayerNorm.weight" in name:
            a[...] = 1.0 + 0.2 * rng.standard_normal(a.shape)
        elif name.endswith("bias"):
            a[...] = 0.1 * rng.standard_normal(a.shape)
    ids, mask, types_ = random_batch(np.random.default_rng(1), kwargs["vocab_size"], 3, 16)
    return model, (ids, mask, types_)


class RecordingBackends:
    """Wrap every loaded backend's kernels so each call records (thread, backend name)."""

    def __init__(self, monkeypatch):
        self.calls: list[tuple[int, str]] = []
        wrapped = {}
        for name, module in list(backend._BACKENDS.items()):
            namespace = types.SimpleNamespace()
            for kernel in functional.KERNELS:
                setattr(namespace, kernel, self._spy(name, getattr(module, kernel)))
            wrapped[name] = namespace
        monkeypatch.setattr(backend, "_BACKENDS", wrapped)

    def _spy(self, name, fn):
        def call(*args, **kwargs):
            self.calls.append((threading.get_ident(), name))
            return fn(*args, **kwargs)
        return call

    def backends_of(self, thread_id) -> set[str]:
        return {name for ident, name in self.calls if ident == thread_id}


def test_four_threads_four_backends_at_once(monkeypatch):
    """Each thread inside use_backend of a different backend, forwards running at the same time: each
    thread's kernels all come from its own backend, its output equals that backend run alone, and the
    process default is the same afterwards."""
    names = ["numpy", *FAST, "auto"]
    if len(names) < 4:
        pytest.skip(f"needs the numba and cython backends (loaded: {mm.available_backends()})")
    model, (ids, mask, types_) = small_model()
    default = mm.current_backend()
    resolved = {name: mm.available_backends()[0] if name == "auto" else name for name in names}
    alone = {}
    for name in names:
        with mm.use_backend(name):
            alone[name] = model(ids, attention_mask=mask, token_type_ids=types_).last_hidden_state
    assert relative_error(alone["numpy"], alone[FAST[0]]) > 0, "backends must differ for this test to mean much"

    recorder = RecordingBackends(monkeypatch)
    barrier = threading.Barrier(len(names))
    results: dict[str, list] = {name: [] for name in names}
    idents: dict[str, int] = {}
    errors: list[BaseException] = []

    def work(name):
        try:
            idents[name] = threading.get_ident()
            with mm.use_backend(name) as active:
                assert active == resolved[name]
                barrier.wait(timeout=60)
                for _ in range(3):
                    results[name].append(model(ids, attention_mask=mask, token_type_ids=types_).last_hidden_state)
                    assert mm.current_backend() == resolved[name]
            barrier.wait(timeout=60)
            assert mm.current_backend() == default
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)
            barrier.abort()

    threads = [threading.Thread(target=work, args=(name,)) for name in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    for name in names:
        ran = recorder.backends_of(idents[name])
        if resolved[name] == backend.ENGINE_BACKEND and not ran:  # the compiled engine ran the whole encoder
            with mm.use_backend(name):
                assert backend.engine_status(model.config) == "engine", name
        else:
            assert ran == {resolved[name]}, name
        for out in results[name]:
            np.testing.assert_array_equal(out, alone[name], err_msg=name)
    assert mm.current_backend() == default and backend._active.get() is None


def test_out_of_order_enter_and_exit_leave_the_default_alone():
    """Thread A enters use_backend("numpy"), thread B enters another backend, A leaves, then B leaves:
    each sees its own backend throughout, and the process default never moves."""
    other = FAST[0] if FAST else "numpy"
    default = mm.current_backend()
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, list[str]] = {"a": [], "b": [], "main": []}

    def a():
        with mm.use_backend("numpy"):
            a_in.set()
            b_in.wait(10)
            seen["a"].append(mm.current_backend())
        a_out.set()
        seen["a"].append(mm.current_backend())

    def b():
        a_in.wait(10)
        with mm.use_backend(other):
            b_in.set()
            a_out.wait(10)
            seen["b"].append(mm.current_backend())
            seen["main"].append(backend._process_default())
        seen["b"].append(mm.current_backend())

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert seen == {"a": ["numpy", default], "b": [other, default], "main": [default]}
    assert mm.current_backend() == default


def test_a_new_thread_starts_from_the_process_default():
    default = mm.current_backend()
    seen = []
    with mm.use_backend("numpy"):
        t = threading.Thread(target=lambda: seen.append(mm.current_backend()))
        t.start()
        t.join()
    assert seen == [default]


# ------------------------------------------------------------------------------------------ threads setting


def test_num_threads_defaults_to_the_cores_available(monkeypatch):
    monkeypatch.delenv("MINIMOBILEBERT_NUM_THREADS", raising=False)
    assert backend.num_threads() == backend.cores_available() >= 1
    monkeypatch.setenv("MINIMOBILEBERT_NUM_THREADS", "3")
    assert backend.num_threads() == 3


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_bad_num_threads_is_a_clear_error(monkeypatch, value):
    monkeypatch.setenv("MINIMOBILEBERT_NUM_THREADS", value)
    with pytest.raises(BackendError, match="MINIMOBILEBERT_NUM_THREADS"):
        backend.num_threads()


BLAS_THREADS = (
    "import json, numpy as np, minimobilebert as mm\n"
    "from threadpoolctl import threadpool_info\n"
    "mm.current_backend()\n"
    "from minimobilebert import backend\n"
    "print(json.dumps([[i['num_threads'] for i in threadpool_info() if i['user_api'] == 'blas'], backend.blas_threads]))"
)


def test_num_threads_is_applied_to_blas_at_first_use():
    pytest.importorskip("threadpoolctl")
    proc = run_python(BLAS_THREADS, MINIMOBILEBERT_NUM_THREADS="1", MINIMOBILEBERT_BACKEND="numpy")
    assert proc.returncode == 0, proc.stderr
    counts, status = json.loads(proc.stdout)
    assert counts and set(counts) == {1} and status.startswith("1")


def test_a_blas_thread_variable_the_user_set_is_respected():
    pytest.importorskip("threadpoolctl")
    proc = run_python(BLAS_THREADS, OPENBLAS_NUM_THREADS="1", MINIMOBILEBERT_BACKEND="numpy")
    assert proc.returncode == 0, proc.stderr
    counts, status = json.loads(proc.stdout)
    assert set(counts) == {1} and "OPENBLAS_NUM_THREADS" in status


# ------------------------------------------------------------------------------------------ activation codes


def test_one_table_of_activation_codes():
    codes = functional.ACTIVATION_CODES
    assert set(codes) == set(functional.ACTIVATIONS)
    for a in codes:  # two names share a code exactly when they name the same formula
        for b in codes:
            assert (codes[a] == codes[b]) == (functional.ACTIVATIONS[a] is functional.ACTIVATIONS[b]), (a, b)
    for name in FAST:
        assert backend.get_backend(name).ACTIVATION_CODES is codes, f"{name} has its own table"


# ------------------------------------------------------------------------------------------ the engine choice


class FakeEngine(types.ModuleType):
    """Stands in for engine.py: computes the encoder with the NumPy reference and counts its calls."""

    def __init__(self, load_error=None, unsupported=None, cpu_problem=None):
        super().__init__("fake_engine")
        self._load_error, self._unsupported, self._cpu_problem = load_error, unsupported, cpu_problem
        self.calls, self.pools = 0, 0

    def load_error(self):
        return self._load_error

    def cpu_problem(self):
        return self._cpu_problem

    def unsupported(self, config):
        return self._unsupported

    def num_threads(self):
        return 1

    def encode(self, p, config, input_ids, attention_mask, token_type_ids, position_ids):
        self.calls += 1
        with mm.use_backend("numpy"):
            x = model_module.embeddings(input_ids, token_type_ids, position_ids, p["embeddings"], config)
            mask = None if attention_mask is None else functional.mask_bias_from_attention_mask(attention_mask)
            return model_module.encoder(x, mask, p["encoder"], config)[0] * np.float32(1.0)

    def pool(self, p, config, sequence_output):
        self.pools += 1
        with mm.use_backend("numpy"):
            return model_module.pooler(sequence_output, p.get("pooler"), config)


@pytest.fixture
def fake_engine(monkeypatch):
    engine = FakeEngine()
    monkeypatch.setattr(backend, "_engine_module", engine)
    monkeypatch.setattr(backend, "_engine_import_error", None)
    return engine


def test_engine_runs_only_under_cython_without_intermediates(fake_engine):
    if "cython" not in mm.available_backends():
        pytest.skip("the cython backend is not built")
    model, (ids, mask, types_) = small_model()
    config = model.config
    with mm.use_backend("numpy"):
        assert "active backend is 'numpy'" in backend.engine_status(config)
        reference = model(ids, attention_mask=mask, token_type_ids=types_)
    assert fake_engine.calls == 0
    with mm.use_backend("cython"):
        assert backend.engine_status(config) == "engine"
        out = model(ids, attention_mask=mask, token_type_ids=types_)
        assert fake_engine.calls == 1 and fake_engine.pools == 1  # the pooler too: engine.pool says why
        assert_close(out.last_hidden_state, reference.last_hidden_state, "engine last_hidden_state")
        assert_close(out.pooler_output, reference.pooler_output, "engine pooler_output")
        model(ids, attention_mask=mask, output_hidden_states=True)  # needs every layer's output
        model(ids, attention_mask=mask, output_attentions=True)  # needs every layer's probabilities
        with mm.capture() as acts:  # needs every intermediate
            model(ids, attention_mask=mask)
        assert fake_engine.calls == 1 and "encoder.layer.0.output" in acts


@pytest.mark.parametrize("problem", ["load_error", "cpu_problem", "unsupported"])
def test_engine_reasons_are_reported(fake_engine, problem):
    if "cython" not in mm.available_backends():
        pytest.skip("the cython backend is not built")
    setattr(fake_engine, f"_{problem}", f"the reason: {problem}")
    model, (ids, mask, _) = small_model()
    with mm.use_backend("cython"):
        assert backend.engine_status(model.config) == f"the reason: {problem}"
        model(ids, attention_mask=mask)
    assert fake_engine.calls == 0
    assert backend.unavailable_backends(model.config)["engine"] == f"the reason: {problem}"
    assert backend.describe(model.config)["unavailable"]["engine"] == f"the reason: {problem}"


def test_missing_engine_module_is_a_reason_not_an_error(monkeypatch):
    monkeypatch.setattr(backend, "_engine_module", None)
    monkeypatch.setattr(backend, "_engine_import_error", None)
    monkeypatch.setitem(sys.modules, "minimobilebert.engine", None)  # import raises ImportError
    with mm.use_backend("cython" if "cython" in mm.available_backends() else "numpy"):
        status = backend.engine_status(MobileBertConfig(**CONFIG_GRID["mobilebert"]))
    assert status != "engine"
    assert "engine not built" in backend.unavailable_backends()["engine"] or "cython" in backend.unavailable_backends()


def test_one_blas_thread_limits_blas_inside_and_restores_it():
    """backend.one_blas_thread (the fill-mask head after the engine runs in it): BLAS has one thread inside,
    its count before afterwards, also when the block raises."""
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def blas_threads():
        return [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]

    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        before = blas_threads()
        assert before and all(n == 2 for n in before)
        with backend.one_blas_thread():
            assert all(n == 1 for n in blas_threads())
        assert blas_threads() == before
        with pytest.raises(KeyError):
            with backend.one_blas_thread():
                raise KeyError("x")
        assert blas_threads() == before
