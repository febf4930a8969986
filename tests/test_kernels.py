"""The fast kernel backends (Numba, Cython) against the NumPy reference, and the backend switch.

Every kernel of every available backend is compared with functional.py's on hypothesis-generated shapes,
batch sizes, masks (including rows with every key masked) and non-contiguous inputs; then the whole model
is run on each backend and compared with the NumPy run (relative error <= 1e-4, conftest.relative_error).
Backends that did not load are skipped here; CI runs the suite once per backend with
MINIMOBILEBERT_BACKEND set and CI=1, so a broken build fails at import instead of skipping.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minimobilebert as mm
from minimobilebert import backend, functional
from minimobilebert.config import MobileBertConfig
from conftest import CONFIG_GRID, RELATIVE_TOLERANCE, assert_close, random_batch, relative_error

FAST = [name for name in mm.available_backends() if name != "numpy"]
# Same float32 math; BLAS may sum a row in another order than the reference's batched matmul, which moves a
# pre-activation by a few ulps of its scale: through tanh/gelu near 0 that is ~1e-5 of an output of size 1.
KERNEL_TOL = RELATIVE_TOLERANCE
ACTIVATIONS = sorted(functional.ACTIVATIONS)
SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def kernels(name: str):
    return backend.get_backend(name)


def array(rng, shape, scale=1.0, layout="c"):
    """A float32 array of `shape`: C-contiguous, a strided slice of a bigger array, or a transposed copy."""
    if layout == "strided":  # every other column of a wider array
        wide = rng.standard_normal((*shape[:-1], 2 * shape[-1])).astype(np.float32) * scale
        return wide[..., ::2]
    if layout == "fortran":
        return np.asfortranarray(rng.standard_normal(shape).astype(np.float32) * scale)
    return rng.standard_normal(shape).astype(np.float32) * scale


layouts = st.sampled_from(["c", "strided", "fortran"])
lead_shapes = st.lists(st.integers(1, 9), min_size=1, max_size=3).map(tuple)  # [rows] .. [B, C, T]


def dense(rng, n_out, n_in, layout):
    """A dense layer's weights {"weight": [out, in], "bias": [out]}. Layout "packed": the weight is the
    transposed view of a column slice of a wider [in, N] buffer, as the engine's packed layout hands it."""
    if layout == "packed":
        buffer = rng.standard_normal((n_in, n_out + 7)).astype(np.float32) * 0.3
        weight = buffer[:, 3 : 3 + n_out].T  # [out, in], not contiguous
    else:
        weight = array(rng, (n_out, n_in), 0.3, layout)
    return {"weight": weight, "bias": array(rng, (n_out,))}


weight_layouts = st.sampled_from(["c", "strided", "fortran", "packed"])


@pytest.mark.parametrize("name", FAST)
@SETTINGS
@given(lead=lead_shapes, n_in=st.integers(1, 70), n_out=st.integers(1, 70), act=st.sampled_from(ACTIVATIONS),
       layout=layouts, weight_layout=weight_layouts, seed=st.integers(0, 2**16), scale=st.sampled_from([1.0, 30.0]))
def test_linear_act(name, lead, n_in, n_out, act, layout, weight_layout, seed, scale):
    rng = np.random.default_rng(seed)
    x = array(rng, (*lead, n_in), scale, layout)
    d = dense(rng, n_out, n_in, weight_layout)
    ours = kernels(name).linear_act(x, d, act)
    assert ours.shape == (*lead, n_out) and ours.dtype == np.float32
    assert relative_error(ours, functional.linear_act(x, d, act)) <= KERNEL_TOL


@pytest.mark.parametrize("name", FAST)
@SETTINGS
@given(lead=lead_shapes, n_in=st.integers(1, 70), n_out=st.integers(1, 70), residual=st.booleans(),
       norm=st.sampled_from(["no_norm", "layer_norm"]), layout=layouts, weight_layout=weight_layouts,
       seed=st.integers(0, 2**16))
