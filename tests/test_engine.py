"""The compiled encoder engine (minimobilebert/engine.py, kernels/engine/) against the NumPy reference,
and the weight packing it runs on (minimobilebert/packing.py).

The engine is an optional compiled extension: without it these tests skip, except under CI (CI set), where
a missing engine FAILS (CI builds with MINIMOBILEBERT_REQUIRE_EXTENSION=1).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minimobilebert as mm
from minimobilebert import engine, functional, model, packing
from minimobilebert.params import init_params, parameter_shapes

from conftest import CONFIG_GRID, SMALL, random_batch, relative_error

ENGINE_TOLERANCE = 1e-5  # issue 9: the engine equals the reference to 1e-5 relative error


@pytest.fixture(scope="module")
def compiled():
    """The compiled extension module, or skip (fail under CI)."""
    why = engine.load_error()
    if why is not None:
        if os.environ.get("CI"):
            pytest.fail(f"the compiled engine must be built under CI: {why}")
        pytest.skip(f"compiled engine not built: {why}")
    from minimobilebert import _engine

    yield _engine
    _engine.set_isa("auto")


def isas(compiled) -> list[str]:
    """Every path this CPU can run (the portable one always)."""
    order = ["portable", "avx2", "avx512"]
    return order[: order.index(compiled.cpu_isa()) + 1]


def perturbed_model(config: mm.MobileBertConfig, seed: int = 0) -> mm.MobileBertModel:
    """A random model whose norms and biases are not 1/0 (HF's init), so every weight matters; [PAD] row zero."""
    m = mm.MobileBertModel(config, seed=seed)
    rng = np.random.default_rng(seed)
    for name, value in m.params.items():  # in place: the packed views write into their buffers
        if "LayerNorm.weight" in name:
            value[...] = 1.0 + 0.2 * rng.standard_normal(value.shape)
        elif name.endswith("bias"):
            value[...] = 0.1 * rng.standard_normal(value.shape)
    return m


def reference(m, ids, mask, types, positions):
    with mm.use_backend("numpy"):
        return model.mobilebert(ids, mask, types, positions, m.p, m.config, add_pooling_layer=False)[0]


def run_engine(m, ids, mask, types, positions):
    return engine.encode(m.p, m.config, ids, mask, types, positions)


# ------------------------------------------------------------------------------------------ parity


@pytest.mark.parametrize("name", sorted(CONFIG_GRID))
def test_engine_equals_reference_on_config_grid(compiled, name):
    config = mm.MobileBertConfig(**CONFIG_GRID[name])
    assert engine.unsupported(config) is None
    m = perturbed_model(config)
    rng = np.random.default_rng(1)
    ids, mask, types = random_batch(rng, config.vocab_size, 3, 13, config.type_vocab_size)
    positions = np.arange(13, dtype=np.int64)[None]
    ours = run_engine(m, ids, mask, types, positions)
    assert ours.dtype == np.float32 and ours.shape == (3, 13, config.hidden_size)
    err = relative_error(ours, reference(m, ids, mask, types, positions))
    assert err <= ENGINE_TOLERANCE, f"{name}: relative error {err:.3g}"
    # No mask, and per-row position ids [B, T]
    positions_b = np.stack([np.arange(13), np.arange(13)[::-1], np.arange(2, 15)]).astype(np.int64)
    ours = run_engine(m, ids, None, types, positions_b)
    assert relative_error(ours, reference(m, ids, None, types, positions_b)) <= ENGINE_TOLERANCE


@st.composite
def mobilebert_configs(draw):
    """A MobileBertConfig drawn from every switch the architecture has, at sizes that are not multiples of
    the GEMM tiles: the general case behind the named grid. Valid by construction: with the bottleneck on,
    query and key read the hidden state only through a bottleneck (or hidden == true_hidden)."""
    heads = draw(st.integers(1, 4))
    true_hidden = heads * draw(st.integers(1, 11))
    use_bottleneck = draw(st.booleans())
    attention, shared = draw(st.booleans()), draw(st.booleans())
    wider = use_bottleneck and (attention or shared)  # query and key then read the bottleneck, not the hidden state
    hidden = draw(st.integers(true_hidden, true_hidden + 40)) if wider else true_hidden
    return mm.MobileBertConfig(
        vocab_size=draw(st.integers(5, 90)), hidden_size=hidden, true_hidden_size=true_hidden,
        intra_bottleneck_size=true_hidden, num_attention_heads=heads, use_bottleneck=use_bottleneck,
        use_bottleneck_attention=attention, key_query_shared_bottleneck=shared,
        embedding_size=draw(st.integers(1, 40)), trigram_input=draw(st.booleans()),
        intermediate_size=draw(st.integers(1, 70)), num_feedforward_networks=draw(st.integers(1, 4)),
        num_hidden_layers=draw(st.integers(1, 3)), hidden_act=draw(st.sampled_from(sorted(functional.ACTIVATION_CODES))),
        normalization_type=draw(st.sampled_from(["no_norm", "layer_norm"])), type_vocab_size=draw(st.integers(1, 3)),
        max_position_embeddings=48, layer_norm_eps=draw(st.sampled_from([1e-12, 1e-5])))


@settings(max_examples=50, deadline=None)
@given(config=mobilebert_configs(), batch=st.integers(1, 3), seq=st.integers(1, 40), seed=st.integers(0, 2**16))
def test_engine_equals_reference_on_random_configs(compiled, config, batch, seq, seed):
    assert engine.unsupported(config) is None, config
    m = perturbed_model(config, seed=seed)
    rng = np.random.default_rng(seed)
    ids, mask, types = random_batch(rng, config.vocab_size, batch, seq, config.type_vocab_size)
    positions = np.arange(seq, dtype=np.int64)[None]
    ours = run_engine(m, ids, mask, types, positions)
    assert ours.dtype == np.float32 and ours.shape == (batch, seq, config.hidden_size)
    err = relative_error(ours, reference(m, ids, mask, types, positions))
    assert err <= ENGINE_TOLERANCE, f"relative error {err:.3g} for {config.to_dict()}"


def test_engine_equals_reference_on_published_config(compiled):
    config = mm.MobileBertConfig.published()
    m = perturbed_model(config)
    rng = np.random.default_rng(2)
    ids, mask, types = random_batch(rng, config.vocab_size, 2, 24)
    positions = np.arange(24, dtype=np.int64)[None]
    ref = reference(m, ids, mask, types, positions)
    err = relative_error(run_engine(m, ids, mask, types, positions), ref)
    assert err <= ENGINE_TOLERANCE, f"relative error {err:.3g}"


@pytest.mark.parametrize("name", ["mobilebert", "layer_norm_gelu", "no_bottleneck"])
def test_padded_rows_equal_unpadded(compiled, name):
    """A right-padded row gives the same outputs at its real tokens as the same row alone, unpadded."""
    config = mm.MobileBertConfig(**CONFIG_GRID[name])
    m = perturbed_model(config)
    rng = np.random.default_rng(3)
    ids, mask, types = random_batch(rng, config.vocab_size, 4, 16, config.type_vocab_size)
    positions = np.arange(16, dtype=np.int64)[None]
    batch = run_engine(m, ids, mask, types, positions)
    for i in range(4):
        n = int(mask[i].sum())
        alone = run_engine(m, ids[i : i + 1, :n], np.ones((1, n), np.int64), types[i : i + 1, :n], positions[:, :n])
        assert relative_error(batch[i, :n], alone[0]) <= ENGINE_TOLERANCE


@pytest.mark.parametrize("threads", ["1", "2", "3"])
def test_thread_counts_agree(compiled, monkeypatch, threads):
    """Rows are split between threads; any split gives the reference's result (1x1 and 5x7 shapes too)."""
    config = mm.MobileBertConfig(**CONFIG_GRID["mobilebert"])
    m = perturbed_model(config)
    monkeypatch.setenv("MINIMOBILEBERT_NUM_THREADS", threads)
    assert engine.num_threads() == int(threads)
    rng = np.random.default_rng(4)
    for B, T in [(1, 1), (5, 7), (2, 40)]:
        ids, mask, types = random_batch(rng, config.vocab_size, B, T, config.type_vocab_size)
        positions = np.arange(T, dtype=np.int64)[None]
        err = relative_error(run_engine(m, ids, mask, types, positions), reference(m, ids, mask, types, positions))
        assert err <= ENGINE_TOLERANCE, f"{B}x{T}: {err:.3g}"


def plan_and_batch(B: int, T: int, seed: int = 5, **overrides):
    """A perturbed small model, its compiled plan and a padded random batch for _engine.forward."""
    config = mm.MobileBertConfig(**dict(CONFIG_GRID["mobilebert"], **overrides))
    m = perturbed_model(config)
    ids, mask, types = random_batch(np.random.default_rng(seed), config.vocab_size, B, T, config.type_vocab_size)
    positions = np.arange(T, dtype=np.int64)[None]
    return m, engine._plan(m.p, m.config)[0], (ids, types, positions, mask)  # m keeps the plan's weights


@pytest.mark.parametrize("threads", [2, 3, 4])
def test_a_thread_leaving_the_team_changes_nothing(compiled, threads):
    """A straggler leaves the team at a per-layer barrier and the others take its rows from there on
    (kernels/engine/forward.c). Forced at the first, second and last barrier (the test hook retire_at),
    the output is the one-thread output and the reference's."""
    m, plan, batch = plan_and_batch(3, 21)
    ids, types, positions, mask = batch
    alone = compiled.forward(plan, *batch, 1).copy()
    assert relative_error(alone, reference(m, ids, mask, types, positions)) <= ENGINE_TOLERANCE
    layers = m.config.num_hidden_layers
    for at in (1, 2, layers):
        before = plan.retired
        out = compiled.forward(plan, *batch, threads, at)
        assert plan.retired >= before + 1, f"no thread left at barrier {at}"
        assert relative_error(out, alone) <= 1e-6, f"left at barrier {at}"
    out = compiled.forward(plan, *batch, threads, layers + 1)  # past the last barrier: nobody is forced out
    assert relative_error(out, alone) <= 1e-6


@pytest.mark.parametrize("threads", [2, 3])
@pytest.mark.parametrize("min_rows,divisor", [(1, 2), (12, 3), (64, 2), (5, 1), (64, 0)])
def test_how_threads_take_rows_changes_nothing(compiled, threads, min_rows, divisor):
    """Between two barriers the threads take chunks of rows as they go (forward.c, claim_rows); a chunk may
    end inside a sequence or span two, and which thread runs it depends on timing. Chunks of 1 row and up,
    guided or even shares (divisor 0): every output is bit-identical to the one-thread output, which
    equals the reference, on a padded batch whose sequences (21 rows) are not a multiple of any chunk."""
    m, plan, batch = plan_and_batch(3, 21)
    ids, types, positions, mask = batch
    alone = compiled.forward(plan, *batch, 1).copy()
    assert relative_error(alone, reference(m, ids, mask, types, positions)) <= ENGINE_TOLERANCE
    old = compiled.set_chunking(min_rows, divisor)
    try:
        for _ in range(5):
            np.testing.assert_array_equal(compiled.forward(plan, *batch, threads), alone)
        assert compiled.set_chunking(min_rows, divisor) == (min_rows, divisor)  # it was in force
    finally:
        compiled.set_chunking(*old)


@pytest.mark.parametrize("name", ["mobilebert", "one_ffn_gelu_new", "layer_norm_gelu", "no_bottleneck",
                                  "tiny_bottleneck_attention", "intermediate_256"])
def test_gemm_pairs_change_nothing(compiled, name):
    """Each FFN's two dense layers run as one step, a block of rows at a time with the 512-wide
    intermediate in scratch (forward.c, gemm_pair; an intermediate of a multiple of 256 floats gets a
    padded row stride there). That must be every FFN of every layer, and nothing else: no step whose
    output a later step reads. With pairs and without, on 1 and 2 threads and row counts below, at and
    above the block size (48 rows), the output is the same bit for bit, and the reference's."""
    overrides = dict(intermediate_size=256) if name == "intermediate_256" else CONFIG_GRID[name]
    m, plan, batch = plan_and_batch(3, 37, **overrides)
    config = m.config
    steps = plan.pair_steps()
    assert len(steps) == config.num_feedforward_networks * config.num_hidden_layers
    assert all(b - a >= 2 for a, b in zip(steps, steps[1:]))  # no step in two pairs
    old = compiled.set_pairs(False)
    try:
        assert plan.pair_steps() == []
        for B, T in [(1, 5), (1, 48), (3, 37)]:
            sub = tuple(x[:B, :T] if x.shape[0] != 1 else x[:, :T] for x in batch)
            sub = tuple(np.ascontiguousarray(x) for x in sub)
            compiled.set_pairs(False)
            apart = [compiled.forward(plan, *sub, t).copy() for t in (1, 2)]
            compiled.set_pairs(True)
            together = [compiled.forward(plan, *sub, t).copy() for t in (1, 2)]
            for a, b in zip(apart, together):
                np.testing.assert_array_equal(a, b)
            ids, types, positions, mask = sub
            assert relative_error(together[0], reference(m, ids, mask, types, positions)) <= ENGINE_TOLERANCE
    finally:
        compiled.set_pairs(old)


def test_forward_under_a_cpu_hog_equals_one_thread(compiled):
    """With another process busy on core 0, the thread sharing that core arrives late at the barriers and
    may leave the team (and the next calls run with fewer threads until a full team is tried again):
    whatever the schedule, every result equals the one-thread result. Timing is the benchmark's job
    (kernels/benchmark.py, contention cell); this checks that the paths it takes compute the same thing."""
    if not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs two CPUs and sched_setaffinity")
    m, plan, batch = plan_and_batch(2, 128, num_hidden_layers=24, max_position_embeddings=128)
    alone = compiled.forward(plan, *batch, 1).copy()
    cpu = min(os.sched_getaffinity(0))
    busy = f"import os\nos.sched_setaffinity(0, {{{cpu}}})\nprint('busy', flush=True)\nwhile True: pass"
    hog = subprocess.Popen([sys.executable, "-c", busy], stdout=subprocess.PIPE, text=True)
    try:
        assert hog.stdout.readline().strip() == "busy"
        for _ in range(40):
            out = compiled.forward(plan, *batch, 2)
            assert relative_error(out, alone) <= 1e-6, f"{plan.retired} thread(s) left so far"
    finally:
        hog.kill()
        hog.wait()


def test_concurrent_calls_from_python_threads(compiled):
    """Python threads calling the engine at once (it runs without the GIL) get each their own result: the
    reused activation buffers are never shared between calls in flight."""
    from concurrent.futures import ThreadPoolExecutor

    config = mm.MobileBertConfig(**CONFIG_GRID["mobilebert"])
    m = perturbed_model(config)
    rng = np.random.default_rng(7)
    batches = [random_batch(rng, config.vocab_size, 2, 30, config.type_vocab_size) for _ in range(8)]
    positions = np.arange(30, dtype=np.int64)[None]
    alone = [run_engine(m, ids, mask, types, positions) for ids, mask, types in batches]
    with ThreadPoolExecutor(4) as pool:
        for _ in range(3):
            together = list(pool.map(lambda b: run_engine(m, b[0], b[1], b[2], positions), batches))
            for a, t in zip(alone, together):
                np.testing.assert_array_equal(t, a)


def test_every_cpu_path_equals_reference(compiled):
    """Forcing each micro-kernel path the CPU can run (AVX-512, AVX2, portable) gives the reference's result."""
    m = perturbed_model(mm.MobileBertConfig(**CONFIG_GRID["layer_norm_gelu"]))
    m2 = perturbed_model(mm.MobileBertConfig(**CONFIG_GRID["mobilebert"]))
    rng = np.random.default_rng(5)
    try:
        for isa in isas(compiled):
            assert compiled.set_isa(isa) == isa
            for mod in (m, m2):
                ids, mask, types = random_batch(rng, mod.config.vocab_size, 3, 37, mod.config.type_vocab_size)
                positions = np.arange(37, dtype=np.int64)[None]
                err = relative_error(run_engine(mod, ids, mask, types, positions),
                                     reference(mod, ids, mask, types, positions))
                assert err <= ENGINE_TOLERANCE, f"{isa}: {err:.3g}"
    finally:
        compiled.set_isa("auto")


def test_cpu_without_avx2_runs_the_kernel_per_op_path(compiled, monkeypatch):
    """On a CPU with only the portable path (ARM, x86-64 without AVX2/FMA) the cython backend does not use
    the engine (its portable kernel is several times slower than BLAS), says why, and gives the reference's
    result through its kernel-per-op path; with AVX2 or AVX-512, the engine runs."""
    if "cython" not in mm.available_backends():
        pytest.skip("the cython backend is not built")
    config = mm.MobileBertConfig(**CONFIG_GRID["mobilebert"])
    m = perturbed_model(config)
    ids, mask, types = random_batch(np.random.default_rng(3), config.vocab_size, 2, 9, config.type_vocab_size)
    with mm.use_backend("numpy"):
        expected = m(ids, attention_mask=mask, token_type_ids=types).last_hidden_state
    calls = []
    monkeypatch.setattr(engine, "encode", lambda *a, **k: calls.append(1))  # not called on this CPU
    monkeypatch.setattr(compiled, "cpu_isa", lambda: "portable")
    with mm.use_backend("cython"):
        status = mm.backend.engine_status(config)
        assert "neither AVX-512 nor AVX2" in status and "kernel-per-op" in status
        assert mm.backend.unavailable_backends(config)["engine"] == status
        out = m(ids, attention_mask=mask, token_type_ids=types).last_hidden_state
    assert not calls
    assert relative_error(out, expected) <= ENGINE_TOLERANCE
    monkeypatch.setattr(compiled, "cpu_isa", lambda: "avx2")
    with mm.use_backend("cython"):
        assert mm.backend.engine_status(config) == "engine"


def test_fully_masked_row_is_finite(compiled):
    """A row whose keys are all masked attends uniformly, as the reference does: finite, and equal."""
    config = mm.MobileBertConfig(**CONFIG_GRID["mobilebert"])
    m = perturbed_model(config)
    ids = np.array([[5, 6, 7, 8], [9, 10, 11, 12]], dtype=np.int64)
    mask = np.array([[1, 1, 0, 0], [0, 0, 0, 0]], dtype=np.int64)
    types = np.zeros_like(ids)
    positions = np.arange(4, dtype=np.int64)[None]
    ours = run_engine(m, ids, mask, types, positions)
    assert relative_error(ours, reference(m, ids, mask, types, positions)) <= ENGINE_TOLERANCE


@pytest.mark.parametrize("config_name", ["mobilebert", "layer_norm_gelu"])
@pytest.mark.parametrize("case", ["nan_token", "nan_ffn_bias", "minus_inf_ffn_bias", "plus_inf_ffn_bias"])
def test_non_finite_values_keep_their_meaning(compiled, config_name, case):
    """A NaN or an infinity inside the forward (a weight changed in memory: loaded checkpoints are checked for
    NaN and inf) gives NaN exactly where the reference has it, and the reference's numbers elsewhere, on every
    path. relu keeps NaN, as np.maximum and torch.relu do (it had turned NaN into 0 on every path), and so
    does the softmax's exp (AVX-512's had turned it into exp(-87)). A NaN word embedding reaches every row
    of its own sequence through attention and no row of the other. (Not compared: an overflow of finite
    values, whose NaN pattern depends on the order a product sums in, BLAS's or ours.)"""
    config = mm.MobileBertConfig(**CONFIG_GRID[config_name])
    m = perturbed_model(config)
    p = m.params
    ids, mask, types = random_batch(np.random.default_rng(2), config.vocab_size, 2, 11, config.type_vocab_size)
    mask[:] = 1
    ffn = "encoder.layer.1.ffn.0" if config.num_feedforward_networks > 1 else "encoder.layer.1"
    if case == "nan_token":
        p["embeddings.word_embeddings.weight"][7] = np.nan
        ids[ids == 7] = 8
        ids[0, 4] = 7
    elif case == "nan_ffn_bias":
        p[f"{ffn}.intermediate.dense.bias"][3] = np.nan
    else:  # relu(-inf) = 0 but gelu(-inf) = -inf * 0 = NaN; relu(inf) = inf, then inf - inf downstream
        p[f"{ffn}.intermediate.dense.bias"][3] = -np.inf if case.startswith("minus") else np.inf
    positions = np.arange(11, dtype=np.int64)[None]
    with np.errstate(all="ignore"):
        expected = reference(m, ids, mask, types, positions)
    nan = np.isnan(expected)
    if case == "nan_token":
        assert nan[0].all() and not nan[1].any()
    elif case == "nan_ffn_bias":
        assert nan.all()
    try:
        for isa in isas(compiled):
            compiled.set_isa(isa)
            with np.errstate(all="ignore"):
                ours = run_engine(m, ids, mask, types, positions)
            np.testing.assert_array_equal(np.isnan(ours), nan, err_msg=isa)
            if not nan.all():
                assert relative_error(ours[~nan], expected[~nan]) <= ENGINE_TOLERANCE, isa
    finally:
        compiled.set_isa("auto")


def test_gemm_activations_keep_nan_and_inf(compiled):
    """Every activation on non-finite pre-activations (NaN, +-inf, huge) gives functional.py's result: NaN
    where it has NaN, the same infinities; in full tiles (the in-register epilogue for relu) and partial ones,
    on every path."""
    special = np.array([np.nan, -np.nan, np.inf, -np.inf, 3e38, -3e38, 0.0, -0.0, 1.5, -1.5], np.float32)
    for M, N in [(1, 10), (24, 64), (13, 37)]:
        bias = np.resize(special, N)  # y = 0 @ B + bias: the activation sees the specials exactly
        for code, name in ACTIVATIONS.items():
            with np.errstate(all="ignore"):
                expected = np.broadcast_to(functional.ACTIVATIONS[name](bias) if code else bias, (M, N))
            for isa in isas(compiled):
                compiled.set_isa(isa)
                with np.errstate(all="ignore"):
                    ours = compiled.gemm(np.zeros((M, 2), np.float32), np.zeros((2, N), np.float32), bias, code)
                where = (isa, M, N, name)
                np.testing.assert_array_equal(np.isnan(ours), np.isnan(expected), err_msg=str(where))
                inf = np.isinf(expected)
                np.testing.assert_array_equal(ours[inf], expected[inf], err_msg=str(where))
                finite = np.isfinite(expected)
                np.testing.assert_allclose(ours[finite], expected[finite], rtol=1e-6, atol=1e-7, err_msg=str(where))
    compiled.set_isa("auto")


def test_num_threads_setting(monkeypatch):
    monkeypatch.delenv("MINIMOBILEBERT_NUM_THREADS", raising=False)
    assert engine.num_threads() == len(os.sched_getaffinity(0))
    monkeypatch.setenv("MINIMOBILEBERT_NUM_THREADS", "zero")
    with pytest.raises(mm.ConfigError, match="MINIMOBILEBERT_NUM_THREADS"):
        engine.num_threads()


# ------------------------------------------------------------------------------------------ the GEMM kernel

# one name per code of functional.ACTIVATION_CODES (0: none, the identity)
ACTIVATIONS = {code: name for name, code in sorted(functional.ACTIVATION_CODES.items(), reverse=True)}


@settings(max_examples=60, deadline=None)
@given(M=st.integers(0, 30), K=st.integers(0, 70), N=st.integers(1, 80), act=st.sampled_from(sorted(ACTIVATIONS)),
       bias=st.booleans(), residual=st.booleans(), nonorm=st.booleans(), strided=st.booleans(), inplace=st.booleans(),
       isa=st.sampled_from(["portable", "avx2", "avx512"]), seed=st.integers(0, 2**16))
def test_gemm_kernel_matches_numpy(compiled, M, K, N, act, bias, residual, nonorm, strided, inplace, isa, seed):
    """epilogue(A @ B) on shapes that are not multiples of any tile (incl. 0 and 1 rows, K = 0), strided rows,
    every epilogue, the residual being the output itself (as the engine's FFNs run), on every path (a path
    the CPU lacks falls back to the best it has)."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((M, K + 3 * strided), dtype=np.float32)[:, :K]  # strided rows when asked
    B = rng.standard_normal((K, N + 5 * strided), dtype=np.float32)[:, :N]
    b = rng.standard_normal(N, dtype=np.float32) if bias else None
    r = rng.standard_normal((M, N), dtype=np.float32) if residual else None
    s, h = (rng.standard_normal(N, dtype=np.float32), rng.standard_normal(N, dtype=np.float32)) if nonorm else (None, None)
    expected = (A.astype(np.float64) @ B.astype(np.float64)).astype(np.float32)
    if b is not None:
        expected = expected + b
    if act:
        expected = functional.ACTIVATIONS[ACTIVATIONS[act]](expected)
    if r is not None:
        expected = expected + r
    if s is not None:
        expected = expected * s + h
    compiled.set_isa(isa)
    try:
        out = r.copy() if r is not None and inplace else None
        ours = compiled.gemm(A, B, b, act, out if out is not None else r, s, h, out=out)
    finally:
        compiled.set_isa("auto")
    assert ours.shape == (M, N)
    if M:
        assert relative_error(ours, expected) <= ENGINE_TOLERANCE


@pytest.mark.parametrize("N", [16, 32, 48, 80])
@pytest.mark.parametrize("K", [0, 1, 2, 3, 33, 128])
def test_gemm_kernel_full_width_tiles(compiled, K, N):
    """Column panels that fill the tile (N a multiple of 16, and of 32 for AVX-512's), where the AVX2 and
    AVX-512 kernels load B without masks and run the epilogue in registers (no activation or relu, with or
    without bias, a residual that is the output itself, NoNorm), for every row count up to two of the
    largest tile's panels (every partial-panel copy: 2, 4 or 6 rows on AVX2, 4, 8 or 12 on AVX-512), odd
    and even K (AVX2 takes two k steps at a time), every path."""
    rng = np.random.default_rng(K * 1000 + N)
    for M in list(range(1, 25)) + [37]:
        A = rng.standard_normal((M, K), dtype=np.float32)
        B = rng.standard_normal((K, N + 8), dtype=np.float32)[:, :N]  # a strided B, as a packed buffer's block
        b, s, h = (rng.standard_normal(N, dtype=np.float32) for _ in range(3))
        r = rng.standard_normal((M, N), dtype=np.float32)
        product = (A.astype(np.float64) @ B.astype(np.float64)).astype(np.float32)
        for act, bias, residual, nonorm in [(0, False, False, False), (1, True, False, False),
                                            (1, True, True, True), (0, True, True, False), (0, False, False, True)]:
            expected = product + b if bias else product
            expected = np.maximum(expected, 0) if act else expected
            expected = expected + r if residual else expected
            expected = expected * s + h if nonorm else expected
            for isa in isas(compiled):
                compiled.set_isa(isa)
                out = r.copy()
                ours = compiled.gemm(A, B, b if bias else None, act, out if residual else None,
                                     s if nonorm else None, h if nonorm else None, out=out)
                assert ours is out or np.shares_memory(ours, out)
                assert relative_error(ours, expected) <= ENGINE_TOLERANCE, (isa, M, K, N, act, bias, residual, nonorm)
    compiled.set_isa("auto")


@pytest.mark.parametrize("K, N", [(128, 128), (128, 530), (512, 131), (2048, 160), (1200, 300)])
def test_gemm_kernel_both_loop_orders(compiled, K, N):
    """The x86 driver takes row panels outer when B fits in half the L2 and has at least 4 column panels
    (128 x 128 .. 512 x 131 here, on any L2 of 1.1 MB and up) and column panels outer within row blocks when B
    is bigger (2048 x 160 and 1200 x 300: 1.3-1.4 MB, above half of any L2 up to 2.6 MB). Both orders with
    the whole epilogue (bias, relu, a residual that is the output itself, NoNorm), a strided B and a
    partial last row panel and column panel, on every path."""
    rng = np.random.default_rng(K + N)
    for M in (13, 200):
        A = rng.standard_normal((M, K), dtype=np.float32)
        B = rng.standard_normal((K, N + 5), dtype=np.float32)[:, :N]
        b, s, h = (rng.standard_normal(N, dtype=np.float32) for _ in range(3))
        r = rng.standard_normal((M, N), dtype=np.float32)
        expected = (np.maximum(A.astype(np.float64) @ B + b, 0) + r) * s + h
        try:
            for isa in isas(compiled):
                compiled.set_isa(isa)
                out = r.copy()
                compiled.gemm(A, B, b, 1, out, s, h, out=out)
                assert relative_error(out, expected.astype(np.float32)) <= ENGINE_TOLERANCE, (isa, M, K, N)
        finally:
            compiled.set_isa("auto")


@pytest.mark.parametrize("M", [64, 119, 120, 121, 128, 192, 193, 250, 400])
def test_gemm_kernel_many_rows(compiled, M):
    """More rows than one block of A (120 rows on the portable path; 192 on the x86 ones, balanced between
    blocks): every block, and the partial last panel (4-, 8- and 12-row kernels on AVX-512, 2-, 4- and 6-row
    on AVX2), on every path."""
    rng = np.random.default_rng(M)
    A = rng.standard_normal((M, 70), dtype=np.float32)
    B = rng.standard_normal((70, 45), dtype=np.float32)
    bias = rng.standard_normal(45, dtype=np.float32)
    expected = (A.astype(np.float64) @ B + bias).astype(np.float32)
    try:
        for isa in isas(compiled):
            compiled.set_isa(isa)
            assert relative_error(compiled.gemm(A, B, bias), expected) <= ENGINE_TOLERANCE, isa
    finally:
        compiled.set_isa("auto")



@settings(max_examples=60, deadline=None)
@given(M=st.integers(0, 9), N=st.integers(1, 70), masked=st.floats(0, 1), scale=st.floats(0.01, 2.0),
       spread=st.sampled_from([1.0, 30.0, 300.0]), isa=st.sampled_from(["portable", "avx2", "avx512"]),
       seed=st.integers(0, 2**16))
def test_exp_rows_matches_numpy(compiled, M, N, masked, scale, spread, isa, seed):
    """Attention's softmax numerators (exp of the scaled, masked scores minus the row maximum) and their row
    sums, against float64 NumPy: any width (tails of 16-lane vectors), scores spread far enough that
    some underflow to 0, masked keys (float32's lowest, as the engine masks), every path."""
    rng = np.random.default_rng(seed)
    S = (spread * rng.standard_normal((M, N))).astype(np.float32)
    mask = np.where(rng.random(N) < masked, np.finfo(np.float32).min, 0).astype(np.float32)
    z = S * np.float32(scale) + mask  # float32, as the engine scales and masks (its documented first step)
    shifted = z.astype(np.float64) - z.max(axis=1, keepdims=True) if M else z
    expected = np.exp(shifted)
    compiled.set_isa(isa)
    try:
        ours = S.copy()
        sums = compiled.exp_rows(ours, scale, mask)
    finally:
        compiled.set_isa("auto")
    if M:
        assert np.abs(ours - expected).max() <= 1e-6  # values in [0, 1]: absolute error
        assert (ours[shifted < -88] == 0).all()  # exp underflows to exactly 0 below -87, as exp_poly
        np.testing.assert_allclose(sums, expected.sum(axis=1), rtol=1e-6)

@settings(max_examples=80, deadline=None)
@given(R=st.integers(0, 40), C=st.integers(0, 40), pad=st.integers(0, 5), out_pad=st.integers(0, 5),
       isa=st.sampled_from(["portable", "avx2", "avx512"]), seed=st.integers(0, 2**16))
def test_transpose_matches_numpy(compiled, R, C, pad, out_pad, isa, seed):
    """The transpose attention lays one head's keys out with: any shape (tails of the 16 x 16 and 8 x 8
    register tiles, empty), a row stride wider than the row (a head's columns in the key buffer), an
    output inside a wider array whose other elements it must not touch, every path."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((R, C + pad)).astype(np.float32)[:, :C]
    big = np.full((C, R + out_pad), np.float32(7.0))
    compiled.set_isa(isa)
    try:
        out = compiled.transpose(A, big[:, :R])
    finally:
        compiled.set_isa("auto")
    np.testing.assert_array_equal(out, A.T)
    assert (big[:, R:] == 7.0).all()


def test_exp_rows_keeps_nan(compiled):
    """A NaN score (from a NaN query or key) stays NaN in the numerators and makes its row's sum NaN, so the
    context row attention divides by that sum is NaN, as the reference's softmax makes the whole row NaN;
    rows without NaN are untouched. Any width (the vector tails), every path."""
    rng = np.random.default_rng(0)
    for N in (1, 7, 16, 33, 128):
        S = rng.standard_normal((3, N)).astype(np.float32)
        S[1, N // 2] = np.nan
        for isa in isas(compiled):
            compiled.set_isa(isa)
            ours = S.copy()
            sums = compiled.exp_rows(ours, 0.5)
            assert np.isnan(ours[1, N // 2]) and np.isnan(sums[1]), (isa, N)
            assert not np.isnan(ours[[0, 2]]).any() and not np.isnan(sums[[0, 2]]).any(), (isa, N)
    compiled.set_isa("auto")


@settings(max_examples=60, deadline=None)
@given(M=st.integers(0, 5), N=st.integers(1, 100), offset=st.sampled_from([0.0, 1e3, 1e7]),
       spread=st.sampled_from([1e-3, 1.0, 1e4]), isa=st.sampled_from(["portable", "avx2", "avx512"]),
       seed=st.integers(0, 2**16))
def test_layer_norm_rows_match_numpy(compiled, M, N, offset, spread, isa, seed):
    """LayerNorm rows (the engine's pass after a GEMM for layer_norm configs: BERT, MiniLM) against float64
    NumPy: any width (the 16 partial sums and a tail), rows far from zero and nearly constant (MobileBERT's
    activations reach 1e7), every path; a row strided inside a wider buffer is normalised alone."""
    rng = np.random.default_rng(seed)
    wide = (offset + spread * rng.standard_normal((M, N + 3))).astype(np.float32)
    X = wide[:, :N]
    w = (1 + 0.2 * rng.standard_normal(N)).astype(np.float32)
    b = (0.1 * rng.standard_normal(N)).astype(np.float32)
    x64 = X.astype(np.float64)
    centered = x64 - x64.mean(axis=1, keepdims=True)
    expected = centered / np.sqrt((centered ** 2).mean(axis=1, keepdims=True) + 1e-12) * w + b
    untouched = wide[:, N:].copy()
    compiled.set_isa(isa)
    try:
        compiled.layer_norm_rows(X, w, b, 1e-12)
    finally:
        compiled.set_isa("auto")
    np.testing.assert_array_equal(wide[:, N:], untouched)
    for row, want, x in zip(X, expected, x64):
        if (x == x[0]).all():  # a constant row (N = 1, or spread below float32's step at the offset): exactly b
            np.testing.assert_array_equal(row, b)
            continue
        # float32 arithmetic: the mean is rounded to float32 (half a step at its size), which shifts every
        # centred value by up to that much, i.e. by that step / the row's standard deviation once normalised
        sigma = np.sqrt(((x - x.mean()) ** 2).mean() + 1e-12)
        step = float(np.spacing(np.float32(abs(x.mean()))))
        bound = 1e-5 * max(1.0, float(np.abs(want).max())) + float(np.abs(w).max()) * step / sigma
        assert np.abs(row - want).max() <= bound


def test_gemm_kernel_refuses_bad_shapes(compiled):
    a = np.zeros((3, 4), np.float32)
    with pytest.raises(ValueError, match="chain"):
        compiled.gemm(a, np.zeros((5, 2), np.float32))
    with pytest.raises(ValueError, match="bias"):
        compiled.gemm(a, np.zeros((4, 2), np.float32), bias=np.zeros(3, np.float32))


# ------------------------------------------------------------------------------------------ packing


@pytest.mark.parametrize("name", sorted(CONFIG_GRID))
def test_packing_leaves_hf_shapes_and_values_without_copies(name):
    config = mm.MobileBertConfig(**CONFIG_GRID[name])
    shapes = parameter_shapes(config, "masked_lm")
    original = init_params(config, shapes, 0)  # what the model holds before packing
    params = packing.pack_params(config, dict(original))
    assert set(params) == set(original)
    for k, v in params.items():
        assert v.shape == original[k].shape and v.dtype == np.float32, k
        np.testing.assert_array_equal(v, original[k], err_msg=k)
    # Memory: the arrays live in buffers whose bytes are exactly the weights' bytes (no second copy) plus
    # the row padding of the packed buffers whose rows are a multiple of 1 KB (packing.row_pad)...
    bufs = packing.buffers(params)
    packed = {id(v.base): v.base for k, v in params.items() if v.ndim == 2 and v.strides[0] == 4 and v.base is not None}
    assert packed
    widths = {id(b): sum(v.shape[0] for v in params.values() if v.ndim == 2 and v.base is b) for b in packed.values()}
    padding = sum(b.shape[0] * packing.row_pad(widths[id(b)]) * 4 for b in packed.values())
    assert all(b.shape[1] == widths[id(b)] + packing.row_pad(widths[id(b)]) for b in packed.values())
    assert sum(b.nbytes for b in bufs) == sum(v.nbytes for v in original.values()) + padding
    assert len(bufs) < len(params)
    # ... and the dense layers reading the same input share one [in, N] buffer, in column order.
    layer = "mobilebert.encoder.layer.0."
    for group in packing.layer_groups(config):
        weights = [params[f"{layer}{n}.weight"] for n in group]
        assert packing.is_packed(weights), group
        assert all(w.base is weights[0].base for w in weights)
    # Idempotent: packing again changes nothing.
    again = packing.pack_params(config, dict(params))
    assert all(again[k] is params[k] for k in params)


@pytest.mark.parametrize("classifier_activation", [True, False])
def test_pooler_runs_on_the_engine_gemm_from_its_packed_weight(compiled, classifier_activation, monkeypatch):
    """engine.pool, which the engine path uses instead of NumPy's product (whose OpenBLAS worker thread then
    spins into the next forward): the pooler's dense weight is packed at load, so the GEMM reads `weight.T`
    in place (HF's [out, in] view kept, nothing copied), and its output equals the reference pooler's."""
    config = mm.MobileBertConfig(**CONFIG_GRID["mobilebert"], classifier_activation=classifier_activation)
    m = mm.MobileBertForSequenceClassification(config, seed=4)
    p = m.p["mobilebert"]
    if classifier_activation:
        w = m.params["mobilebert.pooler.dense.weight"]
        assert w.shape == (config.hidden_size,) * 2 and p["pooler"]["dense"]["weight"] is w
        assert w.T.strides == ((config.hidden_size + packing.row_pad(config.hidden_size)) * 4, 4)  # the buffer's rows
        copies = []
        real = np.ascontiguousarray
        monkeypatch.setattr(np, "ascontiguousarray", lambda a, *x, **k: copies.append(a.shape) or real(a, *x, **k))
    seq = (100 * np.random.default_rng(0).standard_normal((3, 7, config.hidden_size))).astype(np.float32)
    ours = engine.pool(p, config, seq)
    if classifier_activation:
        assert (config.hidden_size, config.hidden_size) not in copies  # the weight was not copied
        monkeypatch.undo()
    ref = model.pooler(seq, p.get("pooler"), config)
    assert ours.shape == ref.shape == (3, config.hidden_size)
    assert relative_error(ours, ref) <= 1e-6


def test_padded_buffers_keep_values_and_parity(compiled, tmp_path):
    """Buffers whose rows would be a multiple of 1 KB (N a multiple of 256: here the FFN intermediates,
    the output bottleneck, the embedding transformation and the pooler) get packing.ROW_PAD floats after each
    row: the views still hold HF's shapes and values, the engine reads the padded stride on every path and
    equals the reference, and a saved model reloads to the same weights."""
    config = mm.MobileBertConfig(**dict(SMALL, hidden_size=256, intermediate_size=256))
    m = perturbed_model(config, seed=6)
    padded = {name for name, v in m.params.items() if v.ndim == 2 and v.strides[0] == 4 and v.base is not None
              and v.base.shape[1] == v.shape[0] + packing.ROW_PAD}
    assert "encoder.layer.0.intermediate.dense.weight" in padded
    assert "encoder.layer.1.ffn.0.intermediate.dense.weight" in padded
    assert "encoder.layer.0.output.bottleneck.dense.weight" in padded
    assert "embeddings.embedding_transformation.weight" in padded
    assert "encoder.layer.0.attention.self.query.weight" not in padded  # [32, 64]: not padded
    rng = np.random.default_rng(8)
    ids, mask, types = random_batch(rng, config.vocab_size, 3, 21, config.type_vocab_size)
    positions = np.arange(21, dtype=np.int64)[None]
    expected = reference(m, ids, mask, types, positions)
    try:
        for isa in isas(compiled):
            compiled.set_isa(isa)
            assert relative_error(run_engine(m, ids, mask, types, positions), expected) <= ENGINE_TOLERANCE, isa
    finally:
        compiled.set_isa("auto")
    m.save_pretrained(tmp_path)
    loaded = mm.MobileBertModel.from_pretrained(tmp_path)
    state = loaded.state_dict()
    for name, value in m.state_dict().items():
        np.testing.assert_array_equal(state[name], value, err_msg=name)


def test_model_params_are_packed_and_save_round_trips(tmp_path):
    """Models pack at load; state_dict / save_pretrained / from_pretrained see HF's weights unchanged."""
    config = mm.MobileBertConfig(**CONFIG_GRID["mobilebert"])
    m = mm.MobileBertForMaskedLM(config, seed=3)
    q = m.params["mobilebert.encoder.layer.1.attention.self.query.weight"]
    k = m.params["mobilebert.encoder.layer.1.attention.self.key.weight"]
    assert q.base is k.base and q.base.shape == (32, 64 + packing.row_pad(64)) and q.shape == (32, 32)
    assert m.p["mobilebert"]["encoder"]["layer"][1]["attention"]["self"]["query"]["weight"] is q
    m.save_pretrained(tmp_path)
    loaded = mm.MobileBertForMaskedLM.from_pretrained(tmp_path)
    state = loaded.state_dict()
    for name, value in m.state_dict().items():
        np.testing.assert_array_equal(state[name], value, err_msg=name)


def test_engine_packs_an_unpacked_nested_dict(compiled):
    """encode() on params nested by hand from unpacked arrays: packs them in place, same result."""
    from minimobilebert.params import nest

    config = mm.MobileBertConfig(**CONFIG_GRID["tiny_bottleneck_attention"])
    flat = init_params(config, parameter_shapes(config, "base"), 0)
    p = nest(dict(flat))
    rng = np.random.default_rng(6)
    ids, mask, types = random_batch(rng, config.vocab_size, 2, 9, config.type_vocab_size)
    positions = np.arange(9, dtype=np.int64)[None]
    with mm.use_backend("numpy"):
        ref = model.mobilebert(ids, mask, types, positions, nest(dict(flat)), config, False)[0]
    ours = engine.encode(p, config, ids, mask, types, positions)
    assert relative_error(ours, ref) <= ENGINE_TOLERANCE
    assert packing.is_packed([p["encoder"]["layer"][0]["attention"]["self"][n]["weight"]
                              for n in ("query", "key", "value")])



def test_plan_is_built_once_per_params(compiled, monkeypatch):
    """Repeated calls reuse the cached plan (building one walks every weight: ~7 ms at the published size,
    a tenth of a 1x128 forward); a new config, or forget(), builds a new one."""
    config = mm.MobileBertConfig(**CONFIG_GRID["mobilebert"])
    m = mm.MobileBertModel(config, seed=2)
    builds = []
    real = engine.build_plan
    monkeypatch.setattr(engine, "build_plan", lambda p, c: builds.append(1) or real(p, c))
    ids, mask, types = random_batch(np.random.default_rng(0), config.vocab_size, 2, 7, config.type_vocab_size)
    for _ in range(3):
        with mm.use_backend("cython"):
            m(ids, attention_mask=mask)
    assert len(builds) == 1
    engine.forget(m.p)
    run_engine(m, ids, mask, types, np.arange(7, dtype=np.int64)[None])
    assert len(builds) == 2


def test_plan_cache_does_not_keep_a_model_alive(compiled):
    """The cache watches the params' arrays through weak references: a deleted model's weights are freed."""
    import gc
    import weakref

    config = mm.MobileBertConfig(**CONFIG_GRID["mobilebert"])
    m = mm.MobileBertModel(config, seed=2)
    ids, mask, types = random_batch(np.random.default_rng(0), config.vocab_size, 1, 5, config.type_vocab_size)
    run_engine(m, ids, mask, types, np.arange(5, dtype=np.int64)[None])
    weight = weakref.ref(m.p["encoder"]["layer"][0]["attention"]["self"]["query"]["weight"].base)
    del m
    gc.collect()
    assert weight() is None


def test_plan_keeps_the_copies_it_makes(compiled):
    """A table that is not C-contiguous is copied for the engine; the copy lives as long as the plan (it
    is read on every later call, after the call that made it returned)."""
    import gc

    config = mm.MobileBertConfig(**CONFIG_GRID["mobilebert"])
    m = perturbed_model(config, seed=4)
    e = m.p["embeddings"]
    e["word_embeddings"]["weight"] = np.asfortranarray(e["word_embeddings"]["weight"])
    e["position_embeddings"]["weight"] = np.asfortranarray(e["position_embeddings"]["weight"])
    engine.forget(m.p)
    rng = np.random.default_rng(8)
    ids, mask, types = random_batch(rng, config.vocab_size, 2, 11, config.type_vocab_size)
    positions = np.arange(11, dtype=np.int64)[None]
    ref = reference(m, ids, mask, types, positions)
    for _ in range(3):
        assert relative_error(run_engine(m, ids, mask, types, positions), ref) <= ENGINE_TOLERANCE
        gc.collect()
        junk = [np.full(n, 1e30, dtype=np.float32) for n in (64, 500, 4000, 40000)]  # reuse freed memory
        del junk

@pytest.mark.parametrize("which", ["input_ids", "token_type_ids", "position_ids"])
@pytest.mark.parametrize("bad", [-1, "rows"])
def test_encode_refuses_indices_outside_the_tables(compiled, which, bad):
    """engine.encode is callable on its own: an id outside its embedding table is an error, never a read
    past the table (the model's own validation checks against the config before it gets here)."""
    config = mm.MobileBertConfig(**CONFIG_GRID["mobilebert"])
    m = perturbed_model(config, seed=3)
    ids, mask, types = random_batch(np.random.default_rng(2), config.vocab_size, 2, 6, config.type_vocab_size)
    arrays = {"input_ids": ids, "token_type_ids": types, "position_ids": np.arange(6, dtype=np.int64)[None]}
    table = {"input_ids": "word_embeddings", "token_type_ids": "token_type_embeddings",
             "position_ids": "position_embeddings"}[which]
    arrays[which] = arrays[which].copy()
    arrays[which][0, -1] = -1 if bad == -1 else m.p["embeddings"][table]["weight"].shape[0]
    with pytest.raises(ValueError, match=which):
        engine.encode(m.p, m.config, arrays["input_ids"], mask, arrays["token_type_ids"], arrays["position_ids"])


def test_a_call_keeps_its_plans_memory_while_another_thread_forgets_it(compiled):
    """The engine reads the plan's arrays with the GIL released. Another thread that drops the cached plan
    (forget, or a rebuild) meanwhile must not free what the running call reads: the plan owns the arrays
    made for it, and the call holds the params' arrays. (Before: freed side-by-side biases were read, and
    every forward below differed from the first.)"""
    import threading

    config = mm.MobileBertConfig(**CONFIG_GRID["mobilebert"])
    m = perturbed_model(config, seed=6)
    ids, mask, types = random_batch(np.random.default_rng(9), config.vocab_size, 16, 40, config.type_vocab_size)
    positions = np.arange(40, dtype=np.int64)[None]
    first = run_engine(m, ids, mask, types, positions)
    stop = threading.Event()

    def churn():
        while not stop.is_set():
            engine.forget(m.p)
            engine._plan(m.p, m.config)
            junk = [np.full(n, 1e30, dtype=np.float32) for n in (16, 64, 128, 500) for _ in range(20)]
            del junk

    t = threading.Thread(target=churn)
    t.start()
    try:
        differ = sum(not np.array_equal(run_engine(m, ids, mask, types, positions), first) for _ in range(30))
    finally:
        stop.set()
        t.join()
    assert differ == 0, f"{differ} of 30 forwards differ"


def test_rebound_word_embeddings_rebuild_the_plan_even_if_the_old_array_lives(compiled):
    """A plan is reused while every array it was built from lives. Word embeddings replaced by a new array
    (set_input_embeddings, resize) while the old one is still held elsewhere are seen too: the plan checks
    that `p`'s word table is the one it reads. The same check keeps a new model whose params dict got a
    freed dict's id from running on the old model's plan."""
    config = mm.MobileBertConfig(**CONFIG_GRID["mobilebert"])
    m = perturbed_model(config, seed=7)
    ids, mask, types = random_batch(np.random.default_rng(3), config.vocab_size, 2, 9, config.type_vocab_size)
    positions = np.arange(9, dtype=np.int64)[None]
    run_engine(m, ids, mask, types, positions)
    table = m.p["embeddings"]["word_embeddings"]
    old = table["weight"]  # still alive: held here
    table["weight"] = np.ascontiguousarray(old[:, ::-1])
    assert old is not table["weight"]  # the old table lives on (held here), so its weak reference does too
    ref = reference(m, ids, mask, types, positions)
    assert relative_error(run_engine(m, ids, mask, types, positions), ref) <= ENGINE_TOLERANCE


RSS_SCRIPT = r"""
import json, resource, sys
import numpy as np
import minimobilebert as mm
from minimobilebert import engine

def peak():
    # VmHWM: this process image's peak RSS. ru_maxrss would also do, but Linux carries it over exec from the
    # process that forked us (pytest, hundreds of MB), so it is only a fallback off Linux.
    try:
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmHWM:"))
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

base = peak()
m = mm.MobileBertModel.from_pretrained(sys.argv[1])
ids = np.arange(1, 129, dtype=np.int64)[None]
out = engine.encode(m._base_params, m.config, ids, np.ones_like(ids), np.zeros_like(ids), np.arange(128)[None])
weights = sum(v.nbytes for v in m.params.values())
print(json.dumps({"weights": weights, "peak": peak(), "before_loading": base, "finite": bool(np.isfinite(out).all())}))
"""


def test_peak_rss_of_loading_and_a_forward(compiled, tmp_path):
    """Load the published config from a checkpoint and run one 1x128 forward, in a fresh process: the peak
    resident size of the WHOLE process (interpreter and libraries included) stays <= 1.5x the weight bytes,
    so packing replaces the loaded weights rather than doubling them."""
    config = mm.MobileBertConfig.published()
    mm.MobileBertModel(config, seed=0).save_pretrained(tmp_path)
    env = dict(os.environ, MINIMOBILEBERT_NUM_THREADS="2")
    out = subprocess.run([sys.executable, "-c", RSS_SCRIPT, str(tmp_path)], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["finite"]
    ratio = r["peak"] / r["weights"]
    assert ratio <= 1.5, (f"peak RSS {r['peak'] / 1e6:.1f} MB = {ratio:.2f}x the weights ({r['weights'] / 1e6:.1f} MB); "
                          f"{r['before_loading'] / 1e6:.1f} MB before loading")