def test_linear_norm(name, lead, n_in, n_out, residual, norm, layout, weight_layout, seed):
    rng = np.random.default_rng(seed)
    x = array(rng, (*lead, n_in), 1.0, layout)
    d = dense(rng, n_out, n_in, weight_layout)
    n = {"weight": 1 + 0.2 * array(rng, (n_out,)), "bias": array(rng, (n_out,))}
    res = array(rng, (*lead, n_out), 1e3, layout) if residual else None
    args = (x, d, n, res, norm, 1e-12)
    ours = kernels(name).linear_norm(*args)
    assert ours.shape == (*lead, n_out) and ours.dtype == np.float32
    assert relative_error(ours, functional.linear_norm(*args)) <= KERNEL_TOL


@pytest.mark.parametrize("name", FAST)
def test_linear_act_keeps_nan_and_inf(name):
    """Every activation on non-finite pre-activations gives functional.py's result: NaN where it has NaN (relu
    keeps NaN, as np.maximum and torch.relu do), the same infinities, the same numbers elsewhere."""
    special = np.array([np.nan, -np.nan, np.inf, -np.inf, 3e38, -3e38, 0.0, -0.0, 1.5, -1.5, 20.0, -20.0],
                       np.float32)
    dense = {"weight": np.zeros((special.size, 3), np.float32), "bias": special}  # y = 0 + bias, exactly
    x = np.ones((4, 3), np.float32)
    for act in ACTIVATIONS:
        with np.errstate(all="ignore"):
            ours = kernels(name).linear_act(x, dense, act)
            expected = np.broadcast_to(functional.ACTIVATIONS[act](special), ours.shape)
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(expected), err_msg=act)
        inf = np.isinf(expected)
        np.testing.assert_array_equal(ours[inf], expected[inf], err_msg=act)
        finite = np.isfinite(expected)
        np.testing.assert_allclose(ours[finite], expected[finite], rtol=1e-6, atol=1e-7, err_msg=act)


@pytest.mark.parametrize("name", FAST)
def test_packed_weights_are_not_copied(name, monkeypatch):
    """A weight handed as a strided view of a packed buffer reaches the GEMM as that view (x @ buffer slice),
    never as a per-call contiguous copy."""
    rng = np.random.default_rng(0)
    buffer = rng.standard_normal((16, 40)).astype(np.float32)
    d = {"weight": buffer[:, 8:20].T, "bias": np.zeros(12, np.float32)}
    seen = []
    real_matmul = np.matmul

    def spy(a, b, *args, **kwargs):
        seen.append(b)
        return real_matmul(a, b, *args, **kwargs)

    module = kernels(name)
    monkeypatch.setattr(module.np, "matmul", spy)  # the kernels call np.matmul through their module's np
    try:
        module.linear_act(rng.standard_normal((3, 16)).astype(np.float32), d, "relu")
    finally:
        monkeypatch.undo()
    assert seen and np.shares_memory(seen[0], buffer)


@st.composite
def attention_cases(draw):
    B, T, heads, d = draw(st.integers(1, 4)), draw(st.integers(1, 24)), draw(st.integers(1, 4)), draw(st.integers(1, 9))
    kind = draw(st.sampled_from(["none", "random", "padded", "some_rows_all_masked"]))
    mask = None
    if kind != "none":
        rng = np.random.default_rng(draw(st.integers(0, 2**16)))
        keep = rng.random((B, T)) < 0.7 if kind == "random" else np.ones((B, T), bool)
        if kind == "padded":
            for i in range(B):
                keep[i, max(1, T - 3 * i):] = False
        if kind == "some_rows_all_masked":
            keep[rng.random(B) < 0.5] = False  # whole batch rows with every key masked
            keep[0] = False
        mask = functional.mask_bias_from_attention_mask(keep.astype(np.int64))
    return B, T, heads, d, mask


@pytest.mark.parametrize("name", FAST)
@SETTINGS
@given(case=attention_cases(), layout=layouts, seed=st.integers(0, 2**16), scale=st.sampled_from([1.0, 1e3]))
def test_attention(name, case, layout, seed, scale):
    B, T, heads, d, mask = case
    rng = np.random.default_rng(seed)
    q, k, v = (array(rng, (B, T, heads * d), scale, layout) for _ in range(3))
    context, probs = kernels(name).attention(q, k, v, mask, heads)
    ref_context, ref_probs = functional.attention(q, k, v, mask, heads)
    assert context.shape == (B, T, heads * d) and probs.shape == (B, heads, T, T)
    assert np.isfinite(probs).all() and np.isfinite(context).all(), "fully masked rows must not give NaN"
    assert relative_error(probs, ref_probs) <= KERNEL_TOL
    assert relative_error(context, ref_context) <= KERNEL_TOL
    if mask is not None:  # a masked key gets zero weight, unless every key of that batch row is masked
        for b in range(B):
            if (mask[b] == 0).any():
                assert (probs[b][..., mask[b] != 0] == 0).all()


def test_fully_masked_rows_are_uniform():
    T = 6
    mask = functional.mask_bias_from_attention_mask(np.zeros((1, T), np.int64))
    q = np.random.default_rng(0).standard_normal((1, T, 8)).astype(np.float32) * 1e4
    for name in FAST:
        _, probs = kernels(name).attention(q, q, q, mask, 2)
        np.testing.assert_allclose(probs, 1.0 / T, rtol=1e-6)


@pytest.mark.parametrize("name", FAST)
def test_attention_keeps_nan_and_inf_meaning(name):
    """Non-finite scores (overflowed activations) give what the reference gives: NaN where it has NaN, the
    same numbers elsewhere, and no exception (a row summing to 0 is NaN, not a ZeroDivisionError)."""
    rng = np.random.default_rng(0)
    B, T, heads, d = 2, 8, 2, 4
    q = rng.standard_normal((B, T, heads * d)).astype(np.float32)
    k = rng.standard_normal((B, T, heads * d)).astype(np.float32)
    v = rng.standard_normal((B, T, heads * d)).astype(np.float32)
    q[0, 1, 0] = np.nan  # one query row of head 0 sees NaN scores
    k[0, 3, 5] = np.inf  # one key gets +-inf scores in head 1
    k[1] = np.abs(k[1]) + 0.1
    q[1, 2, :] = -np.inf  # with positive keys: a query whose every score is -inf
    mask = functional.mask_bias_from_attention_mask(np.ones((B, T), np.int64))
    with np.errstate(all="ignore"):
        ref_context, ref_probs = functional.attention(q, k, v, mask, heads)
        context, probs = kernels(name).attention(q, k, v, mask, heads)
    np.testing.assert_array_equal(np.isnan(probs), np.isnan(ref_probs))
    finite = np.isfinite(ref_probs)
    np.testing.assert_allclose(probs[finite], ref_probs[finite], rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(np.isnan(context), np.isnan(ref_context))


# ----------------------------------------------------------------------------------------- whole model


def randomise_norms_and_biases(model, seed=0):
    """Random init leaves norms at 1/0 and biases at 0; randomise them so every weight is exercised."""
    rng = np.random.default_rng(seed)
    for name, a in model.params.items():
        if "LayerNorm.weight" in name:
            a[...] = 1.0 + 0.2 * rng.standard_normal(a.shape)
        elif name.endswith("bias"):
            a[...] = 0.1 * rng.standard_normal(a.shape)


def run_all_backends(model, ids, mask, types):
    outs = {}
    for name in ["numpy", *FAST]:
        with mm.use_backend(name):
            outs[name] = model(ids, attention_mask=mask, token_type_ids=types, output_hidden_states=True,
                               output_attentions=True)
    return outs


def assert_backends_agree(outs):
    ref = outs["numpy"]
    for name in FAST:
        out = outs[name]
        assert_close(out.last_hidden_state, ref.last_hidden_state, f"{name} last_hidden_state")
        if ref.pooler_output is not None:
            assert_close(out.pooler_output, ref.pooler_output, f"{name} pooler_output")
        for i, (a, b) in enumerate(zip(out.hidden_states, ref.hidden_states)):
            assert_close(a, b, f"{name} hidden_states[{i}]")
        for i, (a, b) in enumerate(zip(out.attentions, ref.attentions)):
            assert_close(a, b, f"{name} attentions[{i}]")


@pytest.mark.parametrize("config_name", sorted(CONFIG_GRID))
def test_model_equal_across_backends(config_name):
    kwargs = CONFIG_GRID[config_name]
    model = mm.MobileBertModel(MobileBertConfig(**kwargs), seed=1)
    randomise_norms_and_biases(model)
    ids, mask, types = random_batch(np.random.default_rng(0), kwargs["vocab_size"], 3, 12,
                                    kwargs.get("type_vocab_size", 2))
    assert_backends_agree(run_all_backends(model, ids, mask, types))


def test_published_config_equal_across_backends():
    """24 layers, hidden 512, bottleneck 128, 4 FFNs, NoNorm: activations grow to 1e7 here."""
    model = mm.MobileBertModel(MobileBertConfig.published())
    randomise_norms_and_biases(model)
    ids, mask, types = random_batch(np.random.default_rng(0), 30522, 2, 48)
    outs = run_all_backends(model, ids, mask, types)
    assert_backends_agree(outs)


def test_capture_names_identical_across_backends():
    kwargs = CONFIG_GRID["mobilebert"]
    model = mm.MobileBertModel(MobileBertConfig(**kwargs))
    ids, mask, _ = random_batch(np.random.default_rng(0), kwargs["vocab_size"], 2, 7)
    names = {}
    for name in ["numpy", *FAST]:
        with mm.use_backend(name), mm.capture() as acts:
            model(ids, attention_mask=mask)
        names[name] = list(acts)
    for name in FAST:
        assert names[name] == names["numpy"]


# ----------------------------------------------------------------------------------------- the switch


def test_use_backend_switches_and_restores():
    before = mm.current_backend()
    for name in mm.available_backends():
        with mm.use_backend(name) as active:
            assert active == name == mm.current_backend()
            assert backend.ops() is kernels(name)
        assert mm.current_backend() == before
    with mm.use_backend("auto") as active:
        assert active == mm.available_backends()[0]
    with pytest.raises(mm.errors.BackendError, match="unknown kernel backend"):
        with mm.use_backend("fortran"):
            pass


def test_every_backend_has_every_kernel():
    """Each backend defines every kernel itself (no module __getattr__ lending the reference's) with the
    reference's parameters; backend.incomplete is what the loader checks (tests/test_backend_seam.py)."""
    for name in mm.available_backends():
        module = kernels(name)
        assert "__getattr__" not in vars(module), f"{name} hands missing names to another module"
        assert backend.incomplete(module) is None, backend.incomplete(module)


@pytest.fixture
def broken_backend(monkeypatch):
    """Pretend the numba backend's module is missing."""
    monkeypatch.setitem(backend._MODULES, "numba", "minimobilebert._no_such_module")
    monkeypatch.setattr(backend, "_BACKENDS", {"numpy": functional})
    monkeypatch.setattr(backend, "_FAILED", {})
    monkeypatch.setattr(backend, "_warned", set())
    monkeypatch.setattr(backend, "_active", backend.ContextVar("test_backend", default=None))


def test_broken_backend_falls_back_with_one_warning(broken_backend, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            with mm.use_backend("numba") as active:
                assert active == "numpy"
    messages = [str(w.message) for w in caught if issubclass(w.category, backend.BackendWarning)]
    assert len(messages) == 1 and "'numba'" in messages[0] and "No module named" in messages[0]
    assert "numba" not in mm.available_backends()


def test_broken_backend_is_an_error_under_ci(broken_backend, monkeypatch):
    monkeypatch.setenv("CI", "1")
    with pytest.raises(mm.errors.BackendError, match="numba.*failed to load"):
        with mm.use_backend("numba"):
            pass


def test_numba_polynomial_exp_matches_numpy():
    """The Numba softmax's exp (a polynomial on x = n ln2 + r): within 2 float32 ulps of NumPy's over the
    range a shifted score takes, NaN for NaN, exactly 0 at -inf and far below -87, 1 at 0."""
    if "numba" not in FAST:
        pytest.skip("the numba backend is not available")
    from numba import njit

    exp_shifted = kernels("numba")._exp_shifted

    @njit
    def each(x, out):
        for i in range(x.shape[0]):
            out[i] = exp_shifted(x[i])

    x = np.concatenate([-np.logspace(-9, np.log10(87.0), 200_001), np.linspace(-87.0, 0.0, 100_001)]).astype(np.float32)
    ours, ref = np.empty_like(x), np.exp(x)
    each(x, ours)
    assert np.all(np.abs(ours - ref) <= 2 * np.spacing(ref)), float(np.max(np.abs(ours - ref) / np.spacing(ref)))
    special = np.array([0.0, -0.0, -np.inf, np.nan, -88.0, -1e30, np.finfo(np.float32).min], np.float32)
    out = np.empty_like(special)
    each(special, out)
    np.testing.assert_array_equal(out, [1.0, 1.0, 0.0, np.nan, 0.0, 0.0, 0.0])


def test_cython_gelu_and_tanh_on_every_path():
    """The Cython backend's gelu family and tanh run C that gcc vectorises, compiled for the module's baseline
    and again for AVX2 and AVX-512, picked at run time. Every path this CPU can run, element by element
    against functional.py over float32's range (the erf polynomial's exp cut-off at -87 included): within
    4e-7 of max(1, |x|), NaN where the reference has NaN, the same infinities and signed zeros' values."""
    if "cython" not in FAST:
        pytest.skip("the cython backend is not available")
    module = kernels("cython")
    best = module.set_activation_isa("auto")
    paths = ["portable", "avx2", "avx512"]
    paths = paths[: paths.index(best) + 1]
    x = np.concatenate([[0.0, -0.0, np.nan, -np.nan, np.inf, -np.inf, 3e38, -3e38, 1e-38, -1e-38],
                        np.linspace(-20, 20, 4001), np.linspace(13.15, 13.25, 101), np.linspace(-13.25, -13.15, 101),
                        np.logspace(-8, 20, 600), -np.logspace(-8, 20, 600)]).astype(np.float32)
    dense = {"weight": np.zeros((x.size, 1), np.float32), "bias": x}  # y = 0 + bias: the activation sees x exactly
    names = [n for n, code in functional.ACTIVATION_CODES.items() if code in (2, 3, 4, 9)]
    assert {"gelu", "gelu_new", "tanh", "gelu_10"} <= set(names)
    try:
        for path in paths:
            assert module.set_activation_isa(path) == path
            for name in names:
                with np.errstate(all="ignore"):
                    ours = module.linear_act(np.zeros((1, 1), np.float32), dense, name)[0]
                    ref = functional.ACTIVATIONS[name](x)
                np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref), err_msg=f"{path} {name}")
                finite = np.isfinite(ref)
                np.testing.assert_array_equal(ours[~finite], ref[~finite], err_msg=f"{path} {name}")
                err = np.abs(ours[finite] - ref[finite]) / np.maximum(1.0, np.abs(x[finite]))
                assert err.max() <= 4e-7, (path, name, float(err.max()), float(x[finite][err.argmax()]))
    finally:
        module.set_activation_isa("auto")
    with pytest.raises(ValueError, match="isa must be"):
        module.set_activation_isa("sse9")
